//! The real people behind the departmental copies ("entities"), and the different people who
//! look like them: twins, a parent and child of the same name at one address, households,
//! namesakes and, in the hard setting, more of the commonest surnames.
//!
//! Entity `i` is built from [`sample_person`]`(seed, i)`; a look-alike takes the names, address
//! or date of birth of entity `i - 1` (itself possibly a look-alike, so households of three or
//! more occur) and keeps its own contact points, so it never shares an email or mobile by
//! accident. Entities are made in order, one at a time, holding only the previous one.

use chrono::{Days, Months, NaiveDate};

use super::Rates;
use crate::synth::names;
use crate::synth::places::{self, SampleAddress};
use crate::synth::rng::SplitMix64;
use crate::synth::{as_of, sample_person};

const RELATION_SALT: u64 = 0x5EED_0F4E_1A71_0000;
const TWIN_SALT: u64 = 0x7717_0000_0000_0001;
const MOVE_SALT: u64 = 0x4D0F_ED00_4D0F_ED00;

/// How an entity relates to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Relation {
    /// Nobody in particular.
    Unrelated,
    /// Same family name, address and date of birth; another given name.
    Twin,
    /// Same names and address, a generation apart ("Jr" / "Sr").
    ParentChild,
    /// Same family name and address; own given name and date of birth.
    Household,
    /// Same given and family name; everything else their own.
    Namesake,
}

impl Relation {
    /// A short label for reports.
    pub fn label(self) -> &'static str {
        match self {
            Relation::Unrelated => "unrelated",
            Relation::Twin => "twins",
            Relation::ParentChild => "parent/child",
            Relation::Household => "household",
            Relation::Namesake => "namesakes",
        }
    }
}

/// One real person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// The truth label (the index in the data set).
    pub id: u64,
    /// How they relate to entity `id - 1`.
    pub relation: Relation,
    /// Title.
    pub title: Option<String>,
    /// Given name.
    pub given: String,
    /// The short form they go by, if any.
    pub preferred: Option<String>,
    /// Family name.
    pub family: String,
    /// "Jr" or "Sr", for the second of a parent and child of the same name.
    pub suffix: Option<&'static str>,
    /// Date of birth.
    pub dob: NaiveDate,
    /// Email address.
    pub email: String,
    /// Mobile, E.164.
    pub phone: String,
    /// Home address.
    pub address: SampleAddress,
    /// Employer.
    pub organisation: Option<String>,
}

impl Entity {
    /// Person `id` of the data set made from `seed`, as it is (no look-alike).
    pub(super) fn from_sample(seed: u64, id: u64) -> Entity {
        let p = sample_person(seed, id);
        Entity {
            id,
            relation: Relation::Unrelated,
            title: p.title,
            given: p.given_name,
            preferred: p.preferred_name,
            family: p.family_name,
            suffix: None,
            dob: p.date_of_birth,
            email: usable_email(p.email),
            phone: p.phone,
            address: p.address,
            organisation: p.organisation,
        }
    }
}

/// The people generator gives a fifth of people an address on `example.com` or `example.org`,
/// which the matching engine ignores as placeholders (`src/matching/record.rs`). A real list
/// holds real addresses, so an entity gets a provider's domain instead; the local part holds
/// the index, so addresses stay unique.
fn usable_email(email: String) -> String {
    match email.rsplit_once('@') {
        Some((local, "example.com")) => format!("{local}@outlook.com"),
        Some((local, "example.org")) => format!("{local}@btinternet.com"),
        _ => email,
    }
}

/// The entities of a data set, in order.
#[derive(Debug)]
pub struct Entities {
    seed: u64,
    rates: Rates,
    next: u64,
    count: u64,
    prev: Option<Entity>,
}

impl Entities {
    /// `count` entities made from `seed`.
    pub fn new(seed: u64, count: u64, rates: Rates) -> Entities {
        Entities {
            seed,
            rates,
            next: 0,
            count,
            prev: None,
        }
    }
}

impl Iterator for Entities {
    type Item = Entity;

