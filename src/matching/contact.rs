//! Comparators for dates of birth, emails, phones, postcodes and organisations.
//!
//! Policy: each comparator maps two prepared values to one level of its field
//! (see [`super::field`]); lists (emails, phones) take the best level over all
//! pairs. A date typo is one mistyped digit or one exchange of adjacent
//! digits in `YYYYMMDD`, but not in the first three digits of the year (that
//! is a parent and child), or a neighbouring key: the day one off (9 → 10
//! changes two digits, 31 March → 1 April three) or the year one off with
//! the same day and month (1979 → 1980); a day/month swap needs the same year. A shared email
//! local part only counts when it is distinctive (five or more characters,
//! not all digits); an email typo is one edit (substitution, insertion,
//! deletion, adjacent exchange) in the local part at the same domain, or in
//! the domain with the same local part: family members' addresses are often
//! alike (`paul.brown1@…`, `paula.brown2@…`), so nothing looser counts.
//! Nothing here allocates.

use super::field::{dob as dl, email as el, organisation as ol, phone as pl, postcode as pcl};
use super::record::{EmailKey, Organisation, Postcode};
use super::strsim::{jaro_winkler, one_slip, slip_position, within_one_edit};
use chrono::{Datelike, NaiveDate};

/// Compare two dates of birth given with their `YYYYMMDD` digits.
///
/// A slip in the first three digits of the year (millennium, century,
/// decade) is *not* a typo: it moves the date by ten years or more, which is
/// what a parent and child of the same name look like. A day or a year one
/// off is a typo however many digits it changes.
pub(crate) fn compare_dob(a: NaiveDate, ad: &[u8; 8], b: NaiveDate, bd: &[u8; 8]) -> u8 {
    if a == b {
        dl::EXACT
    } else if a.year() == b.year() && a.day() == b.month() && a.month() == b.day() {
        dl::DAY_MONTH_SWAP
    } else if slip_position(ad, bd).is_some_and(|i| i >= 3) || neighbouring_key(a, b) {
        dl::TYPO
    } else {
        dl::DIFFERENT
    }
}

/// One day apart, or the same day and month one year apart.
fn neighbouring_key(a: NaiveDate, b: NaiveDate) -> bool {
    let years = (a.year() - b.year()).abs();
    if years > 1 {
        return false;
    }
    if a.day() == b.day() && a.month() == b.month() {
        return years == 1;
    }
    (a - b).num_days().abs() == 1
}

/// A local part distinctive enough to suggest the same person at another provider.
fn distinctive(local: &str) -> bool {
    local.len() >= 5 && !local.bytes().all(|c| c.is_ascii_digit())
}

impl EmailKey {
    /// The domain (after `@`).
    fn domain(&self) -> &str {
        self.key.get(self.local_len + 1..).unwrap_or("")
    }
}

fn one_edit(a: &str, b: &str) -> bool {
    within_one_edit(a.as_bytes(), b.as_bytes())
}

fn email_pair(a: &EmailKey, b: &EmailKey) -> u8 {
    let same_local = a.local() == b.local();
    if a.key == b.key {
        el::EXACT
    } else if same_local && distinctive(a.local()) {
        el::SAME_LOCAL
    } else if (a.domain() == b.domain() && one_edit(a.local(), b.local()))
        || (same_local && one_edit(a.domain(), b.domain()))
    {
        el::TYPO
    } else {
        el::DIFFERENT
    }
}

/// Best level over all pairs of the two records' email keys (both non-empty).
pub(crate) fn compare_emails(a: &[EmailKey], b: &[EmailKey]) -> u8 {
    let mut best = el::DIFFERENT;
    for x in a {
        for y in b {
            best = best.min(email_pair(x, y));
            if best == el::EXACT {
                return best;
            }
        }
    }
    best
}

/// Best level over all pairs of the two records' E.164 numbers (both non-empty).
pub(crate) fn compare_phones(a: &[String], b: &[String]) -> u8 {
    let mut best = pl::DIFFERENT;
    for x in a {
        for y in b {
            if x == y {
                return pl::EXACT;
            }
            if one_slip(x.as_bytes(), y.as_bytes()) {
                best = pl::SLIP;
            }
        }
    }
    best
}

