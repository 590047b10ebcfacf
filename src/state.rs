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
    /// Request metrics of this instance.
    pub metrics: Arc<Metrics>,
    /// Keyed hashing of contact points.
    pub points: PointHasher,
    /// Recently authenticated sessions.
    pub sessions: Arc<crate::service::session_cache::SessionCache>,
    /// Campaign sending (the workers `serve` starts, test sends).
    pub sender: crate::service::campaigns::send::Sender,
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
}
