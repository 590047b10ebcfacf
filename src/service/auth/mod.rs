//! Passwords, sign-in, sessions and API tokens.
//!
//! Policy:
//! - Passwords: 12–128 characters, checked as given (no trimming or case change), refused when on
//!   the shipped common-password list; stored as argon2id PHC strings with the OWASP parameters
//!   (m=19456 KiB, t=2, p=1) and rehashed at sign-in when the parameters rise. At most
//!   `auth.max_concurrent_hashes` hashes run at once.
//! - Sign-in failures are counted per account key (the lower-cased email, hashed), for unknown
//!   emails exactly as for known ones, and an unknown email is verified against a dummy hash: the
//!   response and its timing do not reveal whether an account exists.
//! - A second factor (TOTP, [`totp`]) is asked for at sign-in from every user who enrolled one. A
//!   user whose roles are in `auth.mfa_required_roles` and who has none signs in to a session
//!   that can only enrol one (every other route answers 403 `mfa_enrolment_required`); enrolling
//!   ends every session of the user and starts a full one. A wrong or reused code counts as a
//!   failed sign-in. Turning the factor off needs the password and a current code; an
//!   administrator can reset it for a user who lost their device.
//! - Tokens are 256-bit random values; only their SHA-256 is stored. Sessions end after
//!   `auth.session_idle_minutes` idle or `auth.session_absolute_hours` in all; API tokens have an
//!   absolute expiry only. Disabling a user revokes every session.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::authz::{department_scoped, parse_roles, scope_for};
use super::{audit, new_public_id, random_token, sha256_hex, Principal, RequestMeta};
use crate::config::AuthSettings;
use crate::db::sessions::{NewSession, Session};
use crate::db::users::{Throttle, User};
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult};

pub mod invitation;
mod password;
mod second_factor;
mod tokens;
pub mod totp;
pub mod totp_store;

pub use password::{check_password_policy, hash_password, HashLimiter, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use password::{dummy_hash, needs_rehash, verify_password};
pub use second_factor::{
    confirm_totp, disable_totp, reset_totp, start_totp, ConfirmTotpRequest, DisableTotpRequest, StartTotpRequest,
    TotpEnrolment,
};
pub use tokens::{create_token, list_tokens, revoke_token, NewTokenRequest, TokenView};

/// Sessions are touched at most this often, to keep reads from writing on every request.
const TOUCH_EVERY_SECS: i64 = 60;

/// Sign-in request.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Sign-in email.
    pub email: String,
    /// Password.
    pub password: String,
    /// The one-time code from the authenticator app, for an account with a second factor.
    #[serde(default)]
    pub totp: Option<String>,
}

/// A new session: the token is shown once.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LoginResponse {
    /// Bearer token (also set as the session cookie).
    pub token: String,
    /// Send this in `X-CSRF-Token` with cookie-authenticated unsafe requests.
    pub csrf_token: String,
    /// Absolute expiry.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Idle timeout in seconds.
    pub idle_timeout_secs: i64,
    /// The signed-in user.
    pub user: super::users::UserView,
    /// This session may only enrol the second factor the user's roles require
    /// (`POST /api/v1/auth/totp`, then `…/totp/confirm`); everything else answers 403.
    pub enrolment_only: bool,
}

fn throttle_key(email: &str) -> String {
    sha256_hex(&format!("login:{email}"))
}

const BAD_CREDENTIALS: &str = "The email or password is not right.";