/// Compare two postcodes: full, sector, outward, different.
pub(crate) fn compare_postcodes(a: &Postcode, b: &Postcode) -> u8 {
    if a.full == b.full {
        pcl::EXACT
    } else if a.sector() == b.sector() {
        pcl::SECTOR
    } else if a.outward() == b.outward() {
        pcl::OUTWARD
    } else {
        pcl::DIFFERENT
    }
}

/// Compare two organisations: same words, similar or contained, different.
pub(crate) fn compare_organisations(a: &Organisation, b: &Organisation) -> u8 {
    if a.key == b.key {
        return ol::EXACT;
    }
    let (small, large) = if a.words.len() <= b.words.len() {
        (&a.words, &b.words)
    } else {
        (&b.words, &a.words)
    };
    let contained = small.iter().any(|w| w.len() >= 3) && small.iter().all(|w| large.binary_search(w).is_ok());
    if contained || jaro_winkler(a.key.as_bytes(), b.key.as_bytes()) >= 0.90 {
        ol::SIMILAR
    } else {
        ol::DIFFERENT
    }
}

#[cfg(test)]
mod tests {
    use super::super::compare::compare;
    use super::super::field::{Field, MISSING};
    use super::super::record::{MatchRecord, Prepared};
    use super::*;

    fn level(field: Field, a: MatchRecord, b: MatchRecord) -> &'static str {
        let (pa, pb) = (Prepared::from_record(&a), Prepared::from_record(&b));
        let ab = compare(&pa, &pb);
        assert_eq!(ab, compare(&pb, &pa), "not symmetric");
        ab.level_name(field)
    }

    fn dob(s: &str) -> MatchRecord {
        MatchRecord {
            dob: NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            ..MatchRecord::default()
        }
    }

    fn emails(list: &[&str]) -> MatchRecord {
        MatchRecord {
            emails: list.iter().map(|s| s.to_string()).collect(),
            ..MatchRecord::default()
        }
    }

    fn phones(list: &[&str]) -> MatchRecord {
        MatchRecord {
            phones: list.iter().map(|s| s.to_string()).collect(),
            ..MatchRecord::default()
        }
    }

    fn pc(s: &str) -> MatchRecord {
        MatchRecord {
            postcode: Some(s.into()),
            ..MatchRecord::default()
        }
    }

    fn org(s: &str) -> MatchRecord {
        MatchRecord {
            organisation: Some(s.into()),
            ..MatchRecord::default()
        }
    }

    #[test]
    fn dates_of_birth() {
        for (a, b, want) in [
            ("1980-03-07", "1980-03-07", "exact"),
            ("1980-03-07", "1980-07-03", "dob_day_month_swap"),
            ("1980-03-07", "1980-03-08", "dob_typo"),
            ("1980-03-17", "1980-03-71", "missing"), // not a date: no evidence
            ("1980-03-12", "1980-03-21", "dob_typo"),
            ("1986-03-07", "1968-03-07", "different"),
            ("1980-03-07", "1990-03-07", "different"),
            ("1955-03-08", "1985-03-08", "different"),
            ("1980-03-07", "1981-03-07", "dob_typo"),
            ("1980-03-07", "1981-04-07", "different"),
            ("1960-05-20", "1990-11-02", "different"),
            // A neighbouring key across a digit boundary.
            ("1980-04-09", "1980-04-10", "dob_typo"),
            ("1980-03-31", "1980-04-01", "dob_typo"),
            ("1979-12-31", "1980-01-01", "dob_typo"),
            ("1979-06-15", "1980-06-15", "dob_typo"),
            ("1989-06-15", "1990-06-15", "dob_typo"),
            ("1980-04-09", "1980-04-11", "different"),
            ("1979-06-15", "1981-06-15", "different"),
            ("1979-06-15", "1980-06-16", "different"),
        ] {
            assert_eq!(level(Field::Dob, dob(a), dob(b)), want, "{a} {b}");
        }
        assert_eq!(level(Field::Dob, dob("1980-03-07"), MatchRecord::default()), "missing");
    }

    proptest::proptest! {
        /// A neighbouring key is a typo both ways; a generation apart never is.
        #[test]
        fn dob_typos_are_neighbours_not_generations(days in 0i64..40_000, gap in 10i32..60) {
            let Some(d) = NaiveDate::from_ymd_opt(1920, 1, 1).and_then(|x| x.checked_add_signed(chrono::Duration::days(days))) else {
                return Ok(());
            };
            let at = |x: NaiveDate| x.format("%Y-%m-%d").to_string();
            let near = [d.succ_opt(), d.pred_opt(), d.with_year(d.year() + 1), d.with_year(d.year() - 1)];
            for n in near.into_iter().flatten() {
                let l = level(Field::Dob, dob(&at(d)), dob(&at(n)));
                proptest::prop_assert!(l == "dob_typo" || l == "dob_day_month_swap", "{d} {n} {l}");
            }
            if let Some(far) = d.with_year(d.year() + gap) {
                proptest::prop_assert_eq!(level(Field::Dob, dob(&at(d)), dob(&at(far))), "different");
            }
        }
    }

    #[test]
    fn email_provider_rules() {
        for (a, b, want) in [
            (
                &["Jane.Doe@Gmail.com"][..],
                &["janedoe+council@googlemail.com"][..],
                "exact",
            ),
            (&["john.smith+x@outlook.com"], &["John.Smith@Outlook.com"], "exact"),
            (&["a.b@hotmail.co.uk", "work@acme.co.uk"], &["Work@ACME.co.uk"], "exact"),
            (&["base-keyword@yahoo.co.uk"], &["base@yahoo.co.uk"], "exact"),
            (&["j.smith@outlook.com"], &["jsmith@outlook.com"], "one_edit"),
            (
                &["jsmith1980@gmail.com"],
                &["jsmith1980@hotmail.co.uk"],
                "same_local_part",
            ),
            (&["john@gmail.com"], &["john@hotmail.com"], "different"),
            (&["john@gmail.com"], &["john@gmial.com"], "one_edit"),
            (&["harry.khan912@gmail.com"], &["harry.khan248@gmail.com"], "different"),
            (&["paul.brown386@gmail.com"], &["paula.brown503@gmail.com"], "different"),
            (&["john@gmail.com"], &["jane@gmail.com"], "different"),
            (&["alice@acme.com"], &["bob@other.org"], "different"),
            (&["info@acme.com"], &["info@acme.com"], "missing"),
        ] {
            assert_eq!(level(Field::Email, emails(a), emails(b)), want, "{a:?} {b:?}");
        }
    }

    #[test]
    fn phone_formats() {
        for (a, b, want) in [
            (&["07700 900123"][..], &["+44 7700 900123"][..], "exact"),
            (&["+44 (0)20 7946 0000", "07700 900123"], &["020-7946-0000"], "exact"),
            (&["07700 900123"], &["07700 900132"], "one_digit_slip"),
            (&["07700 900123"], &["07700 900456"], "different"),
            (&["07700 900123"], &["not a phone"], "missing"),
        ] {
            assert_eq!(level(Field::Phone, phones(a), phones(b)), want, "{a:?} {b:?}");
        }
    }

    #[test]
    fn postcodes() {
        for (a, b, want) in [
            ("ec2v7hh", "EC2V 7HH", "exact"),
            ("EC2V 7HH", "EC2V 7AB", "sector"),
            ("EC2V 7HH", "EC2V 9AB", "outward"),
            ("EC2V 7HH", "SW1A 1AA", "different"),
            ("EC2V 7HH", "not a postcode", "missing"),
        ] {
            assert_eq!(level(Field::Postcode, pc(a), pc(b)), want, "{a} {b}");
        }
    }

    #[test]
    fn organisations() {
        for (a, b, want) in [
            ("Acme Widgets Ltd", "ACME WIDGETS LIMITED", "exact"),
            ("Acme Widgets", "Acme Widgets Northern", "jaro_winkler_0.90"),
            ("City of London Corporation", "City of London Corp", "jaro_winkler_0.90"),
            ("Acme", "Bloggs & Sons", "different"),
        ] {
            assert_eq!(level(Field::Organisation, org(a), org(b)), want, "{a} {b}");
        }
        let c = compare(
            &Prepared::from_record(&org("Acme")),
            &Prepared::from_record(&MatchRecord::default()),
        );
        assert_eq!(c.level(Field::Organisation), None);
        assert_eq!(c.raw(Field::Organisation), MISSING);
    }
}
