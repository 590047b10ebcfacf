//! Staff accounts: created by administrators (or the CLI for the first one), never by default.

use serde::{Deserialize, Serialize};

use super::auth::{check_password_policy, hash_password, HashLimiter};
use super::authz::{format_roles, parse_roles, Role};
use super::departments::resolve_codes;
use super::{audit, new_public_id, Ctx, RequestMeta};
use crate::db::users::{NewUser, User, UserChanges};
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::normalize::{email::parse_email, text::clean_text};

/// A staff account as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UserView {
    /// Public id.
    pub id: String,
    /// Sign-in email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Department codes.
    pub departments: Vec<String>,
    /// `active` or `disabled`.
    pub status: String,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// Signs in with a one-time code (TOTP) as well as the password.
    pub totp_enabled: bool,
    /// Until when the account's invitation link works, while it has not been accepted (the
    /// account has no password of its own until then).
    pub invitation_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// A new invitation (in the answer that made it only): its link's token, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation: Option<crate::service::auth::invitation::InvitationView>,
}

/// The signed-in user: their account and what their roles allow (the web client shows only
/// what the user may do; the server still checks every request).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MeView {
    /// The account.
    #[serde(flatten)]
    pub user: UserView,
    /// Permissions the user's roles grant.
    pub permissions: Vec<super::authz::Permission>,
    /// This session may only enrol the second factor the user's roles require.
    pub enrolment_only: bool,
}

/// The signed-in user with their permissions; `enrolment_only` is their session's.
pub fn me(conn: &mut DbConn, public_id: &str, enrolment_only: bool) -> AppResult<MeView> {
    let user = get(conn, public_id)?;
    let permissions = super::authz::permissions_of(&user.roles);
    Ok(MeView {
        user,
        permissions,
        enrolment_only,
    })
}

/// The API view of a user.
pub fn view(conn: &mut DbConn, u: &User) -> AppResult<UserView> {
    let ids = db::users::department_ids(conn, u.id)?;
    let departments = db::departments::find_by_ids(conn, &ids)?
        .into_iter()
        .map(|d| d.code)
        .collect();
    Ok(UserView {
        id: u.public_id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        roles: parse_roles(&u.roles),
        departments,
        status: u.status.clone(),
        version: u.version,
        totp_enabled: u.totp_secret.is_some(),
        invitation_expires_at: u.invite_hash.as_ref().and(u.invite_expires_at).map(|t| t.and_utc()),
        invitation: None,
    })
}

/// Create a staff account.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// Sign-in email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Password (12–128 characters, not a common one). Leave it out to invite the person
    /// instead: the answer's `invitation` holds a single-use link token with which they choose
    /// their own (the better way: nobody else ever knows it).
    #[serde(default)]
    pub password: Option<String>,
    /// At least one role.
    pub roles: Vec<Role>,
    /// Department codes (required for department editors).
    #[serde(default)]
    pub departments: Vec<String>,
}

/// Change a staff account.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// The version read; a stale version is refused with 409.
    pub version: i64,
    /// New name.
    pub name: Option<String>,
    /// New roles (take effect on the user's next request).
    pub roles: Option<Vec<Role>>,
    /// New department codes.
    pub departments: Option<Vec<String>>,
    /// `active` or `disabled` (disabling ends every session).
    pub status: Option<String>,
}

fn check_roles(roles: &[Role], departments: &[i64]) -> AppResult<()> {
    if roles.is_empty() {
        return Err(AppError::field("roles", "required", "Give at least one role."));
    }
    if roles.contains(&Role::DepartmentEditor) && departments.is_empty() {
        return Err(AppError::field(
            "departments",
            "required",
            "A department editor needs at least one department.",
        ));
    }
    Ok(())
}

/// Create an account. `ctx` is `None` when the CLI creates it.
pub fn create(
    conn: &mut DbConn,
    limiter: &HashLimiter,
    ctx: Option<&Ctx>,
    meta: &RequestMeta,
    req: &NewUserRequest,
    invitation_hours: i64,
) -> AppResult<UserView> {
    let email = parse_email(&req.email).map_err(|e| AppError::field("email", e.code, e.message))?;
    let name = clean_text(&req.name, 200).map_err(|e| AppError::field("name", e.code, e.message))?;
    if let Some(p) = &req.password {
        check_password_policy(p, "password")?;
    }
    let dept_ids = resolve_codes(conn, &req.departments, "departments")?;
    check_roles(&req.roles, &dept_ids)?;
    let hash = match &req.password {
        Some(p) => hash_password(limiter, p)?,
        None => crate::service::auth::invitation::unusable_password(limiter)?,
    };
    write_tx(conn, |c| {
        let public_id = new_public_id();
        let roles = format_roles(&req.roles);
        let new = NewUser {
            public_id: &public_id,
            email: &email.key,
            name: &name,
            password_hash: &hash,
            roles: &roles,
            status: "active",
            version: 1,
            created_at: meta.now,
            updated_at: meta.now,
        };
        let user = db::unique_or(
            c,
            |c| db::users::insert(c, &new),
            || AppError::conflict("duplicate_user", "An account with this email exists."),
        )?;
        db::users::set_departments(c, user.id, &dept_ids)?;
        let invitation = match req.password {
            Some(_) => None,
            None => Some(crate::service::auth::invitation::issue(
                c,
                user.id,
                invitation_hours,
                meta.now,
            )?),
        };
        let mut ev = audit::event(
            meta,
            ctx.map(|x| &x.principal),
            "user.create",
            Some(("user", &public_id)),
            "success",
            Some(serde_json::json!({"roles": roles, "invited": invitation.is_some()})),
        );
        if ctx.is_none() {
            ev.actor = "cli".into();
        }
        audit::record(c, ev)?;
        let mut v = view(c, &user)?;
        v.invitation_expires_at = invitation.as_ref().map(|i| i.expires_at);
        v.invitation = invitation;
        Ok(v)
    })
}

