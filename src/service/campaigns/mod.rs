//! Targeted communications: templates, campaigns (draft → approved → sending → sent, or
//! cancelled), the outbox, unsubscribes and bounces. Templates are in `templates` (re-exported
//! here), segments in [`segments`], sending in [`send`].
//!
//! Policy:
//! - **Approval**: a campaign whose audience (counted at approval) exceeds
//!   `campaigns.approval_threshold` must be approved by a campaigns manager or administrator other
//!   than its author; a smaller one may be approved by its author.
//! - **Start** fixes the audience: one outbox row per person the segment selects, in one
//!   transaction. Whether a person may be contacted is decided **at send time**, per message,
//!   by the consent ledger's one decision function (and the suppression list): someone who
//!   unsubscribes after queuing is skipped, with the reason recorded.
//! - **Templates** are sandboxed ([`crate::campaigns_core::template`]): they see only the
//!   recipient's own fields listed in [`VARIABLES`], HTML is escaped by default, and both bodies
//!   must contain `{{ unsubscribe_url }}`.

pub mod segments;
pub mod send;
mod templates;
pub mod unsubscribe;

pub use templates::{
    create_template, get_template, list_templates, parse_template, preview_template, update_template,
    NewTemplateRequest, Parsed, RenderedMessage, TemplatePreviewRequest, TemplateView, UpdateTemplateRequest,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::normalize::text::clean_text;
use crate::service::audit;
use crate::service::{new_public_id, Ctx};

/// What a template may use: the recipient's own fields and the campaign's.
pub const VARIABLES: &[&str] = &[
    "title",
    "given_name",
    "family_name",
    "preferred_name",
    "full_name",
    "email",
    "postcode",
    "organisation",
    "sender_name",
    "campaign_name",
    "unsubscribe_url",
];

/// A trimmed, cleaned, non-empty text of at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::field(field, "required", "This cannot be empty."));
    }
    clean_text(v, max).map_err(|e| AppError::field(field, e.code, e.message))
}

fn audit_now(conn: &mut DbConn, ctx: &Ctx, action: &str, kind: &str, id: &str) -> AppResult<()> {
    audit::record(
        conn,
        audit::event(
            &ctx.meta,
            Some(&ctx.principal),
            action,
            Some((kind, id)),
            "success",
            None,
        ),
    )
}

