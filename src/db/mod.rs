//! Database access: one connection type for SQLite and PostgreSQL.
//!
//! Policy:
//! - Every query is written once against [`DbConn`], diesel's `MultiConnection` over both
//!   backends. The few statements outside the common subset (multi-row insert, upsert,
//!   `FOR UPDATE SKIP LOCKED`) go through [`with_backend!`], whose arms share one body text.
//! - The URL picks the backend at run time ([`DbUrl::parse`]); an unknown scheme is refused
//!   rather than read as a SQLite file name.
//! - Write transactions go through [`write_tx`]: `BEGIN IMMEDIATE` on SQLite (so a transaction
//!   that reads first cannot dead-lock on the upgrade to a write lock), a plain transaction on
//!   PostgreSQL.
//! - Timestamps are UTC `NaiveDateTime` truncated to microseconds ([`now`]), the precision both
//!   backends keep.

pub mod audit;
pub mod audit_seals;
pub mod campaigns;
pub mod consent;
pub mod departments;
pub mod engagement;
pub mod jobs;
pub mod journeys;
pub mod maintenance;
pub mod people;
pub mod pool;
pub mod schema;
pub mod sessions;
pub mod users;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

pub use pool::{DbPool, DbUrl};

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// PostgreSQL, for production and several instances.
    Pg(PgConnection),
    /// Embedded SQLite, the default.
    Sqlite(SqliteConnection),
}

/// Which backend a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl DbConn {
    /// The backend of this connection.
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Pg(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Run the same statement text against the concrete connection of either backend, for the
/// statements diesel's common subset does not cover. The body is compiled once per backend.
#[macro_export]
macro_rules! with_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}

/// The current time in UTC, truncated to microseconds.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Run `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite, `BEGIN` on PostgreSQL.
/// Nested calls become savepoints.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let nested = match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()
            .map_err(E::from)?
            .is_some(),
        DbConn::Pg(_) => true,
    };
    if nested {
        return diesel::Connection::transaction(conn, f);
    }
    if let DbConn::Sqlite(c) = conn {
        begin_immediate(c).map_err(E::from)?;
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as diesel::Connection>::TransactionManager::commit_transaction(conn).map_err(E::from)?;
            Ok(value)
        }
        Err(e) => {
            // The rollback's own failure is less useful than the error that caused it.
            let _ = <DbConn as diesel::Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// `BEGIN IMMEDIATE`, waiting for the write lock by trying again every millisecond, up to the
/// pool's busy timeout. SQLite's own busy handler sleeps up to 100 ms between tries, so a writer
/// waiting behind a stream of transactions from other threads (two clients posting engagement
/// batches back to back) kept missing the moments between them and failed after the timeout
/// (3–7 of 100 requests in the journeys benchmark); polling this often, it takes the next gap.
fn begin_immediate(c: &mut SqliteConnection) -> diesel::QueryResult<()> {
    use diesel::connection::SimpleConnection;
    #[derive(diesel::QueryableByName)]
    struct BusyTimeout {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        timeout: i32,
    }
    let configured: BusyTimeout = diesel::RunQueryDsl::get_result(diesel::sql_query("PRAGMA busy_timeout"), c)?;
    let limit = std::time::Duration::from_millis(u64::try_from(configured.timeout).unwrap_or(0));
    c.batch_execute("PRAGMA busy_timeout = 0")?;
    let started = std::time::Instant::now();
    let begun = loop {
        // A WAL restart waiting for the lock goes first (it gives up within 2 s; see
        // `pool::restart_waiting`), also before a writer that was already waiting, so that
        // back-to-back writers do not grow the WAL without end.
        if pool::restart_waiting() && started.elapsed() < limit / 2 {
            std::thread::sleep(std::time::Duration::from_millis(1));
            continue;
        }
        let tried = AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE");
        match &tried {
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().starts_with("database is locked") && started.elapsed() < limit =>
            {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            _ => break tried,
        }
    };
    let restored = c.batch_execute(&format!("PRAGMA busy_timeout = {}", limit.as_millis()));
    begun?;
    restored
}

/// Run `f` in a transaction only when no transaction is open; used for expected failures inside
/// a transaction (PostgreSQL aborts the whole transaction on an error, a savepoint contains it).
pub fn savepoint<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    diesel::Connection::transaction(conn, f)
}

/// Run an insert in a savepoint; a unique-key violation becomes `taken()` — the row exists, or
/// another writer took the key first (two requests at once on PostgreSQL: the key decides) —
/// and any other error stays what it is.
pub fn unique_or<T>(
    conn: &mut DbConn,
    insert: impl FnOnce(&mut DbConn) -> diesel::QueryResult<T>,
    taken: impl FnOnce() -> crate::error::AppError,
) -> crate::error::AppResult<T> {
    savepoint(conn, insert).map_err(|e| {
        if crate::error::is_unique_violation(&e) {
            taken()
        } else {
            e.into()
        }
    })
}

/// Truncate a timestamp to microseconds (PostgreSQL's precision), so both backends store the same.
pub fn truncate(t: NaiveDateTime) -> NaiveDateTime {
    t.trunc_subsecs(6)
}
