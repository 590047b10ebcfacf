//! Term frequencies: how common a value is among all records.
//!
//! Policy (as Splink's term-frequency adjustment): for an agreement on a
//! specific value with relative frequency `f`, the chance that two *different*
//! people agree on it is about `f`, so the level's weight is adjusted by
//! `log2(u_exact / f)`. "Smith" then counts for less than "Featherstonehaugh",
//! and a postcode shared by a tower block for less than a rural one. A source
//! answers `None` when it does not know a value; the model's average `u` is
//! then used unchanged. [`FrequencyTable`] answers only once it has seen at
//! least [`FrequencyTable::DEFAULT_MIN_RECORDS`] records with the field, so
//! that a nearly empty database does not produce wild frequencies; for emails
//! and phones it answers only for values held by more than
//! [`FrequencyTable::PERSONAL_MAX`] records (one person's records across
//! departments are not "sharing"), so only genuinely shared mailboxes and
//! switchboards are discounted.

use super::record::Prepared;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A source of relative value frequencies (share of records holding the value).
pub trait TermFrequencies {
    /// Frequency of a folded family name without spaces ([`Prepared::family_key`]).
    fn family(&self, folded: &str) -> Option<f64>;
    /// Frequency of a canonical given name ([`Prepared::given_canonical`]).
    fn given(&self, canonical: &str) -> Option<f64>;
    /// Frequency of a normalised postcode ([`Prepared::postcode`]).
    fn postcode(&self, pc: &str) -> Option<f64>;
    /// Frequency of an email match key. Used only to *lower* the weight of
    /// addresses shared by many records (a department's generic mailbox).
    fn email(&self, _key: &str) -> Option<f64> {
        None
    }
    /// Frequency of an E.164 number. Used only to *lower* the weight of
    /// numbers shared by many records (a switchboard).
    fn phone(&self, _e164: &str) -> Option<f64> {
        None
    }
}

/// No frequency information: the model's average `u` is used everywhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFrequencies;

impl TermFrequencies for NoFrequencies {
    fn family(&self, _folded: &str) -> Option<f64> {
        None
    }
    fn given(&self, _canonical: &str) -> Option<f64> {
        None
    }
    fn postcode(&self, _pc: &str) -> Option<f64> {
        None
    }
}

/// Value counts for one field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Counts {
    values: HashMap<String, u64>,
    /// Records holding any value of the field.
    records: u64,
}

impl Counts {
    fn add<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) {
        let mut any = false;
        for v in values {
            *self.values.entry(v.to_string()).or_insert(0) += 1;
            any = true;
        }
        if any {
            self.records += 1;
        }
    }

    fn frequency(&self, value: &str, min_records: u64, min_count: u64) -> Option<f64> {
        if self.records < min_records.max(1) {
            return None;
        }
        let n = *self.values.get(value)?;
        (n >= min_count).then(|| n as f64 / self.records as f64)
    }

    /// [`Counts::frequency`] of a name or postcode in a table pruned of the values held by
    /// fewer than `rare_below` records: an absent value is one of those (or one not seen when
    /// the table was counted), taken as held by [`FrequencyTable::RARE_ASSUMED`] records.
    fn name_frequency(&self, value: &str, min_records: u64, rare_below: u64) -> Option<f64> {
        match self.frequency(value, min_records, 1) {
            None if rare_below > 1 && self.records >= min_records.max(1) => {
                Some(FrequencyTable::RARE_ASSUMED.min(rare_below - 1) as f64 / self.records as f64)
            }
            found => found,
        }
    }

    /// Forget the values held by fewer than `min` records.
    fn prune(&mut self, min: u64) {
        self.values.retain(|_, n| *n >= min);
    }
}

/// Frequencies counted from a set of prepared records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrequencyTable {
    given: Counts,
    family: Counts,
    postcode: Counts,
    email: Counts,
    phone: Counts,
    min_records: u64,
    /// Set when stored: names and postcodes held by fewer records than this were left out.
    #[serde(default)]
    rare_below: u64,
}

impl Default for FrequencyTable {
    fn default() -> Self {
        FrequencyTable {
            given: Counts::default(),
            family: Counts::default(),
            postcode: Counts::default(),
            email: Counts::default(),
            phone: Counts::default(),
            min_records: Self::DEFAULT_MIN_RECORDS,
            rare_below: 0,
        }
    }
}

impl FrequencyTable {
    /// Records (holding the field) needed before frequencies are answered.
    pub const DEFAULT_MIN_RECORDS: u64 = 1000;

    /// Records one person may hold the same email or phone on (one per
    /// department) without it counting as shared.
    pub const PERSONAL_MAX: u64 = 3;

