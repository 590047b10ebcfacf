//! Field-by-field comparison of two prepared records into discrete levels.
//!
//! Policy: [`compare`] gives one level per [`Field`] (see [`super::field`]),
//! or [`MISSING`] when either side lacks the value, so that absent data is
//! never read as disagreement. It is symmetric (`compare(a, b) ==
//! compare(b, a)`), does not allocate, and never panics. Swapped given and
//! family names are recognised across the two fields: when record A's given
//! name is record B's family name and vice versa (exactly or as nicknames),
//! both fields get the level `swapped` instead of two disagreements.
//! Likewise a move is one finding, not two: when the postcodes are in
//! different sectors, a different address line is implied and counts as
//! missing (the address weights are set as if given the postcode's level).

pub use super::field::{Field, FIELD_COUNT, MISSING};

use super::address::compare_address;
use super::contact::{compare_dob, compare_emails, compare_organisations, compare_phones, compare_postcodes};
use super::field::{address as al, family as fl, given as gl, postcode as pl};
use super::names::{compare_family, compare_given, swapped};
use super::record::Prepared;

/// The comparison vector of a pair: one level index per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Comparison {
    levels: [u8; FIELD_COUNT],
}

impl Default for Comparison {
    fn default() -> Self {
        Comparison::all_missing()
    }
}

impl Comparison {
    /// A comparison in which every field is [`MISSING`].
    pub const fn all_missing() -> Comparison {
        Comparison {
            levels: [MISSING; FIELD_COUNT],
        }
    }

    /// Build from raw level indices in [`Field::ALL`] order; an index beyond
    /// the field's levels becomes [`MISSING`].
    pub fn from_levels(levels: [u8; FIELD_COUNT]) -> Comparison {
        let mut c = Comparison::all_missing();
        for (f, l) in Field::ALL.into_iter().zip(levels) {
            c = c.with(f, Some(l));
        }
        c
    }

    /// The same comparison with one field set (`None`, or an index out of
    /// range for the field, means [`MISSING`]).
    pub fn with(mut self, field: Field, level: Option<u8>) -> Comparison {
        let valid = level.filter(|l| usize::from(*l) < field.level_names().len());
        if let Some(slot) = self.levels.get_mut(field.index()) {
            *slot = valid.unwrap_or(MISSING);
        }
        self
    }

    /// The level of a field, `None` when missing.
    pub fn level(&self, field: Field) -> Option<u8> {
        self.levels.get(field.index()).copied().filter(|l| *l != MISSING)
    }

    /// The raw level index of a field ([`MISSING`] when missing).
    pub fn raw(&self, field: Field) -> u8 {
        self.levels.get(field.index()).copied().unwrap_or(MISSING)
    }

    /// The level name of a field (`"missing"` when missing).
    pub fn level_name(&self, field: Field) -> &'static str {
        field.level_name(self.raw(field))
    }

    /// All raw levels in [`Field::ALL`] order.
    pub fn levels(&self) -> [u8; FIELD_COUNT] {
        self.levels
    }
}

/// Apply `f` when both values are present, else [`MISSING`].
fn both<T: ?Sized, U: ?Sized>(a: Option<&T>, b: Option<&U>, f: impl Fn(&T, &U) -> u8) -> u8 {
    match (a, b) {
        (Some(x), Some(y)) => f(x, y),
        _ => MISSING,
    }
}

/// Compare two prepared records field by field.
pub fn compare(a: &Prepared, b: &Prepared) -> Comparison {
    let mut given = both(a.given.as_ref(), b.given.as_ref(), compare_given);
    let mut family = both(a.family.as_ref(), b.family.as_ref(), compare_family);
    if let (Some(ag), Some(af), Some(bg), Some(bf)) = (&a.given, &a.family, &b.given, &b.family) {
        let names_agree = matches!(given, gl::EXACT | gl::NICKNAME) || family == fl::EXACT;
        if !names_agree && swapped(ag, af, bg, bf) {
            given = gl::SWAPPED;
            family = fl::SWAPPED;
        }
    }
    let dob = match (a.dob, b.dob) {
        (Some(x), Some(y)) => compare_dob(x, &a.dob_digits, y, &b.dob_digits),
        _ => MISSING,
    };
    let email = if a.emails.is_empty() || b.emails.is_empty() {
        MISSING
    } else {
        compare_emails(&a.emails, &b.emails)
    };
    let phone = if a.phones.is_empty() || b.phones.is_empty() {
        MISSING
    } else {
        compare_phones(&a.phones, &b.phones)
    };
    let postcode = both(a.postcode.as_ref(), b.postcode.as_ref(), compare_postcodes);
    let mut address = both(a.address.as_ref(), b.address.as_ref(), compare_address);
    if address == al::DIFFERENT && matches!(postcode, pl::OUTWARD | pl::DIFFERENT) {
        address = MISSING;
    }
    Comparison {
        levels: [
            given,
            family,
            dob,
            email,
            phone,
            postcode,
            address,
            both(a.organisation.as_ref(), b.organisation.as_ref(), compare_organisations),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::MatchRecord;
    use super::*;

    fn person(given: &str, family: &str) -> Prepared {
        Prepared::from_record(&MatchRecord {
            given: Some(given.into()),
            family: Some(family.into()),
            ..MatchRecord::default()
        })
    }

    #[test]
    fn swapped_names_are_one_finding() {
        let c = compare(&person("John", "Smith"), &person("SMITH", "john"));
        assert_eq!(c.level_name(Field::Given), "swapped");
        assert_eq!(c.level_name(Field::Family), "swapped");
        let c = compare(&person("Jon", "Smith"), &person("Jonathan", "Smith"));
        assert_eq!(
            (c.level_name(Field::Given), c.level_name(Field::Family)),
            ("nickname", "exact")
        );
        assert_eq!(c.level(Field::Dob), None);
    }

    #[test]
    fn a_move_is_one_finding() {
        let at = |postcode: &str, line: &str| {
            Prepared::from_record(&MatchRecord {
                given: Some("Ann".into()),
                family: Some("Lee".into()),
                postcode: Some(postcode.into()),
                address_line: Some(line.into()),
                ..MatchRecord::default()
            })
        };
        let home = at("EC2V 7HH", "10 High Street");
        let moved = compare(&home, &at("SW1A 1AA", "1 The Mall"));
        assert_eq!(
            (moved.level_name(Field::Postcode), moved.level(Field::Address)),
            ("different", None)
        );
        // Next door: the postcode agrees, so another house number is evidence against.
        let next_door = compare(&home, &at("EC2V 7HH", "12 High Street"));
        assert_eq!(next_door.level_name(Field::Address), "different");
        // A mistyped postcode with the same address line still counts the address.
        let typo = compare(&home, &at("SW1A 7HH", "10 High Street"));
        assert_eq!(typo.level_name(Field::Address), "exact");
        assert_eq!(compare(&at("SW1A 1AA", "1 The Mall"), &home), moved);
    }

    #[test]
    fn construction_is_checked() {
        let c = Comparison::from_levels([0, 1, 2, 3, 2, 9, 200, MISSING]);
        assert_eq!(c.level(Field::Given), Some(0));
        assert_eq!(c.level(Field::Phone), Some(2));
        assert_eq!(c.level(Field::Postcode), None);
        assert_eq!(c.level(Field::Address), None);
        assert_eq!(c.level_name(Field::Family), "swapped");
        assert_eq!(Comparison::default(), Comparison::all_missing());
    }
}
