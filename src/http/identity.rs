//! Merges, unmerges and the review queue of possible duplicates.

use actix_web::{web, HttpResponse};

use super::extract::{Json, Query};
use crate::error::AppResult;
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
