//! The catalogue of purposes and the wording versions people were shown.

use serde::{Deserialize, Serialize};

use super::types::{Category, LawfulBasis};
use crate::db::consent::{NewPurpose, Purpose, Wording};
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::normalize::text::clean_text;
use crate::service::{audit, Ctx};

/// A wording version.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WordingView {
    /// Version number (events record which one the person saw).
    pub version: i32,
    /// The text shown.
    pub text: String,
    /// When this version was added.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A purpose.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PurposeView {
    /// Code.
    pub code: String,
    /// Description.
    pub description: String,
    /// Category.
    pub category: Category,
    /// Default lawful basis.
    pub default_lawful_basis: LawfulBasis,
    /// The law that gives the task or the obligation (public task and legal obligation only).
    pub statutory_reference: Option<String>,
    /// Wording versions, oldest first.
    pub wordings: Vec<WordingView>,
}

/// Create a purpose.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPurposeRequest {
    /// 2–40 lower-case letters, digits or `_`.
    pub code: String,
    /// What contact for this purpose is.
    pub description: String,
    /// Service or marketing.
    pub category: Category,
    /// Basis used when an event does not name one.
    pub default_lawful_basis: LawfulBasis,
    /// The law that gives the task or the obligation, e.g. "Local Government Act 1972, s. 111":
    /// required with `public_task` or `legal_obligation` (UK GDPR Art. 6(3)), refused otherwise.
    pub statutory_reference: Option<String>,
    /// The first wording shown to people, if any.
    pub wording: Option<String>,
}

/// Change a purpose.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePurposeRequest {
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<Category>,
    /// New default basis.
    pub default_lawful_basis: Option<LawfulBasis>,
    /// New statutory reference (see [`NewPurposeRequest::statutory_reference`]); changing the
    /// basis to one that needs none drops it.
    pub statutory_reference: Option<String>,
}

/// Add a wording version.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWordingRequest {
    /// The text people will be shown.
    pub text: String,
}

fn view(p: Purpose, wordings: &[Wording]) -> PurposeView {
    PurposeView {
        category: Category::parse(&p.category).unwrap_or(Category::Marketing),
        default_lawful_basis: LawfulBasis::parse(&p.default_lawful_basis).unwrap_or(LawfulBasis::Consent),
        wordings: wordings
            .iter()
            .filter(|w| w.purpose_id == p.id)
            .map(|w| WordingView {
                version: w.version,
                text: w.text.clone(),
                created_at: w.created_at.and_utc(),
            })
            .collect(),
        code: p.code,
        description: p.description,
        statutory_reference: p.statutory_reference,
    }
}

/// The statutory reference a purpose with `basis` keeps: required for public task and legal
/// obligation (UK GDPR Art. 6(3): the task or obligation is laid down by law), refused for
/// the others.
fn statutory_reference(basis: LawfulBasis, given: Option<&str>, kept: Option<&str>) -> AppResult<Option<String>> {
    let needs = matches!(basis, LawfulBasis::PublicTask | LawfulBasis::LegalObligation);
    match (needs, given.map(str::trim), kept) {
        (true, Some(r), _) => clean_text(r, 300)
            .map(Some)
            .map_err(|e| AppError::field("statutory_reference", e.code, e.message)),
        (true, None, Some(k)) => Ok(Some(k.to_string())),
        (true, None, None) => Err(AppError::field(
            "statutory_reference",
            "required",
            "A public task or legal obligation basis names the law behind it, e.g. \"Local Government Act 1972, s. 111\".",
        )),
        (false, Some(_), _) => Err(AppError::field(
            "statutory_reference",
            "not_applicable",
            "Only a public task or legal obligation basis names a law.",
        )),
        (false, None, _) => Ok(None),
    }
}

/// Every purpose with its wordings.
pub fn list(conn: &mut DbConn) -> AppResult<Vec<PurposeView>> {
    let purposes = db::consent::list_purposes(conn)?;
    let ids: Vec<i64> = purposes.iter().map(|p| p.id).collect();
    let wordings = db::consent::wordings_of(conn, &ids)?;
    Ok(purposes.into_iter().map(|p| view(p, &wordings)).collect())
}

/// A purpose by code, or a field error naming `field`.
pub fn find(conn: &mut DbConn, code: &str, field: &str) -> AppResult<Purpose> {
    db::consent::find_purpose(conn, code)?
        .ok_or_else(|| AppError::field(field, "unknown_purpose", format!("There is no purpose `{code}`.")))
}

