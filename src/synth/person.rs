//! One synthetic person, a pure function of the seed and the person's index, so that a
//! benchmark can know the values of any generated person without reading the database.

use chrono::{Datelike, Days, NaiveDate};

use super::names::{self, Sex};
use super::places::{self, SampleAddress};
use super::rng::{mix64, SplitMix64};
use crate::normalize::text::fold;

/// Ages are between 18 and 95 on this date (a fixed date, so a seed always gives the same data).
pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// The values of one synthetic person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplePerson {
    /// Position in the data set made from the seed (0-based).
    pub index: u64,
    /// Title, e.g. "Ms".
    pub title: Option<String>,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Preferred name (a usual short form of the given name), for some people.
    pub preferred_name: Option<String>,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Organisation, for some people.
    pub organisation: Option<String>,
    /// The primary email address (unique in the data set: it holds the index).
    pub email: String,
    /// A second (work) email address, for a quarter of people.
    pub other_email: Option<String>,
    /// UK mobile in E.164 (`+447…`), unique in the data set.
    pub phone: String,
    /// Home address.
    pub address: SampleAddress,
    /// Tags, sorted.
    pub tags: Vec<String>,
    department_draw: u64,
    second_department: bool,
}

impl SamplePerson {
    /// Every email address, primary first.
    pub fn emails(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.email.as_str()).chain(self.other_email.as_deref())
    }

    /// Which of `n` departments the person is linked to: one, or two distinct ones.
    pub fn department_indices(&self, n: usize) -> Vec<usize> {
        if n == 0 {
            return Vec::new();
        }
        let n64 = n as u64;
        let first = self.department_draw % n64;
        let mut out = vec![first as usize];
        if self.second_department && n > 1 {
            let step = 1 + (self.department_draw >> 32) % (n64 - 1);
            out.push(((first + step) % n64) as usize);
        }
        out
    }
}

/// Leading digits after `+447` that are mobile ranges (not 0: personal numbers; not 6: pagers).
const MOBILE_LEADS: [u8; 8] = [1, 2, 3, 4, 5, 7, 8, 9];
const MOBILE_SPACE: u128 = 800_000_000;

/// A UK mobile number unique for each index below 800 million: the index is scrambled by a
/// multiplier coprime with the number space, so neighbours do not get neighbouring numbers.
fn mobile(seed: u64, index: u64) -> String {
    let n = (u128::from(index) * 387_420_489 + u128::from(mix64(seed)) % MOBILE_SPACE) % MOBILE_SPACE;
    let lead = MOBILE_LEADS[(n / 100_000_000) as usize % MOBILE_LEADS.len()];
    format!("+447{lead}{:08}", n % 100_000_000)
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// A realistic local part built from the folded names; it always ends in the index, so two
/// people never share an address.
fn local_part(rng: &mut SplitMix64, given: &str, family: &str, birth_year: i32, index: u64) -> String {
    let g = fold(given).replace(' ', "");
    let f = fold(family).replace(' ', "-");
    let (g, f) = match (g.is_empty(), f.is_empty()) {
        (false, false) => (g, f),
        _ => ("person".to_string(), "synthetic".to_string()),
    };
    let (g, f) = if rng.chance(0.1) {
        (capitalise(&g), capitalise(&f))
    } else {
        (g, f)
    };
    let initial: String = g.chars().take(1).collect();
    let yy = birth_year.rem_euclid(100);
    match rng.below(6) {
        0 => format!("{g}.{f}{index}"),
        1 => format!("{g}{f}{index}"),
        2 => format!("{initial}.{f}.{index}"),
        3 => format!("{f}.{g}{index}"),
        4 => format!("{g}_{f}_{index}"),
        _ => format!("{g}.{f}{yy:02}.{index}"),
    }
}

/// The person at `index` of the data set made from `seed`.
pub fn sample_person(seed: u64, index: u64) -> SamplePerson {
    let mut rng = SplitMix64::for_item(seed, index);
    let sex = if rng.chance(0.51) { Sex::Female } else { Sex::Male };
    let given = names::given(&mut rng, sex);
    let family = names::family(&mut rng);
    let title = names::title(&mut rng, sex);
    let preferred = names::preferred(&mut rng, given);
    let age = if rng.chance(0.6) {
        rng.between(18, 65)
    } else {
        rng.between(18, 95)
    };
    // At least `age` whole years before the reference date, less than `age + 1`.
    let days_back = age * 36_525 / 100 + 1 + rng.below(364);
    let date_of_birth = as_of().checked_sub_days(Days::new(days_back)).unwrap_or(as_of());
    let local = local_part(&mut rng, given, &family, date_of_birth.year(), index);
    let email = format!("{local}@{}", places::personal_domain(&mut rng));
    let other_email = rng.chance(0.25).then(|| {
        let initial: String = fold(given).chars().take(1).collect();
        let f = fold(&family).replace(' ', "-");
        format!("{initial}{f}.{index}@{}", places::work_domain(&mut rng))
    });
    SamplePerson {
        index,
        title: title.map(str::to_string),
        given_name: given.to_string(),
        family_name: family,
        preferred_name: preferred.map(str::to_string),
        date_of_birth,
        organisation: places::organisation(&mut rng).map(str::to_string),
        email,
        other_email,
        phone: mobile(seed, index),
        address: places::address(&mut rng),
        tags: places::tags(&mut rng),
        department_draw: rng.next_u64(),
        second_department: rng.chance(0.35),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::email::parse_email;
    use crate::normalize::phone::{is_uk_mobile, normalize_phone};
    use std::collections::HashSet;

    #[test]
    fn same_seed_same_person() {
        assert_eq!(sample_person(1, 77), sample_person(1, 77));
        assert_ne!(sample_person(1, 77), sample_person(2, 77));
    }

    #[test]
    fn values_pass_the_service_validation_and_are_unique() {
        let mut keys = HashSet::new();
        let mut phones = HashSet::new();
        let floor = as_of().checked_sub_days(Days::new(96 * 366)).unwrap_or(NaiveDate::MIN);
        for i in 0..20_000 {
            let p = sample_person(11, i);
            for e in p.emails() {
                let parsed = parse_email(e).map_err(|err| format!("{e}: {}", err.message));
                assert_eq!(parsed.as_ref().map(|x| x.key.clone()), Ok(e.to_ascii_lowercase()));
                assert!(keys.insert(e.to_ascii_lowercase()), "duplicate {e}");
            }
            assert_eq!(normalize_phone(&p.phone).ok().as_deref(), Some(p.phone.as_str()));
            assert!(is_uk_mobile(&p.phone), "{}", p.phone);
            assert!(phones.insert(p.phone.clone()));
            let age_days = (as_of() - p.date_of_birth).num_days();
            assert!(
                age_days >= 18 * 365 + 4 && p.date_of_birth > floor,
                "{}",
                p.date_of_birth
            );
            let d = p.department_indices(5);
            assert!(!d.is_empty() && d.len() <= 2 && d.iter().all(|x| *x < 5));
            assert!(d.len() == 1 || d[0] != d[1]);
        }
    }

    #[test]
    fn mobiles_are_unique_across_a_large_range() {
        let mut seen = HashSet::new();
        for i in (0..2_000_000u64).step_by(7) {
            assert!(seen.insert(mobile(5, i)));
        }
    }
}