    fn next(&mut self) -> Option<Entity> {
        if self.next >= self.count {
            return None;
        }
        let id = self.next;
        self.next += 1;
        let mut rng = SplitMix64::for_item(self.seed ^ RELATION_SALT, id);
        let fresh = Entity::from_sample(self.seed, id);
        let entity = match (draw_relation(&self.rates, &mut rng), self.prev.as_ref()) {
            (Relation::Twin, Some(prev)) => twin(prev, fresh, self.seed),
            (Relation::ParentChild, Some(prev)) => parent_child(prev, fresh, &mut rng),
            (Relation::Household, Some(prev)) => household(prev, fresh, &self.rates, &mut rng),
            (Relation::Namesake, Some(prev)) => namesake(prev, fresh, &self.rates, &mut rng),
            _ => unrelated(fresh, &self.rates, &mut rng),
        };
        self.prev = Some(entity.clone());
        Some(entity)
    }
}

/// Which relation entity `i` has to the one before it.
fn draw_relation(rates: &Rates, rng: &mut SplitMix64) -> Relation {
    let x = rng.unit();
    let mut edge = 0.0;
    for (p, relation) in [
        (rates.twin, Relation::Twin),
        (rates.parent_child, Relation::ParentChild),
        (rates.household, Relation::Household),
        (rates.namesake, Relation::Namesake),
    ] {
        edge += p;
        if x < edge {
            return relation;
        }
    }
    Relation::Unrelated
}

/// Whole years from `dob` to the reference date.
fn age(dob: NaiveDate) -> u32 {
    u32::try_from((as_of() - dob).num_days() / 365).unwrap_or(0)
}

fn unrelated(mut fresh: Entity, rates: &Rates, rng: &mut SplitMix64) -> Entity {
    if rng.chance(rates.common_surname) {
        // The ten commonest family names, evenly: many unrelated people share them.
        let common = &names::tables().family_uniform;
        if let Some(name) = rng.pick(common.get(..10).unwrap_or(common)) {
            fresh.family = (*name).to_string();
        }
    }
    fresh
}

fn twin(prev: &Entity, mut fresh: Entity, seed: u64) -> Entity {
    if fresh.given == prev.given {
        // Twins are rarely given the same name: take another person's.
        let other = sample_person(seed ^ TWIN_SALT, fresh.id);
        fresh.given = other.given_name;
        fresh.preferred = other.preferred_name;
        fresh.title = other.title;
    }
    fresh.relation = Relation::Twin;
    fresh.family = prev.family.clone();
    fresh.address = prev.address.clone();
    fresh.dob = prev.dob;
    fresh
}

fn parent_child(prev: &Entity, mut fresh: Entity, rng: &mut SplitMix64) -> Entity {
    let gap = rng.between(20, 38) as u32;
    let shift = Days::new(rng.below(300));
    // A child is at least 18 on the reference date, the shift of up to 300 days included.
    let older = age(prev.dob) < 19 + gap;
    let dob = if older {
        prev.dob
            .checked_sub_months(Months::new(12 * gap))
            .and_then(|d| d.checked_sub_days(shift))
    } else {
        prev.dob
            .checked_add_months(Months::new(12 * gap))
            .and_then(|d| d.checked_add_days(shift))
    };
    fresh.relation = Relation::ParentChild;
    fresh.dob = dob.unwrap_or(fresh.dob);
    fresh.suffix = Some(if older { "Sr" } else { "Jr" });
    fresh.title = prev.title.clone();
    fresh.given = prev.given.clone();
    fresh.preferred = prev.preferred.clone();
    fresh.family = prev.family.clone();
    fresh.address = prev.address.clone();
    fresh
}

fn household(prev: &Entity, mut fresh: Entity, rates: &Rates, rng: &mut SplitMix64) -> Entity {
    fresh.relation = Relation::Household;
    fresh.family = prev.family.clone();
    fresh.address = prev.address.clone();
    if rng.chance(rates.shared_email) {
        // A family address ("thesmiths@…") that both give.
        fresh.email = prev.email.clone();
    }
    fresh
}

fn namesake(prev: &Entity, mut fresh: Entity, rates: &Rates, rng: &mut SplitMix64) -> Entity {
    fresh.relation = Relation::Namesake;
    fresh.title = prev.title.clone();
    fresh.given = prev.given.clone();
    fresh.preferred = prev.preferred.clone();
    fresh.family = prev.family.clone();
    if rng.chance(rates.namesake_same_year) {
        // Born the same year: the same blocks, and only the day and month tell them apart.
        let same_year = chrono::Datelike::with_year(&fresh.dob, chrono::Datelike::year(&prev.dob));
        fresh.dob = same_year.filter(|d| *d <= as_of()).unwrap_or(fresh.dob);
    }
    fresh
}

