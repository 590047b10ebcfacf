//! The register of data-protection requests and their statutory clock (data protection officer).

use actix_web::{web, HttpResponse};

use super::extract::{Json, Query};
use crate::error::AppResult;
use crate::service::privacy::requests::{
    self, CloseRequest, ExtendRequest, NewRightsRequest, RestartClockRequest, RightsRequestQuery, StopClockRequest,
    UpdateRightsRequest,
};
use crate::service::Ctx;
use crate::state::AppState;

/// Register a request.
pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: Json<NewRightsRequest>) -> AppResult<HttpResponse> {
    let view = state.db(move |c| requests::create(c, &ctx, &body.0)).await?;
    super::json(201, &view)
}

/// List requests.
pub async fn list(state: web::Data<AppState>, ctx: Ctx, q: Query<RightsRequestQuery>) -> AppResult<HttpResponse> {
    let page = state.db(move |c| requests::list(c, &ctx, &q.0)).await?;
    super::json(200, &page)
}

/// One request.
pub async fn get(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    let view = state.db(move |c| requests::get(c, &ctx, &id)).await?;
    super::json(200, &view)
}

/// Link a person or change the notes.
pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<UpdateRightsRequest>,
) -> AppResult<HttpResponse> {
    let view = state.db(move |c| requests::update(c, &ctx, &id, &body.0)).await?;
    super::json(200, &view)
}

/// Stop the clock.
pub async fn stop_clock(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<StopClockRequest>,
) -> AppResult<HttpResponse> {
    let view = state.db(move |c| requests::stop_clock(c, &ctx, &id, &body.0)).await?;
    super::json(200, &view)
}

/// Restart the clock.
pub async fn restart_clock(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<RestartClockRequest>,
) -> AppResult<HttpResponse> {
    let view = state
        .db(move |c| requests::restart_clock(c, &ctx, &id, &body.0))
        .await?;
    super::json(200, &view)
}

/// Extend the time to respond.
pub async fn extend(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<ExtendRequest>,
) -> AppResult<HttpResponse> {
    let view = state.db(move |c| requests::extend(c, &ctx, &id, &body.0)).await?;
    super::json(200, &view)
}

/// Close a request.
pub async fn close(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<CloseRequest>,
) -> AppResult<HttpResponse> {
    let view = state.db(move |c| requests::close(c, &ctx, &id, &body.0)).await?;
    super::json(200, &view)
}
