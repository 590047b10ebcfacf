//! `/api/v1/users`: staff accounts (administrators).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::extract::{Json, Query};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::service::people::paging;
use crate::service::users::{self, NewUserRequest, UpdateUserRequest, UserView};
use crate::service::{audit, Ctx};
use crate::state::AppState;

/// Paging parameters.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// A page of accounts.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UserPage {
    /// Accounts by email.
    pub items: Vec<UserView>,
    /// Total.
    pub total: i64,
    /// Limit used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

/// List accounts.
pub async fn list(state: web::Data<AppState>, _ctx: Ctx, q: Query<PageQuery>) -> AppResult<HttpResponse> {
    let (limit, offset) = paging(q.0.limit, q.0.offset, 200)?;
    let (items, total) = state.db(move |c| users::list(c, limit, offset)).await?;
    super::json(
        200,
        &UserPage {
            items,
            total,
            limit,
            offset,
        },
    )
}

/// Create an account.
pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: Json<NewUserRequest>) -> AppResult<HttpResponse> {
    let s = state.clone();
    let view = state
        .db_hashing(move |c| {
            users::create(
                c,
                &s.hasher,
                Some(&ctx),
                &ctx.meta,
                &body.0,
                s.settings.auth.invitation_hours,
            )
        })
        .await?;
    super::json(201, &view)
}

/// One account.
pub async fn get(state: web::Data<AppState>, _ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    let view = state.db(move |c| users::get(c, &id)).await?;
    super::json(200, &view)
}

/// Change an account.
pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<UpdateUserRequest>,
) -> AppResult<HttpResponse> {
    let view = state.db(move |c| users::update(c, &ctx, &id, &body.0)).await?;
    super::json(200, &view)
}

/// End every session of an account.
pub async fn end_sessions(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    state
        .db(move |c| {
            db::write_tx(c, |c| {
                let user = db::users::find_by_public_id(c, &id)?.ok_or(AppError::NotFound)?;
                db::sessions::revoke_all_for_user(c, user.id, None, ctx.meta.now)?;
                let ev = audit::event(
                    &ctx.meta,
                    Some(&ctx.principal),
                    "user.end_sessions",
                    Some(("user", &id)),
                    "success",
                    None,
                );
                audit::record(c, ev)
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Clear a user's second factor and end their sessions.
pub async fn reset_totp(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    state
        .db(move |c| crate::service::auth::reset_totp(c, &ctx.principal, &ctx.meta, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new invitation link for an account.
pub async fn invite(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    let hours = state.settings.auth.invitation_hours;
    let invitation = state.db(move |c| users::invite(c, &ctx, &id, hours)).await?;
    super::json(201, &invitation)
}
