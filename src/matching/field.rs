//! The compared fields and their discrete agreement levels.
//!
//! Policy: every field has a fixed, ordered list of levels from the strongest
//! agreement to outright disagreement, plus [`MISSING`] (one or both values
//! absent: no evidence either way, weight 0). The order is part of the model
//! contract: estimation keeps the Bayes factor non-increasing along it, and a
//! stored [`Model`](super::model::Model) must list exactly these level names.
//! Level names are stable strings (they appear in stored models, in
//! [`Contribution`](super::model::Contribution)s and in audit logs).

use serde::{Deserialize, Serialize};

/// Number of compared fields.
pub const FIELD_COUNT: usize = 8;

/// Most levels any field has (excluding [`MISSING`]).
pub const MAX_LEVELS: usize = 8;

/// Level index meaning "no evidence": a value is absent on one or both sides.
pub const MISSING: u8 = u8::MAX;

/// Name shown for [`MISSING`].
pub const MISSING_NAME: &str = "missing";

/// A compared attribute of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Given (first and middle) names.
    Given,
    /// Family name (surname).
    Family,
    /// Date of birth.
    Dob,
    /// Email addresses (any pair of the two records' addresses).
    Email,
    /// Phone numbers (any pair).
    Phone,
    /// UK postcode.
    Postcode,
    /// First address line (house/flat numbers and street words).
    Address,
    /// Organisation (employer, school, business).
    Organisation,
}

impl Field {
    /// Every field, in index order.
    pub const ALL: [Field; FIELD_COUNT] = [
        Field::Given,
        Field::Family,
        Field::Dob,
        Field::Email,
        Field::Phone,
        Field::Postcode,
        Field::Address,
        Field::Organisation,
    ];

    /// Position of the field in [`Field::ALL`] and in per-field arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Stable snake_case name (as in stored models).
    pub fn name(self) -> &'static str {
        match self {
            Field::Given => "given",
            Field::Family => "family",
            Field::Dob => "dob",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Postcode => "postcode",
            Field::Address => "address",
            Field::Organisation => "organisation",
        }
    }

    /// The field's level names, strongest agreement first.
    pub fn level_names(self) -> &'static [&'static str] {
        match self {
            Field::Given => &given::NAMES,
            Field::Family => &family::NAMES,
            Field::Dob => &dob::NAMES,
            Field::Email => &email::NAMES,
            Field::Phone => &phone::NAMES,
            Field::Postcode => &postcode::NAMES,
            Field::Address => &address::NAMES,
            Field::Organisation => &organisation::NAMES,
        }
    }

    /// Name of a level index of this field (`"missing"` for [`MISSING`] or
    /// an index out of range).
    pub fn level_name(self, level: u8) -> &'static str {
        self.level_names()
            .get(usize::from(level))
            .copied()
            .unwrap_or(MISSING_NAME)
    }
}

/// Given-name levels.
pub mod given {
    /// Same first given name (and no conflicting second given name).
    pub const EXACT: u8 = 0;
    /// Different forms of one name: Jon/Jonathan, Bill/William, Kate/Catherine.
    pub const NICKNAME: u8 = 1;
    /// Given and family names written the other way round.
    pub const SWAPPED: u8 = 2;
    /// One record's first given name is the other's second (known by a middle name).
    pub const MIDDLE_NAME: u8 = 3;
    /// Likely typo: Jaro–Winkler ≥ 0.92 and not two different known names.
    pub const TYPO: u8 = 4;
    /// One side is only an initial that agrees with the other.
    pub const INITIAL: u8 = 5;
    /// Weakly similar: Jaro–Winkler ≥ 0.80 and not two different known names.
    pub const SIMILAR: u8 = 6;
    /// Clearly different names (including two different known names).
    pub const DIFFERENT: u8 = 7;
    /// Level names.
    pub const NAMES: [&str; 8] = [
        "exact",
        "nickname",
        "swapped",
        "middle_name",
        "jaro_winkler_0.92",
        "initial",
        "jaro_winkler_0.80",
        "different",
    ];
}

