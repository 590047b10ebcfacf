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

    /// The table without any email or phone value (for storing: contact points are personal
    /// data, and a stored table outlives erasures); names and postcodes are kept as counts.
    pub fn without_contact_points(mut self) -> FrequencyTable {
        self.email.values.clear();
        self.phone.values.clear();
        self
    }

    /// Number of records counted that had a family name.
    pub fn family_records(&self) -> u64 {
        self.family.records
    }
}

impl TermFrequencies for FrequencyTable {
    fn family(&self, folded: &str) -> Option<f64> {
        self.family.frequency(folded, self.min_records, 1)
    }
    fn given(&self, canonical: &str) -> Option<f64> {
        self.given.frequency(canonical, self.min_records, 1)
    }
    fn postcode(&self, pc: &str) -> Option<f64> {
        self.postcode.frequency(pc, self.min_records, 1)
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
}
