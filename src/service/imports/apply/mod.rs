//! The commit: apply exactly what the dry run predicted, chunk by chunk. Each chunk is one
//! transaction that also moves the batch's progress on, so a crash leaves no half-applied chunk
//! and the work resumes after the last committed one.
//!
//! - **create** / **review**: a new person from the row (provenance `import`, the batch as
//!   reference), linked to the department; a review row also proposes the pair for review.
//! - **link** / **duplicate**: the person found (or the one an earlier row created) gains what
//!   the row adds: missing names and date of birth, new emails, phones and address, tags, the
//!   department; nothing they hold is overwritten.
//! - every applied row becomes a source record; consent columns become ledger events with the
//!   batch's declared basis and evidence (a blank answer is never consent).
//!
//! A chunk is written set by set, not row by row (on PostgreSQL every statement is a round
//! trip): the people it creates in multi-row inserts per table (`bulk`), and what its other rows
//! add to people already held worked out in memory in file order and written together
//! (`links`): a chunk costs one update per held person it changes and a few dozen statements
//! more, where it cost a dozen per row (consent columns and attendance lists still write per row).
//!
//! The people a row links to have their blocking keys refreshed in the row's chunk. The people
//! the batch creates get theirs after the last chunk, in one pass in key order: a key is a
//! random digest, so writing each chunk's keys touched one random page of the key index per
//! key (about 13 per person), while sorted inserts of many people's keys fill each page once.
//! Until that pass ends, matching (another import's dry run, a person created through the API)
//! does not find the batch's new people; `lighthouse dedupe` finds any duplicate made in that
//! window. A commit that stops before the pass resumes into it.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::scan::{file_rows, record_of, row_options, CHUNK};
use super::{load, materialise, Batch, ConsentColumn};
use crate::db::people::{self as dbp, Person};
use crate::db::schema::{import_batches, import_file_chunks, import_rows};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::import_core::{clean_row, CleanRow, RowOutcome};
use crate::matching::Prepared;
use crate::service::identity::{index, matcher};
use crate::service::privacy::keys::PointHasher;

mod bulk;
mod links;
mod rows;

use rows::*;

/// A stored prediction.
#[derive(Debug, Clone, Queryable)]
struct Planned {
    row_number: i64,
    outcome: String,
    person_id: Option<i64>,
    duplicate_of: Option<i64>,
    match_score: Option<f64>,
    applied: bool,
}

/// An attendance list's event, resolved once per commit.
struct Attend {
    activity: crate::db::engagement::Activity,
    action: String,
    at: NaiveDateTime,
    hours: Option<f64>,
}

struct Ctx<'a> {
    b: &'a Batch,
    attend: Option<Attend>,
    points: &'a PointHasher,
    consents: BTreeMap<String, (ConsentColumn, i64, String)>,
    reference: String,
    now: NaiveDateTime,
    by: Option<i64>,
    /// The batch's column mapping and row options, read once per commit.
    mapping: crate::import_core::Mapping,
    opts: crate::import_core::RowOptions,
    matcher: matcher::Matcher,
}

/// The person an earlier row of this batch ended with: one of this chunk's (`earlier`) or one
/// an earlier chunk stored.
fn person_of_row(conn: &mut DbConn, batch_id: i64, earlier: &HashMap<i64, i64>, row: i64) -> AppResult<Option<i64>> {
    if let Some(id) = earlier.get(&row) {
        return Ok(Some(*id));
    }
    Ok(import_rows::table
        .filter(import_rows::batch_id.eq(batch_id))
        .filter(import_rows::row_number.eq(row))
        .select(import_rows::person_id)
        .get_result::<Option<i64>>(conn)
        .optional()?
        .flatten())
}

/// The live person a planned link points at, from the people read (and locked) for the chunk
/// when there, else found and locked now.
fn live_in(conn: &mut DbConn, read: &HashMap<i64, Person>, id: i64) -> AppResult<Option<Person>> {
    match read.get(&id) {
        Some(p) if matches!(p.status.as_str(), "active" | "restricted") => Ok(Some(p.clone())),
        _ => Ok(dbp::live_locked(conn, id, dbp::Lock::KeyShare)?),
    }
}

