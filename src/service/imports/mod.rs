//! Bulk import of departmental lists: upload (streamed to a file, kept in the database until
//! committed), a dry run that predicts every row's outcome, a chunked resumable commit that
//! applies exactly the prediction, per-row outcomes and an error report, and a full rollback.
//!
//! Reading and cleaning files is `crate::import_core` (no database); matching is
//! `service::identity::matcher`. The long phases run in a background worker (`runner`), which
//! any instance resumes from the last committed chunk after a crash.

pub mod apply;
pub mod report;
pub mod rollback;
pub mod runner;
pub mod scan;
pub mod templates;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::people::Db;
use crate::db::schema::{departments, import_batches, import_file_chunks, import_rows, import_templates};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};
use crate::import_core::{
    csv_rows_from_path, detect_kind, suggest_mapping, validate_mapping, xlsx_rows, ColumnMapping, CsvOptions,
    FileError, FileKind, Mapping, Target, XlsxOptions,
};
use crate::service::{audit, is_public_id, new_public_id, Ctx, Scope};

pub use report::{error_report, rows, RowPage, RowQuery, RowView};

/// Bytes per stored file chunk.
const FILE_CHUNK: usize = 1024 * 1024;

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

/// How a file error is answered: 422 naming the problem.
pub fn file_problem(e: &FileError) -> AppError {
    AppError::Validation(vec![FieldError::new("file", e.code(), e.to_string())])
}

/// Limits for reading files.
pub fn csv_options() -> CsvOptions {
    CsvOptions {
        max_columns: 1_000,
        ..CsvOptions::default()
    }
}

/// Limits for reading workbooks.
pub fn xlsx_options() -> XlsxOptions {
    XlsxOptions {
        max_columns: 1_000,
        ..XlsxOptions::default()
    }
}

/// Headers and the number of data rows of a file (reading it once, checking it can be read).
fn survey(path: &Path, kind: &str, sheet: Option<&str>) -> Result<(Vec<String>, i64), FileError> {
    if kind == "xlsx" {
        let f = std::fs::File::open(path).map_err(|e| FileError::io(&e))?;
        let (headers, rows) = xlsx_rows(std::io::BufReader::new(f), sheet, &xlsx_options())?;
        Ok((headers, rows.count() as i64))
    } else {
        let (headers, rows) = csv_rows_from_path(path, &csv_options())?;
        let mut n = 0;
        for r in rows {
            r?;
            n += 1;
        }
        Ok((headers, n))
    }
}

/// A temporary file deleted when dropped.
pub struct TempFile(pub PathBuf);

