//! The dry run: every row's outcome predicted and stored in `import_rows`; no person changes.
//!
//! A row is, in this order: **reject** (it cannot be read: no name, email or phone, or an
//! invalid value that matters), **duplicate** (an earlier row of the same file has the same
//! external id, the same content, or is the same person by the matcher), **unchanged** (this
//! department already sent exactly this record: same external id or same content), **link**
//! (the same external id as a record already held, or a match at or above the link
//! threshold), **review** (a match between the thresholds: a new person is created and the
//! pair proposed), or **create**.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{csv_options, load, materialise, xlsx_options, Batch};
use crate::config::MatchingSettings;
use crate::db::schema::{import_batches, import_rows, source_records};
use crate::db::{write_tx, DbConn, DbPool};
use crate::error::{AppError, AppResult};
use crate::import_core::{
    clean_row, csv_rows_from_path, xlsx_rows, CleanRow, DateOrder, FileError, RawRow, RowOptions, RowOutcome,
};
use crate::matching::{blocking_keys, Decision, MatchRecord, Prepared};
use crate::service::identity::matcher::{Matcher, Scored};

/// Rows written per transaction.
pub const CHUNK: usize = 1_000;
/// Rows of a chunk to match below which a second thread is not worth starting.
const PARALLEL_MIN: usize = 64;
/// Rows of the same file compared per blocking key (in-file duplicates).
const LOCAL_PER_KEY: usize = 32;

/// The rows of a stored file, in order.
pub fn file_rows(path: &Path, b: &Batch) -> AppResult<Box<dyn Iterator<Item = Result<RawRow, FileError>>>> {
    let fail = |e: FileError| AppError::Internal(format!("the stored file cannot be read again: {e}"));
    if b.file_kind == "xlsx" {
        let f = std::fs::File::open(path).map_err(|e| AppError::Internal(e.to_string()))?;
        let (_, rows) = xlsx_rows(std::io::BufReader::new(f), b.sheet.as_deref(), &xlsx_options()).map_err(fail)?;
        Ok(Box::new(rows.map(Ok)))
    } else {
        let (_, rows) = csv_rows_from_path(path, &csv_options()).map_err(fail)?;
        Ok(Box::new(rows))
    }
}

/// The cleaning options of a batch.
pub fn row_options(b: &Batch, today: chrono::NaiveDate) -> RowOptions {
    let month_first = b.counts().get("month_first").copied().unwrap_or(0) == 1;
    RowOptions {
        date_order: if month_first {
            DateOrder::MonthFirst
        } else {
            DateOrder::DayFirst
        },
        today,
    }
}

/// The match record of a cleaned row.
pub fn record_of(r: &CleanRow) -> MatchRecord {
    MatchRecord {
        given: r.given_name.clone().or_else(|| r.preferred_name.clone()),
        family: r.family_name.clone(),
        dob: r.date_of_birth,
        emails: r.emails.iter().map(|e| e.0.clone()).collect(),
        phones: r.phones.iter().map(|p| p.0.clone()).collect(),
        postcode: r.address.as_ref().and_then(|a| a.postcode.clone()),
        address_line: r.address.as_ref().and_then(|a| a.line1.clone()),
        organisation: r.organisation.clone(),
    }
}

/// A predicted outcome.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// Row number.
    pub row: i64,
    /// Outcome.
    pub outcome: &'static str,
    /// Person linked to (link, unchanged) or proposed against (review).
    pub person_id: Option<i64>,
    /// Earlier row of this file.
    pub duplicate_of: Option<i64>,
    /// Match probability.
    pub score: Option<f64>,
    /// External id.
    pub external_id: Option<String>,
    /// Problems (JSON).
    pub problems: String,
}

/// A match record in one allocation: each text as a little-endian `u16` length and its bytes
/// (`u16::MAX` for none), the lists as a count and their texts, the date as its day number.
struct Packed(Box<[u8]>);

