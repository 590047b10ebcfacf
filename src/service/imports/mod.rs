//! Bulk import of departmental lists: upload (streamed to a file, kept in the database until
//! committed), a dry run that predicts every row's outcome, a chunked resumable commit that
//! applies exactly the prediction, per-row outcomes and an error report, and a full rollback.
//!
//! Reading and cleaning files is `crate::import_core` (no database); matching is
//! `service::identity::matcher`. The long phases run in a background worker (`runner`), which
//! any instance resumes from the last committed chunk after a crash.

pub mod apply;
pub mod discard;
mod phases;
pub mod replaced;
pub mod report;
pub mod rollback;
pub mod runner;
pub mod scan;
mod staging;
pub mod templates;
mod upload;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::people::Db;
use crate::db::schema::{departments, import_batches};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::import_core::Mapping;
use crate::service::{is_public_id, Ctx, Scope};

pub use report::{error_report, rows, RowPage, RowQuery, RowView};

pub use phases::{audit_phase_end, start_phase};
pub use staging::start_dry_run;
pub use upload::{create, csv_options, file_problem, materialise, xlsx_options, TempFile};

/// How one consent column of a file is to be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentColumn {
    /// Purpose code (see `/api/v1/purposes`).
    pub purpose: String,
    /// `email`, `sms`, `post` or `phone`.
    pub channel: String,
    /// Lawful basis the department declares for these answers (default the purpose's).
    pub lawful_basis: Option<String>,
    /// How the answers were captured, e.g. `paper_form`, `web_checkbox`.
    pub capture_method: String,
    /// Evidence for the whole batch, e.g. "2019 sign-up form, wording version 1".
    pub evidence: String,
    /// Wording version shown, if known.
    pub wording_version: Option<i32>,
}

/// Upload parameters (query string of `POST /api/v1/imports`; the body is the file).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// Department code the list belongs to.
    pub department: String,
    /// The file's name (used to tell CSV from Excel when the content is ambiguous).
    pub file_name: Option<String>,
    /// Worksheet of an Excel workbook (default the first).
    pub sheet: Option<String>,
    /// The system the list was exported from (default `import`); with external ids it makes
    /// re-imports idempotent.
    pub source_system: Option<String>,
    /// A saved mapping template of the department to start from.
    pub template: Option<String>,
}

/// The mapping and consent declarations for a dry run (both default to what the batch holds).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    /// Column → field, e.g. `{"column": 0, "header": "Forename", "target": "given_name"}`.
    /// Targets: given_name, family_name, preferred_name, title, email, email2, phone, mobile,
    /// phone2, line1, line2, line3, town, county, postcode, country, date_of_birth,
    /// organisation, external_id, tags, `consent:<slug>`, `custom:<name>`, ignore.
    pub mapping: Option<Vec<MappingColumn>>,
    /// For each `consent:<slug>` column: the purpose, channel and evidence.
    pub consents: Option<BTreeMap<String, ConsentColumn>>,
    /// `day_first` (default, as UK files write dates) or `month_first`.
    pub date_order: Option<String>,
    /// Save the mapping as a template of the department under this name.
    pub save_template: Option<String>,
    /// Make this an attendance list: every person the file names (created, linked or unchanged)
    /// is also logged as taking part in this activity.
    pub attendance: Option<Attendance>,
}

/// What an attendance list records for each person in it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendance {
    /// The activity (public id), one of your departments'.
    pub activity: String,
    /// `attended` (default), `invited`, `registered`, `no_show`, `cancelled`, `volunteered` or
    /// `responded`.
    pub action: Option<String>,
    /// When (default: the activity's start, else the commit time).
    pub occurred_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Hours each (only with `volunteered`).
    pub hours: Option<f64>,
}

/// One column of a mapping.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingColumn {
    /// 0-based column index.
    pub column: usize,
    /// The column's header (checked against the file).
    pub header: String,
    /// Where its values go.
    pub target: String,
}

