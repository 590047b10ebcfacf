//! Staging a dry run: the mapping, consent declarations and attendance settings checked and
//! stored before the background worker predicts every row.

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::db::schema::{import_batches, import_rows};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};
use crate::import_core::{validate_mapping, ColumnMapping, Mapping, Target};
use crate::service::{audit, Ctx};

use super::*;

/// Check and set the mapping and consent declarations, then start the dry run.
pub fn start_dry_run(conn: &mut DbConn, ctx: &Ctx, id: &str, req: &DryRunRequest) -> AppResult<Batch> {
    let b = find(conn, ctx, id)?;
    if !matches!(b.status.as_str(), "uploaded" | "analysed" | "failed") || b.committed_at.is_some() {
        return Err(AppError::conflict(
            "wrong_state",
            format!("A dry run cannot start while the import is {}.", b.status),
        ));
    }
    super::discard::require_file(conn, b.id)?;
    // A failed commit that applied some chunks keeps its rows (a rollback needs them): finish the
    // commit or roll it back; a new dry run would forget what was applied.
    let applied: i64 = import_rows::table
        .filter(import_rows::batch_id.eq(b.id))
        .filter(import_rows::applied.eq(true))
        .count()
        .get_result(conn)?;
    if applied > 0 {
        return Err(AppError::conflict(
            "partly_committed",
            "Part of this import was committed before it stopped: commit it again to finish it (it can then be rolled back).",
        ));
    }
    let headers = b.headers();
    let mapping = match &req.mapping {
        None => b.mapping(),
        Some(cols) => {
            let mut errors = Vec::new();
            let mut out = Vec::new();
            for (i, c) in cols.iter().enumerate() {
                match c.target.parse::<Target>() {
                    Ok(target) => out.push(ColumnMapping {
                        column: c.column,
                        header: c.header.clone(),
                        target,
                    }),
                    Err(e) => errors.push(FieldError::new(format!("mapping[{i}].target"), "unknown_target", e)),
                }
            }
            if !errors.is_empty() {
                return Err(AppError::Validation(errors));
            }
            Mapping { columns: out }
        }
    };
    if let Err(errors) = validate_mapping(&mapping, &headers) {
        return Err(AppError::Validation(
            errors
                .into_iter()
                .map(|e| FieldError::new("mapping", "invalid_mapping", e))
                .collect(),
        ));
    }
    let consents = req.consents.clone().unwrap_or_else(|| b.consents());
    check_consents(conn, &mapping, &consents)?;
    let attendance = match &req.attendance {
        Some(a) => Some(check_attendance(conn, ctx, a)?),
        None => b.attendance(),
    };
    let date_order = req.date_order.as_deref().unwrap_or("day_first");
    if !matches!(date_order, "day_first" | "month_first") {
        return Err(AppError::field(
            "date_order",
            "invalid",
            "Use day_first or month_first.",
        ));
    }
    let now = ctx.meta.now;
    write_tx(conn, |c| {
        if let Some(name) = &req.save_template {
            templates::save(c, ctx, b.department_id, name, &mapping, &consents)?;
        }
        let mut counts = BTreeMap::new();
        counts.insert("month_first".to_string(), i64::from(date_order == "month_first"));
        diesel::update(import_batches::table.find(b.id))
            .set((
                import_batches::mapping.eq(serde_json::to_string(&mapping).unwrap_or_default()),
                import_batches::consents.eq(serde_json::to_string(&consents).unwrap_or_default()),
                import_batches::attendance.eq(attendance.as_ref().and_then(|a| serde_json::to_string(a).ok())),
                import_batches::status.eq("analysing"),
                import_batches::rows_done.eq(0),
                import_batches::counts.eq(serde_json::to_string(&counts).unwrap_or_default()),
                import_batches::error.eq(None::<String>),
                // The clock, not the request's time: a CLI import's context is as old as the command.
                import_batches::phase_started_at.eq(Some(crate::db::now())),
                import_batches::heartbeat_at.eq(Some(now)),
                import_batches::updated_at.eq(now),
            ))
            .execute(c)?;
        // Again under the row's lock: a retention run may have discarded the file meanwhile.
        super::discard::require_file(c, b.id)?;
        diesel::delete(import_rows::table.filter(import_rows::batch_id.eq(b.id))).execute(c)?;
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "import.dry_run",
                Some(("import", &b.public_id)),
                "success",
                None,
            ),
        )?;
        load(c, b.id)
    })
}

/// Attendance actions an import may record.
const ATTENDANCE_ACTIONS: [&str; 7] = [
    "attended",
    "invited",
    "registered",
    "no_show",
    "cancelled",
    "volunteered",
    "responded",
];

fn check_attendance(conn: &mut DbConn, ctx: &Ctx, a: &Attendance) -> AppResult<Attendance> {
    let activity = crate::service::engagement::activities::find_visible(conn, ctx, &a.activity).map_err(|_| {
        AppError::field(
            "attendance.activity",
            "unknown_activity",
            "There is no such activity (or it is not one of yours).",
        )
    })?;
    let action = a.action.clone().unwrap_or_else(|| "attended".into());
    if !ATTENDANCE_ACTIONS.contains(&action.as_str()) {
        return Err(AppError::field(
            "attendance.action",
            "unknown_action",
            format!("Use one of: {}.", ATTENDANCE_ACTIONS.join(", ")),
        ));
    }
    if let Some(h) = a.hours {
        if !crate::service::engagement::events::hours_fit(&action, h) {
            return Err(AppError::field(
                "attendance.hours",
                "invalid_hours",
                "Hours go with `volunteered`, between 0 and 24.",
            ));
        }
    }
    Ok(Attendance {
        activity: activity.public_id,
        action: Some(action),
        occurred_at: a.occurred_at,
        hours: a.hours,
    })
}

fn check_consents(conn: &mut DbConn, mapping: &Mapping, consents: &BTreeMap<String, ConsentColumn>) -> AppResult<()> {
    let mut errors = Vec::new();
    for c in &mapping.columns {
        if let Target::Consent(slug) = &c.target {
            if !consents.contains_key(slug) {
                errors.push(FieldError::new(
                    format!("consents.{slug}"),
                    "required",
                    format!(
                        "Column \"{}\" holds consent answers: say which purpose and channel they are for, and the evidence.",
                        c.header
                    ),
                ));
            }
        }
    }
    for (slug, d) in consents {
        let field = |f: &str| format!("consents.{slug}.{f}");
        if crate::db::consent::find_purpose(conn, &d.purpose)?.is_none() {
            errors.push(FieldError::new(
                field("purpose"),
                "unknown_purpose",
                "There is no such purpose.",
            ));
        }
        if crate::service::consent::types::Channel::parse(&d.channel).is_none() {
            errors.push(FieldError::new(
                field("channel"),
                "invalid",
                "Use email, sms, post or phone.",
            ));
        }
        if let Some(b) = &d.lawful_basis {
            if crate::service::consent::types::LawfulBasis::parse(b).is_none() {
                errors.push(FieldError::new(field("lawful_basis"), "invalid", "Not a lawful basis."));
            }
        }
        if d.evidence.trim().is_empty() || d.evidence.chars().count() > 500 {
            errors.push(FieldError::new(
                field("evidence"),
                "required",
                "Describe the evidence for these answers (1–500 characters).",
            ));
        }
        if d.capture_method.trim().is_empty() || d.capture_method.chars().count() > 60 {
            errors.push(FieldError::new(
                field("capture_method"),
                "required",
                "Say how the answers were captured.",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}
