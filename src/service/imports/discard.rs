//! Uploads never committed do not keep their files: a batch that has sat uploaded, analysed or
//! failed (before committing anything) for `retention.uncommitted_import_days` loses its stored
//! file and its dry run's rows, and is marked failed with the reason. Rows a failed commit
//! applied stay (a rollback needs them), and the batch can still be rolled back; it can no
//! longer be dry-run or committed (`file_discarded`). And a batch finished (committed or rolled
//! back) more than `retention.import_report_days` ago keeps its rows' outcomes and people (a
//! rollback needs them) but no longer what echoed the file: the problems' messages (which quote
//! cells) and the external ids. Both run in `lighthouse retention`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::people::Db;
use crate::db::schema::{import_batches, import_file_chunks, import_rows};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::service::{audit, RequestMeta};

/// The error a discarded batch carries.
pub const DISCARDED: &str = "discarded: not committed in time, the stored file was deleted";

/// A batch not committed and untouched since `cutoff`.
fn untouched_since(
    cutoff: NaiveDateTime,
) -> Box<dyn BoxableExpression<import_batches::table, Db, SqlType = diesel::sql_types::Bool>> {
    Box::new(
        import_batches::status
            .eq_any(["uploaded", "analysed", "failed"])
            .and(import_batches::committed_at.is_null())
            .and(import_batches::updated_at.lt(cutoff)),
    )
}

/// Batches not committed and untouched since `cutoff` that still hold a file: (id, public id).
fn stale(conn: &mut DbConn, cutoff: NaiveDateTime) -> QueryResult<Vec<(i64, String)>> {
    let with_file = import_file_chunks::table.select(import_file_chunks::batch_id);
    import_batches::table
        .filter(untouched_since(cutoff))
        .filter(import_batches::id.eq_any(with_file))
        .select((import_batches::id, import_batches::public_id))
        .order(import_batches::id)
        .load(conn)
}

/// Discard stale uploads (or, with `dry_run`, count them); each one audited as
/// `import.discard`, in the same transaction.
pub fn discard_stale(conn: &mut DbConn, cutoff: NaiveDateTime, now: NaiveDateTime, dry_run: bool) -> AppResult<usize> {
    let found = stale(conn, cutoff)?;
    if dry_run {
        return Ok(found.len());
    }
    let meta = RequestMeta::system(now);
    let mut discarded = 0;
    for (id, public_id) in &found {
        discarded += write_tx(conn, |c| {
            // The batch is marked first, and only if it is still stale: a dry run or commit
            // started since has moved it on (and holds its row until it commits).
            let marked = diesel::update(import_batches::table.find(id).filter(untouched_since(cutoff)))
                .set((
                    import_batches::status.eq("failed"),
                    import_batches::error.eq(Some(DISCARDED)),
                    import_batches::updated_at.eq(now),
                ))
                .execute(c)?;
            if marked == 0 {
                return Ok(0);
            }
            diesel::delete(import_file_chunks::table.filter(import_file_chunks::batch_id.eq(id))).execute(c)?;
            diesel::delete(
                import_rows::table
                    .filter(import_rows::batch_id.eq(id))
                    .filter(import_rows::applied.eq(false)),
            )
            .execute(c)?;
            audit::record(
                c,
                audit::event(
                    &meta,
                    None,
                    "import.discard",
                    Some(("import", public_id)),
                    "success",
                    None,
                ),
            )?;
            Ok::<usize, AppError>(1)
        })?;
    }
    Ok(discarded)
}

/// Batches finished before `cutoff` whose rows still hold messages or external ids.
fn old_reports(conn: &mut DbConn, cutoff: NaiveDateTime) -> QueryResult<Vec<(i64, String)>> {
    let holding = import_rows::table
        .filter(
            import_rows::problems
                .ne("[]")
                .or(import_rows::external_id.is_not_null()),
        )
        .select(import_rows::batch_id);
    import_batches::table
        .filter(
            import_batches::committed_at
                .lt(cutoff)
                .or(import_batches::rolled_back_at.lt(cutoff)),
        )
        .filter(import_batches::status.eq_any(["committed", "rolled_back"]))
        .filter(import_batches::id.eq_any(holding))
        .select((import_batches::id, import_batches::public_id))
        .order(import_batches::id)
        .load(conn)
}

/// Clear the row reports of batches finished before `cutoff` (or, with `dry_run`, count them);
/// each one audited as `import.report_clear`.
pub fn clear_old_reports(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
    dry_run: bool,
) -> AppResult<usize> {
    let found = old_reports(conn, cutoff)?;
    if dry_run {
        return Ok(found.len());
    }
    let meta = RequestMeta::system(now);
    for (id, public_id) in &found {
        write_tx(conn, |c| {
            diesel::update(import_rows::table.filter(import_rows::batch_id.eq(id)))
                .set((
                    import_rows::problems.eq("[]"),
                    import_rows::external_id.eq(None::<String>),
                ))
                .execute(c)?;
            audit::record(
                c,
                audit::event(
                    &meta,
                    None,
                    "import.report_clear",
                    Some(("import", public_id)),
                    "success",
                    None,
                ),
            )
        })?;
    }
    Ok(found.len())
}

/// Refuse a dry run or commit of a batch whose file is gone.
pub fn require_file(conn: &mut DbConn, batch_id: i64) -> AppResult<()> {
    let held: i64 = import_file_chunks::table
        .filter(import_file_chunks::batch_id.eq(batch_id))
        .count()
        .get_result(conn)?;
    if held == 0 {
        return Err(AppError::conflict(
            "file_discarded",
            "This import's file was deleted because it was not committed in time; upload it again.",
        ));
    }
    Ok(())
}
