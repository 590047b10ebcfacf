//! Consent answers in import files.
//!
//! Policy: only an explicit answer counts. Yes-like values (yes, y, true, 1, x, ✓, opted in,
//! granted, agreed, subscribed…) are [`ConsentValue::Granted`]; no-like values (no, n, false,
//! 0, opted out, refused, declined…) are [`ConsentValue::Refused`]; withdrawn, unsubscribed
//! and revoked are [`ConsentValue::Withdrawn`]. A blank cell, or one that says it is not
//! known ("unknown", "n/a", "-", "not asked"), is [`ConsentValue::Unknown`], which the caller
//! must never turn into consent. Anything else is not recognised (`None`) and the row gets a
//! warning; the value is then treated as unknown.

use serde::Serialize;

/// A consent answer read from a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentValue {
    /// The person agreed.
    Granted,
    /// The person was asked and said no.
    Refused,
    /// The person agreed once and no longer does.
    Withdrawn,
    /// No answer recorded: never to be treated as consent.
    Unknown,
}

impl ConsentValue {
    /// The lower-case name (`"granted"`, …), as the consent service spells statuses.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentValue::Granted => "granted",
            ConsentValue::Refused => "refused",
            ConsentValue::Withdrawn => "withdrawn",
            ConsentValue::Unknown => "unknown",
        }
    }
}

const GRANTED: &[&str] = &[
    "yes",
    "y",
    "true",
    "1",
    "x",
    "✓",
    "✔",
    "☑",
    "opted in",
    "opted-in",
    "opt in",
    "opt-in",
    "optin",
    "granted",
    "given",
    "agreed",
    "agree",
    "accepted",
    "consented",
    "subscribed",
    "ok",
];

const REFUSED: &[&str] = &[
    "no",
    "n",
    "false",
    "0",
    "✗",
    "✘",
    "☒",
    "opted out",
    "opted-out",
    "opt out",
    "opt-out",
    "optout",
    "refused",
    "declined",
    "denied",
    "not given",
];

const WITHDRAWN: &[&str] = &["withdrawn", "withdrew", "unsubscribed", "revoked", "consent withdrawn"];

const UNKNOWN: &[&str] = &["", "-", "unknown", "n/a", "na", "not known", "not asked", "?"];

/// Read a consent cell. `None` means the value is not recognised (see the module policy).
pub fn parse_consent(value: &str) -> Option<ConsentValue> {
    let lower = value
        .trim()
        .trim_end_matches(['.', '!'])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let key = lower.as_str();
    [
        (GRANTED, ConsentValue::Granted),
        (REFUSED, ConsentValue::Refused),
        (WITHDRAWN, ConsentValue::Withdrawn),
        (UNKNOWN, ConsentValue::Unknown),
    ]
    .into_iter()
    .find(|(words, _)| words.contains(&key))
    .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        use ConsentValue::*;
        for (input, want) in [
            ("yes", Some(Granted)),
            ("YES", Some(Granted)),
            (" Y ", Some(Granted)),
            ("TRUE", Some(Granted)),
            ("1", Some(Granted)),
            ("x", Some(Granted)),
            ("✓", Some(Granted)),
            ("Opted in", Some(Granted)),
            ("opted  IN.", Some(Granted)),
            ("Granted", Some(Granted)),
            ("no", Some(Refused)),
            ("N", Some(Refused)),
            ("false", Some(Refused)),
            ("0", Some(Refused)),
            ("Opted out", Some(Refused)),
            ("refused", Some(Refused)),
            ("Withdrawn", Some(Withdrawn)),
            ("unsubscribed", Some(Withdrawn)),
            ("", Some(Unknown)),
            ("   ", Some(Unknown)),
            ("N/A", Some(Unknown)),
            ("maybe", None),
            ("2021-03-04", None),
            ("yes please call", None),
        ] {
            assert_eq!(parse_consent(input), want, "{input:?}");
        }
        assert_eq!(Granted.as_str(), "granted");
        assert_eq!(serde_json::to_string(&Withdrawn).ok().as_deref(), Some("\"withdrawn\""));
    }
}
