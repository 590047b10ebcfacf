//! Message templates: stored, parsed and checked when saved (the sandboxed language of
//! [`crate::campaigns_core::template`], only the variables in [`VARIABLES`], an unsubscribe link in
//! both bodies), listed, and previewed against a sample recipient.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{audit_now, required_text, send, VARIABLES};
use crate::campaigns_core::template::{self, Mode};
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};
use crate::service::{new_public_id, Ctx};

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
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Counts changes; send it back as `If-Match: "v<version>"` when changing the template.
    pub version: i64,
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

/// A change to a template: what is left out stays as it was.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplateRequest {
    /// Name.
    pub name: Option<String>,
    /// Subject (a template too).
    pub subject: Option<String>,
    /// HTML body; must contain `{{ unsubscribe_url }}`.
    pub html_body: Option<String>,
    /// Plain-text body; must contain `{{ unsubscribe_url }}`.
    pub text_body: Option<String>,
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
        updated_at: t.updated_at.and_utc(),
        version: t.version,
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
                version: 1,
            },
        )?;
        audit_now(c, ctx, "template.create", "template", &t.public_id)?;
        Ok(template_view(&t))
    })
}

/// Change a template, while no campaign past its draft uses it (`if_match`: the version the
/// caller read). The result is checked as a new template is.
pub fn update_template(
    conn: &mut DbConn,
    ctx: &Ctx,
    public_id: &str,
    if_match: Option<i64>,
    req: &UpdateTemplateRequest,
) -> AppResult<TemplateView> {
    let name = req.name.as_deref().map(|n| required_text("name", n, 200)).transpose()?;
    write_tx(conn, |c| {
        let used = db::campaigns::Used::Template(find_template(c, public_id)?.id);
        db::campaigns::lock_used(c, used, true)?;
        let old = db::campaigns::template(c, used.id())?;
        super::may_change(c, used, old.version, if_match)?;
        let changes = db::campaigns::TemplateChanges {
            name: name.clone().unwrap_or_else(|| old.name.clone()),
            subject: req.subject.clone().unwrap_or_else(|| old.subject.clone()),
            html_body: req.html_body.clone().unwrap_or_else(|| old.html_body.clone()),
            text_body: req.text_body.clone().unwrap_or_else(|| old.text_body.clone()),
            updated_at: ctx.meta.now,
        };
        if (&changes.name, &changes.subject, &changes.html_body, &changes.text_body)
            == (&old.name, &old.subject, &old.html_body, &old.text_body)
        {
            return Ok(template_view(&old)); // Nothing changes: no new version, nothing to audit.
        }
        parse_template(&changes.subject, &changes.html_body, &changes.text_body)?;
        let t = db::campaigns::update_template(c, old.id, &changes)?;
        audit_now(c, ctx, "template.update", "template", &t.public_id)?;
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