    /// Count the values of every record.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Prepared>) -> FrequencyTable {
        let mut t = FrequencyTable::default();
        for r in records {
            t.add(r);
        }
        t
    }

    /// Change how many records (holding a field) are needed before that
    /// field's frequencies are answered.
    pub fn with_min_records(mut self, min_records: u64) -> FrequencyTable {
        self.min_records = min_records;
        self
    }

    /// Count one more record.
    pub fn add(&mut self, r: &Prepared) {
        self.given.add(r.given_canonical());
        self.family.add(r.family_key());
        self.postcode.add(r.postcode());
        self.email.add(r.email_keys());
        self.phone.add(r.phones().iter().map(String::as_str));
    }

    /// Names and postcodes held by fewer records than this are left out of a stored table.
    pub const STORED_MIN_COUNT: u64 = 5;
    /// How many records a name or postcode left out of a stored table is taken to be held by
    /// (the geometric middle of 1–4, so its weight is at most one bit off).
    pub const RARE_ASSUMED: u64 = 2;

    /// The table as it may be stored, which outlives erasures: no email or phone value at all
    /// (contact points are personal data), and no name or postcode held by fewer than
    /// [`FrequencyTable::STORED_MIN_COUNT`] records (a rare surname identifies its holder). The
    /// counts of records stay, so a name left out still scores as a rare one.
    pub fn for_storage(mut self) -> FrequencyTable {
        self.email.values.clear();
        self.phone.values.clear();
        for counts in [&mut self.given, &mut self.family, &mut self.postcode] {
            counts.prune(Self::STORED_MIN_COUNT);
        }
        self.rare_below = Self::STORED_MIN_COUNT;
        self
    }

    /// Number of records counted that had a family name.
    pub fn family_records(&self) -> u64 {
        self.family.records
    }
}

impl TermFrequencies for FrequencyTable {
    fn family(&self, folded: &str) -> Option<f64> {
        self.family.name_frequency(folded, self.min_records, self.rare_below)
    }
    fn given(&self, canonical: &str) -> Option<f64> {
        self.given.name_frequency(canonical, self.min_records, self.rare_below)
    }
    fn postcode(&self, pc: &str) -> Option<f64> {
        self.postcode.name_frequency(pc, self.min_records, self.rare_below)
    }
    fn email(&self, key: &str) -> Option<f64> {
        self.email.frequency(key, self.min_records, Self::PERSONAL_MAX + 1)
    }
    fn phone(&self, e164: &str) -> Option<f64> {
        self.phone.frequency(e164, self.min_records, Self::PERSONAL_MAX + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::MatchRecord;
    use super::*;

    fn rec(given: &str, family: &str) -> Prepared {
        Prepared::from_record(&MatchRecord {
            given: Some(given.into()),
            family: Some(family.into()),
            postcode: Some("EC2V 7HH".into()),
            ..MatchRecord::default()
        })
    }

    #[test]
    fn counts_canonical_names() {
        let recs = [
            rec("Bill", "Smith"),
            rec("William", "Smith"),
            rec("Ann", "Jones"),
            rec("Jo", "O'Neil"),
        ];
        let t = FrequencyTable::from_records(&recs).with_min_records(4);
        assert_eq!(t.given("william"), Some(0.5));
        assert_eq!(t.family("smith"), Some(0.5));
        assert_eq!(t.family("oneil"), Some(0.25));
        assert_eq!(t.family("nobody"), None);
        assert_eq!(t.postcode("EC2V 7HH"), Some(1.0));
        assert_eq!(t.email("x@y.com"), None);
        assert_eq!(t.family_records(), 4);
        let small = FrequencyTable::from_records(&recs);
        assert_eq!(small.family("smith"), None, "below the minimum: no answer");
        assert_eq!(NoFrequencies.given("william"), None);
        let json = serde_json::to_string(&t).unwrap_or_default();
        let back: Result<FrequencyTable, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(t));
    }

    #[test]
    fn a_stored_table_names_no_rare_value_and_still_scores_them_as_rare() {
        let mut recs: Vec<Prepared> = (0..6).map(|_| rec("Ann", "Smith")).collect();
        recs.push(rec("Ann", "Featherstonehaugh"));
        recs.push(rec("Bill", "Featherstonehaugh"));
        let full = FrequencyTable::from_records(&recs).with_min_records(4);
        let stored = full.clone().for_storage();
        let json = serde_json::to_string(&stored).unwrap_or_default();
        assert!(json.contains("smith") && !json.contains("featherstonehaugh"), "{json}");
        assert!(!json.contains("bill"), "{json}");
        let back: FrequencyTable = serde_json::from_str(&json).unwrap();
        // Common values answer as before; a rare one (held by 2) as if held by two records,
        // and one never seen as rare too.
        assert_eq!(back.family("smith"), full.family("smith"));
        assert_eq!(back.family("featherstonehaugh"), Some(2.0 / 8.0));
        assert_eq!(back.given("bill"), Some(2.0 / 8.0));
        assert_eq!(back.family("nobody"), Some(2.0 / 8.0));
        assert_eq!(full.family("nobody"), None, "an unpruned table does not guess");
        // A table stored before pruning existed reads as unpruned.
        let old = serde_json::to_string(&full).unwrap().replace(",\"rare_below\":0", "");
        let old: FrequencyTable = serde_json::from_str(&old).unwrap();
        assert_eq!(old.family("nobody"), None);
    }
}
