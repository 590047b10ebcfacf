//! The earlier copy of a source record that an import row replaced (the department sent the
//! same external id again), kept on the row so that a rollback of the batch puts it back.
//!
//! Only the columns a replacement changes are kept. A record first written by the same batch
//! (two rows of one file with one external id) hands on what the first row replaced, so a
//! rollback ends with the copy the batch found, or with no record when there was none.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::people as dbp;
use crate::db::schema::{import_rows, source_records};
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

/// Before `batch_id`'s row `row` replaces the held record, keep what the rollback must put back.
pub fn keep(conn: &mut DbConn, batch_id: i64, row: i64, held: &Held<'_>) -> AppResult<()> {
    let copy: Option<Copy> = source_records::table
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
        .optional()?;
    let Some(copy) = copy else { return Ok(()) };
    let kept: Option<String> = match (copy.import_batch_id, copy.row_number) {
        // Written by this batch's earlier row: what that row replaced, if anything.
        (Some(b), Some(earlier)) if b == batch_id => import_rows::table
            .filter(import_rows::batch_id.eq(batch_id))
            .filter(import_rows::row_number.eq(earlier))
            .select(import_rows::replaced_source)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten(),
        _ => Some(serde_json::to_string(&copy).map_err(|e| AppError::Internal(e.to_string()))?),
    };
    diesel::update(
        import_rows::table
            .filter(import_rows::batch_id.eq(batch_id))
            .filter(import_rows::row_number.eq(row)),
    )
    .set(import_rows::replaced_source.eq(kept))
    .execute(conn)?;
    Ok(())
}

/// Put back the copy `batch_id`'s row `row` replaced, on the record the row now holds; `false`
/// when the row replaced nothing (the caller deletes the record). The copy goes back to its
/// person, or to whom they were merged into since; when that person is gone (erased or removed)
/// there is nobody to give it back to, and `false` too.
pub fn put_back(conn: &mut DbConn, batch_id: i64, row: i64) -> AppResult<bool> {
    let kept: Option<String> = import_rows::table
        .filter(import_rows::batch_id.eq(batch_id))
        .filter(import_rows::row_number.eq(row))
        .select(import_rows::replaced_source)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten();
    let Some(kept) = kept else { return Ok(false) };
    let copy: Copy = serde_json::from_str(&kept)
        .map_err(|e| AppError::Internal(format!("the kept copy of a source record cannot be read: {e}")))?;
    let person = match copy.person_id {
        Some(id) => match dbp::live(conn, id) {
            Ok(Some(p)) => Some(p.id),
            Ok(None) | Err(diesel::result::Error::NotFound) => return Ok(false),
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let n = diesel::update(
        source_records::table
            .filter(source_records::import_batch_id.eq(Some(batch_id)))
            .filter(source_records::row_number.eq(Some(row))),
    )
    .set((
        source_records::person_id.eq(person),
        source_records::import_batch_id.eq(copy.import_batch_id),
        source_records::row_number.eq(copy.row_number),
        source_records::data.eq(&copy.data),
        source_records::content_hash.eq(&copy.content_hash),
        source_records::received_at.eq(copy.received_at),
    ))
    .execute(conn)?;
    Ok(n > 0)
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
        let back: Copy = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, c);
    }
}