/// An import batch.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ImportView {
    /// Id.
    pub id: String,
    /// Department code.
    pub department: String,
    /// Source system.
    pub source_system: String,
    /// File name.
    pub file_name: String,
    /// `csv` or `xlsx`.
    pub file_kind: String,
    /// Size in bytes.
    pub file_bytes: i64,
    /// Worksheet.
    pub sheet: Option<String>,
    /// `uploaded`, `analysing`, `analysed`, `committing`, `committed`, `rolling_back`,
    /// `rolled_back` or `failed`.
    pub status: String,
    /// Column names.
    pub headers: Vec<String>,
    /// The mapping in use (suggested until a dry run sets it).
    pub mapping: Vec<MappingColumn>,
    /// The attendance declaration, for an attendance list.
    pub attendance: Option<Attendance>,
    /// Consent column declarations.
    pub consents: BTreeMap<String, ConsentColumn>,
    /// Data rows in the file.
    pub rows_total: i64,
    /// Rows done in the current or last phase.
    pub rows_done: i64,
    /// Rows per second in the current or last phase.
    pub rate: Option<f64>,
    /// Estimated seconds left in the current phase.
    pub eta_seconds: Option<f64>,
    /// Rows per outcome: create, link, review, duplicate, unchanged, reject, and rows with
    /// warnings; after a commit, `committed_*` what was applied; after a rollback, what it did.
    pub counts: BTreeMap<String, i64>,
    /// Why the last phase failed.
    pub error: Option<String>,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
    /// Dry run finished.
    pub analysed_at: Option<DateTime<Utc>>,
    /// Committed.
    pub committed_at: Option<DateTime<Utc>>,
    /// Rolled back.
    pub rolled_back_at: Option<DateTime<Utc>>,
}

/// A page of batches.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ImportPage {
    /// Newest first.
    pub items: Vec<ImportView>,
}

/// A stored batch row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_batches)]
pub struct Batch {
    /// Id.
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Department.
    pub department_id: i64,
    /// Source system.
    pub source_system: String,
    /// File name.
    pub file_name: String,
    /// csv / xlsx.
    pub file_kind: String,
    /// SHA-256 of the file.
    pub file_hash: String,
    /// Size.
    pub file_bytes: i64,
    /// Worksheet.
    pub sheet: Option<String>,
    /// JSON array of headers.
    pub headers: String,
    /// JSON mapping.
    pub mapping: String,
    /// JSON consent declarations.
    pub consents: String,
    /// Status.
    pub status: String,
    /// Rows in the file.
    pub rows_total: i64,
    /// Rows done in this phase.
    pub rows_done: i64,
    /// JSON counts.
    pub counts: String,
    /// Error.
    pub error: Option<String>,
    /// Phase start.
    pub phase_started_at: Option<NaiveDateTime>,
    /// Worker heartbeat.
    pub heartbeat_at: Option<NaiveDateTime>,
    /// Uploader.
    pub created_by: Option<i64>,
    /// Uploaded.
    pub created_at: NaiveDateTime,
    /// Changed.
    pub updated_at: NaiveDateTime,
    /// Dry run done.
    pub analysed_at: Option<NaiveDateTime>,
    /// Committed.
    pub committed_at: Option<NaiveDateTime>,
    /// Rolled back.
    pub rolled_back_at: Option<NaiveDateTime>,
    /// JSON attendance declaration (an attendance list).
    pub attendance: Option<String>,
}

impl Batch {
    /// The attendance declaration, if this is an attendance list.
    pub fn attendance(&self) -> Option<Attendance> {
        self.attendance.as_deref().and_then(|a| serde_json::from_str(a).ok())
    }

    /// The mapping.
    pub fn mapping(&self) -> Mapping {
        serde_json::from_str(&self.mapping).unwrap_or_default()
    }

    /// The consent declarations.
    pub fn consents(&self) -> BTreeMap<String, ConsentColumn> {
        serde_json::from_str(&self.consents).unwrap_or_default()
    }

    /// The counts.
    pub fn counts(&self) -> BTreeMap<String, i64> {
        serde_json::from_str(&self.counts).unwrap_or_default()
    }