/// A row whose planned person has gone since the dry run (erased): a new person after all.
fn create_instead(conn: &mut DbConn, cx: &Ctx<'_>, r: &CleanRow, plan: &Planned) -> Result<i64, ChunkError> {
    let made = bulk::create_people(conn, cx, &[r], &["created"], &[plan.match_score], bulk::IfHeld::Replace)?;
    let Some((id, public_id)) = made.into_iter().next() else {
        return Err(AppError::Internal("a person was not created".into()).into());
    };
    consents(conn, cx, id, r, true)?;
    attend(conn, cx, id, &public_id)?;
    Ok(id)
}

/// The review rows' new people (row plan, row, new person) proposed for review with the person
/// the dry run found for each (one held, or the one an earlier row of the file ended with); the
/// records of those people are read together.
fn propose_reviews(
    conn: &mut DbConn,
    cx: &Ctx<'_>,
    reviews: &[(&Planned, &CleanRow, i64)],
    read: &HashMap<i64, Person>,
    earlier: &HashMap<i64, i64>,
) -> AppResult<()> {
    let mut pairs = Vec::with_capacity(reviews.len());
    for (plan, r, person_id) in reviews {
        let other = match (plan.person_id, plan.duplicate_of) {
            (Some(p), _) => live_in(conn, read, p)?.map(|p| p.id),
            (None, Some(first)) => person_of_row(conn, cx.b.id, earlier, first)?,
            _ => None,
        };
        pairs.extend(other.map(|other| (*r, *person_id, other)));
    }
    let mut others: Vec<i64> = pairs.iter().map(|(_, _, other)| *other).collect();
    others.sort_unstable();
    others.dedup();
    let mut theirs: HashMap<i64, Prepared> = HashMap::with_capacity(others.len());
    for part in others.chunks(bulk::PART) {
        theirs.extend(
            index::records_of(conn, part)?
                .into_iter()
                .map(|(id, rec)| (id, Prepared::from_record(&rec))),
        );
    }
    for (r, person_id, other) in pairs {
        if let Some(them) = theirs.get(&other) {
            let (score, _) = cx.matcher.score(&Prepared::from_record(&record_of(r)), them);
            matcher::propose(conn, person_id, other, &score, "import", cx.now)?;
        }
    }
    Ok(())
}

/// One row of a chunk, as the commit sorts them.
type Todo<'p> = (&'p Planned, RowOutcome);

