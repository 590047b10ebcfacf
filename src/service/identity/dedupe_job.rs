//! A whole-database dedupe pass started over HTTP, run in the background, with progress.
//!
//! Policy: one dedupe job at a time across every instance (a second request while one is queued
//! or running is a 409 naming it). The job runs on a thread of the instance that accepted it and
//! records its phase, progress and a heartbeat at most once a second; a job whose heartbeat is
//! older than [`STALE_SECS`] (its instance died) is marked failed ("interrupted") when the next
//! one is requested, and can simply be started again: a pass is idempotent (links are merges
//! already made; proposals are not duplicated).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::dedupe::{self, Options};
use crate::config::MatchingSettings;
use crate::db::jobs::Job;
use crate::db::{self, write_tx, DbConn, DbPool};
use crate::error::{AppError, AppResult};
use crate::service::audit;
use crate::service::privacy::keys::PointHasher;
use crate::service::{new_public_id, Ctx};

/// A running job without a heartbeat for this long is considered dead.
pub const STALE_SECS: i64 = 120;

/// Start a dedupe pass.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DedupeRequest {
    /// Re-estimate the matching model from the data first.
    #[serde(default)]
    pub train: bool,
    /// Only count what would be linked and proposed; change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// A job as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JobView {
    /// Public id.
    pub id: String,
    /// `dedupe`.
    pub kind: String,
    /// queued / running / done / failed.
    pub status: String,
    /// The current phase (`read`, `block`, `score`, `merge`, …) while running.
    pub phase: Option<String>,
    /// Progress within the phase.
    pub done: i64,
    /// Of.
    pub total: i64,
    /// The report when done (people, pairs, links, proposals, merged, seconds per phase).
    pub result: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Started.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
}

fn view(j: &Job) -> JobView {
    JobView {
        id: j.public_id.clone(),
        kind: j.kind.clone(),
        status: j.status.clone(),
        phase: (j.status == "running").then(|| j.claimed_by.clone()).flatten(),
        done: j.progress_done,
        total: j.progress_total,
        result: j.result.as_deref().and_then(|r| serde_json::from_str(r).ok()),
        error: j.error.clone(),
        created_at: j.created_at.and_utc(),
        started_at: j.started_at.map(|t| t.and_utc()),
        finished_at: j.finished_at.map(|t| t.and_utc()),
    }
}

/// One job.
pub fn get(conn: &mut DbConn, public_id: &str) -> AppResult<JobView> {
    Ok(view(&db::jobs::find(conn, public_id)?.ok_or(AppError::NotFound)?))
}

/// Queue a dedupe job (refused while another is active); the caller then runs it with [`run`].
pub fn queue(conn: &mut DbConn, ctx: &Ctx, req: &DedupeRequest) -> AppResult<Job> {
    let now = ctx.meta.now;
    let running = |detail: String| AppError::Conflict {
        code: "dedupe_running",
        detail,
    };
    write_tx(conn, |c| {
        for j in db::jobs::active(c, "dedupe")? {
            let alive = j
                .heartbeat_at
                .unwrap_or(j.created_at)
                .signed_duration_since(now)
                .num_seconds()
                .abs()
                < STALE_SECS;
            if alive {
                return Err(running(format!("Dedupe job {} is already {}.", j.public_id, j.status)));
            }
            db::jobs::finish(
                c,
                j.id,
                "failed",
                None,
                Some("interrupted: its instance stopped".into()),
                now,
            )?;
        }
        // Two requests at once on PostgreSQL both find none active: the partial unique index
        // on active dedupe jobs lets one in.
        let job = db::unique_or(
            c,
            |c| {
                db::jobs::insert(
                    c,
                    &Job {
                        id: 0,
                        public_id: new_public_id(),
                        kind: "dedupe".into(),
                        status: "queued".into(),
                        params: serde_json::json!({"train": req.train, "dry_run": req.dry_run}).to_string(),
                        progress_done: 0,
                        progress_total: 0,
                        result: None,
                        error: None,
                        claimed_by: None,
                        heartbeat_at: Some(now),
                        created_at: now,
                        started_at: None,
                        finished_at: None,
                        created_by: Some(ctx.principal.user_id),
                    },
                )
            },
            || running("Another dedupe job has just started.".into()),
        )?;
        let detail = serde_json::json!({"train": req.train, "dry_run": req.dry_run});
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "dedupe.start",
                Some(("job", &job.public_id)),
                "success",
                Some(detail),
            ),
        )?;
        Ok(job)
    })
}

/// Run a queued job to the end on this thread (a background thread of the instance).
pub fn run(pool: &DbPool, points: &PointHasher, settings: &MatchingSettings, job: &Job, req: &DedupeRequest) {
    let outcome = (|| -> AppResult<dedupe::Report> {
        let mut conn = pool.get()?;
        db::jobs::start(&mut conn, job.id, db::now())?;
        let mut progress_conn = pool.get()?;
        let mut last = Instant::now();
        let opts = Options {
            train: req.train,
            dry_run: req.dry_run,
            ..Options::default()
        };
        dedupe::run(&mut conn, points, settings, &opts, |phase, done, total| {
            if last.elapsed() >= Duration::from_secs(1) || done == total {
                last = Instant::now();
                let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                // Progress is best effort: a busy database must not stop the pass.
                let _ = db::jobs::progress(
                    &mut progress_conn,
                    job.id,
                    phase,
                    to_i64(done),
                    to_i64(total),
                    db::now(),
                );
            }
        })
    })();
    let finished = pool.get().map_err(AppError::from).and_then(|mut c| {
        let now = db::now();
        match &outcome {
            Ok(report) => db::jobs::finish(&mut c, job.id, "done", serde_json::to_string(report).ok(), None, now),
            Err(e) => db::jobs::finish(&mut c, job.id, "failed", None, Some(e.to_string()), now),
        }
        .map_err(AppError::from)
    });
    if let Err(e) = finished {
        tracing::error!(error = %e, job = %job.public_id, "could not record the end of a dedupe job");
    }
}
