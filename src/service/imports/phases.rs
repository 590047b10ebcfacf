//! Starting a commit or rollback (or starting a failed one again), and recording a phase's end.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::{discard, find, load, Batch};
use crate::db::schema::import_batches;
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::service::{audit, Ctx};

/// Move a batch into a running phase (commit or rollback) if it is in `from`.
pub fn start_phase(conn: &mut DbConn, ctx: &Ctx, id: &str, from: &str, to: &str, action: &str) -> AppResult<Batch> {
    let b = find(conn, ctx, id)?;
    // A failed phase starts again where it stopped: a commit that never finished, or a rollback
    // of a committed batch (both keep their progress in rows_done).
    let resumable = b.status == "failed"
        && b.rolled_back_at.is_none()
        && match to {
            "committing" => b.analysed_at.is_some() && b.committed_at.is_none(),
            "rolling_back" => b.committed_at.is_some(),
            _ => false,
        };
    if b.status != from && !resumable {
        return Err(AppError::conflict(
            "wrong_state",
            format!("The import is {}; this needs it to be {from}.", b.status),
        ));
    }
    let now = ctx.meta.now;
    write_tx(conn, |c| {
        let rows_done = if resumable { b.rows_done } else { 0 };
        // Only from the state read: of two requests at once (or two instances), one starts the
        // phase and the other finds the batch moved on (PostgreSQL re-reads the row it waited for).
        let moved = diesel::update(
            import_batches::table
                .find(b.id)
                .filter(import_batches::status.eq(&b.status)),
        )
        .set((
            import_batches::status.eq(to),
            import_batches::rows_done.eq(rows_done),
            import_batches::error.eq(None::<String>),
            // The clock, not the request's time: a CLI import's context is as old as the command.
            import_batches::phase_started_at.eq(Some(crate::db::now())),
            import_batches::heartbeat_at.eq(Some(now)),
            import_batches::updated_at.eq(now),
        ))
        .execute(c)?;
        if moved == 0 {
            return Err(AppError::conflict(
                "wrong_state",
                "Someone else has just started work on this import; reload it.",
            ));
        }
        if to == "committing" {
            // Under the row's lock: a retention run may have discarded the file.
            discard::require_file(c, b.id)?;
        }
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                action,
                Some(("import", &b.public_id)),
                "success",
                None,
            ),
        )?;
        load(c, b.id)
    })
}

/// At the end of a phase's chunk, in its transaction: the blocking keys of the people it
/// `touched` refreshed, and the batch's progress (`rows_done`, `counts`, heartbeat) moved on.
pub fn chunk_done(
    conn: &mut DbConn,
    batch_id: i64,
    touched: &mut Vec<i64>,
    rows_done: i64,
    counts: &BTreeMap<String, i64>,
) -> AppResult<()> {
    touched.sort_unstable();
    touched.dedup();
    crate::service::identity::index::refresh(conn, touched)?;
    let now = crate::db::now();
    diesel::update(import_batches::table.find(batch_id))
        .set((
            import_batches::rows_done.eq(rows_done),
            import_batches::counts.eq(serde_json::to_string(counts).unwrap_or_default()),
            import_batches::heartbeat_at.eq(Some(now)),
            import_batches::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Record the end of a phase in the audit log (actor `system:import`, on behalf of the uploader).
pub fn audit_phase_end(conn: &mut DbConn, b: &Batch, action: &str, counts: &BTreeMap<String, i64>) -> AppResult<()> {
    let mut ev = audit::event(
        &crate::service::RequestMeta::system(crate::db::now()),
        Some(&crate::service::Principal::system("import")),
        action,
        Some(("import", &b.public_id)),
        "success",
        Some(serde_json::json!({ "counts": counts })),
    );
    ev.actor_user_id = b.created_by;
    audit::record(conn, ev)
}