/// A row as applied: its number, its person and its outcome.
type Applied = (i64, Option<i64>, &'static str);

/// Why a chunk's transaction ended without committing.
#[derive(Debug)]
enum ChunkError {
    /// A failure: the commit stops.
    App(AppError),
    /// Rows planned as new people whose external id the department has come to hold since the
    /// dry run (another list or the API committed it): (row, the record's person). The chunk is
    /// rolled back and tried again with those rows linked to that person, as a dry run now
    /// would plan them, so the record is updated (its copy kept for a rollback) rather than
    /// taken over for a new person.
    Taken(Vec<(i64, i64)>),
}

impl crate::service::MaybeBusy for ChunkError {
    fn busy(&self) -> Option<&str> {
        match self {
            ChunkError::App(e) => e.busy(),
            ChunkError::Taken(_) => None,
        }
    }
}

impl From<AppError> for ChunkError {
    fn from(e: AppError) -> Self {
        ChunkError::App(e)
    }
}

impl From<diesel::result::Error> for ChunkError {
    fn from(e: diesel::result::Error) -> Self {
        ChunkError::App(e.into())
    }
}

/// Apply one chunk's rows (those not applied yet), set by set: the rows planned as new people
/// are created together; then every other row's person is found in file order (a duplicate
/// follows the row it repeats) and what the rows add to them is worked out in that order and
/// written together. Returns the (row, person, outcome) each row ended with.
fn apply_chunk(
    conn: &mut DbConn,
    cx: &Ctx<'_>,
    rows: Vec<Todo<'_>>,
    touched: &mut Vec<i64>,
) -> Result<Vec<Applied>, ChunkError> {
    let mut fresh: Vec<(&Planned, CleanRow)> = Vec::new();
    let mut rest: Vec<(&Planned, Option<CleanRow>)> = Vec::new();
    for (plan, row) in rows {
        match row {
            RowOutcome::Clean(r) if matches!(plan.outcome.as_str(), "create" | "review") => fresh.push((plan, r)),
            RowOutcome::Clean(r) if plan.outcome != "reject" => rest.push((plan, Some(r))),
            _ => rest.push((plan, None)),
        }
    }
    let clean: Vec<&CleanRow> = fresh.iter().map(|(_, r)| r).collect();
    let decisions: Vec<&str> = fresh
        .iter()
        .map(|(p, _)| if p.outcome == "review" { "review" } else { "created" })
        .collect();
    let scores: Vec<Option<f64>> = fresh.iter().map(|(p, _)| p.match_score).collect();
    let made = bulk::create_people(conn, cx, &clean, &decisions, &scores, bulk::IfHeld::Refuse)?;
    let mut earlier: HashMap<i64, i64> = fresh
        .iter()
        .zip(&made)
        .map(|((p, _), (id, _))| (p.row_number, *id))
        .collect();
    // A new person's first row is the one that created them, so its consents go in before any
    // later row's.
    for ((_, r), (id, public_id)) in fresh.iter().zip(&made) {
        consents(conn, cx, *id, r, true)?;
        attend(conn, cx, *id, public_id)?;
    }
    let mut done = Vec::with_capacity(fresh.len() + rest.len());

    // The people planned links point at, and those review rows are to be proposed against.
    let mut planned: Vec<i64> = rest
        .iter()
        .filter(|(p, r)| r.is_some() && matches!(p.outcome.as_str(), "link" | "unchanged"))
        .map(|(p, _)| *p)
        .chain(fresh.iter().map(|(p, _)| *p).filter(|p| p.outcome == "review"))
        .filter_map(|p| p.person_id)
        .collect();
    // And the people of the rows that duplicates in this chunk repeat, from earlier chunks.
    for (plan, r) in &rest {
        if let (true, "duplicate", Some(first)) = (r.is_some(), plan.outcome.as_str(), plan.duplicate_of) {
            if !earlier.contains_key(&first) {
                planned.extend(person_of_row(conn, cx.b.id, &earlier, first)?);
            }
        }
    }
    // Held against merges and erasures until the chunk commits (read once locked), with whom
    // any of them was merged into since the dry run.
    dbp::lock_with_survivors(conn, &planned, dbp::Lock::KeyShare)?;
    let mut read: HashMap<i64, Person> = HashMap::with_capacity(planned.len());
    for part in planned.chunks(bulk::PART) {
        read.extend(dbp::find_many(conn, part)?.into_iter().map(|p| (p.id, p)));
    }
    let mut links: Vec<(&Planned, CleanRow, Person)> = Vec::with_capacity(rest.len());
    for (plan, r) in rest {
        let Some(r) = r else {
            done.push((plan.row_number, None, "reject"));
            continue;
        };
        let target = match (plan.outcome.as_str(), plan.person_id, plan.duplicate_of) {
            ("link" | "unchanged", Some(id), _) => live_in(conn, &read, id)?,
            ("duplicate", _, Some(first)) => match person_of_row(conn, cx.b.id, &earlier, first)? {
                Some(id) => live_in(conn, &read, id)?,
                None => None,
            },
            _ => None,
        };
        match target {
            Some(p) => {
                earlier.insert(plan.row_number, p.id);
                links.push((plan, r, p));
            }
            None if plan.outcome == "unchanged" => done.push((plan.row_number, None, "unchanged")),
            None => {
                let id = create_instead(conn, cx, &r, plan)?;
                earlier.insert(plan.row_number, id);
                done.push((plan.row_number, Some(id), "create"));
            }
        }
    }

    let mut distinct: HashMap<i64, Person> = HashMap::new();
    for (plan, _, p) in &links {
        if plan.outcome != "unchanged" {
            distinct.entry(p.id).or_insert_with(|| p.clone());
        }
    }
    let mut enricher = links::Enricher::load(conn, distinct.into_values().collect())?;
    let mut linked: Vec<(&CleanRow, i64, Option<f64>)> = Vec::with_capacity(links.len());
    for (plan, r, p) in &links {
        let outcome = match plan.outcome.as_str() {
            "unchanged" => "unchanged",
            "link" => "link",
            _ => "duplicate",
        };
        if outcome != "unchanged" {
            // A restricted person (UK GDPR Art. 18) is kept, not processed: the row is stored as
            // their source record and a withdrawal or refusal in it is honoured, but nothing is
            // added to them (no names, contact points or grants).
            let restricted = p.status == "restricted";
            if !restricted {
                enricher.add(cx, p.id, r)?;
                touched.push(p.id);
            }
            linked.push((r, p.id, plan.match_score));
            consents(conn, cx, p.id, r, !restricted)?;
        }
        attend(conn, cx, p.id, &p.public_id)?;
        done.push((plan.row_number, Some(p.id), outcome));
    }
    enricher.write(conn, cx)?;
    let mut pairs: Vec<(i64, i64)> = linked.iter().map(|(_, id, _)| (*id, cx.b.department_id)).collect();
    pairs.sort_unstable();
    pairs.dedup();
    dbp::link_pairs(conn, &pairs, "import", Some(&cx.reference), cx.now)?;
    let rows: Vec<&CleanRow> = linked.iter().map(|(r, _, _)| *r).collect();
    let ids: Vec<i64> = linked.iter().map(|(_, id, _)| *id).collect();
    let scores: Vec<Option<f64>> = linked.iter().map(|(_, _, s)| *s).collect();
    bulk::source_records_of(
        conn,
        cx,
        &rows,
        &ids,
        &vec!["linked"; rows.len()],
        &scores,
        bulk::IfHeld::Replace,
    )?;

    let reviews: Vec<(&Planned, &CleanRow, i64)> = fresh
        .iter()
        .zip(&made)
        .filter(|((plan, _), _)| plan.outcome == "review")
        .map(|((plan, r), (id, _))| (*plan, r, *id))
        .collect();
    propose_reviews(conn, cx, &reviews, &read, &earlier)?;
    for ((plan, _), (id, _)) in fresh.iter().zip(&made) {
        let outcome = if plan.outcome == "review" { "review" } else { "create" };
        done.push((plan.row_number, Some(*id), outcome));
    }
    Ok(done)
}

/// The idempotency reference of an imported attendance.
pub fn attendance_ref(activity: &str, action: &str, person: &str) -> String {
    format!("attendance:{activity}:{action}:{person}")
}

/// Run the commit of a batch (status `committing`) to the end, resuming after `rows_done`.
pub fn run(
    conn: &mut DbConn,
    batch_id: i64,
    points: &PointHasher,
    settings: &crate::config::MatchingSettings,
) -> AppResult<()> {
    run_chunks(conn, batch_id, points, settings, usize::MAX).map(|_| ())
}

/// Commit at most `max_chunks` chunks, as a worker killed after them would have; returns whether
/// the commit finished. (The crash-and-resume test stops a commit this way.)
pub fn run_chunks(
    conn: &mut DbConn,
    batch_id: i64,
    points: &PointHasher,
    settings: &crate::config::MatchingSettings,
    max_chunks: usize,
) -> AppResult<bool> {
    let b = load(conn, batch_id)?;
    let mut purposes = BTreeMap::new();
    for (slug, decl) in b.consents() {
        if let Some(p) = crate::db::consent::find_purpose(conn, &decl.purpose)? {
            purposes.insert(slug, (decl, p.id, p.default_lawful_basis));
        }
    }
    let now = crate::db::now();
    let attend = match b.attendance() {
        Some(a) => crate::db::engagement::find_activity(conn, &a.activity)?.map(|activity| Attend {
            at: a
                .occurred_at
                .map(|t| t.naive_utc())
                .or(activity.starts_at)
                .unwrap_or(now),
            action: a.action.unwrap_or_else(|| "attended".into()),
            hours: a.hours,
            activity,
        }),
        None => None,
    };
    let cx = Ctx {
        b: &b,
        attend,
        points,
        consents: purposes,
        reference: b.reference(),
        now,
        by: b.created_by,
        matcher: matcher::Matcher::load(conn, settings)?,
        mapping: b.mapping(),
        opts: row_options(&b, b.created_at.date()),
    };
    let file = materialise(conn, b.id)?;
    let mut counts = b.counts();
    let mut done = b.rows_done;
    let mut rows = file_rows(&file.0, &b)?.skip(usize::try_from(done).unwrap_or(0));
    let mut chunks = 0;
    loop {
        if chunks == max_chunks {
            return Ok(false);
        }
        chunks += 1;
        let mut raw = Vec::with_capacity(CHUNK);
        for r in rows.by_ref().take(CHUNK) {
            raw.push(r.map_err(|e| AppError::Internal(format!("the stored file cannot be read again: {e}")))?);
        }
        let (Some(first), Some(last)) = (raw.first(), raw.last()) else {
            break;
        };
        let (lo, hi) = (first.number as i64, last.number as i64);
        let mut plans: HashMap<i64, Planned> = import_rows::table
            .filter(import_rows::batch_id.eq(b.id))
            .filter(import_rows::row_number.between(lo, hi))
            .select((
                import_rows::row_number,
                import_rows::outcome,
                import_rows::person_id,
                import_rows::duplicate_of,
                import_rows::match_score,
                import_rows::applied,
            ))
            .load::<Planned>(conn)?
            .into_iter()
            .map(|p| (p.row_number, p))
            .collect();
        let n = raw.len() as i64;
        let chunk_counts = loop {
            // A chunk the database cancels (PostgreSQL in a lock cycle with a merge of one of its
            // people; SQLite's write lock taken past the busy timeout) wrote nothing: run again.
            let outcome = crate::service::retry_busy(|| commit_chunk(conn, &cx, &raw, &plans, (done, n), &counts));
            match outcome {
                Ok(chunk_counts) => break chunk_counts,
                Err(ChunkError::App(e)) => return Err(e),
                // Each round turns at least one row planned as a new person into a link, which
                // cannot be taken again, so the rounds end.
                Err(ChunkError::Taken(rows)) => {
                    for (row, person) in rows {
                        let plan = plans.get_mut(&row).filter(|p| p.outcome != "link").ok_or_else(|| {
                            AppError::Internal(format!("row {row} was reported taken but is not a new person"))
                        })?;
                        plan.outcome = "link".into();
                        plan.person_id = Some(person);
                        plan.duplicate_of = None;
                        plan.match_score = None;
                    }
                }
            }
        };
        counts = chunk_counts;
        done += n;
    }
    finish(conn, &b, &counts)
}

/// One chunk in one transaction: its rows applied, marked and counted, and the batch's progress
/// moved on to `done + n`. Returns the batch's counts after the chunk.
fn commit_chunk(
    conn: &mut DbConn,
    cx: &Ctx<'_>,
    raw: &[crate::import_core::RawRow],
    plans: &HashMap<i64, Planned>,
    (done, n): (i64, i64),
    counts: &BTreeMap<String, i64>,
) -> Result<BTreeMap<String, i64>, ChunkError> {
    let b = cx.b;
    let mut chunk_counts = counts.clone();
    write_tx(conn, |c| -> Result<(), ChunkError> {
        let mut touched = Vec::new();
        let todo: Vec<Todo<'_>> = raw
            .iter()
            .filter_map(|raw_row| plans.get(&(raw_row.number as i64)).map(|plan| (plan, raw_row)))
            .filter(|(plan, _)| !plan.applied)
            .map(|(plan, raw_row)| (plan, clean_row(raw_row, &cx.mapping, &cx.opts)))
            .collect();
        let applied = apply_chunk(c, cx, todo, &mut touched)?;
        for (_, _, outcome) in &applied {
            *chunk_counts.entry(format!("committed_{outcome}")).or_insert(0) += 1;
        }
        bulk::mark_applied(c, b.id, &applied)?;
        Ok(super::phases::chunk_done(
            c,
            b.id,
            &mut touched,
            done + n,
            &chunk_counts,
        )?)
    })?;
    Ok(chunk_counts)
}

/// After the last chunk: the new people's blocking keys, then the batch marked committed.
fn finish(conn: &mut DbConn, b: &Batch, counts: &BTreeMap<String, i64>) -> AppResult<bool> {
    // The people this batch created get their blocking keys now, all at once in key order
    // (see the module's notes); a resumed commit comes here again and adds what is missing.
    let created: Vec<i64> = import_rows::table
        .filter(import_rows::batch_id.eq(b.id))
        .filter(import_rows::applied.eq(true))
        .filter(import_rows::outcome.eq_any(["create", "review"]))
        .filter(import_rows::person_id.is_not_null())
        .select(import_rows::person_id.assume_not_null())
        .order(import_rows::row_number)
        .load(conn)?;
    index::add_missing_in_key_order(conn, &created)?;
    let now = crate::db::now();
    write_tx(conn, |c| {
        diesel::update(import_batches::table.find(b.id))
            .set((
                import_batches::status.eq("committed"),
                import_batches::committed_at.eq(Some(now)),
                import_batches::heartbeat_at.eq(Some(now)),
                import_batches::updated_at.eq(now),
            ))
            .execute(c)?;
        // The file is not needed any more: what was imported is in the source records.
        diesel::delete(import_file_chunks::table.filter(import_file_chunks::batch_id.eq(b.id))).execute(c)?;
        super::audit_phase_end(c, b, "import.committed", counts)
    })?;
    Ok(true)
}
