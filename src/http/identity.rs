//! Merges, unmerges and the review queue of possible duplicates.

use actix_web::{web, HttpResponse};

use super::extract::{Json, Query};
use crate::error::{AppError, AppResult};
use crate::service::identity::dedupe_job;
use crate::service::identity::review::{self, AcceptRequest, MatchQuery, RejectRequest};
use crate::service::identity::{self, MergeRequest, UnmergeRequest};
use crate::service::Ctx;
use crate::state::AppState;

/// Merge people into the person in the path.
pub async fn merge(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<MergeRequest>,
) -> AppResult<HttpResponse> {
    let rule = state.settings.matching.survivorship.clone();
    super::json(
        200,
        &state
            .db(move |c| identity::merge_people(c, &ctx, &id, &body.0, &rule))
            .await?,
    )
}

/// Undo a merge.
pub async fn unmerge(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<UnmergeRequest>,
) -> AppResult<HttpResponse> {
    super::json(200, &state.db(move |c| identity::unmerge(c, &ctx, &id, &body.0)).await?)
}

/// The merges into a person.
pub async fn merges(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    super::json(200, &state.db(move |c| identity::merges_of(c, &ctx, &id)).await?)
}

/// The review queue.
pub async fn matches(state: web::Data<AppState>, ctx: Ctx, q: Query<MatchQuery>) -> AppResult<HttpResponse> {
    let sink = state.audit.clone();
    super::json(200, &state.db(move |c| review::list(c, &ctx, &sink, &q.0)).await?)
}

/// Accept a proposal (merge).
pub async fn accept(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<AcceptRequest>,
) -> AppResult<HttpResponse> {
    let rule = state.settings.matching.survivorship.clone();
    super::json(
        200,
        &state.db(move |c| review::accept(c, &ctx, &id, &body.0, &rule)).await?,
    )
}

/// Reject a proposal.
pub async fn reject(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<RejectRequest>,
) -> AppResult<HttpResponse> {
    super::json(200, &state.db(move |c| review::reject(c, &ctx, &id, &body.0)).await?)
}

/// Start a whole-database dedupe pass in the background.
pub async fn start_dedupe(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<dedupe_job::DedupeRequest>,
) -> AppResult<HttpResponse> {
    let req = body.0;
    let queued = req.clone();
    let job = state.db(move |c| dedupe_job::queue(c, &ctx, &queued)).await?;
    let (pool, points, matching) = (
        state.pool.clone(),
        state.points.clone(),
        state.settings.matching.clone(),
    );
    let running = job.clone();
    let spawned = std::thread::Builder::new()
        .name("dedupe-job".into())
        .spawn(move || dedupe_job::run(&pool, &points, &matching, &running, &req));
    if let Err(e) = spawned {
        return Err(AppError::Internal(format!("cannot start the dedupe thread: {e}")));
    }
    let id = job.public_id.clone();
    super::json(202, &state.db(move |c| dedupe_job::get(c, &id)).await?)
}

/// A dedupe job: status, phase and progress, and its report when done.
pub async fn dedupe_status(state: web::Data<AppState>, _ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    super::json(200, &state.db(move |c| dedupe_job::get(c, &id)).await?)
}
