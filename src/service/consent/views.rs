//! How a person's consents are shown: the current state per purpose × channel (× point), and
//! the whole history.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use crate::db::consent::ConsentEvent;
use crate::db::{self, DbConn};
use crate::error::AppResult;
use crate::service::people::find_visible;
use crate::service::{audit, Ctx};

/// A consent event as shown.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ConsentEventView {
    /// Event id.
    pub id: String,
    /// Purpose code.
    pub purpose: String,
    /// Channel.
    pub channel: String,
    /// Contact point, if specific.
    pub contact_point: Option<String>,
    /// Status.
    pub status: String,
    /// Lawful basis.
    pub lawful_basis: String,
    /// Source.
    pub source: String,
    /// Source reference.
    pub source_ref: Option<String>,
    /// Wording version shown.
    pub wording_version: Option<i32>,
    /// Capture method.
    pub capture_method: String,
    /// Evidence.
    pub evidence: Option<String>,
    /// Captured.
    pub captured_at: DateTime<Utc>,
    /// Recorded.
    pub recorded_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The current state of one purpose × channel (× point).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ConsentStateView {
    /// Purpose code.
    pub purpose: String,
    /// Channel.
    pub channel: String,
    /// Contact point, if specific.
    pub contact_point: Option<String>,
    /// `granted`, `withdrawn`, `refused` or `expired`.
    pub status: String,
    /// Lawful basis.
    pub lawful_basis: String,
    /// Captured.
    pub captured_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// The event this state comes from.
    pub event_id: String,
}

/// State and history of a person's consents.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ConsentsView {
    /// Current state per purpose × channel (× point).
    pub state: Vec<ConsentStateView>,
    /// Every event, oldest first.
    pub history: Vec<ConsentEventView>,
}

pub(super) fn event_view(e: &ConsentEvent, purpose: &str) -> ConsentEventView {
    ConsentEventView {
        id: e.public_id.clone(),
        purpose: purpose.to_string(),
        channel: e.channel.clone(),
        contact_point: (!e.contact_point.is_empty()).then(|| e.contact_point.clone()),
        status: e.status.clone(),
        lawful_basis: e.lawful_basis.clone(),
        source: e.source.clone(),
        source_ref: e.source_ref.clone(),
        wording_version: e.wording_version,
        capture_method: e.capture_method.clone(),
        evidence: e.evidence.clone(),
        captured_at: e.captured_at.and_utc(),
        recorded_at: e.recorded_at.and_utc(),
        expires_at: e.expires_at.map(|t| t.and_utc()),
    }
}

/// A person's consent state and history (by internal id; the caller checked visibility).
pub fn consents_of(conn: &mut DbConn, person_id: i64, now: NaiveDateTime) -> AppResult<ConsentsView> {
    let codes: std::collections::HashMap<i64, String> = db::consent::list_purposes(conn)?
        .into_iter()
        .map(|p| (p.id, p.code))
        .collect();
    let code = |id: i64| codes.get(&id).cloned().unwrap_or_default();
    let events = db::consent::events_of(conn, person_id)?;
    let state = db::consent::state_of(conn, person_id)?
        .into_iter()
        .map(|s| {
            let expired = s.status == "granted" && s.expires_at.is_some_and(|e| e <= now);
            let event_id = events
                .iter()
                .find(|e| e.id == s.event_id)
                .map(|e| e.public_id.clone())
                .unwrap_or_default();
            ConsentStateView {
                purpose: code(s.purpose_id),
                channel: s.channel,
                contact_point: (!s.contact_point.is_empty()).then_some(s.contact_point),
                status: if expired { "expired".into() } else { s.status },
                lawful_basis: s.lawful_basis,
                captured_at: s.captured_at.and_utc(),
                expires_at: s.expires_at.map(|t| t.and_utc()),
                event_id,
            }
        })
        .collect();
    let history = events.iter().map(|e| event_view(e, &code(e.purpose_id))).collect();
    Ok(ConsentsView { state, history })
}

/// `GET /people/{id}/consents`.
pub fn list(conn: &mut DbConn, ctx: &Ctx, sink: &audit::AuditSink, person_public_id: &str) -> AppResult<ConsentsView> {
    let person = find_visible(conn, &ctx.principal, person_public_id)?;
    let view = consents_of(conn, person.id, ctx.meta.now)?;
    sink.send(audit::event(
        &ctx.meta,
        Some(&ctx.principal),
        "consent.read",
        Some(("person", person_public_id)),
        "success",
        None,
    ));
    Ok(view)
}
