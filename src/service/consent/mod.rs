//! The consent ledger: append-only events per person × purpose × channel (× contact point),
//! the derived current state, and the contact decision.
//!
//! Policy: events are never updated or deleted (only erasure removes them); the current state is
//! derived on every append (latest capture wins; at equal times a withdrawal wins), so late
//! arriving older events are kept in the history without changing the state. Consent for a
//! specific contact point must name one of the person's current points.

mod check;
pub mod contactable;
pub mod decide;
pub mod purposes;
pub mod types;
mod views;

pub use self::check::{check, may_contact, ContactCheckRequest};
pub use self::contactable::{contactable_by_email, contactable_ids_by_email};
use self::views::event_view;
pub use self::views::{consents_of, list, ConsentEventView, ConsentStateView, ConsentsView};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use self::types::{Channel, ConsentStatus, LawfulBasis, Source};
use crate::db::consent::{ConsentEvent, ConsentState};
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};
use crate::normalize::{email::parse_email, phone::normalize_phone};
use crate::service::privacy::keys::PointHasher;
use crate::service::{audit, new_public_id, Ctx};

/// Record a consent event.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordConsentRequest {
    /// Purpose code.
    pub purpose: String,
    /// Channel.
    pub channel: Channel,
    /// A specific email address or phone number (one of the person's); absent = the whole channel.
    pub contact_point: Option<String>,
    /// Granted, withdrawn or refused.
    pub status: ConsentStatus,
    /// Lawful basis; default: the purpose's.
    pub lawful_basis: Option<LawfulBasis>,
    /// Where it came from (not `unsubscribe`: that is the unsubscribe link's).
    #[serde(default = "default_source")]
    pub source: Source,
    /// A reference within the source (form id, batch id).
    pub source_ref: Option<String>,
    /// The wording version the person was shown.
    pub wording_version: Option<i32>,
    /// How it was captured, e.g. `paper_form`, `phone_call`, `web_checkbox`, `soft_opt_in`.
    pub capture_method: String,
    /// Free-text evidence (what was said, where the form is kept).
    pub evidence: Option<String>,
    /// When the person gave it (default now).
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub captured_at: Option<DateTime<Utc>>,
    /// When a grant lapses.
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub expires_at: Option<DateTime<Utc>>,
}

fn default_source() -> Source {
    Source::Staff
}

/// Normalise a contact point for its channel: email key, or E.164.
pub fn normalise_point(channel: Channel, value: &str) -> Result<String, (&'static str, String)> {
    match channel {
        Channel::Email => parse_email(value).map(|e| e.key).map_err(|e| (e.code, e.message)),
        Channel::Sms | Channel::Phone => normalize_phone(value).map_err(|e| (e.code, e.message)),
        Channel::Post => Err((
            "not_applicable",
            "Post consent applies to the person's addresses; give no contact point.".into(),
        )),
    }
}

/// The hash of a normalised point for the suppression list.
pub fn point_hash(points: &PointHasher, channel: Channel, point: &str) -> Option<String> {
    match channel {
        Channel::Email => Some(points.email(point)),
        Channel::Sms | Channel::Phone => Some(points.phone(point)),
        Channel::Post => None,
    }
}

fn person_has_point(conn: &mut DbConn, person_id: i64, channel: Channel, point: &str) -> AppResult<bool> {
    let ids = [person_id];
    Ok(match channel {
        Channel::Email => db::people::emails_of(conn, &ids)?
            .iter()
            .any(|e| e.address_key == point),
        Channel::Sms | Channel::Phone => db::people::phones_of(conn, &ids)?.iter().any(|p| p.number == point),
        Channel::Post => !db::people::addresses_of(conn, &ids)?.is_empty(),
    })
}

/// Append an event to the ledger and fold it into the derived state (the API and imports).
pub fn append(conn: &mut DbConn, ev: ConsentEvent) -> AppResult<ConsentEvent> {
    let stored = db::consent::insert_event(conn, &ev)?;
    apply_to_state(conn, &stored)?;
    Ok(stored)
}

