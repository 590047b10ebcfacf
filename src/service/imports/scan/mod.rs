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

mod local;

use local::*;

/// Rows written per transaction.
pub const CHUNK: usize = 1_000;
/// Rows of a chunk to match below which a second thread is not worth starting.
const PARALLEL_MIN: usize = 64;

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
    // record's is independent: the second half of the chunk is matched on the other core when a
    // connection is idle.
    let found = crate::service::in_two_parts(conn, pool, records.len() >= PARALLEL_MIN, |c, part, parts| {
        let half = records.len().div_ceil(parts);
        let mine = records.chunks(half.max(1)).nth(part).unwrap_or(&[]);
        matcher.matches_many(c, mine)
    })?;
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
