//! Saved mapping templates: a department's named column choices (mapping and consent columns),
//! saved with a dry run (`save_template`) and offered again for the next list of the same shape.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::upload::department_for;
use super::{to_columns, ConsentColumn, MappingColumn};
use crate::db::schema::import_templates;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::import_core::Mapping;
use crate::service::Ctx;

/// Which department's templates.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    /// Department code (one of yours).
    pub department: String,
}

/// A saved template.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TemplateView {
    /// Its name (give it as `template` when uploading).
    pub name: String,
    /// Department code.
    pub department: String,
    /// The column choices.
    pub mapping: Vec<MappingColumn>,
    /// The consent column declarations.
    pub consents: BTreeMap<String, ConsentColumn>,
    /// Last saved.
    pub updated_at: DateTime<Utc>,
}

/// The department's templates, by name.
pub fn list(conn: &mut DbConn, ctx: &Ctx, q: &TemplateQuery) -> AppResult<Vec<TemplateView>> {
    let department_id = department_for(conn, ctx, &q.department)?;
    let rows: Vec<(String, String, String, chrono::NaiveDateTime)> = import_templates::table
        .filter(import_templates::department_id.eq(department_id))
        .select((
            import_templates::name,
            import_templates::mapping,
            import_templates::consents,
            import_templates::updated_at,
        ))
        .order(import_templates::name)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(name, mapping, consents, at)| {
            let mapping: Mapping = serde_json::from_str(&mapping).ok()?;
            Some(TemplateView {
                name,
                department: q.department.clone(),
                mapping: to_columns(&mapping),
                consents: serde_json::from_str(&consents).unwrap_or_default(),
                updated_at: at.and_utc(),
            })
        })
        .collect())
}

/// Save (or replace) a template of the department.
pub(super) fn save(
    conn: &mut DbConn,
    ctx: &Ctx,
    department_id: i64,
    name: &str,
    mapping: &Mapping,
    consents: &BTreeMap<String, ConsentColumn>,
) -> AppResult<()> {
    if name.trim().is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::field(
            "save_template",
            "invalid",
            "Use 1–100 printable characters.",
        ));
    }
    diesel::delete(
        import_templates::table
            .filter(import_templates::department_id.eq(department_id))
            .filter(import_templates::name.eq(name)),
    )
    .execute(conn)?;
    diesel::insert_into(import_templates::table)
        .values((
            import_templates::department_id.eq(department_id),
            import_templates::name.eq(name),
            import_templates::mapping.eq(serde_json::to_string(mapping).unwrap_or_default()),
            import_templates::consents.eq(serde_json::to_string(consents).unwrap_or_default()),
            import_templates::created_by.eq(Some(ctx.principal.user_id)),
            import_templates::updated_at.eq(ctx.meta.now),
        ))
        .execute(conn)?;
    Ok(())
}