/// Fold one event into the derived state.
///
/// An imported list's "yes" never overturns a withdrawal or refusal the ledger holds for the
/// purpose and channel (channel-wide or for the same point): a list is dated when it is
/// uploaded, not when its answers were given, so it cannot show that the person changed their
/// mind again. The event stays in the history; only consent recorded with its own evidence
/// (staff, a form) can grant again. The rule holds whichever is recorded first: a withdrawal or
/// refusal also undoes a grant that came from a list (for its point, or for every point when
/// channel-wide), whatever their capture times, as replaying the ledger in capture order (after
/// a merge, unmerge or rollback) would.
pub fn apply_to_state(conn: &mut DbConn, ev: &ConsentEvent) -> AppResult<()> {
    let states = db::consent::state_for(conn, ev.person_id, ev.purpose_id, &ev.channel)?;
    let status = |s: &str| ConsentStatus::parse(s).unwrap_or(ConsentStatus::Withdrawn);
    let refusal = |s: &str| matches!(status(s), ConsentStatus::Withdrawn | ConsentStatus::Refused);
    // A state row holds for the event's point when channel-wide or for that point; the event
    // reaches a state row when the event is channel-wide or for that row's point.
    let holds_for_event = |s: &ConsentState| s.contact_point.is_empty() || s.contact_point == ev.contact_point;
    let reached_by_event = |s: &ConsentState| ev.contact_point.is_empty() || s.contact_point == ev.contact_point;
    let imported_grant = ev.source == Source::Import.as_str() && status(&ev.status) == ConsentStatus::Granted;
    if imported_grant && states.iter().any(|s| holds_for_event(s) && refusal(&s.status)) {
        return Ok(());
    }
    let mut listed = Vec::new();
    if refusal(&ev.status) {
        let granted: Vec<i64> = states
            .iter()
            .filter(|s| status(&s.status) == ConsentStatus::Granted && reached_by_event(s))
            .map(|s| s.event_id)
            .collect();
        if !granted.is_empty() {
            listed = db::consent::events_from(conn, &granted, Source::Import.as_str())?;
        }
    }
    let mut current = None;
    for s in states {
        if s.contact_point == ev.contact_point {
            current = Some(s);
        } else if listed.contains(&s.event_id) {
            db::consent::delete_state(conn, &s)?;
        }
    }
    let newer = match &current {
        None => true,
        Some(s) if listed.contains(&s.event_id) => true,
        Some(s) => decide::supersedes(ev.captured_at, status(&ev.status), s.captured_at, status(&s.status)),
    };
    if newer {
        db::consent::save_state(
            conn,
            &ConsentState {
                person_id: ev.person_id,
                purpose_id: ev.purpose_id,
                channel: ev.channel.clone(),
                contact_point: ev.contact_point.clone(),
                status: ev.status.clone(),
                lawful_basis: ev.lawful_basis.clone(),
                capture_method: ev.capture_method.clone(),
                captured_at: ev.captured_at,
                expires_at: ev.expires_at,
                event_id: ev.id,
            },
        )?;
    }
    Ok(())
}

