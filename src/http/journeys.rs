//! Journey analytics (aggregates only) and one person's engagement scores.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::extract::Query;
use crate::error::AppResult;
use crate::service::journeys::{self, Analytic, Format, JourneyQuery, Rendered};
use crate::service::Ctx;
use crate::state::AppState;

fn respond(r: Rendered) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.content_type(r.content_type);
    if r.content_type != "application/json" {
        res.insert_header(("Content-Disposition", format!("inline; filename=\"{}\"", r.file_name)));
    }
    res.body(r.body)
}

async fn analytic(state: web::Data<AppState>, ctx: Ctx, q: JourneyQuery, which: Analytic) -> AppResult<HttpResponse> {
    let settings = state.settings.journeys.clone();
    let pool = state.pool.clone();
    let r = state
        .db(move |c| journeys::run(c, Some(&pool), &ctx, &settings, which, &q))
        .await?;
    Ok(respond(r))
}

/// Transition matrix.
pub async fn transitions(state: web::Data<AppState>, ctx: Ctx, q: Query<JourneyQuery>) -> AppResult<HttpResponse> {
    analytic(state, ctx, q.0, Analytic::Transitions).await
}

/// Funnel of an activity or kind.
pub async fn funnel(state: web::Data<AppState>, ctx: Ctx, q: Query<JourneyQuery>) -> AppResult<HttpResponse> {
    analytic(state, ctx, q.0, Analytic::Funnel).await
}

/// Cohort triangle.
pub async fn cohorts(state: web::Data<AppState>, ctx: Ctx, q: Query<JourneyQuery>) -> AppResult<HttpResponse> {
    analytic(state, ctx, q.0, Analytic::Cohorts).await
}

/// Most frequent paths.
pub async fn paths(state: web::Data<AppState>, ctx: Ctx, q: Query<JourneyQuery>) -> AppResult<HttpResponse> {
    analytic(state, ctx, q.0, Analytic::Paths).await
}

/// Reach across departments.
pub async fn reach(state: web::Data<AppState>, ctx: Ctx, q: Query<JourneyQuery>) -> AppResult<HttpResponse> {
    analytic(state, ctx, q.0, Analytic::Reach).await
}

/// How a person's scores are rendered.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoresQuery {
    /// `json` (default), `csv` or `svg`.
    pub format: Option<Format>,
}

/// One person's recency / frequency / breadth scores.
pub async fn scores(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    q: Query<ScoresQuery>,
) -> AppResult<HttpResponse> {
    let sink = state.audit.clone();
    let format = q.0.format.unwrap_or_default();
    let r = state
        .db(move |c| journeys::person_scores(c, &ctx, &sink, &id, format))
        .await?;
    Ok(respond(r))
}
