//! Health, readiness and metrics.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Health answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// The process is up.
pub async fn healthz() -> AppResult<HttpResponse> {
    super::json(200, &Health { status: "ok" })
}

/// The database answers.
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    state
        .db(|c| {
            c.batch_execute("SELECT 1")
                .map_err(|e| AppError::Unavailable(e.to_string()))
        })
        .await?;
    super::json(200, &Health { status: "ok" })
}

/// Prometheus text.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    if !state.settings.server.metrics {
        return actix_web::ResponseError::error_response(&AppError::NotFound);
    }
    let pool = state.pool.state();
    let body = state.metrics.render(&[
        (
            "lighthouse_db_pool_connections",
            "Open database connections.",
            f64::from(pool.connections),
        ),
        (
            "lighthouse_db_pool_idle",
            "Idle database connections.",
            f64::from(pool.idle_connections),
        ),
    ]);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