/// Record a consent event for a person through the API.
pub fn record(
    conn: &mut DbConn,
    ctx: &Ctx,
    person_public_id: &str,
    req: &RecordConsentRequest,
) -> AppResult<ConsentEventView> {
    let now = ctx.meta.now;
    let mut errors = Vec::new();
    if req.source == Source::Unsubscribe {
        errors.push(FieldError::new(
            "source",
            "reserved",
            "Unsubscribe events come from the unsubscribe link.",
        ));
    }
    let point = match req.contact_point.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => String::new(),
        Some(p) => match normalise_point(req.channel, p) {
            Ok(n) => n,
            Err((code, message)) => {
                errors.push(FieldError::new("contact_point", code, message));
                String::new()
            }
        },
    };
    let method = crate::normalize::text::clean_text(&req.capture_method, 50)
        .map_err(|e| FieldError::new("capture_method", e.code, e.message));
    let evidence = req
        .evidence
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string);
    if evidence.as_ref().is_some_and(|e| e.chars().count() > 2000) {
        errors.push(FieldError::new(
            "evidence",
            "too_long",
            "Keep evidence under 2,000 characters.",
        ));
    }
    let captured_at = req
        .captured_at
        .map(|t| crate::db::truncate(t.naive_utc()))
        .unwrap_or(now);
    if captured_at > now + chrono::Duration::minutes(5) {
        errors.push(FieldError::new(
            "captured_at",
            "in_future",
            "Consent cannot be captured in the future.",
        ));
    }
    let expires_at = req.expires_at.map(|t| crate::db::truncate(t.naive_utc()));
    if expires_at.is_some_and(|e| e <= captured_at) {
        errors.push(FieldError::new(
            "expires_at",
            "before_capture",
            "The expiry must come after the capture.",
        ));
    }
    let method = match method {
        Ok(m) => m,
        Err(e) => {
            errors.push(e);
            String::new()
        }
    };
    write_tx(conn, |c| {
        let purpose = purposes::find(c, &req.purpose, "purpose").map_err(|e| merge_errors(e, &mut errors))?;
        let basis = req
            .lawful_basis
            .unwrap_or_else(|| LawfulBasis::parse(&purpose.default_lawful_basis).unwrap_or(LawfulBasis::Consent));
        if let Some(v) = req.wording_version {
            let known = db::consent::wordings_of(c, &[purpose.id])?
                .iter()
                .any(|w| w.version == v);
            if !known {
                errors.push(FieldError::new(
                    "wording_version",
                    "unknown_version",
                    format!("Purpose `{}` has no wording version {v}.", purpose.code),
                ));
            }
        }
        if req.status == ConsentStatus::Granted
            && basis == LawfulBasis::Consent
            && req.wording_version.is_none()
            && evidence.is_none()
        {
            errors.push(FieldError::new(
                "wording_version",
                "evidence_required",
                "Record what the person was told: a wording version or evidence.",
            ));
        }
        let person = crate::service::people::find_visible_locked(
            c,
            &ctx.principal,
            person_public_id,
            db::people::Lock::KeyShare,
        )?;
        if !point.is_empty() && !person_has_point(c, person.id, req.channel, &point)? {
            errors.push(FieldError::new(
                "contact_point",
                "not_a_contact_point",
                "This is not one of the person's contact points.",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(std::mem::take(&mut errors)));
        }
        let ev = ConsentEvent {
            id: 0,
            public_id: new_public_id(),
            person_id: person.id,
            purpose_id: purpose.id,
            channel: req.channel.as_str().into(),
            contact_point: point.clone(),
            status: req.status.as_str().into(),
            lawful_basis: basis.as_str().into(),
            source: req.source.as_str().into(),
            source_ref: req.source_ref.clone(),
            wording_version: req.wording_version,
            capture_method: method.clone(),
            evidence: evidence.clone(),
            captured_at,
            recorded_at: now,
            recorded_by: Some(ctx.principal.user_id),
            expires_at,
        };
        let stored = append(c, ev)?;
        let detail = serde_json::json!({"purpose": purpose.code, "channel": stored.channel, "status": stored.status, "event": stored.public_id});
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "consent.record",
                Some(("person", person_public_id)),
                "success",
                Some(detail),
            ),
        )?;
        Ok(event_view(&stored, &purpose.code))
    })
}

fn merge_errors(e: AppError, pending: &mut Vec<FieldError>) -> AppError {
    match e {
        AppError::Validation(mut v) => {
            v.append(pending);
            AppError::Validation(v)
        }
        other => other,
    }
}
