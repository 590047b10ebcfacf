//! Hard guards against false merges, applied on top of the probabilistic score.
//!
//! Policy: a false merge (two people's records joined, consents and history
//! mixed) is worse than a missed one, and the Fellegi–Sunter score assumes
//! fields are independent, which fails exactly for households: twins share
//! surname, date of birth, address, phone and sometimes email; a father and
//! son share everything but the date of birth. So whatever the score, these
//! findings cap the decision:
//!
//! | guard | when | at most |
//! |---|---|---|
//! | `suffix_conflict` | both names carry different generational suffixes (Jr vs Sr, II vs III) | new person |
//! | `dob_conflict` | both dates of birth present and clearly different (not a one-digit typo, adjacent-digit exchange or day/month swap) | review |
//! | `given_name_conflict` | both given names present and clearly different: not equal, not nicknames, not initial-compatible, not a middle name, not a plausible typo of an unknown name; also two different *known* names however alike (Daniel/Danielle) and conflicting second given names (Mary Jane/Mary Anne) | review |
//! | `given_initial_only` | one given name is only an initial (J vs James could be either twin), unless a personal phone agrees exactly and the dates of birth are firm (below) | review |
//! | `suffix_unconfirmed` | only one side has a suffix and the dates of birth are not exactly equal | review |
//! | `household_evidence_only` | no *personal* identifier agrees exactly (a UK mobile, a non-UK number, or an email when the given names are one name: not an initial, nor two unknown names merely alike) **and** the identity is not firm: the given name is not firmly the same (exact, swapped, or an unambiguous nickname such as Peggy/Margaret; not Jon/John, since "Jon" is also Jonathan), or the date of birth is missing or clearly different, or the family names are clearly different | review |
//!
//! When `dob_conflict` and `given_name_conflict` hold together, two personal
//! identifiers contradict each other (a mother and son at one address): the
//! ceiling is then "new person", so such pairs do not fill the review queue.
//!
//! A date of birth is *firm* when exact, swapped, or one typo that keeps the
//! year within one (a slip in the year's last digit, 1963/1967, is as much a
//! sibling as a typo).
//!
//! The last guard exists because address, postcode and a landline are shared
//! by a household: without a personal identifier, a link needs the same
//! given name *and* a compatible date of birth, which twins (different given
//! names) and a father and son (different dates) never have.
//! "Review" means a person decides; it never means "link".

use super::compare::Comparison;
use super::decide::Decision;
use super::field::{dob, email, family, given, phone, Field};
use super::record::Prepared;
use crate::normalize::phone::is_uk_mobile;
use chrono::Datelike;
use serde::{Deserialize, Serialize};

/// One false-merge guard (see the module documentation for the rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// Different generational suffixes (Jr vs Sr).
    SuffixConflict,
    /// Clearly different dates of birth.
    DobConflict,
    /// Clearly different given names.
    GivenNameConflict,
    /// One given name is only an initial.
    GivenInitialOnly,
    /// A suffix on one side only, without an exactly equal date of birth.
    SuffixUnconfirmed,
    /// Only household-level evidence (address, postcode, landline) supports
    /// a pair whose given name or date of birth is not firmly the same.
    HouseholdEvidenceOnly,
}

impl Guard {
    /// Every guard.
    pub const ALL: [Guard; 6] = [
        Guard::SuffixConflict,
        Guard::DobConflict,
        Guard::GivenNameConflict,
        Guard::GivenInitialOnly,
        Guard::SuffixUnconfirmed,
        Guard::HouseholdEvidenceOnly,
    ];

