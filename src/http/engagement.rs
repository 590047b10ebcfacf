//! Activities, engagement logging and timelines.

use actix_web::{web, HttpResponse};

use super::extract::{Json, Query};
use crate::error::AppResult;
use crate::service::engagement::activities::{
    self, ActivityKind, ActivityQuery, NewActivityRequest, UpdateActivityRequest,
};
use crate::service::engagement::events::{self, EngagementBatch, EngagementInput, TimelineQuery};
use crate::service::Ctx;
use crate::state::AppState;

/// Activity kinds.
pub async fn kinds(state: web::Data<AppState>, _ctx: Ctx) -> AppResult<HttpResponse> {
    super::json(200, &state.db(activities::kinds).await?)
}

/// Add an activity kind.
pub async fn add_kind(state: web::Data<AppState>, ctx: Ctx, body: Json<ActivityKind>) -> AppResult<HttpResponse> {
    super::json(201, &state.db(move |c| activities::add_kind(c, &ctx, &body.0)).await?)
}

/// List activities.
pub async fn list(state: web::Data<AppState>, ctx: Ctx, q: Query<ActivityQuery>) -> AppResult<HttpResponse> {
    super::json(200, &state.db(move |c| activities::list(c, &ctx, &q.0)).await?)
}

/// Create an activity.
pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: Json<NewActivityRequest>) -> AppResult<HttpResponse> {
    super::json(201, &state.db(move |c| activities::create(c, &ctx, &body.0)).await?)
}

/// One activity.
pub async fn get(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    super::json(200, &state.db(move |c| activities::get(c, &ctx, &id)).await?)
}

/// Change an activity.
pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<UpdateActivityRequest>,
) -> AppResult<HttpResponse> {
    super::json(
        200,
        &state.db(move |c| activities::update(c, &ctx, &id, &body.0)).await?,
    )
}

/// Log one engagement.
pub async fn log_one(state: web::Data<AppState>, ctx: Ctx, body: Json<EngagementInput>) -> AppResult<HttpResponse> {
    let result = state
        .db(move |c| events::log(c, &ctx, std::slice::from_ref(&body.0)))
        .await?;
    crate::db::maintenance::events_logged(
        &state.pool,
        result.created as u64,
        state.settings.database.vacuum_every_events,
    );
    super::json(if result.created == 1 { 201 } else { 200 }, &result)
}

/// Log a batch of engagements.
pub async fn log_batch(state: web::Data<AppState>, ctx: Ctx, body: Json<EngagementBatch>) -> AppResult<HttpResponse> {
    let result = state.db(move |c| events::log(c, &ctx, &body.0.events)).await?;
    crate::db::maintenance::events_logged(
        &state.pool,
        result.created as u64,
        state.settings.database.vacuum_every_events,
    );
    super::json(200, &result)
}

/// A person's timeline.
pub async fn timeline(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    q: Query<TimelineQuery>,
) -> AppResult<HttpResponse> {
    let sink = state.audit.clone();
    super::json(
        200,
        &state.db(move |c| events::timeline(c, &ctx, &sink, &id, &q.0)).await?,
    )
}