/// Family-name levels.
pub mod family {
    /// Same name once case, accents, spaces and punctuation are folded away.
    pub const EXACT: u8 = 0;
    /// Given and family names written the other way round.
    pub const SWAPPED: u8 = 1;
    /// One double-barrelled or multi-part name contains the other (Smith-Jones/Smith).
    pub const PARTIAL: u8 = 2;
    /// Likely typo: Jaro–Winkler ≥ 0.92.
    pub const TYPO: u8 = 3;
    /// Same NYSIIS phonetic code (Thompson/Thomson, Macdonald/McDonald).
    pub const PHONETIC: u8 = 4;
    /// Different names.
    pub const DIFFERENT: u8 = 5;
    /// Level names.
    pub const NAMES: [&str; 6] = [
        "exact",
        "swapped",
        "partial",
        "jaro_winkler_0.92",
        "phonetic",
        "different",
    ];
}

/// Date-of-birth levels.
pub mod dob {
    /// Same date.
    pub const EXACT: u8 = 0;
    /// Same year, day and month exchanged (US/UK order confusion).
    pub const DAY_MONTH_SWAP: u8 = 1;
    /// One digit of YYYYMMDD mistyped or two adjacent digits exchanged,
    /// outside the first three digits of the year.
    pub const TYPO: u8 = 2;
    /// Clearly different dates.
    pub const DIFFERENT: u8 = 3;
    /// Level names.
    pub const NAMES: [&str; 4] = ["exact", "dob_day_month_swap", "dob_typo", "different"];
}

/// Email levels (best level over all address pairs).
pub mod email {
    /// Same mailbox after provider rules (case, Gmail dots, plus-tags).
    pub const EXACT: u8 = 0;
    /// Same distinctive local part at a different domain.
    pub const SAME_LOCAL: u8 = 1;
    /// Likely typo: one edit in the local part (same domain) or in the domain (same local part).
    pub const TYPO: u8 = 2;
    /// Different addresses.
    pub const DIFFERENT: u8 = 3;
    /// Level names.
    pub const NAMES: [&str; 4] = ["exact", "same_local_part", "one_edit", "different"];
}

/// Phone levels (best level over all number pairs).
pub mod phone {
    /// Same E.164 number.
    pub const EXACT: u8 = 0;
    /// One digit mistyped or two adjacent digits exchanged.
    pub const SLIP: u8 = 1;
    /// Different numbers.
    pub const DIFFERENT: u8 = 2;
    /// Level names.
    pub const NAMES: [&str; 3] = ["exact", "one_digit_slip", "different"];
}

/// Postcode levels.
pub mod postcode {
    /// Same full postcode.
    pub const EXACT: u8 = 0;
    /// Same sector (`EC2V 7`).
    pub const SECTOR: u8 = 1;
    /// Same outward code (`EC2V`).
    pub const OUTWARD: u8 = 2;
    /// Different outward codes.
    pub const DIFFERENT: u8 = 3;
    /// Level names.
    pub const NAMES: [&str; 4] = ["exact", "sector", "outward", "different"];
}

/// Address-line levels.
pub mod address {
    /// Same street words, same house number and same flat (or no flat on either).
    pub const EXACT: u8 = 0;
    /// Same street and house number; the flat is given on one side only, or
    /// the street words agree only approximately.
    pub const NUMBER_AND_STREET: u8 = 1;
    /// Same street, but a number missing on one side, or another flat of the same house.
    pub const STREET_ONLY: u8 = 2;
    /// Different addresses, including another house number in the same street.
    pub const DIFFERENT: u8 = 3;
    /// Level names.
    pub const NAMES: [&str; 4] = ["exact", "number_and_street", "street_only", "different"];
}

/// Organisation levels.
pub mod organisation {
    /// Same name once legal suffixes (Ltd, plc…) are dropped.
    pub const EXACT: u8 = 0;
    /// Jaro–Winkler ≥ 0.90 or one name's words contain the other's.
    pub const SIMILAR: u8 = 1;
    /// Different organisations.
    pub const DIFFERENT: u8 = 2;
    /// Level names.
    pub const NAMES: [&str; 3] = ["exact", "jaro_winkler_0.90", "different"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_consistent() {
        for (i, f) in Field::ALL.iter().enumerate() {
            assert_eq!(f.index(), i);
            let names = f.level_names();
            assert!(names.len() <= MAX_LEVELS && names.len() >= 3);
            assert_eq!(names[0], "exact");
            assert_eq!(names[names.len() - 1], "different");
            assert_eq!(f.level_name(MISSING), "missing");
            let json = serde_json::to_string(f).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", f.name()));
        }
        assert_eq!(Field::Given.level_name(given::NICKNAME), "nickname");
        assert_eq!(Field::Dob.level_name(dob::DAY_MONTH_SWAP), "dob_day_month_swap");
    }
}
