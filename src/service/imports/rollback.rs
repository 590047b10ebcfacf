//! Rollback of a committed batch, chunk by chunk (resumable like the commit).
//!
//! - A person the batch **created** is removed entirely, unless something else has happened to
//!   them since (a value set by anyone else, another source record, consent or engagement not
//!   from this batch, a merge): then they stay, and the row says why.
//! - A person the batch **linked** to loses exactly what the batch gave them: its source
//!   record (or the record gets back the copy the row replaced), the emails, phones and
//!   addresses it added, the empty fields it filled (while they still hold the batch's value,
//!   and unless someone was merged into the person since), the department link it made and its
//!   consent events.
//!
//! What cannot be undone is reported on the row (`rollback_conflict`), never clobbered.

use diesel::prelude::*;

use super::{load, replaced, Batch};
use crate::db::people::{self as dbp};
use crate::db::schema::{
    consent_events, engagement_events, field_provenance, import_batches, import_rows, merges, people, person_addresses,
    person_departments, person_emails, person_phones, rights_requests, source_records,
};
use crate::db::{write_tx, DbConn};
use crate::error::AppResult;
use crate::service::identity::merge::rebuild_consent_state;
use crate::service::people::input::person_fields;
use crate::service::privacy::datamap::{Link, DATA_MAP};
use crate::service::privacy::sql::delete_rows;

/// Rows undone per transaction.
const CHUNK: i64 = 500;

/// Why a person the batch created cannot simply be removed, if anything.
fn blocker(conn: &mut DbConn, b: &Batch, id: i64) -> AppResult<Option<&'static str>> {
    let reference = b.reference();
    let p = dbp::find(conn, id)?;
    if !matches!(p.status.as_str(), "active" | "restricted") {
        return Ok(Some("the person was merged or erased since"));
    }
    let merged_in: i64 = people::table
        .filter(people::merged_into.eq(Some(id)))
        .count()
        .get_result(conn)?;
    let merges_held: i64 = merges::table
        .filter(merges::survivor_id.eq(id))
        .count()
        .get_result(conn)?;
    if merged_in + merges_held > 0 {
        return Ok(Some("other records were merged into the person since"));
    }
    let other = |n: i64| n > 0;
    let not_ours = || {
        field_provenance::source_ref
            .ne(reference.clone())
            .or(field_provenance::source_ref.is_null())
    };
    if other(
        field_provenance::table
            .filter(field_provenance::person_id.eq(id))
            .filter(not_ours())
            .count()
            .get_result(conn)?,
    ) {
        return Ok(Some("someone changed the person's details since"));
    }
    let emails: i64 = person_emails::table
        .filter(person_emails::person_id.eq(id))
        .filter(
            person_emails::source_ref
                .ne(reference.clone())
                .or(person_emails::source_ref.is_null()),
        )
        .count()
        .get_result(conn)?;
    let phones: i64 = person_phones::table
        .filter(person_phones::person_id.eq(id))
        .filter(
            person_phones::source_ref
                .ne(reference.clone())
                .or(person_phones::source_ref.is_null()),
        )
        .count()
        .get_result(conn)?;
    let addresses: i64 = person_addresses::table
        .filter(person_addresses::person_id.eq(id))
        .filter(
            person_addresses::source_ref
                .ne(reference.clone())
                .or(person_addresses::source_ref.is_null()),
        )
        .count()
        .get_result(conn)?;
    if other(emails + phones + addresses) {
        return Ok(Some("someone changed the person's contact details since"));
    }
    let sources: i64 = source_records::table
        .filter(source_records::person_id.eq(Some(id)))
        .filter(
            source_records::import_batch_id
                .ne(Some(b.id))
                .or(source_records::import_batch_id.is_null()),
        )
        .count()
        .get_result(conn)?;
    if other(sources) {
        return Ok(Some("another department's record was linked to the person since"));
    }
    let consents: i64 = consent_events::table
        .filter(consent_events::person_id.eq(id))
        .filter(
            consent_events::source_ref
                .ne(reference.clone())
                .or(consent_events::source_ref.is_null()),
        )
        .count()
        .get_result(conn)?;
    let engagements: i64 = engagement_events::table
        .filter(engagement_events::person_id.eq(id))
        .filter(
            engagement_events::detail
                .ne(reference.clone())
                .or(engagement_events::detail.is_null()),
        )
        .count()
        .get_result(conn)?;
    if other(consents + engagements) {
        return Ok(Some("consent or engagement was recorded for the person since"));
    }
    let requests: i64 = rights_requests::table
        .filter(rights_requests::person_id.eq(Some(id)))
        .count()
        .get_result(conn)?;
    if other(requests) {
        return Ok(Some("a data-protection request names the person"));
    }
    Ok(None)
}