    /// The headers.
    pub fn headers(&self) -> Vec<String> {
        serde_json::from_str(&self.headers).unwrap_or_default()
    }

    /// The provenance reference of values this batch set.
    pub fn reference(&self) -> String {
        format!("import:{}", self.public_id)
    }
}

pub(super) fn to_columns(m: &Mapping) -> Vec<MappingColumn> {
    m.columns
        .iter()
        .map(|c| MappingColumn {
            column: c.column,
            header: c.header.clone(),
            target: c.target.to_string(),
        })
        .collect()
}

/// The view of a batch.
pub fn view(conn: &mut DbConn, b: &Batch, now: NaiveDateTime) -> AppResult<ImportView> {
    let department: String = departments::table
        .find(b.department_id)
        .select(departments::code)
        .get_result(conn)?;
    Ok(view_in(b, department, now))
}

/// The view of a batch whose department code is known.
fn view_in(b: &Batch, department: String, now: NaiveDateTime) -> ImportView {
    let running = matches!(b.status.as_str(), "analysing" | "committing" | "rolling_back");
    let elapsed = b
        .phase_started_at
        .map(|t| {
            let end = if running { now } else { b.heartbeat_at.unwrap_or(now) };
            (end - t).num_milliseconds() as f64 / 1000.0
        })
        .filter(|s| *s > 0.0);
    let rate = elapsed.map(|s| b.rows_done as f64 / s);
    let eta = match (running, rate) {
        (true, Some(r)) if r > 0.0 => Some((b.rows_total - b.rows_done).max(0) as f64 / r),
        _ => None,
    };
    ImportView {
        id: b.public_id.clone(),
        department,
        source_system: b.source_system.clone(),
        file_name: b.file_name.clone(),
        file_kind: b.file_kind.clone(),
        file_bytes: b.file_bytes,
        sheet: b.sheet.clone(),
        status: b.status.clone(),
        headers: b.headers(),
        mapping: to_columns(&b.mapping()),
        consents: b.consents(),
        attendance: b.attendance(),
        rows_total: b.rows_total,
        rows_done: b.rows_done,
        rate,
        eta_seconds: eta,
        counts: b.counts(),
        error: b.error.clone(),
        created_at: b.created_at.and_utc(),
        analysed_at: b.analysed_at.map(|t| t.and_utc()),
        committed_at: b.committed_at.map(|t| t.and_utc()),
        rolled_back_at: b.rolled_back_at.map(|t| t.and_utc()),
    }
}

/// A batch by public id, in the caller's scope (else 404).
pub fn find(conn: &mut DbConn, ctx: &Ctx, id: &str) -> AppResult<Batch> {
    if !is_public_id(id) {
        return Err(AppError::NotFound);
    }
    let b: Batch = import_batches::table
        .filter(import_batches::public_id.eq(id))
        .select(Batch::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    if !ctx.principal.in_scope(&[b.department_id]) {
        return Err(AppError::NotFound);
    }
    Ok(b)
}

/// A batch by internal id.
pub fn load(conn: &mut DbConn, id: i64) -> AppResult<Batch> {
    Ok(import_batches::table
        .find(id)
        .select(Batch::as_select())
        .get_result(conn)?)
}

/// Batches the caller can see, newest first.
pub fn list(conn: &mut DbConn, ctx: &Ctx) -> AppResult<ImportPage> {
    let mut q = import_batches::table.into_boxed::<Db>();
    if let Scope::Departments(mine) = &ctx.principal.scope {
        q = q.filter(import_batches::department_id.eq_any(mine.clone()));
    }
    let rows: Vec<Batch> = q
        .select(Batch::as_select())
        .order(import_batches::id.desc())
        .limit(200)
        .load(conn)?;
    let codes: std::collections::HashMap<i64, String> = departments::table
        .select((departments::id, departments::code))
        .load(conn)?
        .into_iter()
        .collect();
    let items = rows
        .iter()
        .map(|b| {
            view_in(
                b,
                codes.get(&b.department_id).cloned().unwrap_or_default(),
                ctx.meta.now,
            )
        })
        .collect();
    Ok(ImportPage { items })
}
