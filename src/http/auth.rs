//! Sign-in, sign-out, the current user, password change and API tokens.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{web, HttpResponse};

use super::extract::Json;
use super::middleware::{CSRF_COOKIE, SESSION_COOKIE};
use crate::error::AppResult;
use crate::service::auth::{
    self, ChangePasswordRequest, ConfirmTotpRequest, DisableTotpRequest, LoginRequest, LoginResponse, NewTokenRequest,
    StartTotpRequest,
};
use crate::service::{users, Ctx, RequestMeta};
use crate::state::AppState;

fn cookie(name: &'static str, value: String, http_only: bool, max_age: CookieDuration) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .secure(true)
        .http_only(http_only)
        .same_site(SameSite::Strict)
        .max_age(max_age)
        .finish()
}

/// Sign in.
pub async fn login(state: web::Data<AppState>, meta: RequestMeta, body: Json<LoginRequest>) -> AppResult<HttpResponse> {
    let s = state.clone();
    let resp = state
        .db_hashing(move |c| auth::login(c, &s.hasher, &s.settings.auth, &meta, &body.0))
        .await?;
    session_response(&resp)
}

/// A new session as the answer: the body, and the session and CSRF cookies.
fn session_response(resp: &LoginResponse) -> AppResult<HttpResponse> {
    let secs = (resp.expires_at - chrono::Utc::now()).num_seconds().max(0);
    let text = serde_json::to_string(resp).map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .cookie(cookie(
            SESSION_COOKIE,
            resp.token.clone(),
            true,
            CookieDuration::seconds(secs),
        ))
        .cookie(cookie(
            CSRF_COOKIE,
            resp.csrf_token.clone(),
            false,
            CookieDuration::seconds(secs),
        ))
        .content_type("application/json")
        .body(text))
}

/// Start enrolling a second factor: a new secret, shown once.
pub async fn totp_start(state: web::Data<AppState>, ctx: Ctx, body: Json<StartTotpRequest>) -> AppResult<HttpResponse> {
    let s = state.clone();
    let view = state
        .db_hashing(move |c| auth::start_totp(c, &s.hasher, &s.settings.auth, &ctx.principal, &ctx.meta, &body.0))
        .await?;
    super::json(201, &view)
}

/// Confirm the new secret with a code: a new full session replaces every session.
pub async fn totp_confirm(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<ConfirmTotpRequest>,
) -> AppResult<HttpResponse> {
    let s = state.clone();
    let resp = state
        .db(move |c| auth::confirm_totp(c, &s.settings.auth, &ctx.principal, &ctx.meta, &body.0))
        .await?;
    session_response(&resp)
}

/// Turn the second factor off.
pub async fn totp_disable(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<DisableTotpRequest>,
) -> AppResult<HttpResponse> {
    let s = state.clone();
    state
        .db_hashing(move |c| auth::disable_totp(c, &s.hasher, &s.settings.auth, &ctx.principal, &ctx.meta, &body.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sign out: the token stops working and the cookies are cleared.
pub async fn logout(state: web::Data<AppState>, ctx: Ctx) -> AppResult<HttpResponse> {
    state.db(move |c| auth::logout(c, &ctx.principal, &ctx.meta)).await?;
    Ok(HttpResponse::NoContent()
        .cookie(cookie(SESSION_COOKIE, String::new(), true, CookieDuration::ZERO))
        .cookie(cookie(CSRF_COOKIE, String::new(), false, CookieDuration::ZERO))
        .finish())
}

/// The signed-in user.
pub async fn me(state: web::Data<AppState>, ctx: Ctx) -> AppResult<HttpResponse> {
    let view = state
        .db(move |c| users::me(c, &ctx.principal.public_id, ctx.principal.enrolment_only))
        .await?;
    super::json(200, &view)
}

/// Change one's password.
pub async fn change_password(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<ChangePasswordRequest>,
) -> AppResult<HttpResponse> {
    let s = state.clone();
    state
        .db_hashing(move |c| auth::change_password(c, &s.hasher, &s.settings.auth, &ctx.principal, &ctx.meta, &body.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The user's API tokens.
pub async fn list_tokens(state: web::Data<AppState>, ctx: Ctx) -> AppResult<HttpResponse> {
    let rows = state
        .db(move |c| auth::list_tokens(c, &ctx.principal, ctx.meta.now))
        .await?;
    super::json(200, &rows)
}

/// Create an API token.
pub async fn create_token(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<NewTokenRequest>,
) -> AppResult<HttpResponse> {
    let s = state.clone();
    let view = state
        .db(move |c| auth::create_token(c, &s.settings.auth, &ctx.principal, &ctx.meta, &body.0))
        .await?;
    super::json(201, &view)
}

/// Revoke an API token.
pub async fn revoke_token(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    state
        .db(move |c| auth::revoke_token(c, &ctx.principal, &ctx.meta, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Accept an invitation: the new user chooses their password.
pub async fn accept_invitation(
    state: web::Data<AppState>,
    meta: RequestMeta,
    body: Json<crate::service::auth::invitation::AcceptInvitationRequest>,
) -> AppResult<HttpResponse> {
    let s = state.clone();
    state
        .db_hashing(move |c| crate::service::auth::invitation::accept(c, &s.hasher, &meta, &body.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
