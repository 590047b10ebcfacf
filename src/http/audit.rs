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

/// What to verify.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyQuery {
    /// Start at this seal, taking the hash of the one before as given (default 1: the whole
    /// chain).
    pub from_seq: Option<i64>,
    /// A seal known from elsewhere (the log store's `audit sealed` line, an earlier
    /// verification): its position …
    pub expect_seq: Option<i64>,
    /// … and its hash; the chain must hold it.
    pub expect_hash: Option<String>,
    /// Check at most this many seals (1–200, default 40: about two million events, a few
    /// seconds); when the chain goes on, `next_from_seq` in the answer says where from.
    pub max_seals: Option<i64>,
}

/// Most seals one request checks (`max_seals`), and the default.
const MAX_SEALS: i64 = 200;
const DEFAULT_SEALS: i64 = 40;

/// One verification at a time per instance (`AppState::verifying`): each reads every event it
/// covers. Lets the next one start when dropped.
struct Verifying(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Verifying {
    fn start(flag: &std::sync::Arc<std::sync::atomic::AtomicBool>) -> AppResult<Verifying> {
        flag.compare_exchange(
            false,
            true,
            std::sync::atomic::Ordering::AcqRel,
            std::sync::atomic::Ordering::Acquire,
        )
        .map(|_| Verifying(flag.clone()))
        .map_err(|_| {
            AppError::TooManyRequests(
                "Another check of the audit log is running; try again when it has finished.".into(),
            )
        })
    }
}

impl Drop for Verifying {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}

/// Verify the audit log's hash chain against the events as they are now. Audited.
pub async fn verify(state: web::Data<AppState>, ctx: Ctx, q: Query<VerifyQuery>) -> AppResult<HttpResponse> {
    let q = q.0;
    let expect = match (q.expect_seq, q.expect_hash) {
        (None, None) => None,
        (Some(seq), Some(hash)) if crate::service::audit_chain::is_seal_ref(seq, &hash) => Some((seq, hash)),
        _ => {
            return Err(AppError::field(
                "expect_hash",
                "invalid_expectation",
                "Give both expect_seq (1 or more) and expect_hash (64 hexadecimal characters), or neither.",
            ))
        }
    };
    if q.from_seq.is_some_and(|s| s < 1) {
        return Err(AppError::field(
            "from_seq",
            "out_of_range",
            "Seals are numbered from 1.",
        ));
    }
    if q.max_seals.is_some_and(|n| !(1..=MAX_SEALS).contains(&n)) {
        return Err(AppError::field(
            "max_seals",
            "out_of_range",
            format!("Check between 1 and {MAX_SEALS} seals at a time."),
        ));
    }
    let req = crate::service::audit_chain::VerifyRequest {
        from_seq: q.from_seq,
        expect,
        max_seals: Some(q.max_seals.unwrap_or(DEFAULT_SEALS)),
    };
    let running = Verifying::start(&state.verifying)?;
    let result = state
        .db(move |c| {
            // Held until the check itself ends, even if the client goes away first.
            let _running = running;
            crate::service::audit_chain::verify(c, &req)
        })
        .await?;
    state.audit.send(audit::event(
        &ctx.meta,
        Some(&ctx.principal),
        "audit.verify",
        None,
        if result.ok { "success" } else { "failure" },
        Some(serde_json::json!({"seals": result.seals_checked, "problems": result.problems.len()})),
    ));
    super::json(200, &result)
}

/// Most seals one request makes (about a million events, a few seconds); `more` in the answer
/// says whether the backlog goes on.
const SEALS_PER_REQUEST: usize = 20;

/// Seal what is ready now (`serve` also does it every `audit.seal_every_seconds`). Audited.
pub async fn seal(state: web::Data<AppState>, ctx: Ctx) -> AppResult<HttpResponse> {
    let now = ctx.meta.now;
    let grace = state.settings.audit.seal_grace();
    let report = state
        .db(move |c| crate::service::audit_chain::seal(c, now, grace, SEALS_PER_REQUEST))
        .await?;
    state.audit.send(audit::event(
        &ctx.meta,
        Some(&ctx.principal),
        "audit.seal",
        None,
        "success",
        Some(serde_json::json!({"seals": report.sealed.len()})),
    ));
    super::json(200, &report)
}
