//! Data Lighthouse: one record per person for a UK city corporation, with consent, audit and
//! department-scoped access, on embedded SQLite or PostgreSQL.
//!
//! Layers: `http` (actix-web handlers, thin) → `service` (rules and transactions) → `db`
//! (diesel queries on either backend). The CLI in `main.rs` uses the same services.

pub mod base64url;
pub mod campaigns_core;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod import_core;
pub mod journeys_core;
pub mod mail;
pub mod matching;
pub mod normalize;
pub mod service;
pub mod state;
pub mod synth;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use crate::config::Settings;
use crate::db::pool::{self, SqliteOptions};
use crate::db::DbUrl;
use crate::service::audit::{AuditSink, AuditWriter};
use crate::service::auth::HashLimiter;
use crate::service::privacy::keys::PointHasher;
use crate::state::{AppState, Clock};

/// Open the database named by the settings and apply pending migrations.
pub fn open_database(settings: &Settings) -> Result<db::DbPool, String> {
    let url = DbUrl::parse(&settings.database.url).map_err(|e| format!("database.url: {e}"))?;
    let pool = pool::open(
        &url,
        settings.database.pool_size,
        SqliteOptions {
            busy_timeout: Duration::from_millis(settings.database.busy_timeout_ms),
        },
        Duration::from_secs(settings.database.connect_timeout_secs),
    )
    .map_err(|e| e.to_string())?;
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot get a database connection: {e}"))?;
    if settings.database.migrate_on_start {
        pool::migrate(&mut conn, &settings.database.app_role).map_err(|e| e.to_string())?;
    } else {
        let pending = pool::pending_migrations(&mut conn).map_err(|e| e.to_string())?;
        if !pending.is_empty() {
            return Err(format!(
                "{} database migration(s) are pending (the first {}) and database.migrate_on_start is false: \
                 run `lighthouse migrate` as the owner of the tables",
                pending.len(),
                pending[0]
            ));
        }
    }
    Ok(pool)
}

/// Build the application state around an open pool; the writer must be joined on shutdown
/// after the state is dropped.
pub fn build_state(settings: Settings, pool: db::DbPool) -> Result<(AppState, AuditWriter), String> {
    let points = {
        let mut conn = pool
            .get()
            .map_err(|e| format!("cannot get a database connection: {e}"))?;
        service::auth::totp_store::check_and_seal_stored(&mut conn, &settings.auth.totp_key())?;
        PointHasher::load(&mut conn, &settings.privacy.hash_key)
            .map_err(|e| format!("cannot load the hashing key: {e}"))?
    };
    let (audit, writer) = AuditSink::start(
        pool.clone(),
        Duration::from_millis(settings.audit.flush_interval_ms),
        settings.audit.batch_size,
    );
    let sessions = Arc::new(service::session_cache::SessionCache::new(Duration::from_secs(
        settings.auth.session_cache_secs,
    )));
    let mailer = mail::Mailer::from_settings(&settings.campaigns)?;
    let sender = service::campaigns::send::Sender {
        pool: pool.clone(),
        mailer,
        settings: settings.campaigns.clone(),
        points: points.clone(),
        pacer: service::campaigns::send::Pacer::new(settings.campaigns.rate_per_second),
        name: format!("{}-{}", std::process::id(), service::random_token(6)),
    };
    let state = AppState {
        sender,
        sessions,
        pool,
        hasher: Arc::new(HashLimiter::new(settings.auth.max_concurrent_hashes)),
        hashing: Arc::new(state::SlowPool::new(
            "password-hashing",
            HashLimiter::threads(settings.auth.max_concurrent_hashes),
        )),
        settings: Arc::new(settings),
        clock: Clock::default(),
        audit,
        metrics: Arc::default(),
        points,
        verifying: Arc::default(),
    };
    Ok((state, writer))
}

/// Mount the service: state, middleware and the route table. Used by `serve` and the tests.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state));
        http::configure(cfg);
    }
}

/// The actix application, ready for `HttpServer::new` or `actix_web::test::init_service`.
pub fn app(
    state: AppState,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    actix_web::App::new()
        .wrap(actix_web::middleware::from_fn(http::middleware::observe))
        .configure(configure(state))
}
