//! One-click unsubscribe (RFC 8058) and bounces.
//!
//! Policy:
//! - The token in `/u/{token}` is signed (HMAC, a key derived from the service's secret) and
//!   binds person, purpose and campaign; nothing else identifies the person, no cookie is needed.
//! - `GET` only shows a page with a confirm button (mail scanners follow links); `POST` withdraws
//!   consent for the token's purpose on email, as a ledger event (source `unsubscribe`, reference:
//!   the campaign), which every later message — including ones already queued — is checked
//!   against. Unsubscribing twice records it once.
//! - Bounces: a hard bounce marks the message `bounced` and puts the address on the suppression
//!   list; three soft bounces of one person's address do the same.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::campaigns_core::bounce::{self, BounceKind};
use crate::campaigns_core::template::escape_html;
use crate::campaigns_core::token::{self, UnsubscribeClaims};
use crate::db::consent::ConsentEvent;
use crate::db::schema::{consent_events, outbox};
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::service::consent::types::Channel;
use crate::service::consent::{append, point_hash};
use crate::service::new_public_id;
use crate::service::privacy::keys::PointHasher;

/// Soft bounces of one person's messages that suppress their address.
const SOFT_BOUNCE_LIMIT: i64 = 3;

fn claims(points: &PointHasher, token: &str) -> AppResult<UnsubscribeClaims> {
    token::verify(&super::send::token_key(points), token).map_err(|_| AppError::NotFound)
}

/// The confirmation page for `GET /u/{token}`: changes nothing.
pub fn page(conn: &mut DbConn, points: &PointHasher, token: &str) -> AppResult<String> {
    let c = claims(points, token)?;
    let purpose = description(conn, &c.purpose)?;
    Ok(html_page(&format!(
        "<h1>Unsubscribe</h1><p>Stop emails about: <strong>{}</strong>?</p>\
         <form method=\"post\"><input type=\"hidden\" name=\"{PAGE_FIELD}\" value=\"page\">\
         <button type=\"submit\">Unsubscribe</button></form>",
        escape_html(&purpose)
    )))
}

/// The field the confirmation page's form posts, so that its answer is a page too (a mail
/// client's one-click request, RFC 8058, gets JSON).
pub const PAGE_FIELD: &str = "from";

/// The page after the confirmation page's button: what was done, in words.
pub fn done_page(conn: &mut DbConn, done: &Unsubscribed) -> AppResult<String> {
    let purpose = description(conn, &done.purpose)?;
    let said = if done.recorded {
        "You are unsubscribed. You will get no more emails about"
    } else {
        "You had already unsubscribed from emails about"
    };
    Ok(html_page(&format!(
        "<h1>Unsubscribed</h1><p>{said}: <strong>{}</strong>.</p>",
        escape_html(&purpose)
    )))
}

fn description(conn: &mut DbConn, code: &str) -> AppResult<String> {
    Ok(db::consent::find_purpose(conn, code)?
        .map(|p| p.description)
        .unwrap_or_else(|| code.to_string()))
}

fn html_page(body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Unsubscribe</title></head><body style=\"font-family: sans-serif; max-width: 36rem; margin: 3rem auto\">\
         {body}</body></html>"
    )
}

/// What an unsubscribe did.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Unsubscribed {
    /// The purpose unsubscribed from.
    pub purpose: String,
    /// False when it had already been recorded.
    pub recorded: bool,
}

/// The evidence an unsubscribe records: it names the record the message went to, so that an
/// unmerge can give the withdrawal back to that record (see `identity::merge::restore_merged`).
pub fn unsubscribe_evidence(record: &str) -> String {
    format!("List-Unsubscribe one-click or the link in the message to record {record}")
}

