//! The rows of the file seen so far, for in-file duplicates: each kept packed in one allocation,
//! found again by external id, by content, or through a blocking key's chain (capped).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::matching::{Decision, MatchRecord, Prepared};
use crate::service::identity::matcher::Matcher;

/// Rows of the same file compared per blocking key (in-file duplicates).
pub(super) const LOCAL_PER_KEY: usize = 32;

/// A match record in one allocation: each text as a little-endian `u16` length and its bytes
/// (`u16::MAX` for none), the lists as a count and their texts, the date as its day number.
pub(super) struct Packed(Box<[u8]>);

impl Packed {
    pub(super) fn pack(r: &MatchRecord) -> Packed {
        fn text(out: &mut Vec<u8>, v: Option<&str>) {
            match v {
                // Longer than any cleaned field; cut at a character boundary all the same.
                Some(v) => {
                    let mut end = v.len().min(usize::from(u16::MAX - 1));
                    while !v.is_char_boundary(end) {
                        end -= 1;
                    }
                    out.extend_from_slice(&(end as u16).to_le_bytes());
                    out.extend_from_slice(&v.as_bytes()[..end]);
                }
                None => out.extend_from_slice(&u16::MAX.to_le_bytes()),
            }
        }
        let mut out = Vec::with_capacity(96);
        for v in [&r.given, &r.family, &r.postcode, &r.address_line, &r.organisation] {
            text(&mut out, v.as_deref());
        }
        for list in [&r.emails, &r.phones] {
            out.push(u8::try_from(list.len().min(255)).unwrap_or(255));
            for v in list.iter().take(255) {
                text(&mut out, Some(v));
            }
        }
        let day = r.dob.map_or(i32::MIN, |d| chrono::Datelike::num_days_from_ce(&d));
        out.extend_from_slice(&day.to_le_bytes());
        Packed(out.into_boxed_slice())
    }

    pub(super) fn unpack(&self) -> MatchRecord {
        let mut c = Cursor { b: &self.0, at: 0 };
        let given = c.text();
        let family = c.text();
        let postcode = c.text();
        let address_line = c.text();
        let organisation = c.text();
        let emails = c.list();
        let phones = c.list();
        let day = i32::from_le_bytes(c.take(4).try_into().unwrap_or(i32::MIN.to_le_bytes()));
        MatchRecord {
            given,
            family,
            dob: chrono::NaiveDate::from_num_days_from_ce_opt(day),
            emails,
            phones,
            postcode,
            address_line,
            organisation,
        }
    }
}

/// Reads a [`Packed`] record.
pub(super) struct Cursor<'a> {
    pub(super) b: &'a [u8],
    pub(super) at: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn take(&mut self, n: usize) -> &'a [u8] {
        let s = self.b.get(self.at..self.at + n).unwrap_or(&[]);
        self.at += n;
        s
    }

    pub(super) fn text(&mut self) -> Option<String> {
        let len = u16::from_le_bytes(self.take(2).try_into().unwrap_or([255, 255]));
        (len != u16::MAX).then(|| String::from_utf8_lossy(self.take(usize::from(len))).into_owned())
    }

    pub(super) fn list(&mut self) -> Vec<String> {
        let n = self.take(1).first().copied().unwrap_or(0);
        (0..n).filter_map(|_| self.text()).collect()
    }
}

/// No further link in a key's chain.
pub(super) const END: u32 = u32::MAX;

/// Rows of this file that will become new people, for finding in-file duplicates. A large file
/// keeps most of its rows here, so it is kept compact: each key is a 64-bit hash with a chain of
/// at most [`LOCAL_PER_KEY`] rows (the first ones, the only ones ever compared), external ids
/// and contents by their hashes.
#[derive(Default)]
pub(super) struct Local {
    /// Key hash → the newest link of its chain in `links`.
    pub(super) by_key: HashMap<u64, u32>,
    /// (index into `rows`, the next older link or [`END`]).
    pub(super) links: Vec<(u32, u32)>,
    /// Row number and match record, packed (prepared again when a key brings it up).
    pub(super) rows: Vec<(i64, Packed)>,
    /// External id (its 128-bit hash, see [`wide_hash`]) → first row.
    pub(super) by_external: HashMap<u128, i64>,
    /// Content hash (the row's 64-bit hash, see [`content_hash_bits`]) → first row.
    pub(super) by_hash: HashMap<u64, i64>,
}

