//! Invitations: an account an administrator opens without a password (security anchor 10, ASVS
//! 6.4.1: initial secrets are random, expire and work once).
//!
//! Policy:
//! - The administrator gets a link holding a random 256-bit token, shown once; only its SHA-256
//!   is stored, with the time it stops working (`auth.invitation_hours`, default 24).
//! - Following it, the new user chooses their own password (the usual policy). The first use
//!   clears the token in the same statement that sets the password, so a second use, like an
//!   expired or replaced link, is 410 `gone`; accepting ends any session the account had.
//! - Until then the account's password is the hash of a random secret nobody holds, so it cannot
//!   be signed in to. An administrator can issue a new link (the old one stops working), which
//!   also serves a user who forgot their password.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::password::{check_password_policy, hash_password, HashLimiter};
use crate::db::schema::users;
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::service::{audit, random_token, sha256_hex, RequestMeta};

/// A new invitation: the token (shown once) and when it stops working.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct InvitationView {
    /// The single-use token; the web client's link is `/#/invitation/{token}`.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Accept an invitation: its token and the password the new user chooses.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    /// The token from the link.
    pub token: String,
    /// The password (12–128 characters, not a common one).
    pub password: String,
}

/// Give `user_id` a new invitation (inside the caller's transaction); any earlier one stops
/// working.
pub fn issue(conn: &mut DbConn, user_id: i64, hours: i64, now: NaiveDateTime) -> AppResult<InvitationView> {
    let token = random_token(32);
    let expires = now + Duration::hours(hours);
    diesel::update(users::table.find(user_id))
        .set((
            users::invite_hash.eq(Some(sha256_hex(&token))),
            users::invite_expires_at.eq(Some(expires)),
        ))
        .execute(conn)?;
    Ok(InvitationView {
        token,
        expires_at: expires.and_utc(),
    })
}

/// A password nobody knows, for an account waiting for its invitation to be accepted.
pub fn unusable_password(limiter: &HashLimiter) -> AppResult<String> {
    hash_password(limiter, &random_token(32))
}

fn gone(why: &str) -> AppError {
    AppError::Gone(format!(
        "This invitation link {why}. Ask an administrator for a new one."
    ))
}

/// `POST /api/v1/auth/invitation`: set the password of the invited account.
pub fn accept(
    conn: &mut DbConn,
    limiter: &HashLimiter,
    meta: &RequestMeta,
    req: &AcceptInvitationRequest,
) -> AppResult<()> {
    let token_hash = sha256_hex(req.token.trim());
    let found: Option<(i64, String, String, Option<NaiveDateTime>)> = users::table
        .filter(users::invite_hash.eq(&token_hash))
        .select((users::id, users::public_id, users::status, users::invite_expires_at))
        .first(conn)
        .optional()?;
    let Some((id, public_id, status, expires)) = found else {
        audit::record(
            conn,
            audit::event(meta, None, "user.invitation_accept", None, "failure", None),
        )?;
        return Err(gone("has been used, was replaced by a newer one, or does not exist"));
    };
    if expires.is_none_or(|t| t <= meta.now) {
        return Err(gone("has expired"));
    }
    if status != "active" {
        return Err(gone("belongs to an account that has been disabled"));
    }
    check_password_policy(&req.password, "password")?;
    let hash = hash_password(limiter, &req.password)?;
    write_tx(conn, |c| {
        // Only while the token is still the account's: two uses at once cannot both pass.
        let n = diesel::update(users::table.find(id).filter(users::invite_hash.eq(&token_hash)))
            .set((
                users::password_hash.eq(&hash),
                users::invite_hash.eq(None::<String>),
                users::invite_expires_at.eq(None::<NaiveDateTime>),
                users::version.eq(users::version + 1),
                users::updated_at.eq(meta.now),
            ))
            .execute(c)?;
        if n == 0 {
            return Err(gone("has been used, was replaced by a newer one, or does not exist"));
        }
        db::sessions::revoke_all_for_user(c, id, None, meta.now)?;
        audit::record(
            c,
            audit::event(
                meta,
                None,
                "user.invitation_accept",
                Some(("user", &public_id)),
                "success",
                None,
            ),
        )
    })
}