/// `POST /u/{token}`: withdraw consent for the token's purpose on email.
pub fn unsubscribe(
    conn: &mut DbConn,
    points: &PointHasher,
    token: &str,
    now: NaiveDateTime,
) -> AppResult<Unsubscribed> {
    let c = claims(points, token)?;
    write_tx(conn, |x| {
        let purpose = db::consent::find_purpose(x, &c.purpose)?;
        // The message went to this record; if it has since been merged, the survivor is who
        // would be written to next.
        let person = match db::people::find_by_public_id(x, &c.person)? {
            Some(p) => db::people::live_locked(x, p.id, db::people::Lock::KeyShare)?,
            None => None,
        };
        let (Some(purpose), Some(person)) = (purpose, person) else {
            // Erased or gone: nothing left to contact.
            return Ok(Unsubscribed {
                purpose: c.purpose.clone(),
                recorded: false,
            });
        };
        let already: i64 = consent_events::table
            .filter(consent_events::person_id.eq(person.id))
            .filter(consent_events::purpose_id.eq(purpose.id))
            .filter(consent_events::source.eq("unsubscribe"))
            .filter(consent_events::source_ref.eq(&c.campaign))
            .count()
            .get_result(x)?;
        if already > 0 {
            return Ok(Unsubscribed {
                purpose: c.purpose.clone(),
                recorded: false,
            });
        }
        append(
            x,
            ConsentEvent {
                id: 0,
                public_id: new_public_id(),
                person_id: person.id,
                purpose_id: purpose.id,
                channel: Channel::Email.as_str().into(),
                contact_point: String::new(),
                status: "withdrawn".into(),
                lawful_basis: purpose.default_lawful_basis.clone(),
                source: "unsubscribe".into(),
                source_ref: Some(c.campaign.clone()),
                wording_version: None,
                capture_method: "one_click_unsubscribe".into(),
                evidence: Some(unsubscribe_evidence(&c.person)),
                captured_at: now,
                recorded_at: now,
                recorded_by: None,
                expires_at: None,
            },
        )?;
        if let Some(campaign) = db::campaigns::find_campaign(x, &c.campaign)? {
            db::engagement::insert_events(
                x,
                &[db::engagement::Engagement {
                    id: 0,
                    public_id: new_public_id(),
                    person_id: person.id,
                    activity_id: None,
                    shift_id: None,
                    kind: "communication".into(),
                    action: "unsubscribed".into(),
                    occurred_at: now,
                    department_id: campaign.department_id,
                    source: "campaign".into(),
                    external_ref: Some(format!("unsubscribe:{}:{}", campaign.public_id, person.public_id)),
                    hours: None,
                    response_ref: None,
                    detail: Some(format!("campaign {}", campaign.public_id)),
                    recorded_at: now,
                    recorded_by: None,
                }],
            )?;
        }
        Ok(Unsubscribed {
            purpose: c.purpose.clone(),
            recorded: true,
        })
    })
}

/// Unsubscribes through one campaign's links.
pub fn count_for_campaign(conn: &mut DbConn, campaign_public_id: &str) -> AppResult<i64> {
    Ok(consent_events::table
        .filter(consent_events::source.eq("unsubscribe"))
        .filter(consent_events::source_ref.eq(campaign_public_id))
        .count()
        .get_result(conn)?)
}

/// What feeding bounce notices did.
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct BounceReport {
    /// Bounces found in the notice.
    pub bounces: usize,
    /// Of which matched to a message we sent.
    pub matched: usize,
    /// Addresses added to the suppression list.
    pub suppressed: usize,
}

/// Read a bounce notice (a DSN or a plain-text bounce) and act on it; audited as
/// `bounces.record` with what it found and how many addresses it suppressed.
pub fn record_bounces(
    conn: &mut DbConn,
    ctx: &crate::service::Ctx,
    points: &PointHasher,
    raw: &str,
) -> AppResult<BounceReport> {
    let now = ctx.meta.now;
    let found = bounce::parse_bounces(raw);
    if found.is_empty() {
        return Err(AppError::field(
            "body",
            "not_a_bounce",
            "No bounced recipient was found in this message.",
        ));
    }
    let mut report = BounceReport {
        bounces: found.len(),
        ..BounceReport::default()
    };
    write_tx(conn, |c| {
        for b in &found {
            let row = match &b.campaign_ref {
                Some(r) => db::campaigns::find_message(c, r)?,
                None => None,
            };
            let detail = format!(
                "{} {} {}",
                b.kind.as_str(),
                b.status,
                b.diagnostic.clone().unwrap_or_default()
            );
            let mut suppress = b.kind == BounceKind::Hard;
            if let Some(row) = &row {
                report.matched += 1;
                db::campaigns::mark_bounced(c, row.id, &detail, now)?;
                if b.kind == BounceKind::Soft {
                    let soft: i64 = outbox::table
                        .filter(outbox::person_id.eq(row.person_id))
                        .filter(outbox::status.eq("bounced"))
                        .filter(outbox::last_error.like("soft%"))
                        .count()
                        .get_result(c)?;
                    suppress = soft >= SOFT_BOUNCE_LIMIT;
                }
            }
            if suppress {
                let key = crate::service::consent::normalise_point(Channel::Email, &b.recipient).ok();
                if let Some(hash) = key.and_then(|k| point_hash(points, Channel::Email, &k)) {
                    db::consent::suppress(c, &hash, "email", "bounce", now)?;
                    report.suppressed += 1;
                }
            }
        }
        let detail =
            serde_json::json!({"bounces": report.bounces, "matched": report.matched, "suppressed": report.suppressed});
        crate::service::audit::record(
            c,
            crate::service::audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "bounces.record",
                None,
                "success",
                Some(detail),
            ),
        )
    })?;
    Ok(report)
}
