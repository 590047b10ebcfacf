//! Data-protection rights: subject access export, erasure, restriction, retention and the
//! suppression list, all driven by one data map ([`datamap::DATA_MAP`]).

pub mod datamap;
pub mod deadline;
pub mod erase;
pub mod export;
pub mod keys;
pub mod requests;
pub mod retention;
pub mod sql;
pub mod suppression;

use serde::Deserialize;

use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::service::{audit, Ctx};

/// A reason for a data-protection action (kept in the audit log: do not write personal data in it).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why, e.g. "Art. 17 request received 3 Nov, ref DP-2026-114". 3–500 characters.
    pub reason: String,
}

/// Check a reason.
pub fn clean_reason(reason: &str) -> AppResult<String> {
    let r =
        crate::normalize::text::clean_text(reason, 500).map_err(|e| AppError::field("reason", e.code, e.message))?;
    if r.chars().count() < 3 {
        return Err(AppError::field("reason", "too_short", "Say why, in a few words."));
    }
    Ok(r)
}

/// Mark a person restricted (processing paused) or active again.
pub fn set_restricted(
    conn: &mut DbConn,
    ctx: &Ctx,
    public_id: &str,
    restricted: bool,
    req: &ReasonRequest,
) -> AppResult<crate::service::people::view::PersonView> {
    let reason = clean_reason(&req.reason)?;
    write_tx(conn, |c| {
        // Locked, so a merge or an erasure cannot end between this read and the change.
        let person =
            crate::service::people::find_visible_locked(c, &ctx.principal, public_id, crate::db::people::Lock::Update)?;
        let (from, to) = if restricted {
            ("active", "restricted")
        } else {
            ("restricted", "active")
        };
        if person.status != from {
            return Err(AppError::conflict(
                "wrong_status",
                format!("The person is {}, not {from}.", person.status),
            ));
        }
        use crate::db::schema::people;
        use diesel::prelude::*;
        diesel::update(people::table.find(person.id))
            .set((
                people::status.eq(to),
                people::version.eq(person.version + 1),
                people::updated_at.eq(ctx.meta.now),
            ))
            .execute(c)?;
        let action = if restricted {
            "person.restrict"
        } else {
            "person.unrestrict"
        };
        let detail = serde_json::json!({"reason": reason});
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                action,
                Some(("person", public_id)),
                "success",
                Some(detail),
            ),
        )?;
        let p = db::people::find(c, person.id)?;
        crate::service::people::view::assemble(c, vec![p])?
            .pop()
            .ok_or(AppError::NotFound)
    })
}
