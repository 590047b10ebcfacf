//! The earlier copy of a source record that an import row replaced (the department sent the
//! same external id again), kept on the row so that a rollback of the batch puts it back.
//!
//! - Only the columns a replacement changes are kept, and only when the record stays with the
//!   same person (or whom they were merged into): the copy is that person's data, which their
//!   erasure and subject access export reach through the row. A row planned as a new person
//!   whose external id another list of the department committed meanwhile is linked to that
//!   record's person instead (see the commit's `ChunkError::Taken`), so it keeps the copy like
//!   any link. A row that replaces a record whose person is gone (erased) keeps nothing, and its
//!   rollback deletes the record.
//! - Two rows of one file with one external id: the second hands on what the first replaced, so a
//!   rollback ends with the copy the batch found, or with no record when there was none.
//! - Rolling back a list whose record a later list has replaced since hands its copy on to that
//!   list's row ([`hand_on`]), so rolling the later list back afterwards puts back what was there
//!   before both. A rollback clears its rows' copies when it is done with them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::people as dbp;
use crate::db::schema::{import_batches, import_rows, source_records};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};

/// The columns of a source record that a replacement changes, as they were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Queryable)]
struct Copy {
    person_id: Option<i64>,
    import_batch_id: Option<i64>,
    row_number: Option<i64>,
    data: String,
    content_hash: String,
    received_at: NaiveDateTime,
}

/// Which held record: department, source system and external id.
pub struct Held<'a> {
    /// Department.
    pub department_id: i64,
    /// Source system.
    pub source_system: &'a str,
    /// External id.
    pub external_id: &'a str,
}

impl<'a> Held<'a> {
    /// The record a batch's department holds under `external_id`.
    pub fn of(b: &'a super::Batch, external_id: &'a str) -> Held<'a> {
        Held {
            department_id: b.department_id,
            source_system: &b.source_system,
            external_id,
        }
    }
}

fn held_copy(conn: &mut DbConn, held: &Held<'_>) -> QueryResult<Option<Copy>> {
    source_records::table
        .filter(source_records::department_id.eq(held.department_id))
        .filter(source_records::source_system.eq(held.source_system))
        .filter(source_records::external_id.eq(held.external_id))
        .select((
            source_records::person_id,
            source_records::import_batch_id,
            source_records::row_number,
            source_records::data,
            source_records::content_hash,
            source_records::received_at,
        ))
        .first(conn)
        .optional()
}