/// Remove a person the batch created, with every row about them (the audit log stays).
fn remove(conn: &mut DbConn, id: i64) -> AppResult<()> {
    diesel::update(import_rows::table.filter(import_rows::person_id.eq(Some(id))))
        .set(import_rows::person_id.eq(None::<i64>))
        .execute(conn)?;
    for entry in DATA_MAP.iter().rev() {
        if entry.table == "people" || entry.table == "import_rows" {
            continue;
        }
        if matches!(entry.link, Link::PersonId(_) | Link::EitherPersonId(..)) {
            delete_rows(conn, entry, id)?;
        }
    }
    diesel::delete(people::table.find(id)).execute(conn)?;
    Ok(())
}

/// An applied row of the batch, as its rollback reads it.
#[derive(Queryable)]
struct Row {
    number: i64,
    outcome: String,
    person: Option<i64>,
    external_id: Option<String>,
}

/// What [`unlink`] did: the person it took from, and why it left their details as they are, if
/// it did.
struct Unlinked {
    person: i64,
    kept: Option<String>,
}

/// Take back what the batch gave a person it linked to. The source record goes back to the copy
/// the row replaced, if it replaced one, and is deleted otherwise. The fields the batch filled are
/// emptied again, unless someone was merged into the person since: the merge chose between
/// their values and the batch's, and emptying would lose the other person's; then they stay, and
/// the row says so.
fn unlink(conn: &mut DbConn, b: &Batch, row: &Row) -> AppResult<Option<Unlinked>> {
    let reference = b.reference();
    let found: Option<Option<i64>> = source_records::table
        .filter(source_records::import_batch_id.eq(Some(b.id)))
        .filter(source_records::row_number.eq(Some(row.number)))
        .select(source_records::person_id)
        .get_result(conn)
        .optional()?;
    let id = match found {
        Some(Some(id)) => {
            if !replaced::put_back(conn, b.id, row.number)? {
                diesel::delete(
                    source_records::table
                        .filter(source_records::import_batch_id.eq(Some(b.id)))
                        .filter(source_records::row_number.eq(Some(row.number))),
                )
                .execute(conn)?;
            }
            id
        }
        Some(None) => return Ok(None),
        // Replaced since, by a later row of the file or a later list: what the batch gave the
        // person is still taken back below.
        None => {
            if let Some(ext) = &row.external_id {
                replaced::hand_on(conn, b.id, row.number, &replaced::Held::of(b, ext))?;
            }
            let live = match row.person {
                Some(p) => dbp::live_id(conn, p)?,
                None => None,
            };
            let Some(id) = live else { return Ok(None) };
            id
        }
    };
    let ours = Some(reference.clone());
    diesel::delete(
        person_emails::table
            .filter(person_emails::person_id.eq(id))
            .filter(person_emails::source_ref.eq(ours.clone())),
    )
    .execute(conn)?;
    diesel::delete(
        person_phones::table
            .filter(person_phones::person_id.eq(id))
            .filter(person_phones::source_ref.eq(ours.clone())),
    )
    .execute(conn)?;
    diesel::delete(
        person_addresses::table
            .filter(person_addresses::person_id.eq(id))
            .filter(person_addresses::source_ref.eq(ours.clone())),
    )
    .execute(conn)?;
    diesel::delete(
        person_departments::table
            .filter(person_departments::person_id.eq(id))
            .filter(person_departments::source_ref.eq(ours.clone())),
    )
    .execute(conn)?;
    drop_attendance(conn, id, &reference)?;
    let n = diesel::delete(
        consent_events::table
            .filter(consent_events::person_id.eq(id))
            .filter(consent_events::source_ref.eq(ours.clone())),
    )
    .execute(conn)?;
    if n > 0 {
        rebuild_consent_state(conn, id)?;
    }
    // Fields the batch filled and nobody has changed since.
    let filled: Vec<(String, chrono::NaiveDateTime)> = field_provenance::table
        .filter(field_provenance::person_id.eq(id))
        .filter(field_provenance::source_ref.eq(ours.clone()))
        .select((field_provenance::field, field_provenance::set_at))
        .load(conn)?;
    let Some(since) = filled.iter().map(|f| f.1).min() else {
        return Ok(Some(Unlinked { person: id, kept: None }));
    };
    let merged_since: i64 = merges::table
        .filter(merges::survivor_id.eq(id))
        .filter(merges::created_at.ge(since))
        .filter(merges::undone_at.is_null())
        .count()
        .get_result(conn)?;
    if merged_since > 0 {
        let mut names: Vec<&str> = filled.iter().map(|f| f.0.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let why = format!(
            "Rolled back, except the details this list filled in ({}): someone was merged into the person since, so they were left as they are.",
            names.join(", ")
        );
        return Ok(Some(Unlinked {
            person: id,
            kept: Some(why),
        }));
    }
    let filled: Vec<String> = filled.into_iter().map(|f| f.0).collect();
    let p = dbp::find(conn, id)?;
    let keep = |f: &str, v: Option<String>| if filled.iter().any(|x| x == f) { None } else { v };
    let fields = person_fields(
        keep("title", p.title.clone()),
        keep("given_name", p.given_name.clone()),
        keep("family_name", p.family_name.clone()),
        keep("preferred_name", p.preferred_name.clone()),
        if filled.iter().any(|x| x == "date_of_birth") {
            None
        } else {
            p.date_of_birth
        },
        keep("organisation", p.organisation.clone()),
    );
    dbp::update_fields(conn, id, p.version, &fields, crate::db::now())?;
    diesel::delete(
        field_provenance::table
            .filter(field_provenance::person_id.eq(id))
            .filter(field_provenance::source_ref.eq(ours)),
    )
    .execute(conn)?;
    Ok(Some(Unlinked { person: id, kept: None }))
}

/// Delete the attendance events a batch logged for a person (each is marked with the batch).
fn drop_attendance(conn: &mut DbConn, person_id: i64, reference: &str) -> AppResult<()> {
    diesel::delete(
        engagement_events::table
            .filter(engagement_events::person_id.eq(person_id))
            .filter(engagement_events::source.eq("import"))
            .filter(engagement_events::detail.eq(reference)),
    )
    .execute(conn)?;
    Ok(())
}

/// Note on the row what its rollback could not undo (`message`: whole sentences).
fn note_conflict(conn: &mut DbConn, b: &Batch, row: i64, message: &str) -> AppResult<()> {
    let current: String = import_rows::table
        .filter(import_rows::batch_id.eq(b.id))
        .filter(import_rows::row_number.eq(row))
        .select(import_rows::problems)
        .get_result(conn)?;
    let mut list: Vec<serde_json::Value> = serde_json::from_str(&current).unwrap_or_default();
    list.push(serde_json::json!({"column": null, "code": "rollback_conflict", "message": message}));
    diesel::update(
        import_rows::table
            .filter(import_rows::batch_id.eq(b.id))
            .filter(import_rows::row_number.eq(row)),
    )
    .set(import_rows::problems.eq(serde_json::to_string(&list).unwrap_or_default()))
    .execute(conn)?;
    Ok(())
}

/// Run the rollback of a batch (status `rolling_back`) to the end.
pub fn run(conn: &mut DbConn, batch_id: i64) -> AppResult<()> {
    let b = load(conn, batch_id)?;
    let mut counts = b.counts();
    let mut after = b.rows_done;
    loop {
        let rows: Vec<Row> = import_rows::table
            .filter(import_rows::batch_id.eq(b.id))
            .filter(import_rows::applied.eq(true))
            .filter(import_rows::row_number.gt(after))
            .order(import_rows::row_number)
            .select((
                import_rows::row_number,
                import_rows::outcome,
                import_rows::person_id,
                import_rows::external_id,
            ))
            .limit(CHUNK)
            .load(conn)?;
        let Some(last) = rows.last().map(|r| r.number) else {
            break;
        };
        let mut chunk_counts = counts.clone();
        write_tx(conn, |c| -> AppResult<()> {
            // Everyone the chunk may change (a row's person or whom they were merged into, or
            // whoever its source record now belongs to), held against merges until it commits
            // (see `dbp::lock`).
            let mut held: Vec<i64> = rows.iter().filter_map(|r| r.person).collect();
            let numbers: Vec<i64> = rows.iter().map(|r| r.number).collect();
            let linked: Vec<Option<i64>> = source_records::table
                .filter(source_records::import_batch_id.eq(Some(b.id)))
                .filter(source_records::row_number.eq_any(&numbers))
                .select(source_records::person_id)
                .load(c)?;
            held.extend(linked.into_iter().flatten());
            dbp::lock_with_survivors(c, &held, dbp::Lock::Update)?;
            let mut touched = Vec::new();
            // Links first (they may point at people this batch created), then creations.
            for row in rows
                .iter()
                .filter(|r| matches!(r.outcome.as_str(), "link" | "duplicate"))
            {
                if let Some(done) = unlink(c, &b, row)? {
                    touched.push(done.person);
                    *chunk_counts.entry("rolled_back_unlinked".into()).or_insert(0) += 1;
                    if let Some(message) = done.kept {
                        note_conflict(c, &b, row.number, &message)?;
                        *chunk_counts.entry("rolled_back_conflicts".into()).or_insert(0) += 1;
                    }
                }
            }
            // Unchanged people keep everything but an attendance list's events.
            for row in rows.iter().filter(|r| r.outcome == "unchanged") {
                if let Some(id) = row.person {
                    drop_attendance(c, id, &b.reference())?;
                }
            }
            for row in rows
                .iter()
                .filter(|r| matches!(r.outcome.as_str(), "create" | "review"))
            {
                let Some(id) = row.person else { continue };
                match blocker(c, &b, id)? {
                    None => {
                        remove(c, id)?;
                        *chunk_counts.entry("rolled_back_removed".into()).or_insert(0) += 1;
                    }
                    Some(why) => {
                        note_conflict(c, &b, row.number, &format!("Not rolled back: {why}."))?;
                        *chunk_counts.entry("rolled_back_conflicts".into()).or_insert(0) += 1;
                    }
                }
            }
            replaced::clear(c, b.id, &numbers)?;
            super::phases::chunk_done(c, b.id, &mut touched, last, &chunk_counts)
        })?;
        counts = chunk_counts;
        after = last;
    }
    let now = crate::db::now();
    write_tx(conn, |c| {
        diesel::update(import_batches::table.find(b.id))
            .set((
                import_batches::status.eq("rolled_back"),
                import_batches::rolled_back_at.eq(Some(now)),
                import_batches::heartbeat_at.eq(Some(now)),
                import_batches::updated_at.eq(now),
            ))
            .execute(c)?;
        super::audit_phase_end(c, &b, "import.rolled_back", &counts)
    })?;
    Ok(())
}