pub(super) fn key_hash(k: &str) -> u64 {
    let mut h = DefaultHasher::new();
    k.hash(&mut h);
    h.finish()
}

/// 128 bits of hash: two keyed hashes of the text (a collision among a million ids has odds of
/// about 1 in 10^27).
pub(super) fn wide_hash(s: &str) -> u128 {
    let mut a = DefaultHasher::new();
    (0u8, s).hash(&mut a);
    let mut b = DefaultHasher::new();
    (1u8, s).hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// A content hash as its 64 bits (it is 16 hex digits; anything else is hashed).
pub(super) fn content_hash_bits(hash: &str) -> u64 {
    u64::from_str_radix(hash, 16).unwrap_or_else(|_| key_hash(hash))
}

impl Local {
    /// The rows listed under a key, newest first.
    pub(super) fn chain(&self, key: u64) -> impl Iterator<Item = u32> + '_ {
        self.chain_from(self.by_key.get(&key).copied().unwrap_or(END))
    }

    pub(super) fn chain_from(&self, mut at: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::from_fn(move || {
            let (row, next) = *self.links.get(at as usize)?;
            at = next;
            Some(row)
        })
    }

    /// The best earlier row (of the people this file creates) matching `p`.
    pub(super) fn best(&self, matcher: &Matcher, p: &Prepared, keys: &[String]) -> Option<(i64, f64, Decision)> {
        let mut seen: Vec<u32> = keys.iter().flat_map(|k| self.chain(key_hash(k))).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.into_iter()
            .filter_map(|i| {
                let (row, other) = &self.rows[i as usize];
                let (s, d) = matcher.score(p, &Prepared::from_record(&other.unpack()));
                (d != Decision::NewPerson).then_some((*row, s.probability, d))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    }

    pub(super) fn add(&mut self, row: i64, r: &MatchRecord, keys: &[String]) {
        let idx = self.rows.len() as u32;
        for k in keys {
            let key = key_hash(k);
            let head = self.by_key.get(&key).copied().unwrap_or(END);
            if self.chain_from(head).count() >= LOCAL_PER_KEY {
                continue;
            }
            let link = self.links.len() as u32;
            self.links.push((idx, head));
            self.by_key.insert(key, link);
        }
        self.rows.push((row, Packed::pack(r)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keys_chain_lists_its_first_rows_and_stops_at_the_cap() {
        let mut local = Local::default();
        let keys = |k: &str| vec![k.to_string(), "shared".to_string()];
        for row in 0..(LOCAL_PER_KEY as i64 + 10) {
            let own = format!("own{row}");
            local.add(row + 2, &MatchRecord::default(), &keys(&own));
        }
        let mut shared: Vec<u32> = local.chain(key_hash("shared")).collect();
        shared.sort_unstable();
        assert_eq!(shared, (0..LOCAL_PER_KEY as u32).collect::<Vec<_>>());
        assert_eq!(local.chain(key_hash("own7")).collect::<Vec<_>>(), vec![7]);
        assert_eq!(local.chain(key_hash("absent")).count(), 0);
        assert_eq!(local.rows.len(), LOCAL_PER_KEY + 10);
    }

    #[test]
    fn a_packed_record_unpacks_to_itself() {
        let full = MatchRecord {
            given: Some("Zoë".into()),
            family: Some("O'Brien-Smith".into()),
            dob: chrono::NaiveDate::from_ymd_opt(1970, 3, 2),
            emails: vec!["zoe@example.org".into(), "z.ob@example.com".into()],
            phones: vec!["+447700900123".into()],
            postcode: Some("EC2V 7HH".into()),
            address_line: Some("Flat 2, 10 High St".into()),
            organisation: Some(String::new()),
        };
        for r in [full, MatchRecord::default()] {
            assert_eq!(Packed::pack(&r).unpack(), r);
        }
    }

    #[test]
    fn a_content_hash_keeps_its_64_bits() {
        assert_eq!(content_hash_bits("00000000000000ff"), 255);
        assert_eq!(content_hash_bits("ffffffffffffffff"), u64::MAX);
        assert_eq!(content_hash_bits("not hex"), key_hash("not hex"));
    }
}