fn kept_of(conn: &mut DbConn, batch_id: i64, row: i64) -> QueryResult<Option<String>> {
    Ok(import_rows::table
        .filter(import_rows::batch_id.eq(batch_id))
        .filter(import_rows::row_number.eq(row))
        .select(import_rows::replaced_source)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

fn set_kept(conn: &mut DbConn, batch_id: i64, row: i64, kept: Option<&str>) -> QueryResult<usize> {
    diesel::update(
        import_rows::table
            .filter(import_rows::batch_id.eq(batch_id))
            .filter(import_rows::row_number.eq(row)),
    )
    .set(import_rows::replaced_source.eq(kept))
    .execute(conn)
}

fn read(kept: &str) -> AppResult<Copy> {
    serde_json::from_str(kept)
        .map_err(|e| AppError::Internal(format!("the kept copy of a source record cannot be read: {e}")))
}

/// Whom a record's person is now (themselves, or whom they were merged into).
fn live_id(conn: &mut DbConn, person: Option<i64>) -> AppResult<Option<i64>> {
    Ok(match person {
        Some(id) => dbp::live_id(conn, id)?,
        None => None,
    })
}

/// Whom the held record belongs to now (its person, or whom they were merged into); `None` when
/// there is no such record or its person is gone.
pub fn holder(conn: &mut DbConn, held: &Held<'_>) -> AppResult<Option<i64>> {
    match held_copy(conn, held)? {
        Some(copy) => live_id(conn, copy.person_id),
        None => Ok(None),
    }
}

/// Before `batch_id`'s row `row` replaces the held record for `person_id`, keep what the
/// rollback must put back.
pub fn keep(conn: &mut DbConn, batch_id: i64, row: i64, person_id: i64, held: &Held<'_>) -> AppResult<()> {
    let Some(copy) = held_copy(conn, held)? else {
        return Ok(());
    };
    let kept = match (copy.import_batch_id, copy.row_number) {
        // Written by this batch's earlier row: what that row replaced, if anything.
        (Some(b), Some(earlier)) if b == batch_id => kept_of(conn, batch_id, earlier)?,
        _ if live_id(conn, copy.person_id)? == Some(person_id) => {
            Some(serde_json::to_string(&copy).map_err(|e| AppError::Internal(e.to_string()))?)
        }
        _ => None,
    };
    set_kept(conn, batch_id, row, kept.as_deref())?;
    Ok(())
}

/// Put back the copy `batch_id`'s row `row` replaced, on the record the row now holds; `false`
/// when there is none to put back (the caller deletes the record): the row replaced nothing, the
/// copy's person is gone (erased or removed), or the copy came from a list rolled back since.
pub fn put_back(conn: &mut DbConn, batch_id: i64, row: i64) -> AppResult<bool> {
    let Some(kept) = kept_of(conn, batch_id, row)? else {
        return Ok(false);
    };
    let copy = read(&kept)?;
    if let Some(from) = copy.import_batch_id {
        let status: Option<String> = import_batches::table
            .find(from)
            .select(import_batches::status)
            .first(conn)
            .optional()?;
        if status.as_deref() == Some("rolled_back") {
            return Ok(false);
        }
    }
    let Some(person) = live_id(conn, copy.person_id)? else {
        return Ok(false);
    };
    let n = diesel::update(
        source_records::table
            .filter(source_records::import_batch_id.eq(Some(batch_id)))
            .filter(source_records::row_number.eq(Some(row))),
    )
    .set((
        source_records::person_id.eq(Some(person)),
        source_records::import_batch_id.eq(copy.import_batch_id),
        source_records::row_number.eq(copy.row_number),
        source_records::data.eq(&copy.data),
        source_records::content_hash.eq(&copy.content_hash),
        source_records::received_at.eq(copy.received_at),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// The rollback of `batch_id`'s row `row` found its record replaced since. When a later list
/// replaced it (not a later row of the same file, which already carries the copy), that list's
/// row now holds this row's copy in place of the version this batch wrote.
pub fn hand_on(conn: &mut DbConn, batch_id: i64, row: i64, held: &Held<'_>) -> AppResult<()> {
    let Some(now) = held_copy(conn, held)? else {
        return Ok(());
    };
    let (Some(later_batch), Some(later_row)) = (now.import_batch_id, now.row_number) else {
        return Ok(());
    };
    if later_batch == batch_id {
        return Ok(());
    }
    let Some(theirs) = kept_of(conn, later_batch, later_row)? else {
        return Ok(());
    };
    let theirs = read(&theirs)?;
    if theirs.import_batch_id == Some(batch_id) && theirs.row_number == Some(row) {
        let mine = kept_of(conn, batch_id, row)?;
        set_kept(conn, later_batch, later_row, mine.as_deref())?;
    }
    Ok(())
}

/// Clear the copies of rows a rollback is done with.
pub fn clear(conn: &mut DbConn, batch_id: i64, rows: &[i64]) -> AppResult<()> {
    diesel::update(
        import_rows::table
            .filter(import_rows::batch_id.eq(batch_id))
            .filter(import_rows::row_number.eq_any(rows))
            .filter(import_rows::replaced_source.is_not_null()),
    )
    .set(import_rows::replaced_source.eq(None::<String>))
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_copy_reads_back_as_written() {
        let c = Copy {
            person_id: Some(7),
            import_batch_id: None,
            row_number: None,
            data: "{\"given_name\":\"Ada\"}".into(),
            content_hash: "abc".into(),
            received_at: chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
                .and_then(|d| d.and_hms_opt(3, 4, 5))
                .unwrap_or_default(),
        };
        let text = serde_json::to_string(&c).unwrap_or_default();
        let back = read(&text).expect("reads back");
        assert_eq!(back, c);
    }
}