impl Packed {
    fn pack(r: &MatchRecord) -> Packed {
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

    fn unpack(&self) -> MatchRecord {
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
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let s = self.b.get(self.at..self.at + n).unwrap_or(&[]);
        self.at += n;
        s
    }

    fn text(&mut self) -> Option<String> {
        let len = u16::from_le_bytes(self.take(2).try_into().unwrap_or([255, 255]));
        (len != u16::MAX).then(|| String::from_utf8_lossy(self.take(usize::from(len))).into_owned())
    }

    fn list(&mut self) -> Vec<String> {
        let n = self.take(1).first().copied().unwrap_or(0);
        (0..n).filter_map(|_| self.text()).collect()
    }
}

/// No further link in a key's chain.
const END: u32 = u32::MAX;

/// Rows of this file that will become new people, for finding in-file duplicates. A large file
/// keeps most of its rows here, so it is kept compact: each key is a 64-bit hash with a chain of
/// at most [`LOCAL_PER_KEY`] rows (the first ones, the only ones ever compared), external ids
/// and contents by their hashes.
#[derive(Default)]
struct Local {
    /// Key hash → the newest link of its chain in `links`.
    by_key: HashMap<u64, u32>,
    /// (index into `rows`, the next older link or [`END`]).
    links: Vec<(u32, u32)>,
    /// Row number and match record, packed (prepared again when a key brings it up).
    rows: Vec<(i64, Packed)>,
    /// External id (its 128-bit hash, see [`wide_hash`]) → first row.
    by_external: HashMap<u128, i64>,
    /// Content hash (the row's 64-bit hash, see [`content_hash_bits`]) → first row.
    by_hash: HashMap<u64, i64>,
}

fn key_hash(k: &str) -> u64 {
    let mut h = DefaultHasher::new();
    k.hash(&mut h);
    h.finish()
}

/// 128 bits of hash: two keyed hashes of the text (a collision among a million ids has odds of
/// about 1 in 10^27).
fn wide_hash(s: &str) -> u128 {
    let mut a = DefaultHasher::new();
    (0u8, s).hash(&mut a);
    let mut b = DefaultHasher::new();
    (1u8, s).hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// A content hash as its 64 bits (it is 16 hex digits; anything else is hashed).
fn content_hash_bits(hash: &str) -> u64 {
    u64::from_str_radix(hash, 16).unwrap_or_else(|_| key_hash(hash))
}

impl Local {
    /// The rows listed under a key, newest first.
    fn chain(&self, key: u64) -> impl Iterator<Item = u32> + '_ {
        self.chain_from(self.by_key.get(&key).copied().unwrap_or(END))
    }

    fn chain_from(&self, mut at: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::from_fn(move || {
            let (row, next) = *self.links.get(at as usize)?;
            at = next;
            Some(row)
        })
    }

    /// The best earlier row (of the people this file creates) matching `p`.
    fn best(&self, matcher: &Matcher, p: &Prepared, keys: &[String]) -> Option<(i64, f64, Decision)> {
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

    fn add(&mut self, row: i64, r: &MatchRecord, keys: &[String]) {
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

/// The best match among the people held for each row of a chunk that may need one (not one the
/// department already holds under its external id or its content), found for the whole chunk
/// at once: the row's prepared record and its best match, by row number.
fn matches_of_chunk(
    conn: &mut DbConn,
    pool: Option<&DbPool>,
    matcher: &Matcher,
    held: &Held,
    rows: &[CleanRow],
) -> AppResult<HashMap<u64, (Prepared, Option<Scored>)>> {
    let known = |r: &CleanRow| {
        let by_id = r
            .external_id
            .as_ref()
            .and_then(|e| held.by_external.get(e))
            .is_some_and(|(p, _)| p.is_some());
        by_id || held.by_hash.get(&r.content_hash).is_some_and(Option::is_some)
    };
    let todo: Vec<(u64, Prepared)> = rows
        .iter()
        .filter(|r| !known(r))
        .map(|r| (r.number, Prepared::from_record(&record_of(r))))
        .collect();
    let records: Vec<&Prepared> = todo.iter().map(|(_, p)| p).collect();
    // Matching (key look-ups, loading candidates, scoring) is most of a dry run's time and each
    // record's is independent: with an idle connection to spare, the second half of the chunk
    // is matched on the other core. Under load the dry run takes none and runs alone.
    let second = match pool {
        Some(pool) if records.len() >= PARALLEL_MIN => pool.try_get(),
        _ => None,
    };
    let found = match second {
        Some(mut other) => {
            let (mine, theirs) = records.split_at(records.len() / 2);
            std::thread::scope(|s| -> AppResult<Vec<Vec<Scored>>> {
                let helper = s.spawn(|| matcher.matches_many(&mut other, theirs));
                let mut found = matcher.matches_many(conn, mine)?;
                found.extend(
                    helper
                        .join()
                        .unwrap_or_else(|_| Err(AppError::Internal("the second matcher stopped".into())))?,
                );
                Ok(found)
            })?
        }
        None => matcher.matches_many(conn, &records)?,
    };
    Ok(todo
        .into_iter()
        .zip(found)
        .map(|((n, p), m)| (n, (p, m.into_iter().next())))
        .collect())
}

/// What this department already holds for the rows of a chunk: by external id and by content.
struct Held {
    by_external: HashMap<String, (Option<i64>, String)>,
    by_hash: HashMap<String, Option<i64>>,
}

fn held(conn: &mut DbConn, b: &Batch, rows: &[CleanRow]) -> AppResult<Held> {
    let externals: Vec<String> = rows.iter().filter_map(|r| r.external_id.clone()).collect();
    let hashes: Vec<String> = rows.iter().map(|r| r.content_hash.clone()).collect();
    let mut by_external = HashMap::new();
    for part in externals.chunks(500) {
        let found: Vec<(Option<String>, Option<i64>, String)> = source_records::table
            .filter(source_records::department_id.eq(b.department_id))
            .filter(source_records::source_system.eq(&b.source_system))
            .filter(source_records::external_id.eq_any(part))
            .select((
                source_records::external_id,
                source_records::person_id,
                source_records::content_hash,
            ))
            .load(conn)?;
        for (ext, person, hash) in found {
            if let Some(ext) = ext {
                by_external.insert(ext, (person, hash));
            }
        }
    }
    let mut by_hash = HashMap::new();
    for part in hashes.chunks(500) {
        let found: Vec<(String, Option<i64>)> = source_records::table
            .filter(source_records::department_id.eq(b.department_id))
            .filter(source_records::content_hash.eq_any(part))
            .select((source_records::content_hash, source_records::person_id))
            .load(conn)?;
        by_hash.extend(found);
    }
    Ok(Held { by_external, by_hash })
}

fn problems_json(p: &[crate::import_core::RowProblem]) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "[]".into())
}

/// Predict one clean row.
fn predict(
    conn: &mut DbConn,
    matcher: &Matcher,
    local: &mut Local,
    held: &Held,
    r: &CleanRow,
    found: Option<(Prepared, Option<Scored>)>,
) -> AppResult<Prediction> {
    let row = i64::try_from(r.number).unwrap_or(i64::MAX);
    let mut p = Prediction {
        row,
        outcome: "create",
        person_id: None,
        duplicate_of: None,
        score: None,
        external_id: r.external_id.clone(),
        problems: problems_json(&r.warnings),
    };
    // The same record twice in the file.
    if let Some(first) = r
        .external_id
        .as_ref()
        .and_then(|e| local.by_external.get(&wide_hash(e)))
    {
        p.outcome = "duplicate";
        p.duplicate_of = Some(*first);
        p.score = Some(1.0);
        return Ok(p);
    }
    if let Some(first) = local.by_hash.get(&content_hash_bits(&r.content_hash)) {
        p.outcome = "duplicate";
        p.duplicate_of = Some(*first);
        p.score = Some(1.0);
        return Ok(p);
    }
    if let Some(e) = &r.external_id {
        local.by_external.insert(wide_hash(e), row);
    }
    local.by_hash.insert(content_hash_bits(&r.content_hash), row);
    // Already held from this department.
    if let Some((person, hash)) = r.external_id.as_ref().and_then(|e| held.by_external.get(e)) {
        p.outcome = if *hash == r.content_hash { "unchanged" } else { "link" };
        p.person_id = *person;
        p.score = Some(1.0);
        if person.is_some() {
            return Ok(p);
        }
    }
    if let Some(person) = held.by_hash.get(&r.content_hash) {
        p.outcome = "unchanged";
        p.person_id = *person;
        p.score = Some(1.0);
        if person.is_some() {
            return Ok(p);
        }
    }
    p.outcome = "create";
    p.person_id = None;
    p.score = None;
    let (prepared, best) = match found {
        Some(found) => found,
        None => {
            let prepared = Prepared::from_record(&record_of(r));
            let best = matcher.matches(conn, &prepared, &[])?.into_iter().next();
            (prepared, best)
        }
    };
    let keys = blocking_keys(&prepared);
    if let Some(m) = &best {
        if m.decision == Decision::Link {
            p.outcome = "link";
            p.person_id = Some(m.person_id);
            p.score = Some(m.score.probability);
            return Ok(p);
        }
    }
    // An earlier row of this file that will be a new person.
    if let Some((first, score, d)) = local.best(matcher, &prepared, &keys) {
        if d == Decision::Link {
            p.outcome = "duplicate";
            p.duplicate_of = Some(first);
            p.score = Some(score);
            return Ok(p);
        }
        if best.is_none() {
            p.outcome = "review";
            p.duplicate_of = Some(first);
            p.score = Some(score);
        }
    }
    if let Some(m) = best {
        p.outcome = "review";
        p.person_id = Some(m.person_id);
        p.duplicate_of = None;
        p.score = Some(m.score.probability);
    }
    local.add(row, &record_of(r), &keys);
    Ok(p)
}

/// Store a chunk of predictions and the batch's progress.
fn store(
    conn: &mut DbConn,
    b: &Batch,
    preds: &[Prediction],
    done: i64,
    counts: &BTreeMap<String, i64>,
    now: NaiveDateTime,
) -> AppResult<()> {
    write_tx(conn, |c| {
        let values: Vec<_> = preds
            .iter()
            .map(|p| {
                (
                    import_rows::batch_id.eq(b.id),
                    import_rows::row_number.eq(p.row),
                    import_rows::outcome.eq(p.outcome),
                    import_rows::person_id.eq(p.person_id),
                    import_rows::duplicate_of.eq(p.duplicate_of),
                    import_rows::match_score.eq(p.score),
                    import_rows::external_id.eq(p.external_id.as_deref()),
                    import_rows::problems.eq(p.problems.as_str()),
                    import_rows::applied.eq(false),
                )
            })
            .collect();
        for part in values.chunks(300) {
            crate::with_backend!(c, |c| diesel::insert_into(import_rows::table).values(part).execute(c))?;
        }
        diesel::update(import_batches::table.find(b.id))
            .set((
                import_batches::rows_done.eq(done),
                import_batches::counts.eq(serde_json::to_string(counts).unwrap_or_default()),
                import_batches::heartbeat_at.eq(Some(now)),
                import_batches::updated_at.eq(now),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// Run the dry run of a batch (status `analysing`) to the end.
/// `pool`, when given, lends a second connection (if one is idle) to match half of each chunk.
pub fn run(conn: &mut DbConn, pool: Option<&DbPool>, batch_id: i64, settings: &MatchingSettings) -> AppResult<()> {
    let b = load(conn, batch_id)?;
    let file = materialise(conn, b.id)?;
    let mapping = b.mapping();
    let opts = row_options(&b, crate::db::now().date());
    let matcher = Matcher::load(conn, settings)?;
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    counts.insert(
        "month_first".into(),
        b.counts().get("month_first").copied().unwrap_or(0),
    );
    let mut local = Local::default();
    let mut done = 0i64;
    let mut rows = file_rows(&file.0, &b)?;
    loop {
        let mut raw = Vec::with_capacity(CHUNK);
        for r in rows.by_ref().take(CHUNK) {
            raw.push(r.map_err(|e| AppError::Internal(format!("the stored file cannot be read again: {e}")))?);
        }
        if raw.is_empty() {
            break;
        }
        let cleaned: Vec<RowOutcome> = raw.iter().map(|r| clean_row(r, &mapping, &opts)).collect();
        let clean: Vec<CleanRow> = cleaned
            .iter()
            .filter_map(|o| match o {
                RowOutcome::Clean(r) => Some(r.clone()),
                RowOutcome::Rejected { .. } => None,
            })
            .collect();
        let held = held(conn, &b, &clean)?;
        let mut found = matches_of_chunk(conn, pool, &matcher, &held, &clean)?;
        let mut preds = Vec::with_capacity(cleaned.len());
        for o in cleaned {
            let p = match o {
                RowOutcome::Rejected {
                    number,
                    external_id,
                    errors,
                } => Prediction {
                    row: i64::try_from(number).unwrap_or(i64::MAX),
                    outcome: "reject",
                    person_id: None,
                    duplicate_of: None,
                    score: None,
                    external_id,
                    problems: problems_json(&errors),
                },
                RowOutcome::Clean(r) => {
                    let pre = found.remove(&r.number);
                    let p = predict(conn, &matcher, &mut local, &held, &r, pre)?;
                    if !r.warnings.is_empty() {
                        *counts.entry("warnings".into()).or_insert(0) += 1;
                    }
                    p
                }
            };
            *counts.entry(p.outcome.to_string()).or_insert(0) += 1;
            preds.push(p);
        }
        done += preds.len() as i64;
        store(conn, &b, &preds, done, &counts, crate::db::now())?;
    }
    let now = crate::db::now();
    diesel::update(import_batches::table.find(b.id))
        .set((
            import_batches::status.eq("analysed"),
            import_batches::rows_done.eq(done),
            import_batches::rows_total.eq(done),
            import_batches::analysed_at.eq(Some(now)),
            import_batches::heartbeat_at.eq(Some(now)),
            import_batches::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
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
