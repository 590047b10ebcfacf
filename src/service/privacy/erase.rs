//! Erasure (UK GDPR Art. 17): every personal value in every table of the data map is deleted or
//! blanked in one transaction; the contact points go to the suppression list first; the person's
//! id stays and answers 410 Gone. On SQLite (`secure_delete=ON`) the WAL is checkpointed and
//! truncated afterwards so no copy of the old pages stays in the log.

use diesel::prelude::*;

use super::datamap::{Erase, DATA_MAP};
use super::keys::PointHasher;
use super::sql::{blank_columns, delete_rows};
use crate::db::schema::people;
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::service::{audit, Principal, RequestMeta};

/// How long an erasure waits for the WAL to be free to truncate (see [`db::pool::truncate_wal`]).
const ERASURE_WAL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What an erasure did, for the caller and the audit log (counts only).
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ErasureReport {
    /// The erased person's id (it now answers 410).
    pub id: String,
    /// Contact points added to the suppression list.
    pub suppressed: usize,
    /// Rows removed or blanked per table.
    pub tables: std::collections::BTreeMap<String, usize>,
}

/// Erase a person by internal id, in one transaction. `actor` is None for retention runs. The
/// caller then purges the WAL of their old pages ([`purge_wal`]), once however many it erased.
pub(super) fn erase_person(
    conn: &mut DbConn,
    points: &PointHasher,
    actor: Option<&Principal>,
    meta: &RequestMeta,
    person_id: i64,
    reason: &str,
) -> AppResult<ErasureReport> {
    write_tx(conn, |c| {
        // The person and those merged into them, locked in one call (id order).
        let mut held: Vec<i64> = people::table
            .filter(people::merged_into.eq(Some(person_id)))
            .select(people::id)
            .load(c)?;
        held.push(person_id);
        db::people::lock(c, &held, db::people::Lock::Update)?;
        let person = db::people::find(c, person_id)?;
        match person.status.as_str() {
            "erased" => return Err(AppError::Gone("This person's data has already been erased.".into())),
            // Merged while this waited for the lock: the survivor is who holds their data now.
            "merged" => {
                return Err(AppError::conflict(
                    "merged",
                    "This person was merged into another; erase the survivor.",
                ))
            }
            _ => {}
        }
        // The people merged into this one keep their old rows (names, date of birth) for
        // unmerge; they are the same person, so they are erased too.
        let mut ids: Vec<i64> = people::table
            .filter(people::merged_into.eq(Some(person_id)))
            .filter(people::status.eq("merged"))
            .select(people::id)
            .load(c)?;
        // Anyone merged in since the first read (rare) is locked now.
        let late: Vec<i64> = ids.iter().copied().filter(|id| !held.contains(id)).collect();
        db::people::lock(c, &late, db::people::Lock::Update)?;
        ids.insert(0, person_id);
        let mut suppressed = 0;
        for e in db::people::emails_of(c, &ids)? {
            db::consent::suppress(c, &points.email(&e.address_key), "email", "erasure", meta.now)?;
            suppressed += 1;
        }
        for p in db::people::phones_of(c, &ids)? {
            db::consent::suppress(c, &points.phone(&p.number), "phone", "erasure", meta.now)?;
            suppressed += 1;
        }
        let mut tables = std::collections::BTreeMap::new();
        for &id in &ids {
            for entry in DATA_MAP {
                let n = match entry.erase {
                    Erase::Keep => continue,
                    Erase::Delete => delete_rows(c, entry, id)?,
                    Erase::Blank(cols) => blank_columns(c, entry, id, cols)?,
                    Erase::AggregateEngagement => db::engagement::aggregate_and_delete(c, id)?,
                };
                *tables.entry(entry.table.to_string()).or_insert(0) += n;
            }
            diesel::update(people::table.find(id))
                .set((
                    people::status.eq("erased"),
                    people::erased_at.eq(Some(meta.now)),
                    people::version.eq(people::version + 1),
                    people::updated_at.eq(meta.now),
                ))
                .execute(c)?;
        }
        let detail = serde_json::json!({"reason": reason, "suppressed": suppressed, "tables": tables, "merged_records": ids.len() - 1});
        let mut ev = audit::event(
            meta,
            actor,
            "person.erase",
            Some(("person", &person.public_id)),
            "success",
            Some(detail),
        );
        if actor.is_none() {
            ev.actor = "retention".into();
        }
        audit::record(c, ev)?;
        Ok(ErasureReport {
            id: person.public_id,
            suppressed,
            tables,
        })
    })
}

/// On SQLite, old page images of erased rows may still sit in the WAL: fold them into the
/// database (`secure_delete` zeroes the freed space) and truncate the log. Long readers can hold
/// this up past the wait; then the next erasure (or the checkpoint thread, once the database is
/// quiet) does it.
pub(super) fn purge_wal(conn: &mut DbConn) {
    if let DbConn::Sqlite(c) = conn {
        match crate::db::pool::truncate_wal(c, ERASURE_WAL_WAIT) {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the WAL could not be truncated after an erasure: readers kept it busy"),
            Err(e) => tracing::warn!(error = %e, "checkpoint after erasure failed"),
        }
    }
}

/// `POST /people/{id}/erase` (data protection officer).
pub fn erase(
    conn: &mut DbConn,
    ctx: &crate::service::Ctx,
    points: &PointHasher,
    public_id: &str,
    reason: &str,
) -> AppResult<ErasureReport> {
    let reason = super::clean_reason(reason)?;
    let person = crate::service::people::find_visible(conn, &ctx.principal, public_id)?;
    let report = erase_person(conn, points, Some(&ctx.principal), &ctx.meta, person.id, &reason)?;
    purge_wal(conn);
    Ok(report)
}
