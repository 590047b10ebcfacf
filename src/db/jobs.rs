//! Background jobs (a whole-database dedupe started over HTTP): status, progress, result.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::jobs;
use super::DbConn;

/// A job.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs, treat_none_as_default_value = false)]
pub struct Job {
    /// Id.
    #[diesel(skip_insertion)]
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Kind (`dedupe`).
    pub kind: String,
    /// queued / running / done / failed / cancelled.
    pub status: String,
    /// Parameters (JSON).
    pub params: String,
    /// Progress: done.
    pub progress_done: i64,
    /// Progress: total.
    pub progress_total: i64,
    /// Result (JSON).
    pub result: Option<String>,
    /// Error text.
    pub error: Option<String>,
    /// Instance and phase working on it.
    pub claimed_by: Option<String>,
    /// Last sign of life.
    pub heartbeat_at: Option<NaiveDateTime>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Started.
    pub started_at: Option<NaiveDateTime>,
    /// Finished.
    pub finished_at: Option<NaiveDateTime>,
    /// Staff user who started it.
    pub created_by: Option<i64>,
}

/// Insert a job.
pub fn insert(conn: &mut DbConn, j: &Job) -> QueryResult<Job> {
    crate::with_backend!(conn, |c| diesel::insert_into(jobs::table)
        .values(j)
        .returning(Job::as_returning())
        .get_result(c))
}

/// A job by public id.
pub fn find(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<Job>> {
    jobs::table
        .filter(jobs::public_id.eq(public_id))
        .select(Job::as_select())
        .first(conn)
        .optional()
}

/// Jobs of a kind that are queued or running.
pub fn active(conn: &mut DbConn, kind: &str) -> QueryResult<Vec<Job>> {
    jobs::table
        .filter(jobs::kind.eq(kind))
        .filter(jobs::status.eq_any(["queued", "running"]))
        .select(Job::as_select())
        .load(conn)
}

/// Record progress (and a heartbeat).
pub fn progress(
    conn: &mut DbConn,
    id: i64,
    phase: &str,
    done: i64,
    total: i64,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::status.eq("running"),
            jobs::claimed_by.eq(Some(phase)),
            jobs::progress_done.eq(done),
            jobs::progress_total.eq(total),
            jobs::heartbeat_at.eq(Some(at)),
        ))
        .execute(conn)
}

/// Mark a job started.
pub fn start(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::status.eq("running"),
            jobs::started_at.eq(Some(at)),
            jobs::heartbeat_at.eq(Some(at)),
        ))
        .execute(conn)
}

/// Mark a job finished: `done` with a result or `failed` with an error.
pub fn finish(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    result: Option<String>,
    error: Option<String>,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::status.eq(status),
            jobs::result.eq(result),
            jobs::error.eq(error),
            jobs::finished_at.eq(Some(at)),
            jobs::heartbeat_at.eq(Some(at)),
        ))
        .execute(conn)
}
