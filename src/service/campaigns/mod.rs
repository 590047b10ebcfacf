//! Targeted communications: templates, campaigns (draft → approved → sending → sent, or
//! cancelled), the outbox, unsubscribes and bounces. Segments are in [`segments`], sending in
//! [`send`].
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
pub mod unsubscribe;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::campaigns_core::template::{self, Mode};
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};
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

// ---------------------------------------------------------------------------------------------
// Templates

/// A template as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TemplateView {
    /// Public id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Subject template.
    pub subject: String,
    /// HTML body template.
    pub html_body: String,
    /// Plain-text body template.
    pub text_body: String,
    /// Variables used.
    pub variables: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A new template.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplateRequest {
    /// Name.
    pub name: String,
    /// Subject (a template too).
    pub subject: String,
    /// HTML body; must contain `{{ unsubscribe_url }}`.
    pub html_body: String,
    /// Plain-text body; must contain `{{ unsubscribe_url }}`.
    pub text_body: String,
}

/// Render a template for a person.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePreviewRequest {
    /// The person (public id) whose fields fill it in.
    pub person: String,
    /// Sender name to show (default "Sender").
    pub sender_name: Option<String>,
}

/// A rendered template.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RenderedMessage {
    /// Subject.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text body.
    pub text: String,
}

/// The three parsed parts of a template.
pub struct Parsed {
    subject: template::Template,
    html: template::Template,
    text: template::Template,
}

impl Parsed {
    /// Render all three with the given variables.
    pub fn render(&self, vars: &dyn Fn(&str) -> Option<String>) -> RenderedMessage {
        RenderedMessage {
            subject: self.subject.render(vars, Mode::Header),
            html: self.html.render(vars, Mode::Html),
            text: self.text.render(vars, Mode::Text),
        }
    }
}

/// Parse a template's parts, with every fault as a field error.
pub fn parse_template(subject: &str, html: &str, text: &str) -> AppResult<Parsed> {
    let mut errors = Vec::new();
    let mut part = |field: &str, source: &str, needs_link: bool| match template::parse(source, VARIABLES) {
        Ok(t) => {
            if needs_link && !t.uses("unsubscribe_url") {
                errors.push(FieldError::new(
                    field,
                    "unsubscribe_link_required",
                    "Every message needs a visible unsubscribe link: add {{ unsubscribe_url }}.",
                ));
            }
            Some(t)
        }
        Err(es) => {
            errors.extend(
                es.into_iter()
                    .map(|e| FieldError::new(field, "invalid_template", e.to_string())),
            );
            None
        }
    };
    let s = part("subject", subject, false);
    let h = part("html_body", html, true);
    let t = part("text_body", text, true);
    match (s, h, t) {
        (Some(subject), Some(html), Some(text)) if errors.is_empty() => Ok(Parsed { subject, html, text }),
        _ => Err(AppError::Validation(errors)),
    }
}

fn template_view(t: &db::campaigns::Template) -> TemplateView {
    let mut variables: Vec<String> = [&t.subject, &t.html_body, &t.text_body]
        .iter()
        .filter_map(|s| template::parse(s, VARIABLES).ok())
        .flat_map(|p| p.variables())
        .collect();
    variables.sort();
    variables.dedup();
    TemplateView {
        id: t.public_id.clone(),
        name: t.name.clone(),
        subject: t.subject.clone(),
        html_body: t.html_body.clone(),
        text_body: t.text_body.clone(),
        variables,
        created_at: t.created_at.and_utc(),
    }
}

/// Save a template.
pub fn create_template(conn: &mut DbConn, ctx: &Ctx, req: &NewTemplateRequest) -> AppResult<TemplateView> {
    let name = required_text("name", &req.name, 200)?;
    parse_template(&req.subject, &req.html_body, &req.text_body)?;
    let now = ctx.meta.now;
    write_tx(conn, |c| {
        let t = db::campaigns::insert_template(
            c,
            &db::campaigns::Template {
                id: 0,
                public_id: new_public_id(),
                name,
                subject: req.subject.clone(),
                html_body: req.html_body.clone(),
                text_body: req.text_body.clone(),
                created_by: ctx.principal.user_id,
                created_at: now,
                updated_at: now,
            },
        )?;
        audit_now(c, ctx, "template.create", "template", &t.public_id)?;
        Ok(template_view(&t))
    })
}

/// Every template.
pub fn list_templates(conn: &mut DbConn) -> AppResult<Vec<TemplateView>> {
    Ok(db::campaigns::list_templates(conn)?.iter().map(template_view).collect())
}

fn find_template(conn: &mut DbConn, public_id: &str) -> AppResult<db::campaigns::Template> {
    db::campaigns::find_template(conn, public_id)?.ok_or(AppError::NotFound)
}

/// One template.
pub fn get_template(conn: &mut DbConn, public_id: &str) -> AppResult<TemplateView> {
    Ok(template_view(&find_template(conn, public_id)?))
}

/// Render a template for one person (a placeholder unsubscribe link).
pub fn preview_template(
    conn: &mut DbConn,
    ctx: &Ctx,
    public_id: &str,
    req: &TemplatePreviewRequest,
) -> AppResult<RenderedMessage> {
    let t = find_template(conn, public_id)?;
    let parsed = parse_template(&t.subject, &t.html_body, &t.text_body)?;
    let person = crate::service::people::find_visible(conn, &ctx.principal, &req.person)?;
    let fields = send::person_fields(conn, &person)?;
    let sender = req.sender_name.clone().unwrap_or_else(|| "Sender".into());
    let rendered = parsed.render(&|k| match k {
        "sender_name" => Some(sender.clone()),
        "campaign_name" => Some(t.name.clone()),
        "unsubscribe_url" => Some("https://example.invalid/u/preview".into()),
        _ => fields.get(k).cloned(),
    });
    audit_now(conn, ctx, "template.preview", "person", &req.person)?;
    Ok(rendered)
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
    /// Address (default: the signed-in user's own).
    pub to: Option<String>,
    /// The person whose fields fill the template (default: placeholders).
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
