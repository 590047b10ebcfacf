//! The contact decision: "may we contact this person for purpose P on channel C at address A
//! now?" — one pure function over gathered facts, used by the single check, the bulk audience
//! computation and, at send time, by campaigns.
//!
//! Policy (UK GDPR, PECR):
//! - An erased, restricted or merged person is never contactable; a suppressed address never is;
//!   an address that is not one of the person's current contact points is not used.
//! - The effective state is the later of the point-specific and the channel-wide state; at equal
//!   capture times a withdrawal or refusal wins. A grant past its expiry is "expired".
//! - Marketing by email or SMS (PECR reg. 22) needs a grant under the consent basis, or a soft
//!   opt-in (a grant under legitimate interests captured as `soft_opt_in`) not withdrawn.
//! - Marketing by post or phone needs a grant, or no objection when the purpose's default basis
//!   is legitimate interests or public task.
//! - Service messages follow their lawful basis: consent needs a live grant; public task and
//!   legitimate interests stop on objection (a withdrawal or refusal); contract, legal obligation
//!   and vital interests do not depend on consent.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::types::{Category, Channel, ConsentStatus, LawfulBasis};

/// One state row as the decision sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFact {
    /// Status.
    pub status: ConsentStatus,
    /// Basis.
    pub basis: LawfulBasis,
    /// Capture method (`soft_opt_in` matters).
    pub capture_method: String,
    /// Captured.
    pub captured_at: NaiveDateTime,
    /// Expiry.
    pub expires_at: Option<NaiveDateTime>,
}

/// Everything the decision needs.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// `active`, `restricted`, `erased`, `merged`.
    pub person_status: &'a str,
    /// Purpose category.
    pub category: Category,
    /// Purpose default basis.
    pub default_basis: LawfulBasis,
    /// Channel.
    pub channel: Channel,
    /// The address is one of the person's current contact points.
    pub address_known: bool,
    /// The address is on the suppression list.
    pub suppressed: bool,
    /// State for this exact contact point.
    pub point: Option<StateFact>,
    /// State for the whole channel.
    pub channel_wide: Option<StateFact>,
    /// Now.
    pub now: NaiveDateTime,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ContactDecision {
    /// Whether contact is allowed.
    pub allowed: bool,
    /// Why: `consent`, `soft_opt_in`, `lawful_basis`, `default_basis`, or `erased`, `restricted`,
    /// `not_active`, `suppressed`, `no_address`, `no_consent`, `withdrawn`, `refused`, `expired`.
    pub reason: &'static str,
    /// The lawful basis relied on, when allowed.
    pub lawful_basis: Option<LawfulBasis>,
}

fn deny(reason: &'static str) -> ContactDecision {
    ContactDecision {
        allowed: false,
        reason,
        lawful_basis: None,
    }
}

fn allow(reason: &'static str, basis: LawfulBasis) -> ContactDecision {
    ContactDecision {
        allowed: true,
        reason,
        lawful_basis: Some(basis),
    }
}

/// Whether an event captured at `new_at` with `new_status` replaces a state captured at
/// `old_at` with `old_status`: the later capture wins; at the same time a withdrawal or refusal
/// beats a grant. Used for the ledger's derived state and between point and channel states.
pub fn supersedes(
    new_at: NaiveDateTime,
    new_status: ConsentStatus,
    old_at: NaiveDateTime,
    old_status: ConsentStatus,
) -> bool {
    new_at > old_at
        || (new_at == old_at && old_status == ConsentStatus::Granted && new_status != ConsentStatus::Granted)
}

/// The later of two states; at the same time a withdrawal or refusal wins.
pub fn effective(a: Option<&StateFact>, b: Option<&StateFact>) -> Option<StateFact> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(x.clone()),
        (Some(x), Some(y)) => {
            let pick_y = supersedes(y.captured_at, y.status, x.captured_at, x.status);
            Some(if pick_y { y.clone() } else { x.clone() })
        }
    }
}

