//! Merges, unmerges and the review queue of possible duplicates.

use actix_web::{web, HttpResponse};

use super::extract::Json;
use crate::error::AppResult;
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