impl TempFile {
    /// A new empty file in the system temporary directory.
    pub fn create() -> std::io::Result<(TempFile, std::fs::File)> {
        let path = std::env::temp_dir().join(format!("lighthouse-import-{}", crate::service::random_token(12)));
        let f = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
        Ok((TempFile(path), f))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Write a stored file back to a temporary file (for a dry run, commit or report).
pub fn materialise(conn: &mut DbConn, batch_id: i64) -> AppResult<TempFile> {
    let (tmp, mut f) = TempFile::create().map_err(|e| AppError::Internal(format!("temporary file: {e}")))?;
    let mut seq = -1;
    loop {
        let part: Option<(i32, Vec<u8>)> = import_file_chunks::table
            .filter(import_file_chunks::batch_id.eq(batch_id))
            .filter(import_file_chunks::seq.gt(seq))
            .order(import_file_chunks::seq)
            .select((import_file_chunks::seq, import_file_chunks::data))
            .first(conn)
            .optional()?;
        let Some((s, data)) = part else { break };
        f.write_all(&data)
            .map_err(|e| AppError::Internal(format!("temporary file: {e}")))?;
        seq = s;
    }
    f.flush()
        .map_err(|e| AppError::Internal(format!("temporary file: {e}")))?;
    Ok(tmp)
}

fn check_source_system(s: &str) -> AppResult<()> {
    let ok = (1..=60).contains(&s.chars().count()) && !s.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(AppError::field(
            "source_system",
            "invalid",
            "Use 1–60 printable characters.",
        ))
    }
}

/// A department the caller may import for.
pub(super) fn department_for(conn: &mut DbConn, ctx: &Ctx, code: &str) -> AppResult<i64> {
    let id = crate::db::departments::find_by_code(conn, code)?
        .ok_or_else(|| AppError::field("department", "unknown_department", "There is no such department."))?
        .id;
    if let Scope::Departments(mine) = &ctx.principal.scope {
        if !mine.contains(&id) {
            return Err(AppError::field(
                "department",
                "out_of_scope",
                "You can only import for your own departments.",
            ));
        }
    }
    Ok(id)
}

/// Create a batch from an uploaded file (already on disk): check it can be read, suggest a
/// mapping (or take a saved template's), store the file.
pub fn create(
    conn: &mut DbConn,
    ctx: &Ctx,
    q: &UploadQuery,
    path: &Path,
    bytes: u64,
    hash: &str,
) -> AppResult<ImportView> {
    let department_id = department_for(conn, ctx, &q.department)?;
    let source_system = q.source_system.clone().unwrap_or_else(|| "import".into());
    check_source_system(&source_system)?;
    let file_name = q.file_name.clone().unwrap_or_else(|| "upload".into());
    if file_name.chars().count() > 255 || file_name.chars().any(char::is_control) {
        return Err(AppError::field(
            "file_name",
            "invalid",
            "Use at most 255 printable characters.",
        ));
    }
    let mut head = vec![0u8; 8192];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| AppError::Internal(e.to_string()))?;
        f.read(&mut head).map_err(|e| AppError::Internal(e.to_string()))?
    };
    head.truncate(n);
    let kind = match detect_kind(&head, Some(&file_name)).map_err(|e| file_problem(&e))? {
        FileKind::Xlsx => "xlsx",
        _ => "csv",
    };
    let (headers, rows_total) = survey(path, kind, q.sheet.as_deref()).map_err(|e| file_problem(&e))?;
    let (mapping, consents) = match &q.template {
        Some(name) => {
            let stored: Option<(String, String)> = import_templates::table
                .filter(import_templates::department_id.eq(department_id))
                .filter(import_templates::name.eq(name))
                .select((import_templates::mapping, import_templates::consents))
                .get_result(conn)
                .optional()?;
            let (m, consents): (Mapping, String) = stored
                .and_then(|(m, c)| serde_json::from_str(&m).ok().map(|m| (m, c)))
                .ok_or_else(|| AppError::field("template", "unknown_template", "There is no such template."))?;
            if let Err(errors) = validate_mapping(&m, &headers) {
                return Err(AppError::Validation(
                    errors
                        .into_iter()
                        .map(|e| FieldError::new("template", "mapping_mismatch", e))
                        .collect(),
                ));
            }
            (m, consents)
        }
        None => (suggest_mapping(&headers), "{}".to_string()),
    };
    let now = ctx.meta.now;
    let public_id = new_public_id();
    let batch = write_tx(conn, |c| {
        let id: i64 = crate::with_backend!(c, |c| diesel::insert_into(import_batches::table)
            .values((
                import_batches::public_id.eq(&public_id),
                import_batches::department_id.eq(department_id),
                import_batches::source_system.eq(&source_system),
                import_batches::file_name.eq(&file_name),
                import_batches::file_kind.eq(kind),
                import_batches::file_hash.eq(hash),
                import_batches::file_bytes.eq(i64::try_from(bytes).unwrap_or(i64::MAX)),
                import_batches::sheet.eq(&q.sheet),
                import_batches::headers.eq(serde_json::to_string(&headers).unwrap_or_default()),
                import_batches::mapping.eq(serde_json::to_string(&mapping).unwrap_or_default()),
                import_batches::consents.eq(&consents),
                import_batches::status.eq("uploaded"),
                import_batches::rows_total.eq(rows_total),
                import_batches::rows_done.eq(0),
                import_batches::counts.eq("{}"),
                import_batches::created_by.eq(Some(ctx.principal.user_id)),
                import_batches::created_at.eq(now),
                import_batches::updated_at.eq(now),
            ))
            .returning(import_batches::id)
            .get_result(c))?;
        store_file(c, id, path)?;
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "import.upload",
                Some(("import", &public_id)),
                "success",
                Some(serde_json::json!({"rows": rows_total, "bytes": bytes, "kind": kind})),
            ),
        )?;
        load(c, id)
    })?;
    view(conn, &batch, now)
}