/// Decide.
pub fn decide(f: &Facts) -> ContactDecision {
    match f.person_status {
        "active" => {}
        "erased" => return deny("erased"),
        "restricted" => return deny("restricted"),
        _ => return deny("not_active"),
    }
    if f.suppressed {
        return deny("suppressed");
    }
    if !f.address_known {
        return deny("no_address");
    }
    let state = effective(f.point.as_ref(), f.channel_wide.as_ref());
    let expired = state
        .as_ref()
        .is_some_and(|s| s.status == ConsentStatus::Granted && s.expires_at.is_some_and(|e| e <= f.now));
    let refusal = |s: &StateFact| {
        if s.status == ConsentStatus::Refused {
            "refused"
        } else {
            "withdrawn"
        }
    };
    match f.category {
        Category::Marketing if f.channel.is_electronic() => match &state {
            None => deny("no_consent"),
            Some(_) if expired => deny("expired"),
            Some(s) if s.status != ConsentStatus::Granted => deny(refusal(s)),
            Some(s) if s.basis == LawfulBasis::Consent => allow("consent", s.basis),
            Some(s) if s.basis == LawfulBasis::LegitimateInterests && s.capture_method == "soft_opt_in" => {
                allow("soft_opt_in", s.basis)
            }
            Some(_) => deny("no_consent"),
        },
        Category::Marketing => match &state {
            None if matches!(
                f.default_basis,
                LawfulBasis::LegitimateInterests | LawfulBasis::PublicTask
            ) =>
            {
                allow("default_basis", f.default_basis)
            }
            None => deny("no_consent"),
            Some(_) if expired => deny("expired"),
            Some(s) if s.status != ConsentStatus::Granted => deny(refusal(s)),
            Some(s) => allow("consent", s.basis),
        },
        Category::Service => {
            let basis = state.as_ref().map_or(f.default_basis, |s| s.basis);
            let objectable = matches!(
                basis,
                LawfulBasis::Consent | LawfulBasis::LegitimateInterests | LawfulBasis::PublicTask
            );
            match &state {
                None if basis == LawfulBasis::Consent => deny("no_consent"),
                None => allow("lawful_basis", basis),
                Some(s) if s.status != ConsentStatus::Granted && objectable => deny(refusal(s)),
                Some(_) if expired && basis == LawfulBasis::Consent => deny("expired"),
                Some(_) => allow("lawful_basis", basis),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};
    use proptest::prelude::*;

    fn t0() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .unwrap_or_default()
    }

    fn state(status: ConsentStatus, basis: LawfulBasis, method: &str, mins: i64) -> StateFact {
        StateFact {
            status,
            basis,
            capture_method: method.into(),
            captured_at: t0() + Duration::minutes(mins),
            expires_at: None,
        }
    }

    fn facts(
        category: Category,
        default_basis: LawfulBasis,
        channel: Channel,
        point: Option<StateFact>,
    ) -> Facts<'static> {
        Facts {
            person_status: "active",
            category,
            default_basis,
            channel,
            address_known: true,
            suppressed: false,
            point,
            channel_wide: None,
            now: t0() + Duration::days(1),
        }
    }

    #[test]
    fn electronic_marketing_needs_consent_or_soft_opt_in() {
        use ConsentStatus::*;
        use LawfulBasis::*;
        let m = |p| decide(&facts(Category::Marketing, LegitimateInterests, Channel::Email, p));
        assert_eq!(m(None).reason, "no_consent");
        assert!(m(Some(state(Granted, Consent, "web_checkbox", 0))).allowed);
        assert_eq!(
            m(Some(state(Granted, LegitimateInterests, "soft_opt_in", 0))).reason,
            "soft_opt_in"
        );
        assert_eq!(
            m(Some(state(Granted, LegitimateInterests, "paper_form", 0))).reason,
            "no_consent"
        );
        assert_eq!(
            m(Some(state(Granted, PublicTask, "paper_form", 0))).reason,
            "no_consent"
        );
        assert_eq!(
            m(Some(state(Withdrawn, Consent, "web_checkbox", 0))).reason,
            "withdrawn"
        );
        assert_eq!(m(Some(state(Refused, Consent, "web_checkbox", 0))).reason, "refused");
        let mut expiring = state(Granted, Consent, "web_checkbox", 0);
        expiring.expires_at = Some(t0() + Duration::hours(1));
        assert_eq!(m(Some(expiring)).reason, "expired");
    }

    #[test]
    fn post_marketing_and_service_follow_their_basis() {
        use ConsentStatus::*;
        use LawfulBasis::*;
        let post = |basis, p| decide(&facts(Category::Marketing, basis, Channel::Post, p));
        assert_eq!(post(LegitimateInterests, None).reason, "default_basis");
        assert_eq!(post(Consent, None).reason, "no_consent");
        assert_eq!(
            post(
                LegitimateInterests,
                Some(state(Withdrawn, LegitimateInterests, "letter", 0))
            )
            .reason,
            "withdrawn"
        );
        let service = |basis, p| decide(&facts(Category::Service, basis, Channel::Email, p));
        assert!(service(PublicTask, None).allowed);
        assert_eq!(service(Consent, None).reason, "no_consent");
        assert_eq!(
            service(PublicTask, Some(state(Refused, PublicTask, "letter", 0))).reason,
            "refused"
        );
        for basis in [Contract, LegalObligation, VitalInterests] {
            assert!(
                service(basis, Some(state(Withdrawn, basis, "letter", 0))).allowed,
                "{basis:?} does not rest on consent"
            );
        }
    }

    #[test]
    fn every_combination_respects_the_absolute_rules() {
        for &category in Category::ALL {
            for &basis in LawfulBasis::ALL {
                for &channel in Channel::ALL {
                    for &status in ConsentStatus::ALL {
                        for person_status in ["active", "restricted", "erased", "merged"] {
                            for suppressed in [false, true] {
                                for known in [false, true] {
                                    let f = Facts {
                                        person_status,
                                        category,
                                        default_basis: basis,
                                        channel,
                                        address_known: known,
                                        suppressed,
                                        point: Some(state(status, basis, "soft_opt_in", 0)),
                                        channel_wide: None,
                                        now: t0() + Duration::days(1),
                                    };
                                    let d = decide(&f);
                                    let ctx = format!("{category:?} {basis:?} {channel:?} {status:?} {person_status} s={suppressed} k={known}");
                                    if person_status != "active" || suppressed || !known {
                                        assert!(!d.allowed, "{ctx}");
                                    }
                                    if d.allowed {
                                        assert!(d.lawful_basis.is_some(), "{ctx}");
                                    }
                                    if status != ConsentStatus::Granted && basis == LawfulBasis::Consent {
                                        assert!(!d.allowed, "withdrawn consent never allows: {ctx}");
                                    }
                                    if category == Category::Marketing && channel.is_electronic() && d.allowed {
                                        assert!(
                                            matches!(basis, LawfulBasis::Consent | LawfulBasis::LegitimateInterests),
                                            "{ctx}"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn status_strategy() -> impl Strategy<Value = ConsentStatus> {
        prop_oneof![
            Just(ConsentStatus::Granted),
            Just(ConsentStatus::Withdrawn),
            Just(ConsentStatus::Refused)
        ]
    }

    proptest! {
        /// Folding events one by one, in any arrival order, gives the state of the latest capture,
        /// with a withdrawal or refusal winning a tie.
        #[test]
        fn derived_state_does_not_depend_on_arrival_order(
            events in proptest::collection::vec((0i64..20, status_strategy()), 1..30),
            seed in any::<u64>(),
        ) {
            let mut order: Vec<usize> = (0..events.len()).collect();
            let mut x = seed;
            for i in (1..order.len()).rev() {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (x >> 33) as usize % (i + 1));
            }
            let mut current: Option<(NaiveDateTime, ConsentStatus)> = None;
            for &i in &order {
                let (m, s) = events[i];
                let at = t0() + Duration::minutes(m);
                if current.is_none_or(|(cat, cs)| supersedes(at, s, cat, cs)) {
                    current = Some((at, s));
                }
            }
            let latest = events.iter().map(|(m, _)| *m).max().unwrap_or(0);
            let at_latest: Vec<ConsentStatus> = events.iter().filter(|(m, _)| *m == latest).map(|(_, s)| *s).collect();
            let (at, status) = current.unwrap_or((t0(), ConsentStatus::Granted));
            prop_assert_eq!(at, t0() + Duration::minutes(latest));
            if at_latest.iter().all(|s| *s == ConsentStatus::Granted) {
                prop_assert_eq!(status, ConsentStatus::Granted);
            } else {
                prop_assert_ne!(status, ConsentStatus::Granted);
            }
        }

        /// A suppressed address is never contactable, whatever the ledger says.
        #[test]
        fn suppression_always_wins(status in status_strategy(), mins in 0i64..100) {
            for &category in Category::ALL {
                let mut f = facts(category, LawfulBasis::PublicTask, Channel::Email, Some(state(status, LawfulBasis::Consent, "x", mins)));
                f.suppressed = true;
                prop_assert!(!decide(&f).allowed);
            }
        }
    }
}
