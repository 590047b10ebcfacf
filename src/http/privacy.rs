//! Data-protection rights: export, erasure, restriction, and the suppression list.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::extract::{Json, Query};
use crate::error::AppResult;
use crate::service::privacy::suppression::{self, SuppressRequest};
use crate::service::privacy::{self, erase, export, ReasonRequest};
use crate::service::Ctx;
use crate::state::AppState;

/// Export format.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Subject access export.
pub async fn export(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    q: Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let format = q.0.format.unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "csv") {
        return Err(crate::error::AppError::field(
            "format",
            "invalid_format",
            "Use json or csv.",
        ));
    }
    let per_hour = state.settings.privacy.exports_per_hour;
    let doc = state
        .db(move |c| {
            crate::service::limits::hourly(c, &ctx, "person.export", per_hour)?;
            export::export(c, &ctx, &id)
        })
        .await?;
    if format == "csv" {
        let name = format!("attachment; filename=\"subject-access-{}.csv\"", doc.subject);
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("content-disposition", name))
            .body(export::to_csv(&doc)));
    }
    super::json(200, &doc)
}

/// Erase a person.
pub async fn erase(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<ReasonRequest>,
) -> AppResult<HttpResponse> {
    let points = state.points.clone();
    let report = state
        .db(move |c| erase::erase(c, &ctx, &points, &id, &body.0.reason))
        .await?;
    super::json(200, &report)
}

/// Restrict processing.
pub async fn restrict(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<ReasonRequest>,
) -> AppResult<HttpResponse> {
    let view = state
        .db(move |c| privacy::set_restricted(c, &ctx, &id, true, &body.0))
        .await?;
    super::json(200, &view)
}

/// Lift a restriction.
pub async fn unrestrict(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<ReasonRequest>,
) -> AppResult<HttpResponse> {
    let view = state
        .db(move |c| privacy::set_restricted(c, &ctx, &id, false, &body.0))
        .await?;
    super::json(200, &view)
}

/// Add a contact point to the suppression list.
pub async fn suppress(state: web::Data<AppState>, ctx: Ctx, body: Json<SuppressRequest>) -> AppResult<HttpResponse> {
    let points = state.points.clone();
    state
        .db(move |c| suppression::suppress(c, &ctx, &points, &body.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Suppression list summary.
pub async fn suppressions(state: web::Data<AppState>, _ctx: Ctx) -> AppResult<HttpResponse> {
    let summary = state.db(suppression::summary).await?;
    super::json(200, &summary)
}
