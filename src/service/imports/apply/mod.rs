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
    matcher: matcher::Matcher,
}

/// The live person a planned link points at: a merged person's survivor; none if erased.
fn live(conn: &mut DbConn, id: i64) -> AppResult<Option<Person>> {
    let mut p = dbp::find(conn, id)?;
    for _ in 0..5 {
        match (p.status.as_str(), p.merged_into) {
            ("merged", Some(next)) => p = dbp::find(conn, next)?,
            ("active" | "restricted", _) => return Ok(Some(p)),
            _ => return Ok(None),
        }
    }
    Ok(None)
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

/// Apply a row the dry run did not plan as a new person; returns the person it ended with and
/// the outcome actually applied (a planned link whose person was erased meanwhile creates one).
fn apply_row(
    conn: &mut DbConn,
    cx: &Ctx<'_>,
    r: &CleanRow,
    plan: &Planned,
    earlier: &HashMap<i64, i64>,
    touched: &mut Vec<i64>,
) -> AppResult<(Option<i64>, &'static str)> {
    let target = match (plan.outcome.as_str(), plan.person_id, plan.duplicate_of) {
        ("link" | "unchanged", Some(id), _) => live(conn, id)?,
        ("duplicate", _, Some(first)) => match person_of_row(conn, cx.b.id, earlier, first)? {
            Some(id) => live(conn, id)?,
            None => None,
        },
        _ => None,
    };
    let Some(p) = target else {
        if plan.outcome == "unchanged" {
            return Ok((None, "unchanged"));
        }
        let made = bulk::create_people(conn, cx, &[r], &["created"], &[plan.match_score])?;
        let Some((id, public_id)) = made.into_iter().next() else {
            return Err(AppError::Internal("a person was not created".into()));
        };
        consents(conn, cx, id, r)?;
        attend(conn, cx, id, &public_id)?;
        return Ok((Some(id), "create"));
    };
    if plan.outcome == "unchanged" {
        attend(conn, cx, p.id, &p.public_id)?;
        return Ok((Some(p.id), "unchanged"));
    }
    enrich(conn, cx, &p, r)?;
    crate::db::people::link_departments(conn, p.id, &[cx.b.department_id], "import", Some(&cx.reference), cx.now)?;
    source_record(conn, cx, p.id, r, "linked", plan.match_score)?;
    touched.push(p.id);
    consents(conn, cx, p.id, r)?;
    attend(conn, cx, p.id, &p.public_id)?;
    Ok((Some(p.id), if plan.outcome == "link" { "link" } else { "duplicate" }))
}

/// A review row's new person proposed for review with the person the dry run found for it
/// (one held, or the one an earlier row of the file ended with).
fn propose_review(
    conn: &mut DbConn,
    cx: &Ctx<'_>,
    r: &CleanRow,
    plan: &Planned,
    person_id: i64,
    earlier: &HashMap<i64, i64>,
) -> AppResult<()> {
    let other = match (plan.person_id, plan.duplicate_of) {
        (Some(p), _) => live(conn, p)?.map(|p| p.id),
        (None, Some(first)) => person_of_row(conn, cx.b.id, earlier, first)?,
        _ => None,
    };
    let Some(other) = other else { return Ok(()) };
    let prepared = Prepared::from_record(&record_of(r));
    let theirs = index::records_of(conn, &[other])?;
    if let Some((_, rec)) = theirs.first() {
        let (score, _) = cx.matcher.score(&prepared, &Prepared::from_record(rec));
        matcher::propose(conn, person_id, other, &score, "import", cx.now)?;
    }
    Ok(())
}

/// Apply one chunk's rows (those not applied yet): the rows planned as new people are created
/// together, then the others in file order; returns the outcome each row ended with.
fn apply_chunk(
    conn: &mut DbConn,
    cx: &Ctx<'_>,
    rows: Vec<(&Planned, RowOutcome)>,
    touched: &mut Vec<i64>,
) -> AppResult<Vec<(i64, Option<i64>, &'static str)>> {
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
    let made = bulk::create_people(conn, cx, &clean, &decisions, &scores)?;
    let mut earlier: HashMap<i64, i64> = fresh
        .iter()
        .zip(&made)
        .map(|((p, _), (id, _))| (p.row_number, *id))
        .collect();
    // A new person's first row is the one that created them, so its consents go in before any
    // later row's (a later row that withdraws consent must win).
    for ((_, r), (id, public_id)) in fresh.iter().zip(&made) {
        consents(conn, cx, *id, r)?;
        attend(conn, cx, *id, public_id)?;
    }
    let mut done = Vec::with_capacity(fresh.len() + rest.len());
    for (plan, r) in rest {
        let (person, outcome) = match r {
            Some(r) => apply_row(conn, cx, &r, plan, &earlier, touched)?,
            None => (None, "reject"),
        };
        if let Some(id) = person {
            earlier.insert(plan.row_number, id);
        }
        done.push((plan.row_number, person, outcome));
    }
    for ((plan, r), (id, _)) in fresh.iter().zip(&made) {
        let outcome = if plan.outcome == "review" {
            propose_review(conn, cx, r, plan, *id, &earlier)?;
            "review"
        } else {
            "create"
        };
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
    };
    let file = materialise(conn, b.id)?;
    let mapping = b.mapping();
    let opts = row_options(&b, b.created_at.date());
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
        let plans: HashMap<i64, Planned> = import_rows::table
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
        let mut chunk_counts = counts.clone();
        write_tx(conn, |c| -> AppResult<()> {
            let mut touched = Vec::new();
            let todo: Vec<(&Planned, RowOutcome)> = raw
                .iter()
                .filter_map(|raw_row| plans.get(&(raw_row.number as i64)).map(|plan| (plan, raw_row)))
                .filter(|(plan, _)| !plan.applied)
                .map(|(plan, raw_row)| (plan, clean_row(raw_row, &mapping, &opts)))
                .collect();
            let applied = apply_chunk(c, &cx, todo, &mut touched)?;
            for (_, _, outcome) in &applied {
                *chunk_counts.entry(format!("committed_{outcome}")).or_insert(0) += 1;
            }
            bulk::mark_applied(c, b.id, &applied)?;
            touched.sort_unstable();
            touched.dedup();
            index::refresh(c, &touched)?;
            let now = crate::db::now();
            diesel::update(import_batches::table.find(b.id))
                .set((
                    import_batches::rows_done.eq(done + n),
                    import_batches::counts.eq(serde_json::to_string(&chunk_counts).unwrap_or_default()),
                    import_batches::heartbeat_at.eq(Some(now)),
                    import_batches::updated_at.eq(now),
                ))
                .execute(c)?;
            Ok(())
        })?;
        counts = chunk_counts;
        done += n;
    }
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
        super::audit_phase_end(c, &b, "import.committed", &counts)
    })?;
    Ok(true)
}
