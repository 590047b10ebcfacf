//! The shared application state, passed explicitly to every handler.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use actix_web::web;
use chrono::{Duration, NaiveDateTime};

use crate::config::Settings;
use crate::db::{self, DbConn, DbPool};
use crate::error::{AppError, AppResult};
use crate::http::metrics::Metrics;
use crate::service::audit::AuditSink;
use crate::service::auth::HashLimiter;
use crate::service::privacy::keys::PointHasher;

/// The service clock: real time, plus an offset tests can move forward.
#[derive(Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// The current time (UTC, microseconds).
    pub fn now(&self) -> NaiveDateTime {
        db::now() + Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Move the clock forward (tests of expiry and retention).
    pub fn advance(&self, by: Duration) {
        self.offset_secs.fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    /// Database connections.
    pub pool: DbPool,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Clock.
    pub clock: Clock,
    /// Buffered audit writer for reads.
    pub audit: AuditSink,
    /// Bounds concurrent password hashing.
    pub hasher: Arc<HashLimiter>,
    /// Threads for requests that hash passwords (see [`AppState::db_hashing`]).
    pub hashing: Arc<SlowPool>,
    /// Request metrics of this instance.
    pub metrics: Arc<Metrics>,
    /// Keyed hashing of contact points.
    pub points: PointHasher,
    /// Recently authenticated sessions.
    pub sessions: Arc<crate::service::session_cache::SessionCache>,
    /// Campaign sending (the workers `serve` starts, test sends).
    pub sender: crate::service::campaigns::send::Sender,
    /// Set while this instance verifies the audit log's hash chain (one check at a time).
    pub verifying: Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    /// Run `f` with a pooled connection on the blocking thread pool.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(AppError::from)?;
            f(&mut conn)
        })
        .await?
    }

    /// [`AppState::db`] for work that hashes a password (sign-in, password changes, new
    /// accounts): it runs on threads of its own, so tens of milliseconds of hashing, or a queue of
    /// sign-ins waiting their turn, never hold the few threads every other request's database
    /// work runs on.
    pub async fn db_hashing<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        self.hashing
            .run(move || {
                let mut conn = pool.get().map_err(AppError::from)?;
                f(&mut conn)
            })
            .await?
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads that run queued jobs in order, for slow work kept apart from the
/// HTTP workers' blocking pools.
pub struct SlowPool {
    tx: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

impl SlowPool {
    /// Start `threads` threads (at least one) named `name`.
    pub fn new(name: &str, threads: usize) -> SlowPool {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    let Ok(job) = job else { return };
                    // A panicking job loses only its own answer; the thread goes on.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a {name} thread");
            }
        }
        SlowPool {
            tx: std::sync::Mutex::new(tx),
        }
    }

    /// Run `f` on one of the threads and wait for its answer without blocking the caller's
    /// thread.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        let sent = match self.tx.lock() {
            Ok(tx) => tx.send(job),
            Err(poisoned) => poisoned.into_inner().send(job),
        };
        sent.map_err(|_| AppError::Internal("the worker threads have stopped".into()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("a worker thread failed while answering".into()))
    }
}
