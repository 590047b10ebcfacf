//! Anti-automation on costly actions (ASVS 2.4.1): a user may take each of them only so many
//! times an hour — subject access exports, import uploads, test messages.
//!
//! Policy: the count is read from the audit log (each of these actions writes its audit event in
//! its own transaction), so it is exact across instances and needs no table of its own. Past the
//! limit the request answers 429 and the refusal is audited as `rate_limited` (a security event
//! a data protection officer can search for). 0 turns a limit off.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::schema::audit_events;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::service::{audit, Ctx};

/// Refuse `action` (an audit action, e.g. `person.export`) when the user has done it
/// `per_hour` times in the last hour.
pub fn hourly(conn: &mut DbConn, ctx: &Ctx, action: &str, per_hour: i64) -> AppResult<()> {
    if per_hour <= 0 || ctx.principal.is_system() {
        return Ok(());
    }
    let since = ctx.meta.now - Duration::hours(1);
    let done: i64 = audit_events::table
        .filter(audit_events::actor_user_id.eq(ctx.principal.user_id))
        .filter(audit_events::occurred_at.ge(since))
        .filter(audit_events::action.eq(action))
        .filter(audit_events::outcome.eq("success"))
        .count()
        .get_result(conn)?;
    if done < per_hour {
        return Ok(());
    }
    let detail = serde_json::json!({"action": action, "per_hour": per_hour});
    audit::record(
        conn,
        audit::event(
            &ctx.meta,
            Some(&ctx.principal),
            "rate_limited",
            None,
            "denied",
            Some(detail),
        ),
    )?;
    Err(AppError::TooManyRequests(format!(
        "You can do this at most {per_hour} times an hour; try again later."
    )))
}
