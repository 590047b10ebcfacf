//! Enrolling, turning off and resetting the second sign-in factor (TOTP).
//!
//! Policy: enrolling takes two steps — a new secret, shown once and held as pending, then a code
//! from the app to prove it was stored — and needs the current password (and, to replace a
//! factor, a code from the current one), so a session left open cannot be given an attacker's
//! factor; wrong codes count towards the lockout. Confirming replaces any earlier factor (only
//! the newest pending secret can be confirmed), ends every session of the user and starts a new
//! one (an enrolment-only session becomes a full one that way). Turning the factor off needs the
//! password and a current code; when the user's roles require one, their session may then only
//! enrol again. An administrator's reset of another user (for a lost device) clears it and ends
//! that user's sessions; their own they turn off instead. Secrets never appear in a response
//! after enrolment, nor in the audit log.

use serde::{Deserialize, Serialize};

use super::{
    failed_attempt, own_account_checked, start_session, throttle_key, totp, used_code, HashLimiter, LoginResponse,
};
use crate::config::AuthSettings;
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::service::{audit, Principal, RequestMeta};

/// Start enrolling a second factor.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartTotpRequest {
    /// The password in use now.
    pub current_password: String,
    /// When replacing a second factor (a new phone): a code the current one shows now.
    #[serde(default)]
    pub code: Option<String>,
}

/// A new secret for an authenticator app: shown once; confirm it with a code.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TotpEnrolment {
    /// The secret in base32, for typing into an app.
    pub key: String,
    /// The same as an `otpauth://` address (what a QR code holds).
    pub otpauth_uri: String,
    /// Digits per code.
    pub digits: u32,
    /// Seconds per code.
    pub period_secs: i64,
}

/// Confirm enrolment with a code from the app.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotpRequest {
    /// The code the app shows now.
    pub code: String,
}

/// Turn the second factor off.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableTotpRequest {
    /// The password in use now.
    pub current_password: String,
    /// A code the app shows now.
    pub code: String,
}

/// A wrong code from a signed-in user, counted like a failed sign-in (a stolen session and
/// password cannot try every code) and audited as `action`.
fn wrong_code(
    conn: &mut DbConn,
    settings: &AuthSettings,
    principal: &Principal,
    meta: &RequestMeta,
    user: &db::users::User,
    action: &str,
) -> AppResult<()> {
    let detail = serde_json::json!({"reason": "mfa_invalid"});
    let event = audit::event(meta, Some(principal), action, None, "failure", Some(detail));
    failed_attempt(
        conn,
        settings,
        meta,
        Some(throttle_key(&user.email.to_lowercase())),
        event,
    )
}

/// A new pending secret for the signed-in user.
pub fn start_totp(
    conn: &mut DbConn,
    limiter: &HashLimiter,
    settings: &AuthSettings,
    principal: &Principal,
    meta: &RequestMeta,
    req: &StartTotpRequest,
) -> AppResult<TotpEnrolment> {
    let action = "auth.totp_start";
    let user = own_account_checked(conn, limiter, settings, principal, meta, &req.current_password, action)?;
    if user.totp_secret.is_some() {
        // A session and a password must not be enough to swap the factor for an attacker's.
        let code = req.code.as_deref().unwrap_or_default();
        if !used_code(conn, settings, &user, code, meta)? {
            wrong_code(conn, settings, principal, meta, &user, action)?;
            return Err(AppError::field(
                "code",
                "invalid_code",
                "To replace your second factor, give a code your current app shows now.",
            ));
        }
    }
    let key = totp::base32_encode(&totp::new_secret());
    let stored = settings.totp_key().seal(&user.public_id, &key)?;
    write_tx(conn, |c| {
        db::users::set_totp_pending(c, user.id, &stored, meta.now)?;
        audit::record(
            c,
            audit::event(meta, Some(principal), "auth.totp_start", None, "success", None),
        )
    })?;
    Ok(TotpEnrolment {
        otpauth_uri: totp::otpauth_uri(settings.totp_issuer.trim(), &user.email, &key),
        key,
        digits: totp::DIGITS,
        period_secs: totp::STEP_SECS,
    })
}