/// Sign in. Every attempt is audited; failures count towards the per-account lockout.
pub fn login(
    conn: &mut DbConn,
    limiter: &HashLimiter,
    settings: &AuthSettings,
    meta: &RequestMeta,
    req: &LoginRequest,
) -> AppResult<LoginResponse> {
    let email = req.email.trim().to_lowercase();
    let key = throttle_key(&email);
    let throttle = db::users::find_throttle(conn, &key)?;
    if let Some(until) = throttle.as_ref().and_then(|t| t.locked_until) {
        if until > meta.now {
            let ev = audit::event(
                meta,
                None,
                "auth.login",
                None,
                "failure",
                Some(serde_json::json!({"reason": "locked"})),
            );
            audit::record(conn, ev)?;
            return Err(AppError::TooManyRequests(
                "Too many failed sign-in attempts for this account; try again later.".into(),
            ));
        }
    }
    let user = db::users::find_by_email(conn, &email)?;
    let ok = match &user {
        Some(u) => verify_password(limiter, &req.password, &u.password_hash) && u.status == "active",
        None => {
            verify_password(limiter, &req.password, dummy_hash(limiter));
            false
        }
    };
    let target_id = user.as_ref().map(|u| u.public_id.clone());
    let target = target_id.as_deref().map(|id| ("user", id));
    let Some(user) = user.filter(|_| ok) else {
        let event = audit::event(meta, None, "auth.login", target, "failure", None);
        failed_attempt(conn, settings, meta, Some(key), event)?;
        return Err(AppError::Unauthorized(BAD_CREDENTIALS.into()));
    };
    if user.totp_secret.is_some() {
        check_code(conn, settings, meta, &key, &user, req.totp.as_deref(), target)?;
    }
    let rehash = needs_rehash(&user.password_hash)
        .then(|| hash_password(limiter, &req.password))
        .transpose()?;
    write_tx(conn, |c| {
        db::users::clear_throttle(c, &key)?;
        if let Some(h) = rehash {
            let changes = db::users::UserChanges {
                password_hash: Some(h),
                ..Default::default()
            };
            db::users::update(c, user.id, &changes)?;
        }
        start_session(c, settings, meta, &user, "auth.login")
    })
}

/// A browser session for `user`, audited as `action` (noting when it may only enrol).
fn start_session(
    c: &mut DbConn,
    settings: &AuthSettings,
    meta: &RequestMeta,
    user: &User,
    action: &str,
) -> AppResult<LoginResponse> {
    let (token, csrf, session) = new_session(c, user, "session", None, meta.now, session_expiry(settings, meta.now))?;
    let principal = principal_for(c, settings, user, session.id)?;
    let enrolment_only = principal.enrolment_only;
    let detail = enrolment_only.then(|| serde_json::json!({"enrolment_only": true}));
    let target = Some(("user", user.public_id.as_str()));
    audit::record(
        c,
        audit::event(meta, Some(&principal), action, target, "success", detail),
    )?;
    Ok(LoginResponse {
        token,
        csrf_token: csrf.unwrap_or_default(),
        expires_at: session.expires_at.and_utc(),
        idle_timeout_secs: settings.session_idle_minutes * 60,
        user: super::users::view(c, user)?,
        enrolment_only,
    })
}

/// Whether the user has no second factor though their roles require one: their sessions and
/// API tokens may then only enrol one.
fn must_enrol(settings: &AuthSettings, user: &User, roles: &[super::Role]) -> bool {
    let required = settings.mfa_roles();
    user.totp_secret.is_none() && roles.iter().any(|r| required.contains(r))
}

/// Check a sign-in's one-time code against the user's secret and use up its step. A missing
/// code is answered (401 `mfa_required`) without counting; a wrong or reused one counts as a
/// failed sign-in (401 `mfa_invalid`).
fn check_code(
    conn: &mut DbConn,
    settings: &AuthSettings,
    meta: &RequestMeta,
    key: &str,
    user: &User,
    code: Option<&str>,
    target: Option<(&str, &str)>,
) -> AppResult<()> {
    let failure = |reason: &str| {
        let detail = serde_json::json!({"reason": reason});
        audit::event(meta, None, "auth.login", target, "failure", Some(detail))
    };
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        failed_attempt(conn, settings, meta, None, failure("mfa_required"))?;
        return Err(AppError::SecondFactor {
            enrol: false,
            code: "mfa_required",
            detail: "This account signs in with a one-time code from an authenticator app: send it as `totp`.".into(),
        });
    };
    if used_code(conn, settings, user, code, meta)? {
        return Ok(());
    }
    failed_attempt(conn, settings, meta, Some(key.to_string()), failure("mfa_invalid"))?;
    Err(AppError::SecondFactor {
        enrol: false,
        code: "mfa_invalid",
        detail: "The one-time code is not right, or was used already: wait for the next one.".into(),
    })
}

