//! API tokens: long-lived bearer sessions a user creates for another system, carrying the user's
//! roles and scope; listed without their secrets and revoked one by one.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::new_session;
use crate::config::AuthSettings;
use crate::db::sessions::Session;
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::service::{audit, Principal, RequestMeta};

/// Create an API token request.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What the token is for, e.g. "volunteering platform sync".
    pub label: String,
    /// Lifetime in days (at most `auth.api_token_max_days`).
    pub expires_in_days: Option<i64>,
}

/// An API token as listed (the secret is shown only on creation).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TokenView {
    /// Token id.
    pub id: String,
    /// Label.
    pub label: Option<String>,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last used (to the minute).
    pub last_used_at: chrono::DateTime<chrono::Utc>,
    /// Expiry.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The secret, present only in the creation response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

fn token_view(s: &Session, token: Option<String>) -> TokenView {
    TokenView {
        id: s.public_id.clone(),
        label: s.label.clone(),
        created_at: s.created_at.and_utc(),
        last_used_at: s.last_seen_at.and_utc(),
        expires_at: s.expires_at.and_utc(),
        token,
    }
}

/// Create an API token for the signed-in user; it carries the user's roles and scope.
pub fn create_token(
    conn: &mut DbConn,
    settings: &AuthSettings,
    principal: &Principal,
    meta: &RequestMeta,
    req: &NewTokenRequest,
) -> AppResult<TokenView> {
    let label =
        crate::normalize::text::clean_text(&req.label, 100).map_err(|e| AppError::field("label", e.code, e.message))?;
    let days = req.expires_in_days.unwrap_or(settings.api_token_max_days);
    if !(1..=settings.api_token_max_days).contains(&days) {
        return Err(AppError::field(
            "expires_in_days",
            "out_of_range",
            format!("Choose between 1 and {} days.", settings.api_token_max_days),
        ));
    }
    write_tx(conn, |c| {
        let user = db::users::find_by_public_id(c, &principal.public_id)?.ok_or(AppError::NotFound)?;
        let (token, _, row) = new_session(
            c,
            &user,
            "api_token",
            Some(&label),
            meta.now,
            meta.now + Duration::days(days),
        )?;
        audit::record(
            c,
            audit::event(
                meta,
                Some(principal),
                "auth.token_create",
                Some(("token", &row.public_id)),
                "success",
                None,
            ),
        )?;
        Ok(token_view(&row, Some(token)))
    })
}

/// The signed-in user's live API tokens.
pub fn list_tokens(conn: &mut DbConn, principal: &Principal, now: NaiveDateTime) -> AppResult<Vec<TokenView>> {
    let rows = db::sessions::list_tokens(conn, principal.user_id)?;
    Ok(rows
        .iter()
        .filter(|s| s.expires_at > now)
        .map(|s| token_view(s, None))
        .collect())
}

/// Revoke one of the signed-in user's API tokens.
pub fn revoke_token(conn: &mut DbConn, principal: &Principal, meta: &RequestMeta, id: &str) -> AppResult<()> {
    write_tx(conn, |c| {
        let row = db::sessions::find_token(c, principal.user_id, id)?.ok_or(AppError::NotFound)?;
        db::sessions::revoke(c, row.id, meta.now)?;
        audit::record(
            c,
            audit::event(
                meta,
                Some(principal),
                "auth.token_revoke",
                Some(("token", id)),
                "success",
                None,
            ),
        )
    })
}