/// Confirm the pending secret with a code: it becomes the user's factor, every session of the
/// user ends, and a new full session starts (returned as a sign-in).
pub fn confirm_totp(
    conn: &mut DbConn,
    settings: &AuthSettings,
    principal: &Principal,
    meta: &RequestMeta,
    req: &ConfirmTotpRequest,
) -> AppResult<LoginResponse> {
    let user = db::users::find_by_public_id(conn, &principal.public_id)?.ok_or(AppError::NotFound)?;
    let Some(pending) = user.totp_pending.clone() else {
        return Err(AppError::conflict(
            "no_pending_totp",
            "There is no new secret to confirm: start with POST /api/v1/auth/totp.",
        ));
    };
    let key = settings.totp_key().open_key(&user.public_id, &pending)?;
    let Some(step) = totp::verify(&key, &req.code, totp::step_of(meta.now.and_utc().timestamp())) else {
        return Err(AppError::field(
            "code",
            "invalid_code",
            "That is not the code the app shows now for the new secret: check the phone's clock and try the next one.",
        ));
    };
    write_tx(conn, |c| {
        if !db::users::confirm_totp(c, user.id, &pending, step, meta.now)? {
            return Err(AppError::conflict(
                "stale",
                "A newer secret was started (another window?): confirm that one, or start again.",
            ));
        }
        db::sessions::revoke_all_for_user(c, user.id, None, meta.now)?;
        let user = db::users::find_by_public_id(c, &user.public_id)?.ok_or(AppError::NotFound)?;
        start_session(c, settings, meta, &user, "auth.totp_enrol")
    })
}

/// Turn the signed-in user's second factor off (password and a current code). Their roles may
/// still require one: their session may then only enrol again.
pub fn disable_totp(
    conn: &mut DbConn,
    limiter: &HashLimiter,
    settings: &AuthSettings,
    principal: &Principal,
    meta: &RequestMeta,
    req: &DisableTotpRequest,
) -> AppResult<()> {
    let action = "auth.totp_disable";
    let user = own_account_checked(conn, limiter, settings, principal, meta, &req.current_password, action)?;
    if user.totp_secret.is_none() {
        return Err(AppError::conflict(
            "no_totp",
            "This account has no second factor to turn off.",
        ));
    }
    if !used_code(conn, settings, &user, &req.code, meta)? {
        wrong_code(conn, settings, principal, meta, &user, action)?;
        return Err(AppError::field(
            "code",
            "invalid_code",
            "The one-time code is not right, or was used already: wait for the next one.",
        ));
    }
    write_tx(conn, |c| {
        db::users::clear_totp(c, user.id, meta.now)?;
        db::sessions::revoke_all_for_user(c, user.id, Some(principal.session_id), meta.now)?;
        audit::record(
            c,
            audit::event(meta, Some(principal), "auth.totp_disable", None, "success", None),
        )
    })
}

/// An administrator clears a user's second factor (a lost device) and ends their sessions.
pub fn reset_totp(conn: &mut DbConn, principal: &Principal, meta: &RequestMeta, public_id: &str) -> AppResult<()> {
    let user = db::users::find_by_public_id(conn, public_id)?.ok_or(AppError::NotFound)?;
    if user.id == principal.user_id {
        return Err(AppError::conflict(
            "own_account",
            "Turn your own second factor off with your password and a code (POST /api/v1/auth/totp/disable), or ask another administrator.",
        ));
    }
    write_tx(conn, |c| {
        db::users::clear_totp(c, user.id, meta.now)?;
        db::sessions::revoke_all_for_user(c, user.id, None, meta.now)?;
        audit::record(
            c,
            audit::event(
                meta,
                Some(principal),
                "user.totp_reset",
                Some(("user", public_id)),
                "success",
                None,
            ),
        )
    })
}