/// Accounts, by email.
pub fn list(conn: &mut DbConn, limit: i64, offset: i64) -> AppResult<(Vec<UserView>, i64)> {
    let (rows, total) = db::users::list(conn, limit, offset)?;
    let views = rows.iter().map(|u| view(conn, u)).collect::<AppResult<Vec<_>>>()?;
    Ok((views, total))
}

/// One account.
pub fn get(conn: &mut DbConn, public_id: &str) -> AppResult<UserView> {
    let u = db::users::find_by_public_id(conn, public_id)?.ok_or(AppError::NotFound)?;
    view(conn, &u)
}

/// Change roles, departments, name or status.
pub fn update(conn: &mut DbConn, ctx: &Ctx, public_id: &str, req: &UpdateUserRequest) -> AppResult<UserView> {
    let name = req
        .name
        .as_deref()
        .map(|n| clean_text(n, 200).map_err(|e| AppError::field("name", e.code, e.message)))
        .transpose()?;
    if let Some(s) = req.status.as_deref().filter(|s| !matches!(*s, "active" | "disabled")) {
        return Err(AppError::field(
            "status",
            "invalid_status",
            format!("`{s}` is not active or disabled."),
        ));
    }
    write_tx(conn, |c| {
        let user = db::users::find_by_public_id(c, public_id)?.ok_or(AppError::NotFound)?;
        if user.version != req.version {
            return Err(AppError::conflict(
                "stale_version",
                "Someone changed this account since you read it; reload and try again.",
            ));
        }
        let dept_ids = match &req.departments {
            Some(codes) => resolve_codes(c, codes, "departments")?,
            None => db::users::department_ids(c, user.id)?,
        };
        let current = parse_roles(&user.roles);
        let roles = req.roles.clone().unwrap_or_else(|| current.clone());
        check_roles(&roles, &dept_ids)?;
        // Separation of duties: an administrator cannot make themselves, say, the data
        // protection officer (erasure, subject access); another administrator must.
        if user.id == ctx.principal.user_id && roles.iter().any(|r| !current.contains(r)) {
            return Err(AppError::Forbidden(
                "Another administrator must give you a role you do not have.".into(),
            ));
        }
        if user.id == ctx.principal.user_id
            && (req.status.as_deref() == Some("disabled") || !roles.contains(&Role::Administrator))
        {
            return Err(AppError::conflict(
                "self_lockout",
                "You cannot disable yourself or remove your own administrator role.",
            ));
        }
        let changes = UserChanges {
            name,
            roles: req.roles.as_ref().map(|r| format_roles(r)),
            status: req.status.clone(),
            password_hash: None,
            version: Some(user.version + 1),
            updated_at: Some(ctx.meta.now),
        };
        let updated = db::users::update(c, user.id, &changes)?;
        if req.departments.is_some() {
            db::users::set_departments(c, user.id, &dept_ids)?;
        }
        if req.status.as_deref() == Some("disabled") {
            db::sessions::revoke_all_for_user(c, user.id, None, ctx.meta.now)?;
        }
        let fields: Vec<&str> = [
            ("name", req.name.is_some()),
            ("roles", req.roles.is_some()),
            ("departments", req.departments.is_some()),
            ("status", req.status.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, set)| set.then_some(f))
        .collect();
        let ev = audit::event(
            &ctx.meta,
            Some(&ctx.principal),
            "user.update",
            Some(("user", public_id)),
            "success",
            Some(serde_json::json!({"fields": fields})),
        );
        audit::record(c, ev)?;
        view(c, &updated)
    })
}

/// `POST /api/v1/users/{id}/invitation`: a new invitation link for an account (the old one stops
/// working); for someone whose link expired, or who forgot their password.
pub fn invite(
    conn: &mut DbConn,
    ctx: &Ctx,
    public_id: &str,
    hours: i64,
) -> AppResult<crate::service::auth::invitation::InvitationView> {
    write_tx(conn, |c| {
        let user = db::users::find_by_public_id(c, public_id)?.ok_or(AppError::NotFound)?;
        if user.public_id == ctx.principal.public_id {
            return Err(AppError::conflict(
                "own_account",
                "You cannot invite yourself; change your password from your account page.",
            ));
        }
        if user.status != "active" {
            return Err(AppError::conflict(
                "disabled",
                "This account is disabled; enable it first.",
            ));
        }
        let invitation = crate::service::auth::invitation::issue(c, user.id, hours, ctx.meta.now)?;
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "user.invite",
                Some(("user", public_id)),
                "success",
                None,
            ),
        )?;
        Ok(invitation)
    })
}