fn store_file(conn: &mut DbConn, batch_id: i64, path: &Path) -> AppResult<()> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut seq = 0i32;
    loop {
        let mut buf = Vec::with_capacity(FILE_CHUNK);
        let n = (&mut f)
            .take(FILE_CHUNK as u64)
            .read_to_end(&mut buf)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        if n == 0 {
            break;
        }
        diesel::insert_into(import_file_chunks::table)
            .values((
                import_file_chunks::batch_id.eq(batch_id),
                import_file_chunks::seq.eq(seq),
                import_file_chunks::data.eq(&buf),
            ))
            .execute(conn)?;
        seq += 1;
    }
    Ok(())
}

/// Check and set the mapping and consent declarations, then start the dry run.
pub fn start_dry_run(conn: &mut DbConn, ctx: &Ctx, id: &str, req: &DryRunRequest) -> AppResult<Batch> {
    let b = find(conn, ctx, id)?;
    if !matches!(b.status.as_str(), "uploaded" | "analysed" | "failed") || b.committed_at.is_some() {
        return Err(AppError::conflict(
            "wrong_state",
            format!("A dry run cannot start while the import is {}.", b.status),
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

/// Move a batch into a running phase (commit or rollback) if it is in `from`.
pub fn start_phase(conn: &mut DbConn, ctx: &Ctx, id: &str, from: &str, to: &str, action: &str) -> AppResult<Batch> {
    let b = find(conn, ctx, id)?;
    let resumable = b.status == "failed" && to == "committing" && b.analysed_at.is_some() && b.committed_at.is_none();
    if b.status != from && !resumable {
        return Err(AppError::conflict(
            "wrong_state",
            format!("The import is {}; this needs it to be {from}.", b.status),
        ));
    }
    let now = ctx.meta.now;
    write_tx(conn, |c| {
        let rows_done = if resumable { b.rows_done } else { 0 };
        diesel::update(import_batches::table.find(b.id))
            .set((
                import_batches::status.eq(to),
                import_batches::rows_done.eq(rows_done),
                import_batches::error.eq(None::<String>),
                // The clock, not the request's time: a CLI import's context is as old as the command.
                import_batches::phase_started_at.eq(Some(crate::db::now())),
                import_batches::heartbeat_at.eq(Some(now)),
                import_batches::updated_at.eq(now),
            ))
            .execute(c)?;
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                action,
                Some(("import", &b.public_id)),
                "success",
                None,
            ),
        )?;
        load(c, b.id)
    })
}

/// Record the end of a phase in the audit log (actor `system:import`, on behalf of the uploader).
pub fn audit_phase_end(conn: &mut DbConn, b: &Batch, action: &str, counts: &BTreeMap<String, i64>) -> AppResult<()> {
    let mut ev = audit::event(
        &crate::service::RequestMeta::system(crate::db::now()),
        Some(&crate::service::Principal::system("import")),
        action,
        Some(("import", &b.public_id)),
        "success",
        Some(serde_json::json!({ "counts": counts })),
    );
    ev.actor_user_id = b.created_by;
    audit::record(conn, ev)
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