    /// Stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Guard::SuffixConflict => "suffix_conflict",
            Guard::DobConflict => "dob_conflict",
            Guard::GivenNameConflict => "given_name_conflict",
            Guard::GivenInitialOnly => "given_initial_only",
            Guard::SuffixUnconfirmed => "suffix_unconfirmed",
            Guard::HouseholdEvidenceOnly => "household_evidence_only",
        }
    }

    /// The strongest decision allowed while this guard holds.
    pub fn ceiling(self) -> Decision {
        match self {
            Guard::SuffixConflict => Decision::NewPerson,
            _ => Decision::Review,
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The set of guards that hold for a pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Guards(u8);

impl Guards {
    /// No guard.
    pub const fn none() -> Guards {
        Guards(0)
    }

    /// Add a guard.
    pub fn insert(&mut self, g: Guard) {
        self.0 |= g.bit();
    }

    /// True when `g` holds.
    pub fn contains(self, g: Guard) -> bool {
        self.0 & g.bit() != 0
    }

    /// True when no guard holds.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The guards that hold.
    pub fn iter(self) -> impl Iterator<Item = Guard> {
        Guard::ALL.into_iter().filter(move |g| self.contains(*g))
    }

    /// The strongest decision allowed: the lowest ceiling of the guards that
    /// hold ([`Decision::Link`] when none does), and [`Decision::NewPerson`]
    /// when both the date of birth and the given name conflict.
    pub fn ceiling(self) -> Decision {
        if self.contains(Guard::DobConflict) && self.contains(Guard::GivenNameConflict) {
            return Decision::NewPerson;
        }
        self.iter().fold(Decision::Link, |d, g| d.at_most(g.ceiling()))
    }
}

/// A number that belongs to one person: a UK mobile, or any non-UK number
/// (which cannot be told apart and is rare in council data).
fn personal_phone(e164: &str) -> bool {
    is_uk_mobile(e164) || !e164.starts_with("+44")
}

/// A personal phone (a UK mobile or a non-UK number) agrees exactly.
fn personal_phone_agrees(a: &Prepared, b: &Prepared, c: &Comparison) -> bool {
    c.level(Field::Phone) == Some(phone::EXACT) && a.phones.iter().any(|x| personal_phone(x) && b.phones.contains(x))
}

/// The given names are one name, or one is a typo of a known name (Laaura/Laura): not two
/// unknown names a letter apart (Adaeze/Adaeza), which could be twins.
fn given_one_name(a: &Prepared, b: &Prepared, c: &Comparison) -> bool {
    let known = |p: &Prepared| p.given.as_ref().is_some_and(|g| g.known);
    match c.level(Field::Given) {
        Some(given::TYPO) => known(a) != known(b),
        Some(given::SIMILAR | given::INITIAL) => false,
        _ => true,
    }
}

/// An email or personal phone agrees exactly. A family mailbox is shared, so an email
/// only counts when the given names are one name.
fn personal_identifier_agrees(a: &Prepared, b: &Prepared, c: &Comparison) -> bool {
    (c.level(Field::Email) == Some(email::EXACT) && given_one_name(a, b, c)) || personal_phone_agrees(a, b, c)
}

/// The given names are firmly the same: exact, swapped, or a nickname whose
/// forms each belong to one name group only.
fn given_firm(a: &Prepared, b: &Prepared, c: &Comparison) -> bool {
    match c.level(Field::Given) {
        Some(given::EXACT | given::SWAPPED) => true,
        Some(given::NICKNAME) => {
            let single = |p: &Prepared| p.given.as_ref().is_some_and(|g| g.group_ids().len() == 1);
            single(a) && single(b)
        }
        _ => false,
    }
}

/// Evaluate the guards for a compared pair.
pub fn evaluate(a: &Prepared, b: &Prepared, c: &Comparison) -> Guards {
    let mut g = Guards::none();
    let dob_level = c.level(Field::Dob);
    match (a.suffix, b.suffix) {
        (Some(x), Some(y)) if x != y => g.insert(Guard::SuffixConflict),
        (Some(_), None) | (None, Some(_)) if dob_level != Some(dob::EXACT) => g.insert(Guard::SuffixUnconfirmed),
        _ => {}
    }
    if dob_level == Some(dob::DIFFERENT) {
        g.insert(Guard::DobConflict);
    }
    // A slip in the last digit of the year (1963/1967) is as much a sibling as a typo.
    let years_apart = match (a.dob, b.dob) {
        (Some(x), Some(y)) => (x.year() - y.year()).abs(),
        _ => 0,
    };
    let dob_firm = match dob_level {
        Some(dob::EXACT | dob::DAY_MONTH_SWAP) => true,
        Some(dob::TYPO) => years_apart <= 1,
        _ => false,
    };
    match c.level(Field::Given) {
        Some(given::DIFFERENT) => g.insert(Guard::GivenNameConflict),
        // An initial could be either twin; a twin's own mobile could not (a family email can
        // be shared, so it does not settle it).
        Some(given::INITIAL) if !(dob_firm && personal_phone_agrees(a, b, c)) => g.insert(Guard::GivenInitialOnly),
        _ => {}
    }
    let family_firm = c.level(Field::Family) != Some(family::DIFFERENT);
    let identity_firm = dob_firm && family_firm && given_firm(a, b, c);
    if !identity_firm && !personal_identifier_agrees(a, b, c) {
        g.insert(Guard::HouseholdEvidenceOnly);
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_sets() {
        let mut g = Guards::none();
        assert!(g.is_empty());
        assert_eq!(g.ceiling(), Decision::Link);
        g.insert(Guard::DobConflict);
        assert_eq!(g.ceiling(), Decision::Review);
        let mut both = g;
        both.insert(Guard::GivenNameConflict);
        assert_eq!(both.ceiling(), Decision::NewPerson);
        g.insert(Guard::SuffixConflict);
        assert_eq!(g.ceiling(), Decision::NewPerson);
        assert_eq!(
            g.iter().collect::<Vec<_>>(),
            [Guard::SuffixConflict, Guard::DobConflict]
        );
        for guard in Guard::ALL {
            let json = serde_json::to_string(&guard).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", guard.code()));
        }
    }
}