/// An address the entity moved to: the same for every copy that has it (one move, not many).
pub fn new_address(seed: u64, id: u64) -> SampleAddress {
    places::address(&mut SplitMix64::for_item(seed ^ MOVE_SALT, id))
}

/// A London landline the entity took instead of their mobile: distinct for each id below
/// 30 million and never one of the generated mobiles.
pub fn new_landline(seed: u64, id: u64) -> String {
    const SPACE: u64 = 30_000_000;
    // 48,271 is prime and not 2, 3 or 5, so it is coprime with the space: a bijection.
    let n = (u128::from(id) * 48_271 + u128::from(seed % SPACE)) % u128::from(SPACE);
    let lead = [3, 7, 8][(n / 10_000_000) as usize % 3];
    format!("+4420{lead}{:07}", n % 10_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn entities(hard: bool, n: u64) -> Vec<Entity> {
        let rates = if hard { Rates::HARD } else { Rates::NORMAL };
        Entities::new(7, n, rates).collect()
    }

    #[test]
    fn entities_are_reproducible() {
        assert_eq!(entities(false, 500), entities(false, 500));
        assert_ne!(
            entities(false, 50),
            Entities::new(8, 50, Rates::NORMAL).collect::<Vec<_>>()
        );
    }

    #[test]
    fn look_alikes_share_what_they_should_and_no_more() {
        let all = entities(true, 5_000);
        let mut kinds: HashMap<Relation, usize> = HashMap::new();
        for w in all.windows(2) {
            let (prev, e) = (&w[0], &w[1]);
            *kinds.entry(e.relation).or_default() += 1;
            assert_ne!(e.phone, prev.phone);
            match e.relation {
                Relation::Twin => {
                    assert!(e.family == prev.family && e.address == prev.address && e.dob == prev.dob);
                }
                Relation::ParentChild => {
                    assert!(e.given == prev.given && e.family == prev.family && e.address == prev.address);
                    let years = (e.dob - prev.dob).num_days().abs() / 365;
                    assert!((19..=39).contains(&years), "{years}");
                    assert!(age(e.dob) >= 18, "{}", e.dob);
                    let younger = e.dob > prev.dob;
                    assert_eq!(e.suffix, Some(if younger { "Jr" } else { "Sr" }));
                }
                Relation::Household => assert!(e.family == prev.family && e.address == prev.address),
                Relation::Namesake => assert!(e.given == prev.given && e.family == prev.family),
                Relation::Unrelated => {}
            }
        }
        for kind in [
            Relation::Twin,
            Relation::ParentChild,
            Relation::Household,
            Relation::Namesake,
        ] {
            assert!(kinds.get(&kind).copied().unwrap_or(0) > 50, "{kind:?}: {kinds:?}");
        }
    }

    #[test]
    fn emails_are_unique_and_never_placeholders() {
        let mut seen = HashSet::new();
        for e in entities(false, 5_000)
            .iter()
            .filter(|e| e.relation != Relation::Household)
        {
            assert!(seen.insert(e.email.clone()), "{}", e.email);
            assert!(!e.email.ends_with("@example.com") && !e.email.ends_with("@example.org"));
        }
        assert_eq!(usable_email("a.b1@example.com".into()), "a.b1@outlook.com");
        assert_eq!(usable_email("a.b1@example.net".into()), "a.b1@example.net");
        assert_eq!(usable_email("no-at-sign".into()), "no-at-sign");
    }

    #[test]
    fn new_landlines_are_distinct_valid_and_not_mobiles() {
        let mut seen = HashSet::new();
        for id in (0..3_000_000).step_by(3) {
            let n = new_landline(5, id);
            assert!(seen.insert(n.clone()), "{n}");
        }
        let n = new_landline(5, 42);
        assert_eq!(crate::normalize::phone::normalize_phone(&n).ok(), Some(n.clone()));
        assert!(!crate::normalize::phone::is_uk_mobile(&n));
    }
}