/// Whether `code` is valid now for the user's second factor and its step had not been used;
/// uses it up. False for a user without one.
fn used_code(
    conn: &mut DbConn,
    settings: &AuthSettings,
    user: &User,
    code: &str,
    meta: &RequestMeta,
) -> AppResult<bool> {
    let Some(secret) = &user.totp_secret else {
        return Ok(false);
    };
    let key = settings.totp_key().open_key(&user.public_id, secret)?;
    match totp::verify(&key, code, totp::step_of(meta.now.and_utc().timestamp())) {
        // One statement: atomic on its own.
        Some(step) => Ok(db::users::use_totp_step(conn, user.id, step)?),
        None => Ok(false),
    }
}

/// Audit a failed attempt (`event`) and, with `count_for`, count it towards the lockout of that
/// account key.
fn failed_attempt(
    conn: &mut DbConn,
    settings: &AuthSettings,
    meta: &RequestMeta,
    count_for: Option<String>,
    event: db::audit::NewAuditEvent,
) -> AppResult<()> {
    write_tx(conn, |c| {
        if let Some(key) = count_for {
            record_failure(c, settings, meta, key)?;
        }
        audit::record(c, event)
    })
}

/// Count a failed attempt for `key`; at the threshold, lock the key for a while and start the
/// count again. The count is one atomic statement, so attempts sent side by side all count.
fn record_failure(conn: &mut DbConn, settings: &AuthSettings, meta: &RequestMeta, key: String) -> AppResult<()> {
    let failures = db::users::add_failure(conn, &key, meta.now)?;
    if failures >= settings.lockout_threshold {
        let row = Throttle {
            key_hash: key,
            failures: 0,
            locked_until: Some(meta.now + Duration::minutes(settings.lockout_minutes)),
            updated_at: meta.now,
        };
        db::users::save_throttle(conn, &row)?;
    }
    Ok(())
}

fn session_expiry(settings: &AuthSettings, now: NaiveDateTime) -> NaiveDateTime {
    now + Duration::hours(settings.session_absolute_hours)
}

/// Create a session or API token row; returns (token, csrf token, row).
fn new_session(
    conn: &mut DbConn,
    user: &User,
    kind: &str,
    label: Option<&str>,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> AppResult<(String, Option<String>, Session)> {
    let token = random_token(32);
    let csrf = (kind == "session").then(|| random_token(32));
    let token_hash = sha256_hex(&token);
    let csrf_hash = csrf.as_deref().map(sha256_hex);
    let public_id = new_public_id();
    let row = db::sessions::insert(
        conn,
        &NewSession {
            public_id: &public_id,
            token_hash: &token_hash,
            csrf_hash: csrf_hash.as_deref(),
            user_id: user.id,
            kind,
            label,
            created_at: now,
            last_seen_at: now,
            expires_at,
        },
    )?;
    Ok((token, csrf, row))
}

/// The principal for a user (roles, department scope and second factor as stored now).
pub fn principal_for(conn: &mut DbConn, settings: &AuthSettings, user: &User, session_id: i64) -> AppResult<Principal> {
    let roles = parse_roles(&user.roles);
    let departments = if department_scoped(&roles) {
        db::users::department_ids(conn, user.id)?
    } else {
        Vec::new()
    };
    Ok(Principal {
        user_id: user.id,
        public_id: user.public_id.clone(),
        scope: scope_for(&roles, departments),
        enrolment_only: must_enrol(settings, user, &roles),
        roles,
        session_id,
    })
}

/// A valid session: the principal, and the CSRF hash when it is a browser session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who.
    pub principal: Principal,
    /// SHA-256 of the session's CSRF token (None for API tokens).
    pub csrf_hash: Option<String>,
    /// The session ends then at the latest (absolute expiry, or idle timeout from now on).
    pub valid_until: NaiveDateTime,
}

