//! The vocabulary of the consent ledger, with stable identifiers for the API and the database.

use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable identifier.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parse an identifier.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

vocabulary!(
    /// How a person is contacted.
    Channel {
        /// Email.
        Email = "email",
        /// Text message.
        Sms = "sms",
        /// Post.
        Post = "post",
        /// Telephone call.
        Phone = "phone",
    }
);

impl Channel {
    /// Electronic channels fall under PECR's marketing rules.
    pub fn is_electronic(self) -> bool {
        matches!(self, Channel::Email | Channel::Sms)
    }
}

vocabulary!(
    /// What a consent event says.
    ConsentStatus {
        /// Agreed.
        Granted = "granted",
        /// Agreed once, no longer.
        Withdrawn = "withdrawn",
        /// Asked and said no.
        Refused = "refused",
    }
);

vocabulary!(
    /// UK GDPR Article 6 lawful bases.
    LawfulBasis {
        /// 6(1)(a).
        Consent = "consent",
        /// 6(1)(b).
        Contract = "contract",
        /// 6(1)(c).
        LegalObligation = "legal_obligation",
        /// 6(1)(d).
        VitalInterests = "vital_interests",
        /// 6(1)(e).
        PublicTask = "public_task",
        /// 6(1)(f).
        LegitimateInterests = "legitimate_interests",
    }
);

vocabulary!(
    /// Kind of purpose.
    Category {
        /// Messages needed to deliver a service.
        Service = "service",
        /// Promotion, newsletters, invitations.
        Marketing = "marketing",
    }
);

vocabulary!(
    /// Where a consent event came from.
    Source {
        /// Recorded by staff.
        Staff = "staff",
        /// A web form.
        WebForm = "web_form",
        /// An import batch.
        Import = "import",
        /// An unsubscribe link.
        Unsubscribe = "unsubscribe",
        /// An integration.
        Api = "api",
    }
);
