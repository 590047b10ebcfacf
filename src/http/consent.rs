//! Consent: `/api/v1/people/{id}/consents`, the contact check, and `/api/v1/purposes`.

use actix_web::{web, HttpResponse};

use super::extract::Json;
use crate::error::AppResult;
use crate::service::consent::purposes::{self, NewPurposeRequest, NewWordingRequest, UpdatePurposeRequest};
use crate::service::consent::{self, ContactCheckRequest, RecordConsentRequest};
use crate::service::Ctx;
use crate::state::AppState;

/// A person's consent state and history.
pub async fn list(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    let sink = state.audit.clone();
    let view = state.db(move |c| consent::list(c, &ctx, &sink, &id)).await?;
    super::json(200, &view)
}

/// Append a consent event.
pub async fn record(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<RecordConsentRequest>,
) -> AppResult<HttpResponse> {
    let view = state.db(move |c| consent::record(c, &ctx, &id, &body.0)).await?;
    super::json(201, &view)
}

/// May we contact this person for a purpose on a channel now?
pub async fn check(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<ContactCheckRequest>,
) -> AppResult<HttpResponse> {
    let points = state.points.clone();
    let sink = state.audit.clone();
    let decision = state
        .db(move |c| consent::check(c, &ctx, &sink, &points, &id, &body.0))
        .await?;
    super::json(200, &decision)
}

/// Every purpose.
pub async fn purposes(state: web::Data<AppState>, _ctx: Ctx) -> AppResult<HttpResponse> {
    let rows = state.db(purposes::list).await?;
    super::json(200, &rows)
}

/// Create a purpose.
pub async fn create_purpose(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<NewPurposeRequest>,
) -> AppResult<HttpResponse> {
    let view = state.db(move |c| purposes::create(c, &ctx, &body.0)).await?;
    super::json(201, &view)
}

/// Change a purpose.
pub async fn update_purpose(
    state: web::Data<AppState>,
    ctx: Ctx,
    code: web::Path<String>,
    body: Json<UpdatePurposeRequest>,
) -> AppResult<HttpResponse> {
    let view = state.db(move |c| purposes::update(c, &ctx, &code, &body.0)).await?;
    super::json(200, &view)
}

/// Add a wording version.
pub async fn add_wording(
    state: web::Data<AppState>,
    ctx: Ctx,
    code: web::Path<String>,
    body: Json<NewWordingRequest>,
) -> AppResult<HttpResponse> {
    let view = state
        .db(move |c| purposes::add_wording(c, &ctx, &code, &body.0))
        .await?;
    super::json(201, &view)
}