/// Resolve a bearer or cookie token. Expired, revoked or unknown tokens and disabled users are
/// all "not signed in".
pub fn authenticate(
    conn: &mut DbConn,
    settings: &AuthSettings,
    token: &str,
    now: NaiveDateTime,
) -> AppResult<Authenticated> {
    let expired = || AppError::Unauthorized("Your session has ended; sign in again.".into());
    if token.len() > 256 {
        return Err(expired());
    }
    let (session, user) = db::sessions::find_live_with_user(conn, &sha256_hex(token))?.ok_or_else(expired)?;
    let idle_deadline = session.last_seen_at + Duration::minutes(settings.session_idle_minutes);
    let idle_out = session.kind == "session" && now >= idle_deadline;
    if user.status != "active" || now >= session.expires_at || idle_out {
        if idle_out {
            db::sessions::revoke(conn, session.id, now)?;
        }
        return Err(expired());
    }
    if (now - session.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
        // Bookkeeping for the idle timeout, not part of the request: when the database is busy
        // (SQLite's write lock held past the busy timeout) the request goes on and a later one
        // records the time; the idle limit is minutes, a touch is due every minute.
        match db::sessions::touch(conn, session.id, now) {
            Err(e) if crate::error::is_busy(&e) => {
                tracing::warn!(error = %e, "session activity not recorded: the database is busy");
            }
            other => other?,
        }
    }
    let valid_until = if session.kind == "session" {
        session
            .expires_at
            .min(now + Duration::minutes(settings.session_idle_minutes))
    } else {
        session.expires_at
    };
    // Worked out on every request, not only at sign-in: a session or API token that predates a
    // role (or a setting) requiring a second factor, or outlives turning it off, may only enrol.
    Ok(Authenticated {
        principal: principal_for(conn, settings, &user, session.id)?,
        csrf_hash: session.csrf_hash,
        valid_until,
    })
}

/// End the current session.
pub fn logout(conn: &mut DbConn, principal: &Principal, meta: &RequestMeta) -> AppResult<()> {
    write_tx(conn, |c| {
        db::sessions::revoke(c, principal.session_id, meta.now)?;
        audit::record(
            c,
            audit::event(meta, Some(principal), "auth.logout", None, "success", None),
        )
    })
}

/// The signed-in user's account, once their current password is checked, before a change to
/// their credentials. A wrong one counts against the account like a failed sign-in (someone with
/// a stolen session must not be able to guess it without limit), and a locked account can change
/// nothing until the lock ends. A failure is audited as `action`.
pub(super) fn own_account_checked(
    conn: &mut DbConn,
    limiter: &HashLimiter,
    settings: &AuthSettings,
    principal: &Principal,
    meta: &RequestMeta,
    password: &str,
    action: &str,
) -> AppResult<User> {
    let user = db::users::find_by_public_id(conn, &principal.public_id)?.ok_or(AppError::NotFound)?;
    let key = throttle_key(&user.email.to_lowercase());
    let locked = db::users::find_throttle(conn, &key)?
        .and_then(|t| t.locked_until)
        .is_some_and(|until| until > meta.now);
    if locked {
        return Err(AppError::TooManyRequests(
            "Too many failed attempts for this account; try again later.".into(),
        ));
    }
    if !verify_password(limiter, password, &user.password_hash) {
        let event = audit::event(meta, Some(principal), action, None, "failure", None);
        failed_attempt(conn, settings, meta, Some(key), event)?;
        return Err(AppError::Forbidden("The current password is not right.".into()));
    }
    Ok(user)
}

/// Change one's own password: needs the current one; ends every other session.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password in use now.
    pub current_password: String,
    /// The new password (12–128 characters, not a common one).
    pub new_password: String,
}

/// Change the signed-in user's password.
pub fn change_password(
    conn: &mut DbConn,
    limiter: &HashLimiter,
    settings: &AuthSettings,
    principal: &Principal,
    meta: &RequestMeta,
    req: &ChangePasswordRequest,
) -> AppResult<()> {
    let action = "auth.password_change";
    let user = own_account_checked(conn, limiter, settings, principal, meta, &req.current_password, action)?;
    check_password_policy(&req.new_password, "new_password")?;
    let hash = hash_password(limiter, &req.new_password)?;
    write_tx(conn, |c| {
        let changes = db::users::UserChanges {
            password_hash: Some(hash),
            updated_at: Some(meta.now),
            ..Default::default()
        };
        db::users::update(c, user.id, &changes)?;
        db::sessions::revoke_all_for_user(c, user.id, Some(principal.session_id), meta.now)?;
        audit::record(
            c,
            audit::event(meta, Some(principal), "auth.password_change", None, "success", None),
        )
    })
}