fn one(conn: &mut DbConn, p: Purpose) -> AppResult<PurposeView> {
    let wordings = db::consent::wordings_of(conn, &[p.id])?;
    Ok(view(p, &wordings))
}

fn check_code(code: &str) -> AppResult<()> {
    let ok = (2..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(AppError::field(
            "code",
            "invalid_code",
            "Use 2–40 lower-case letters, digits or `_`.",
        ))
    }
}

/// Create a purpose (administrators).
pub fn create(conn: &mut DbConn, ctx: &Ctx, req: &NewPurposeRequest) -> AppResult<PurposeView> {
    check_code(&req.code)?;
    let description =
        clean_text(&req.description, 500).map_err(|e| AppError::field("description", e.code, e.message))?;
    let wording = req
        .wording
        .as_deref()
        .map(|w| clean_wording(w, "wording"))
        .transpose()?;
    let reference = statutory_reference(req.default_lawful_basis, req.statutory_reference.as_deref(), None)?;
    let now = ctx.meta.now;
    write_tx(conn, |c| {
        let new = NewPurpose {
            code: &req.code,
            description: &description,
            category: req.category.as_str(),
            default_lawful_basis: req.default_lawful_basis.as_str(),
            created_at: now,
            updated_at: now,
            statutory_reference: reference.as_deref(),
        };
        let p = db::unique_or(
            c,
            |c| db::consent::insert_purpose(c, &new),
            || AppError::conflict("duplicate_purpose", format!("A purpose `{}` exists.", req.code)),
        )?;
        if let Some(text) = &wording {
            db::consent::add_wording(c, p.id, text, now)?;
        }
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "purpose.create",
                Some(("purpose", &p.code)),
                "success",
                None,
            ),
        )?;
        one(c, p)
    })
}

fn clean_wording(text: &str, field: &str) -> AppResult<String> {
    let t = text.trim();
    if t.is_empty()
        || t.chars().count() > 10_000
        || t.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(AppError::field(
            field,
            "invalid_text",
            "Give the wording as 1–10,000 characters of text.",
        ));
    }
    Ok(t.to_string())
}

/// Change a purpose.
pub fn update(conn: &mut DbConn, ctx: &Ctx, code: &str, req: &UpdatePurposeRequest) -> AppResult<PurposeView> {
    let description = req
        .description
        .as_deref()
        .map(|d| clean_text(d, 500).map_err(|e| AppError::field("description", e.code, e.message)))
        .transpose()?;
    write_tx(conn, |c| {
        let p = db::consent::find_purpose(c, code)?.ok_or(AppError::NotFound)?;
        let category = req.category.map(Category::as_str).unwrap_or(&p.category).to_string();
        let basis = req
            .default_lawful_basis
            .or_else(|| LawfulBasis::parse(&p.default_lawful_basis))
            .unwrap_or(LawfulBasis::Consent);
        let reference = statutory_reference(
            basis,
            req.statutory_reference.as_deref(),
            p.statutory_reference.as_deref(),
        )?;
        let p = db::consent::update_purpose(
            c,
            p.id,
            description.as_deref().unwrap_or(&p.description),
            &category,
            basis.as_str(),
            reference.as_deref(),
            ctx.meta.now,
        )?;
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "purpose.update",
                Some(("purpose", code)),
                "success",
                None,
            ),
        )?;
        one(c, p)
    })
}

/// Add the next wording version.
pub fn add_wording(conn: &mut DbConn, ctx: &Ctx, code: &str, req: &NewWordingRequest) -> AppResult<PurposeView> {
    let text = clean_wording(&req.text, "text")?;
    write_tx(conn, |c| {
        let p = db::consent::find_purpose(c, code)?.ok_or(AppError::NotFound)?;
        // Two wordings added at once on PostgreSQL both take the next version.
        let w = db::unique_or(
            c,
            |c| db::consent::add_wording(c, p.id, &text, ctx.meta.now),
            || {
                AppError::conflict(
                    "wording_conflict",
                    "Another wording was added at the same moment; try again.",
                )
            },
        )?;
        let ev = audit::event(
            &ctx.meta,
            Some(&ctx.principal),
            "purpose.wording_add",
            Some(("purpose", code)),
            "success",
            Some(serde_json::json!({"version": w.version})),
        );
        audit::record(c, ev)?;
        one(c, p)
    })
}
