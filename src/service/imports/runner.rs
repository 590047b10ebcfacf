//! The background worker for the long phases of an import (dry run, commit, rollback).
//!
//! The instance that starts a phase runs it on a thread of its own, writing a heartbeat with
//! every chunk. A sweeper on every instance looks for running phases whose heartbeat is older
//! than [`STALE_SECS`] (their worker died with its process), claims one with a conditional
//! update (only one instance wins) and resumes it: a dry run starts again, a commit or a
//! rollback continues after its last committed chunk.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::config::MatchingSettings;
use crate::db::schema::import_batches;
use crate::db::{DbConn, DbPool};
use crate::error::AppResult;
use crate::service::privacy::keys::PointHasher;

/// A heartbeat older than this means the worker is gone.
pub const STALE_SECS: i64 = 120;

/// What a worker needs.
#[derive(Clone)]
pub struct Worker {
    /// Connections.
    pub pool: DbPool,
    /// Matching settings.
    pub matching: MatchingSettings,
    /// Contact-point hashing.
    pub points: PointHasher,
}

impl Worker {
    /// Run the batch's current phase to its end on a new thread.
    pub fn spawn(&self, batch_id: i64) {
        let w = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("import-{batch_id}"))
            .spawn(move || w.run(batch_id));
        if let Err(e) = spawned {
            tracing::error!(error = %e, batch_id, "cannot start the import worker");
        }
    }

    /// Run the batch's current phase to its end on this thread.
    pub fn run(&self, batch_id: i64) {
        let outcome = self
            .pool
            .get()
            .map_err(crate::error::AppError::from)
            .and_then(|mut conn| {
                let status: String = import_batches::table
                    .find(batch_id)
                    .select(import_batches::status)
                    .get_result(&mut conn)?;
                match status.as_str() {
                    "analysing" => super::scan::run(&mut conn, Some(&self.pool), batch_id, &self.matching),
                    "committing" => super::apply::run(&mut conn, batch_id, &self.points, &self.matching),
                    "rolling_back" => super::rollback::run(&mut conn, batch_id),
                    _ => Ok(()),
                }
            });
        if let Err(e) = outcome {
            tracing::warn!(error = %e, batch_id, "import phase failed");
            if let Ok(mut conn) = self.pool.get() {
                let now = crate::db::now();
                let _ = diesel::update(import_batches::table.find(batch_id))
                    .set((
                        import_batches::status.eq("failed"),
                        import_batches::error.eq(Some(e.to_string())),
                        import_batches::updated_at.eq(now),
                    ))
                    .execute(&mut conn);
            }
        }
    }

    /// Claim and resume every phase whose worker has gone. Returns how many were resumed.
    pub fn resume_stale(&self) -> AppResult<usize> {
        let mut conn = self.pool.get()?;
        let now = crate::db::now();
        let ids = stale(&mut conn, now)?;
        let mut resumed = 0;
        for (id, beat) in ids {
            if claim(&mut conn, id, beat, now)? {
                tracing::info!(batch_id = id, "resuming an interrupted import");
                self.spawn(id);
                resumed += 1;
            }
        }
        Ok(resumed)
    }

    /// Look for interrupted phases now and then, for as long as the process lives.
    pub fn start_sweeper(&self, every: Duration) {
        let w = self.clone();
        let spawned = std::thread::Builder::new()
            .name("import-sweeper".into())
            .spawn(move || loop {
                if let Err(e) = w.resume_stale() {
                    tracing::warn!(error = %e, "import sweeper");
                }
                std::thread::sleep(every);
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the import sweeper");
        }
    }
}

fn stale(conn: &mut DbConn, now: NaiveDateTime) -> AppResult<Vec<(i64, Option<NaiveDateTime>)>> {
    let cutoff = now - chrono::Duration::seconds(STALE_SECS);
    Ok(import_batches::table
        .filter(import_batches::status.eq_any(["analysing", "committing", "rolling_back"]))
        .filter(
            import_batches::heartbeat_at
                .is_null()
                .or(import_batches::heartbeat_at.lt(cutoff)),
        )
        .select((import_batches::id, import_batches::heartbeat_at))
        .load(conn)?)
}

/// Take over a phase: succeeds for exactly one claimant (the heartbeat it saw must be unchanged).
fn claim(conn: &mut DbConn, id: i64, seen: Option<NaiveDateTime>, now: NaiveDateTime) -> AppResult<bool> {
    let target = import_batches::table.find(id);
    let n = match seen {
        Some(beat) => diesel::update(target.filter(import_batches::heartbeat_at.eq(beat)))
            .set(import_batches::heartbeat_at.eq(Some(now)))
            .execute(conn)?,
        None => diesel::update(target.filter(import_batches::heartbeat_at.is_null()))
            .set(import_batches::heartbeat_at.eq(Some(now)))
            .execute(conn)?,
    };
    Ok(n == 1)
}
