//! Departments: listed by everyone signed in, managed by administrators.

use serde::{Deserialize, Serialize};

use super::{audit, Ctx};
use crate::db::departments::{Department, NewDepartment};
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};
use crate::normalize::text::clean_text;

/// A department as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DepartmentView {
    /// Stable code, e.g. `BARB`.
    pub code: String,
    /// Display name.
    pub name: String,
}

impl From<Department> for DepartmentView {
    fn from(d: Department) -> Self {
        DepartmentView {
            code: d.code,
            name: d.name,
        }
    }
}

/// Create a department.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDepartmentRequest {
    /// 2–16 characters: capital letters, digits, `_` or `-`.
    pub code: String,
    /// Display name.
    pub name: String,
}

/// Rename a department.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDepartmentRequest {
    /// New display name.
    pub name: String,
}

/// Validate a department code.
pub fn check_code(code: &str, field: &str) -> AppResult<()> {
    let ok = (2..=16).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(AppError::field(
            field,
            "invalid_code",
            "Use 2–16 capital letters, digits, `_` or `-`.",
        ))
    }
}

/// Every department.
pub fn list(conn: &mut DbConn) -> AppResult<Vec<DepartmentView>> {
    Ok(db::departments::list(conn)?.into_iter().map(Into::into).collect())
}

/// Create a department (administrators; also used by the CLI with a system context).
pub fn create(
    conn: &mut DbConn,
    ctx: Option<&Ctx>,
    now: chrono::NaiveDateTime,
    req: &NewDepartmentRequest,
) -> AppResult<DepartmentView> {
    check_code(&req.code, "code")?;
    let name = clean_text(&req.name, 200).map_err(|e| AppError::field("name", e.code, e.message))?;
    write_tx(conn, |c| {
        let new = NewDepartment {
            code: &req.code,
            name: &name,
            created_at: now,
            updated_at: now,
        };
        let dept = db::unique_or(
            c,
            |c| db::departments::insert(c, &new),
            || {
                AppError::conflict(
                    "duplicate_department",
                    format!("A department with code {} exists.", req.code),
                )
            },
        )?;
        if let Some(ctx) = ctx {
            let ev = audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "department.create",
                Some(("department", &dept.code)),
                "success",
                None,
            );
            audit::record(c, ev)?;
        }
        Ok(dept.into())
    })
}

/// Rename a department.
pub fn update(conn: &mut DbConn, ctx: &Ctx, code: &str, req: &UpdateDepartmentRequest) -> AppResult<DepartmentView> {
    let name = clean_text(&req.name, 200).map_err(|e| AppError::field("name", e.code, e.message))?;
    write_tx(conn, |c| {
        let dept = db::departments::find_by_code(c, code)?.ok_or(AppError::NotFound)?;
        let dept = db::departments::rename(c, dept.id, &name, ctx.meta.now)?;
        let ev = audit::event(
            &ctx.meta,
            Some(&ctx.principal),
            "department.update",
            Some(("department", code)),
            "success",
            None,
        );
        audit::record(c, ev)?;
        Ok(dept.into())
    })
}

/// Resolve department codes to ids; unknown codes are field errors under `field`.
pub fn resolve_codes(conn: &mut DbConn, codes: &[String], field: &str) -> AppResult<Vec<i64>> {
    let found = db::departments::find_by_codes(conn, codes)?;
    let errors: Vec<FieldError> = codes
        .iter()
        .enumerate()
        .filter(|(_, c)| !found.iter().any(|d| &d.code == *c))
        .map(|(i, c)| {
            FieldError::new(
                format!("{field}[{i}]"),
                "unknown_department",
                format!("There is no department {c}."),
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut ids: Vec<i64> = found.into_iter().map(|d| d.id).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}
