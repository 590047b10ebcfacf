//! The matching index: each person's blocking keys stored in the database (`blocking_keys`,
//! indexed by key), so that candidate look-up costs a few index probes on SQLite and on
//! PostgreSQL alike and several service instances share one index.
//!
//! Keys are stored as truncated SHA-256 digests, not as text: they are derived from names, dates
//! of birth, emails and phones, and a digest keeps the index compact and the values out of
//! plain sight (they are still personal data: erasure deletes them, the data map lists them).

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::people::{self as dbp, Person};
use crate::db::schema::{blocking_keys, people};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::matching::{blocking_keys as keys_of, MatchRecord, Prepared};
use crate::service::people::view::{group, take};

/// People whose keys are rewritten per statement group.
const CHUNK: usize = 500;
/// Rows looked at per key when finding candidates (a very common key — a tower block's
/// postcode with an initial — cannot flood the look-up).
const PER_KEY: i64 = 200;

/// The stored form of a blocking key: 16 bytes of SHA-256, in hex.
pub fn digest(key: &str) -> String {
    let d = Sha256::digest(key.as_bytes());
    hex::encode(&d[..16])
}

/// The stored keys of a prepared record.
pub fn stored_keys(p: &Prepared) -> Vec<String> {
    let mut out: Vec<String> = keys_of(p).iter().map(|k| digest(k)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Only these people take part in matching: merged and erased people do not.
fn matchable(p: &Person) -> bool {
    matches!(p.status.as_str(), "active" | "restricted")
}

/// The match record of a golden record: names, date of birth, every email and phone, the
/// primary (or first) address, organisation.
pub fn record_of(
    p: &Person,
    emails: &[dbp::EmailRow],
    phones: &[dbp::PhoneRow],
    addresses: &[dbp::AddressRow],
) -> MatchRecord {
    let address = addresses.iter().find(|a| a.is_primary).or_else(|| addresses.first());
    MatchRecord {
        given: p.given_name.clone().or_else(|| p.preferred_name.clone()),
        family: p.family_name.clone(),
        dob: p.date_of_birth,
        emails: emails.iter().map(|e| e.address.clone()).collect(),
        phones: phones.iter().map(|n| n.number.clone()).collect(),
        postcode: address.and_then(|a| a.postcode.clone()),
        address_line: address.map(|a| a.line1.clone()),
        organisation: p.organisation.clone(),
    }
}

/// Match records of these people (only the matchable ones), in id order.
pub fn records_of(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<(i64, MatchRecord)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut people = dbp::find_many(conn, ids)?;
    people.retain(matchable);
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let live: Vec<i64> = people.iter().map(|p| p.id).collect();
    let emails = dbp::emails_of(conn, &live)?;
    let phones = dbp::phones_of(conn, &live)?;
    let addresses = dbp::addresses_of(conn, &live)?;
    Ok(build(&people, emails, phones, addresses))
}

/// The match records of `people` (in their order) from their contact rows.
fn build(
    people: &[Person],
    emails: Vec<dbp::EmailRow>,
    phones: Vec<dbp::PhoneRow>,
    addresses: Vec<dbp::AddressRow>,
) -> Vec<(i64, MatchRecord)> {
    let mut emails = group(emails, |e| e.person_id);
    let mut phones = group(phones, |n| n.person_id);
    let mut addresses = group(addresses, |a| a.person_id);
    people
        .iter()
        .map(|p| {
            let e = take(&mut emails, p.id);
            let n = take(&mut phones, p.id);
            let a = take(&mut addresses, p.id);
            (p.id, record_of(p, &e, &n, &a))
        })
        .collect()
}

/// One chunk of a whole-database walk: matchable people's ids in order, and which of them
/// already have blocking keys stored.
#[derive(Debug)]
pub struct PeopleChunk {
    /// Ids of active and restricted people, ascending.
    pub ids: Vec<i64>,
    /// Those of `ids` with at least one stored key.
    pub keyed: HashSet<i64>,
}

impl PeopleChunk {
    /// The lowest and highest id (the chunk is never empty).
    pub fn bounds(&self) -> (i64, i64) {
        (self.ids[0], self.ids[self.ids.len() - 1])
    }
}

/// Walk every matchable (active or restricted) person in id order, `size` at a time, handing
/// each chunk to `f` with the connection (which reads the records with [`records_in_range`]
/// if it needs them, and may write).
pub fn walk_people<E: From<diesel::result::Error>>(
    conn: &mut DbConn,
    size: i64,
    mut f: impl FnMut(&mut DbConn, PeopleChunk) -> Result<(), E>,
) -> Result<(), E> {
    let mut after = 0i64;
    loop {
        let ids: Vec<i64> = people::table
            .filter(people::status.eq_any(["active", "restricted"]))
            .filter(people::id.gt(after))
            .select(people::id)
            .order(people::id)
            .limit(size)
            .load(conn)?;
        let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
            return Ok(());
        };
        after = last;
        let keyed: HashSet<i64> = blocking_keys::table
            .filter(blocking_keys::person_id.between(first, last))
            .select(blocking_keys::person_id)
            .distinct()
            .load::<i64>(conn)?
            .into_iter()
            .collect();
        f(conn, PeopleChunk { ids, keyed })?;
    }
}

/// Match records of the matchable people with ids in `lo..=hi`, in id order: range scans (the
/// whole-database pass reads everyone this way, in order).
pub fn records_in_range(conn: &mut DbConn, lo: i64, hi: i64) -> AppResult<Vec<(i64, MatchRecord)>> {
    use crate::db::schema::{people, person_addresses, person_emails, person_phones};
    let mut found: Vec<Person> = people::table
        .filter(people::id.between(lo, hi))
        .select(Person::as_select())
        .order(people::id)
        .load(conn)?;
    found.retain(matchable);
    let emails = person_emails::table
        .filter(person_emails::person_id.between(lo, hi))
        .select(dbp::EmailRow::as_select())
        .order((
            person_emails::person_id,
            person_emails::is_primary.desc(),
            person_emails::id,
        ))
        .load(conn)?;
    let phones = person_phones::table
        .filter(person_phones::person_id.between(lo, hi))
        .select(dbp::PhoneRow::as_select())
        .order((
            person_phones::person_id,
            person_phones::is_primary.desc(),
            person_phones::id,
        ))
        .load(conn)?;
    let addresses = person_addresses::table
        .filter(person_addresses::person_id.between(lo, hi))
        .select(dbp::AddressRow::as_select())
        .order((
            person_addresses::person_id,
            person_addresses::is_primary.desc(),
            person_addresses::id,
        ))
        .load(conn)?;
    Ok(build(&found, emails, phones, addresses))
}

/// Recompute the blocking keys of these people (merged or erased people lose theirs). Only what
/// differs is written: keys a person no longer has are deleted, new ones inserted, and the ones
/// that stay are left alone (each key is a randomly placed index entry, so a person whose
/// record changed in one field costs a page or two, not one per key).
pub fn refresh(conn: &mut DbConn, ids: &[i64]) -> AppResult<()> {
    for chunk in ids.chunks(CHUNK) {
        let (add, stale) = key_changes(conn, chunk)?;
        for (person, keys) in stale {
            diesel::delete(
                blocking_keys::table
                    .filter(blocking_keys::person_id.eq(person))
                    .filter(blocking_keys::key.eq_any(keys)),
            )
            .execute(conn)?;
        }
        insert_keys(conn, &add)?;
    }
    Ok(())
}

/// What [`refresh`] changes: (key, person) rows to add, and each person's stored keys to delete.
type KeyChanges = (Vec<(String, i64)>, Vec<(i64, Vec<String>)>);

/// What [`refresh`] would change for these people.
fn key_changes(conn: &mut DbConn, ids: &[i64]) -> AppResult<KeyChanges> {
    let mut held: HashMap<i64, HashSet<String>> = HashMap::new();
    let stored: Vec<(String, i64)> = blocking_keys::table
        .filter(blocking_keys::person_id.eq_any(ids))
        .select((blocking_keys::key, blocking_keys::person_id))
        .load(conn)?;
    for (key, id) in stored {
        held.entry(id).or_default().insert(key);
    }
    let mut add = Vec::new();
    for (id, record) in records_of(conn, ids)? {
        let mut had = held.remove(&id).unwrap_or_default();
        for key in stored_keys(&Prepared::from_record(&record)) {
            if !had.remove(&key) {
                add.push((key, id));
            }
        }
        if !had.is_empty() {
            held.insert(id, had);
        }
    }
    // What is left: keys of people who no longer have them, or are no longer matchable.
    let stale = held
        .into_iter()
        .map(|(id, keys)| (id, keys.into_iter().collect()))
        .collect();
    Ok((add, stale))
}

/// Give these people the blocking keys they lack, writing them in key order: for many people
/// at once (an import's new people), sorted inserts fill each page of the key index in one go
/// instead of touching one random page per key. Groups of `GROUP` people are read, and their
/// missing keys written in transactions of `SLICE` keys, each checking that the people are
/// still matchable (an erasure meanwhile wins). Stale keys are left to [`refresh`].
pub fn add_missing_in_key_order(conn: &mut DbConn, ids: &[i64]) -> AppResult<()> {
    const GROUP: usize = 50_000;
    const SLICE: usize = 20_000;
    for group in ids.chunks(GROUP) {
        let mut add = Vec::new();
        for chunk in group.chunks(CHUNK) {
            add.extend(key_changes(conn, chunk)?.0);
        }
        add.sort_unstable();
        for slice in add.chunks(SLICE) {
            crate::db::write_tx(conn, |c| -> AppResult<()> {
                let mut persons: Vec<i64> = slice.iter().map(|(_, id)| *id).collect();
                persons.sort_unstable();
                persons.dedup();
                let mut live = HashSet::with_capacity(persons.len());
                for part in persons.chunks(CHUNK) {
                    live.extend(
                        people::table
                            .filter(people::id.eq_any(part))
                            .filter(people::status.eq_any(["active", "restricted"]))
                            .select(people::id)
                            .load::<i64>(c)?,
                    );
                }
                let rows: Vec<(String, i64)> = slice.iter().filter(|(_, id)| live.contains(id)).cloned().collect();
                insert_keys(c, &rows)
            })?;
        }
    }
    Ok(())
}

/// Insert (key, person) rows, in statements small enough for SQLite's variable limit.
pub fn insert_keys(conn: &mut DbConn, rows: &[(String, i64)]) -> AppResult<()> {
    for part in rows.chunks(2_000) {
        let values: Vec<_> = part
            .iter()
            .map(|(k, id)| (blocking_keys::key.eq(k), blocking_keys::person_id.eq(*id)))
            .collect();
        crate::with_backend!(conn, |c| diesel::insert_into(blocking_keys::table)
            .values(&values)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// People sharing at least one blocking key with this record, most shared keys first, at
/// most `limit`, never those in `exclude`.
pub fn candidates(conn: &mut DbConn, p: &Prepared, exclude: &[i64], limit: usize) -> AppResult<Vec<i64>> {
    let mut found: Vec<Vec<i64>> = Vec::new();
    for key in stored_keys(p) {
        found.push(
            blocking_keys::table
                .filter(blocking_keys::key.eq(&key))
                .select(blocking_keys::person_id)
                .order(blocking_keys::person_id)
                .limit(PER_KEY)
                .load(conn)?,
        );
    }
    Ok(rank(found.iter(), exclude, limit))
}

/// [`candidates`] for several records at once (an import's dry run, a chunk of rows at a time):
/// the same answer for each, with one look-up per 500 distinct keys of them all instead of one
/// per key of each.
pub fn candidates_many(conn: &mut DbConn, records: &[&Prepared], limit: usize) -> AppResult<Vec<Vec<i64>>> {
    let keys: Vec<Vec<String>> = records.iter().map(|p| stored_keys(p)).collect();
    let mut distinct: Vec<&String> = keys.iter().flatten().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut hits: HashMap<String, Vec<i64>> = HashMap::new();
    for part in distinct.chunks(500) {
        let rows: Vec<(String, i64)> = blocking_keys::table
            .filter(blocking_keys::key.eq_any(part))
            .select((blocking_keys::key, blocking_keys::person_id))
            .order((blocking_keys::key, blocking_keys::person_id))
            .load(conn)?;
        for (key, id) in rows {
            let ids = hits.entry(key).or_default();
            if ids.len() < PER_KEY as usize {
                ids.push(id);
            }
        }
    }
    Ok(keys
        .iter()
        .map(|ks| rank(ks.iter().filter_map(|k| hits.get(k)), &[], limit))
        .collect())
}

/// People found under a record's keys, most keys shared first (then by id), at most `limit`.
fn rank<'a>(found: impl Iterator<Item = &'a Vec<i64>>, exclude: &[i64], limit: usize) -> Vec<i64> {
    let mut shared: HashMap<i64, u32> = HashMap::new();
    for &id in found.flatten() {
        if !exclude.contains(&id) {
            *shared.entry(id).or_insert(0) += 1;
        }
    }
    let mut ranked: Vec<(i64, u32)> = shared.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(limit);
    ranked.into_iter().map(|(id, _)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_stable_and_compact() {
        assert_eq!(digest("e:jo@example.com"), digest("e:jo@example.com"));
        assert_ne!(digest("e:jo@example.com"), digest("e:jo@example.org"));
        assert_eq!(digest("x").len(), 32);
    }

    #[test]
    fn a_record_without_identifying_values_has_no_keys() {
        let p = Prepared::from_record(&MatchRecord::default());
        assert!(stored_keys(&p).is_empty());
    }
}
