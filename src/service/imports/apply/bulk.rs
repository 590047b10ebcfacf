//! The people a chunk creates, written set by set: one multi-row statement per table for the
//! whole chunk instead of a dozen statements per row. On PostgreSQL every statement is a round
//! trip, so the per-row path was bound by latency (about 1.4 ms a row); the per-row path stays for
//! what is rare (a row whose planned link vanished, a department's record replaced in place).

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::rows::{new_address, new_emails, new_phones, provenance};
use super::{ChunkError, Ctx};
use crate::db::people::{self as dbp, NewAddress, NewEmail, NewPersonMeta, NewPhone, PersonFields};
use crate::db::schema::{
    import_rows, people, person_addresses, person_emails, person_phones, person_tags, source_records,
};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::import_core::CleanRow;
use crate::service::imports::replaced;
use crate::service::new_ordered_public_id;
use crate::service::people::input::person_fields;
use crate::service::people::scalar_fields;

/// Rows per multi-row statement: well inside both backends' limits on bound values (SQLite
/// 32,766; PostgreSQL 65,535) for the widest table written here (15 columns).
pub(super) const PART: usize = 500;

fn fields_of(r: &CleanRow) -> PersonFields {
    person_fields(
        r.title.clone(),
        r.given_name.clone(),
        r.family_name.clone(),
        r.preferred_name.clone(),
        r.date_of_birth,
        r.organisation.clone(),
    )
}

/// Create one person per row, with their contact points, tags, provenance, department link and
/// source record (`decisions[i]` is row `i`'s match decision, `scores[i]` its score). Returns
/// each row's (internal id, public id), in the rows' order.
///
/// With [`IfHeld::Refuse`], a row whose external id the department has come to hold for a live
/// person since the dry run fails the chunk with [`ChunkError::Taken`] (see
/// [`source_records_of`]).
pub(super) fn create_people(
    conn: &mut DbConn,
    cx: &Ctx<'_>,
    rows: &[&CleanRow],
    decisions: &[&str],
    scores: &[Option<f64>],
    if_held: IfHeld,
) -> Result<Vec<(i64, String)>, ChunkError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let public_ids: Vec<String> = rows.iter().map(|_| new_ordered_public_id()).collect();
    let people_rows: Vec<(NewPersonMeta<'_>, PersonFields)> = rows
        .iter()
        .zip(&public_ids)
        .map(|(r, public_id)| {
            let meta = NewPersonMeta {
                public_id,
                status: "active",
                version: 1,
                created_at: cx.now,
                updated_at: cx.now,
            };
            (meta, fields_of(r))
        })
        .collect();
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    for part in people_rows.chunks(PART) {
        let got: Vec<(String, i64)> = crate::with_backend!(conn, |c| diesel::insert_into(people::table)
            .values(part)
            .returning((people::public_id, people::id))
            .get_results(c))?;
        ids.extend(got);
    }
    let made: Vec<(i64, String)> = public_ids
        .iter()
        .map(|p| match ids.get(p) {
            Some(id) => Ok((*id, p.clone())),
            None => Err(AppError::Internal(format!("person {p} was not found after its insert"))),
        })
        .collect::<AppResult<_>>()?;

    let mut emails: Vec<NewEmail> = Vec::new();
    let mut phones: Vec<NewPhone> = Vec::new();
    let mut addresses: Vec<NewAddress> = Vec::new();
    let mut tags: Vec<(i64, String)> = Vec::new();
    let mut prov = Vec::new();
    let mut departments = Vec::with_capacity(rows.len());
    for ((r, (_, fields)), (id, _)) in rows.iter().zip(&people_rows).zip(&made) {
        emails.extend(new_emails(cx, *id, r, &[], true));
        phones.extend(new_phones(cx, *id, r, &[], true));
        addresses.extend(new_address(cx, *id, r, true));
        tags.extend(r.tags.iter().map(|t| (*id, t.clone())));
        let set: Vec<&str> = scalar_fields(fields)
            .into_iter()
            .filter_map(|(f, has)| has.then_some(f))
            .collect();
        prov.extend(provenance(cx, *id, &set));
        departments.push((*id, cx.b.department_id));
    }
    insert_points(conn, &emails, &phones, &addresses, &tags)?;
    dbp::set_provenance(conn, &prov)?;
    dbp::link_pairs(conn, &departments, "import", Some(&cx.reference), cx.now)?;
    let ids: Vec<i64> = made.iter().map(|(id, _)| *id).collect();
    source_records_of(conn, cx, rows, &ids, decisions, scores, if_held)?;
    Ok(made)
}

/// What a row's record does when its department already holds its external id for someone else.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum IfHeld {
    /// Replace the held copy (a link's newer copy, or a record whose person is gone).
    Replace,
    /// Report the row when the held record's person is live (a new person's row: the record
    /// was committed by another list since the dry run, so the row is that person's).
    Refuse,
}

