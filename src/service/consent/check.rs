//! The contact decision: may this person be contacted for a purpose on a channel now? What
//! campaigns ask at send time and `POST /people/{id}/contact-check` answers.

use chrono::NaiveDateTime;
use serde::Deserialize;

use super::decide::{self, ContactDecision, Facts, StateFact};
use super::types::{Category, Channel, ConsentStatus, LawfulBasis};
use super::{normalise_point, person_has_point, point_hash, purposes};
use crate::db::consent::{ConsentState, Purpose};
use crate::db::{self, DbConn};
use crate::error::AppResult;
use crate::service::people::find_visible;
use crate::service::privacy::keys::PointHasher;
use crate::service::{audit, Ctx};

fn fact(s: &ConsentState) -> Option<StateFact> {
    Some(StateFact {
        status: ConsentStatus::parse(&s.status)?,
        basis: LawfulBasis::parse(&s.lawful_basis)?,
        capture_method: s.capture_method.clone(),
        captured_at: s.captured_at,
        expires_at: s.expires_at,
    })
}

/// May this person (internal id) be contacted for `purpose` on `channel` at `address` now?
/// `address` is normalised here; `None` means the person's primary point for the channel.
/// This is the function campaigns call at send time.
pub fn may_contact(
    conn: &mut DbConn,
    points: &PointHasher,
    person_id: i64,
    purpose: &Purpose,
    channel: Channel,
    address: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<ContactDecision> {
    let person = db::people::find(conn, person_id)?;
    let ids = [person_id];
    let point = match (channel, address) {
        (Channel::Post, _) => String::new(),
        (_, Some(a)) => normalise_point(channel, a).unwrap_or_default(),
        (Channel::Email, None) => db::people::emails_of(conn, &ids)?
            .first()
            .map(|e| e.address_key.clone())
            .unwrap_or_default(),
        (_, None) => db::people::phones_of(conn, &ids)?
            .first()
            .map(|p| p.number.clone())
            .unwrap_or_default(),
    };
    let known = (channel == Channel::Post || !point.is_empty()) && person_has_point(conn, person_id, channel, &point)?;
    let suppressed = match point_hash(points, channel, &point) {
        Some(h) if !point.is_empty() => db::consent::is_suppressed(conn, &h)?,
        _ => false,
    };
    let states = db::consent::state_for(conn, person_id, purpose.id, channel.as_str())?;
    let facts = Facts {
        person_status: &person.status,
        category: Category::parse(&purpose.category).unwrap_or(Category::Marketing),
        default_basis: LawfulBasis::parse(&purpose.default_lawful_basis).unwrap_or(LawfulBasis::Consent),
        channel,
        address_known: known,
        suppressed,
        point: states
            .iter()
            .find(|s| !point.is_empty() && s.contact_point == point)
            .and_then(fact),
        channel_wide: states.iter().find(|s| s.contact_point.is_empty()).and_then(fact),
        now,
    };
    Ok(decide::decide(&facts))
}

/// A contact check request.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactCheckRequest {
    /// Purpose code.
    pub purpose: String,
    /// Channel.
    pub channel: Channel,
    /// Address to check; default the person's primary one for the channel.
    pub address: Option<String>,
}

/// `POST /people/{id}/contact-check`; audited as `consent.check` (it reads the person's consent).
pub fn check(
    conn: &mut DbConn,
    ctx: &Ctx,
    sink: &audit::AuditSink,
    points: &PointHasher,
    person_public_id: &str,
    req: &ContactCheckRequest,
) -> AppResult<ContactDecision> {
    let purpose = purposes::find(conn, &req.purpose, "purpose")?;
    let person = find_visible(conn, &ctx.principal, person_public_id)?;
    let decision = may_contact(
        conn,
        points,
        person.id,
        &purpose,
        req.channel,
        req.address.as_deref(),
        ctx.meta.now,
    )?;
    let detail =
        serde_json::json!({"purpose": purpose.code, "channel": req.channel.as_str(), "allowed": decision.allowed});
    sink.send(audit::event(
        &ctx.meta,
        Some(&ctx.principal),
        "consent.check",
        Some(("person", person_public_id)),
        "success",
        Some(detail),
    ));
    Ok(decision)
}