/// Before a segment or template changes (inside the change's transaction, with the row locked
/// by [`db::campaigns::lock_used`] and `version` read after): hold the caller to the version they
/// saw (`If-Match`), and refuse while a campaign past its draft uses it — what was approved,
/// queued or sent must stay what it was (the audit of a campaign names its segment and
/// template), so such a change is a new segment or template.
fn may_change(conn: &mut DbConn, used: db::campaigns::Used, version: i64, if_match: Option<i64>) -> AppResult<()> {
    if if_match.is_some_and(|v| v != version) {
        return Err(AppError::PreconditionFailed(format!(
            "It has changed since you read it (now version {version}): read it again."
        )));
    }
    if db::campaigns::used_past_draft(conn, used)? {
        let what = match used {
            db::campaigns::Used::Segment(_) => "segment",
            db::campaigns::Used::Template(_) => "template",
        };
        return Err(AppError::Conflict {
            code: "in_use",
            detail: format!(
                "A campaign past its draft (approved, sending, sent or cancelled) uses this {what}, so it can no longer change: save a new {what} instead."
            ),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Campaigns

/// A campaign as the API shows it, with its numbers.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CampaignView {
    /// Public id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Segment (public id).
    pub segment: String,
    /// Template (public id).
    pub template: String,
    /// Purpose code.
    pub purpose: String,
    /// Owning department code.
    pub department: String,
    /// Channel.
    pub channel: String,
    /// Sender identity.
    pub sender_name: String,
    /// draft / approved / sending / sent / cancelled.
    pub status: String,
    /// People in the audience when it started.
    pub audience_size: Option<i64>,
    /// Approved (when).
    pub approved_at: Option<DateTime<Utc>>,
    /// Started.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Outcome counts.
    pub stats: CampaignStats,
}

/// A campaign's outcome counts.
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct CampaignStats {
    /// Waiting to be sent (including retries).
    pub queued: i64,
    /// Being sent now.
    pub sending: i64,
    /// Sent.
    pub sent: i64,
    /// Not sent, by reason (no_consent, withdrawn, suppressed, no_address, restricted, …).
    pub skipped: std::collections::BTreeMap<String, i64>,
    /// Gave up after errors.
    pub failed: i64,
    /// Bounced after sending.
    pub bounced: i64,
    /// Cancelled before sending.
    pub cancelled: i64,
    /// Recipients who unsubscribed through this campaign's link.
    pub unsubscribed: i64,
}

/// A new campaign.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaignRequest {
    /// Name.
    pub name: String,
    /// Segment (public id).
    pub segment: String,
    /// Template (public id).
    pub template: String,
    /// Purpose code: consent is checked for it.
    pub purpose: String,
    /// Owning department code.
    pub department: String,
    /// Channel: `email`.
    pub channel: Option<String>,
    /// Sender identity, e.g. a Member's name.
    pub sender_name: String,
}

/// Who to send a test to.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSendRequest {
    /// Address (default: the signed-in user's own; with `person`, only one's own).
    pub to: Option<String>,
    /// The person whose fields fill the template (default: placeholders); the message then goes
    /// only to the signed-in user's own address, and the person's audit trail lists it.
    pub person: Option<String>,
}

fn campaign_view(conn: &mut DbConn, c: &db::campaigns::Campaign) -> AppResult<CampaignView> {
    let segment = db::campaigns::segment(conn, c.segment_id)?;
    let template = db::campaigns::template(conn, c.template_id)?;
    let purpose = db::consent::purpose(conn, c.purpose_id)?.code;
    let department = db::departments::list(conn)?
        .into_iter()
        .find(|d| d.id == c.department_id)
        .map(|d| d.code)
        .unwrap_or_default();
    let mut stats = CampaignStats::default();
    for (status, reason, n) in db::campaigns::outbox_counts(conn, c.id)? {
        match status.as_str() {
            "queued" => stats.queued += n,
            "sending" => stats.sending += n,
            "sent" => stats.sent += n,
            "failed" => stats.failed += n,
            "bounced" => stats.bounced += n,
            "cancelled" => stats.cancelled += n,
            _ => {
                *stats
                    .skipped
                    .entry(reason.unwrap_or_else(|| "other".into()))
                    .or_default() += n
            }
        }
    }
    stats.unsubscribed = unsubscribe::count_for_campaign(conn, &c.public_id)?;
    Ok(CampaignView {
        id: c.public_id.clone(),
        name: c.name.clone(),
        segment: segment.public_id,
        template: template.public_id,
        purpose,
        department,
        channel: c.channel.clone(),
        sender_name: c.sender_name.clone(),
        status: c.status.clone(),
        audience_size: c.audience_size,
        approved_at: c.approved_at.map(|t| t.and_utc()),
        started_at: c.started_at.map(|t| t.and_utc()),
        finished_at: c.finished_at.map(|t| t.and_utc()),
        stats,
    })
}

/// Draft a campaign.
pub fn create(conn: &mut DbConn, ctx: &Ctx, req: &NewCampaignRequest) -> AppResult<CampaignView> {
    let name = required_text("name", &req.name, 200)?;
    let sender_name = required_text("sender_name", &req.sender_name, 100)?;
    if req.channel.as_deref().is_some_and(|c| c != "email") {
        return Err(AppError::field(
            "channel",
            "unsupported_channel",
            "Campaigns send email.",
        ));
    }
    let segment = db::campaigns::find_segment(conn, &req.segment)?
        .ok_or_else(|| AppError::field("segment", "unknown_segment", "There is no such segment."))?;
    let template = db::campaigns::find_template(conn, &req.template)?
        .ok_or_else(|| AppError::field("template", "unknown_template", "There is no such template."))?;
    let purpose = db::consent::find_purpose(conn, &req.purpose)?
        .ok_or_else(|| AppError::field("purpose", "unknown_purpose", "There is no such purpose."))?;
    let department = db::departments::list(conn)?
        .into_iter()
        .find(|d| d.code == req.department)
        .ok_or_else(|| AppError::field("department", "unknown_department", "There is no such department."))?;
    let now = ctx.meta.now;
    write_tx(conn, |c| {
        let row = db::campaigns::insert_campaign(
            c,
            &db::campaigns::Campaign {
                id: 0,
                public_id: new_public_id(),
                name,
                segment_id: segment.id,
                template_id: template.id,
                purpose_id: purpose.id,
                department_id: department.id,
                channel: "email".into(),
                sender_name,
                status: "draft".into(),
                audience_size: None,
                created_by: ctx.principal.user_id,
                approved_by: None,
                approved_at: None,
                started_at: None,
                finished_at: None,
                created_at: now,
                updated_at: now,
            },
        )?;
        audit_now(c, ctx, "campaign.create", "campaign", &row.public_id)?;
        campaign_view(c, &row)
    })
}

fn find(conn: &mut DbConn, public_id: &str) -> AppResult<db::campaigns::Campaign> {
    db::campaigns::find_campaign(conn, public_id)?.ok_or(AppError::NotFound)
}

/// One campaign with its numbers.
pub fn get(conn: &mut DbConn, public_id: &str) -> AppResult<CampaignView> {
    let c = find(conn, public_id)?;
    campaign_view(conn, &c)
}

/// Campaigns, newest first.
pub fn list(conn: &mut DbConn) -> AppResult<Vec<CampaignView>> {
    let rows = db::campaigns::list_campaigns(conn, 200, 0)?;
    rows.iter().map(|c| campaign_view(conn, c)).collect()
}

fn expect_status(c: &db::campaigns::Campaign, allowed: &[&str], action: &str) -> AppResult<()> {
    if allowed.contains(&c.status.as_str()) {
        Ok(())
    } else {
        Err(AppError::Conflict {
            code: "campaign_status",
            detail: format!("A campaign that is {} cannot be {action}.", c.status),
        })
    }
}

/// Approve a draft (a second person above the threshold).
pub fn approve(conn: &mut DbConn, ctx: &Ctx, public_id: &str, threshold: i64) -> AppResult<CampaignView> {
    let c = find(conn, public_id)?;
    expect_status(&c, &["draft"], "approved")?;
    let segment = db::campaigns::segment(conn, c.segment_id)?;
    let audience = segments::evaluate(conn, &segments::stored_expr(&segment)?, ctx.meta.now)?.len() as i64;
    if audience > threshold && c.created_by == ctx.principal.user_id {
        return Err(AppError::Forbidden(format!(
            "This campaign would reach {audience} people, more than {threshold}: someone other than its author must approve it."
        )));
    }
    write_tx(conn, |x| {
        // Approval is of the audience counted above and of the template as it is: both are held
        // against a change until this commits, and a segment changed since the count is
        // counted again by the approver.
        db::campaigns::lock_used(x, db::campaigns::Used::Segment(c.segment_id), false)?;
        db::campaigns::lock_used(x, db::campaigns::Used::Template(c.template_id), false)?;
        if db::campaigns::segment(x, c.segment_id)?.version != segment.version {
            return Err(AppError::conflict(
                "segment_changed",
                "The campaign's segment changed while it was being approved: approve it again.",
            ));
        }
        expect_status(&db::campaigns::campaign(x, c.id)?, &["draft"], "approved")?;
        db::campaigns::set_campaign_status(x, c.id, "approved", Some(ctx.principal.user_id), None, ctx.meta.now)?;
        audit_now(x, ctx, "campaign.approve", "campaign", public_id)?;
        let c = db::campaigns::campaign(x, c.id)?;
        campaign_view(x, &c)
    })
}

/// Start an approved campaign: fix its audience in the outbox.
pub fn start(conn: &mut DbConn, ctx: &Ctx, public_id: &str) -> AppResult<CampaignView> {
    let c = find(conn, public_id)?;
    expect_status(&c, &["approved"], "started")?;
    let segment = db::campaigns::segment(conn, c.segment_id)?;
    let expr = segments::stored_expr(&segment)?;
    let now = ctx.meta.now;
    write_tx(conn, |x| {
        // Re-read inside the transaction: two starts at once queue once.
        let fresh = db::campaigns::campaign(x, c.id)?;
        expect_status(&fresh, &["approved"], "started")?;
        let audience = segments::evaluate(x, &expr, now)?;
        let rows: Vec<db::campaigns::OutboxRow> = audience
            .iter()
            .map(|&person_id| db::campaigns::OutboxRow {
                id: 0,
                campaign_id: c.id,
                person_id,
                message_ref: crate::service::new_ordered_public_id(),
                status: "queued".into(),
                skip_reason: None,
                attempts: 0,
                next_attempt_at: now,
                claimed_by: None,
                claimed_until: None,
                last_error: None,
                sent_at: None,
                updated_at: now,
            })
            .collect();
        db::campaigns::insert_outbox(x, &rows)?;
        db::campaigns::set_campaign_status(x, c.id, "sending", None, Some(audience.len() as i64), now)?;
        audit_now(x, ctx, "campaign.start", "campaign", public_id)?;
        let c = db::campaigns::campaign(x, c.id)?;
        campaign_view(x, &c)
    })
}

/// Cancel a campaign: nothing more is sent.
pub fn cancel(conn: &mut DbConn, ctx: &Ctx, public_id: &str) -> AppResult<CampaignView> {
    let c = find(conn, public_id)?;
    expect_status(&c, &["draft", "approved", "sending"], "cancelled")?;
    write_tx(conn, |x| {
        db::campaigns::cancel_outbox(x, c.id, ctx.meta.now)?;
        db::campaigns::set_campaign_status(x, c.id, "cancelled", None, None, ctx.meta.now)?;
        audit_now(x, ctx, "campaign.cancel", "campaign", public_id)?;
        let c = db::campaigns::campaign(x, c.id)?;
        campaign_view(x, &c)
    })
}