/// Insert contact points and (person, tag) pairs, a part at a time (a tag a person already
/// has is left as it is).
pub(super) fn insert_points(
    conn: &mut DbConn,
    emails: &[NewEmail],
    phones: &[NewPhone],
    addresses: &[NewAddress],
    tags: &[(i64, String)],
) -> AppResult<()> {
    for part in emails.chunks(PART) {
        crate::with_backend!(conn, |c| diesel::insert_into(person_emails::table)
            .values(part)
            .execute(c))?;
    }
    for part in phones.chunks(PART) {
        crate::with_backend!(conn, |c| diesel::insert_into(person_phones::table)
            .values(part)
            .execute(c))?;
    }
    for part in addresses.chunks(PART) {
        crate::with_backend!(conn, |c| diesel::insert_into(person_addresses::table)
            .values(part)
            .execute(c))?;
    }
    for part in tags.chunks(PART) {
        let rows: Vec<_> = part
            .iter()
            .map(|(id, t)| (person_tags::person_id.eq(*id), person_tags::tag.eq(t.as_str())))
            .collect();
        crate::with_backend!(conn, |c| diesel::insert_into(person_tags::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// The source records of rows (`people[i]` is row `i`'s person), inserted together. A row whose
/// external id the department already holds (the insert skips it: the id is unique per
/// department and source system) or that an earlier row of these shares goes afterwards, in
/// order, through [`super::rows::replace_source_record`], unless `if_held` is
/// [`IfHeld::Refuse`] and the held record's person is live: then the chunk fails with
/// [`ChunkError::Taken`] naming those rows. (Asking first
/// which ids are held was a look-up whose plan PostgreSQL got badly wrong while an import grew
/// the table faster than its statistics: a scan of every record of the department per chunk.)
pub(super) fn source_records_of(
    conn: &mut DbConn,
    cx: &Ctx<'_>,
    rows: &[&CleanRow],
    people: &[i64],
    decisions: &[&str],
    scores: &[Option<f64>],
    if_held: IfHeld,
) -> Result<(), ChunkError> {
    let mut seen = HashSet::new();
    let mut one_by_one = Vec::new();
    let mut together = Vec::with_capacity(rows.len());
    let mut sent = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        if r.external_id.as_ref().is_some_and(|e| !seen.insert(e.as_str())) {
            one_by_one.push(i);
            continue;
        }
        sent.push(i);
        let (row, data) = super::rows::stored_row(r);
        together.push((
            source_records::public_id.eq(new_ordered_public_id()),
            source_records::person_id.eq(Some(people[i])),
            source_records::department_id.eq(cx.b.department_id),
            source_records::source_system.eq(cx.b.source_system.as_str()),
            source_records::external_id.eq(r.external_id.as_deref()),
            source_records::import_batch_id.eq(Some(cx.b.id)),
            source_records::row_number.eq(Some(row)),
            source_records::data.eq(data),
            source_records::content_hash.eq(r.content_hash.as_str()),
            source_records::match_decision.eq(decisions[i]),
            source_records::match_score.eq(scores[i]),
            source_records::received_at.eq(cx.now),
        ));
    }
    let mut inserted: HashSet<String> = HashSet::with_capacity(together.len());
    for part in together.chunks(PART) {
        let got: Vec<Option<String>> = crate::with_backend!(conn, |c| diesel::insert_into(source_records::table)
            .values(part)
            .on_conflict_do_nothing()
            .returning(source_records::external_id)
            .get_results(c))?;
        inserted.extend(got.into_iter().flatten());
    }
    let conflicted: Vec<usize> = sent
        .into_iter()
        .filter(|i| rows[*i].external_id.as_ref().is_some_and(|e| !inserted.contains(e)))
        .collect();
    let mut taken = Vec::new();
    for i in conflicted {
        let holder = match (&rows[i].external_id, if_held) {
            (Some(ext), IfHeld::Refuse) => replaced::holder(conn, &replaced::Held::of(cx.b, ext))?,
            _ => None,
        };
        match holder {
            Some(person) => taken.push((i64::try_from(rows[i].number).unwrap_or(i64::MAX), person)),
            None => one_by_one.push(i),
        }
    }
    if !taken.is_empty() {
        return Err(ChunkError::Taken(taken));
    }
    one_by_one.sort_unstable();
    for i in one_by_one {
        super::rows::replace_source_record(conn, cx, people[i], rows[i])?;
    }
    Ok(())
}

/// Mark a chunk's rows applied with the person and outcome each ended with: one upsert per part
/// on the rows' primary key (every row exists: the dry run wrote it), so only those three
/// columns change.
pub(super) fn mark_applied(conn: &mut DbConn, batch_id: i64, done: &[(i64, Option<i64>, &str)]) -> AppResult<()> {
    use diesel::upsert::excluded;
    let rows: Vec<_> = done
        .iter()
        .map(|(row, person, outcome)| {
            (
                import_rows::batch_id.eq(batch_id),
                import_rows::row_number.eq(*row),
                import_rows::outcome.eq(*outcome),
                import_rows::person_id.eq(*person),
                import_rows::problems.eq("[]"),
                import_rows::applied.eq(true),
            )
        })
        .collect();
    for part in rows.chunks(PART) {
        crate::with_backend!(conn, |c| diesel::insert_into(import_rows::table)
            .values(part)
            .on_conflict((import_rows::batch_id, import_rows::row_number))
            .do_update()
            .set((
                import_rows::outcome.eq(excluded(import_rows::outcome)),
                import_rows::person_id.eq(excluded(import_rows::person_id)),
                import_rows::applied.eq(excluded(import_rows::applied)),
            ))
            .execute(c))?;
    }
    Ok(())
}
