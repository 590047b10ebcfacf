//! `/api/v1/audit`: the audit log, for administrators and the data protection officer.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::extract::Query;
use crate::db::audit::AuditFilter;
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, AuditEventView};
use crate::service::Ctx;
use crate::state::AppState;

/// Filters.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Acting user's id.
    pub actor: Option<String>,
    /// Target kind, e.g. `person`.
    pub target_kind: Option<String>,
    /// Target id.
    pub target_id: Option<String>,
    /// Action, e.g. `person.read`.
    pub action: Option<String>,
    /// From (inclusive), RFC 3339.
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub from: Option<DateTime<Utc>>,
    /// Until (exclusive), RFC 3339.
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub to: Option<DateTime<Utc>>,
    /// Cursor: only events older than this id (use `next_before` of the previous page).
    pub before: Option<i64>,
    /// Page size, 1–500 (default 100).
    pub limit: Option<i64>,
}

/// A page of audit events.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AuditPage {
    /// Events, newest first.
    pub items: Vec<AuditEventView>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

/// List audit events. Reading the audit log is itself audited.
pub async fn list(state: web::Data<AppState>, ctx: Ctx, q: Query<AuditQuery>) -> AppResult<HttpResponse> {
    let q = q.0;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::field("limit", "out_of_range", "Use a limit from 1 to 500."));
    }
    let filter = AuditFilter {
        actor_user_id: None,
        target_kind: q.target_kind,
        target_id: q.target_id,
        action: q.action,
        from: q.from.map(|t| t.naive_utc()),
        to: q.to.map(|t| t.naive_utc()),
        before_id: q.before,
    };
    let sink = state.audit.clone();
    sink.send(audit::event(
        &ctx.meta,
        Some(&ctx.principal),
        "audit.read",
        None,
        "success",
        None,
    ));
    let actor = q.actor;
    let items = state
        .db(move |c| audit::list(c, actor.as_deref(), filter, limit))
        .await?;
    let next_before = (items.len() as i64 == limit)
        .then(|| items.last().map(|e| e.id))
        .flatten();
    super::json(200, &AuditPage { items, next_before })
}
