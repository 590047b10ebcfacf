//! Keeping PostgreSQL's visibility map of the engagement ledger current.
//!
//! Policy: the journey analytics read the ledger through covering indexes (index-only scans).
//! An index entry whose table page PostgreSQL has not marked all-visible since it last changed
//! costs a visit to the table as well, so half a million events logged since the last vacuum
//! made each analytic about 60 % slower (2.2–2.9 s instead of 1.1–1.6 s over a year of 3.5
//! million events). Autovacuum does not help an append-mostly table soon enough (by default it
//! waits for inserts of a fifth of the table) and may be off. So after every
//! `database.vacuum_every_events` ([`VACUUM_EVERY`] by default) events an instance logs, it vacuums the ledger on a thread of its own: one
//! vacuum at a time per instance, and one across instances (a session advisory lock; an
//! instance that cannot take it leaves the work to the one that holds it). A vacuum visits only
//! the pages changed since the last one. SQLite needs nothing of this.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Bool;
use diesel::RunQueryDsl;

use super::{DbConn, DbPool};

/// Events logged by an instance between two vacuums of the ledger, by default.
pub const VACUUM_EVERY: u64 = 100_000;

/// The advisory lock key held while the ledger is vacuumed ("lh:vac" in ASCII).
const LOCK_KEY: i64 = 0x6c68_3a76_6163;

static SINCE: AtomicU64 = AtomicU64::new(0);
static RUNNING: AtomicBool = AtomicBool::new(false);

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Count events this instance logged; past `every` since the last vacuum, start one
/// (PostgreSQL only; `every` 0: never).
pub fn events_logged(pool: &DbPool, n: u64, every: u64) {
    if every == 0 || n == 0 || SINCE.fetch_add(n, Ordering::Relaxed) + n < every {
        return;
    }
    if RUNNING.swap(true, Ordering::AcqRel) {
        return; // one is running: it covers these events too
    }
    SINCE.store(0, Ordering::Relaxed);
    let pool = pool.clone();
    let spawned = std::thread::Builder::new().name("ledger-vacuum".into()).spawn(move || {
        if let Err(e) = vacuum_ledger(&pool) {
            tracing::warn!(error = %e, "vacuuming the engagement ledger failed");
        }
        RUNNING.store(false, Ordering::Release);
    });
    if let Err(e) = spawned {
        RUNNING.store(false, Ordering::Release);
        tracing::warn!(error = %e, "cannot start the ledger vacuum thread");
    }
}

/// `VACUUM (ANALYZE) engagement_events` on a pooled PostgreSQL connection, unless another
/// instance is doing it.
fn vacuum_ledger(pool: &DbPool) -> Result<(), String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let DbConn::Pg(pg) = &mut *conn else {
        return Ok(());
    };
    let got: Locked = diesel::sql_query(format!("SELECT pg_try_advisory_lock({LOCK_KEY}) AS locked"))
        .get_result(pg)
        .map_err(|e| e.to_string())?;
    if !got.locked {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let done = pg.batch_execute("VACUUM (ANALYZE) engagement_events");
    let _ = pg.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"));
    done.map_err(|e| e.to_string())?;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "vacuumed the engagement ledger"
    );
    Ok(())
}
