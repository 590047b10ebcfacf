//! Receiving a file: its kind and columns surveyed, the batch created with a suggested mapping,
//! and the file kept in the database (in 1 MB chunks) until the batch is committed.

use std::io::Write;
use std::path::{Path, PathBuf};

use diesel::prelude::*;

use crate::db::schema::{import_batches, import_file_chunks, import_templates};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};
use crate::import_core::{
    csv_rows_from_path, detect_kind, suggest_mapping, validate_mapping, xlsx_rows, CsvOptions, FileError, FileKind,
    Mapping, XlsxOptions,
};
use crate::service::{audit, new_public_id, Ctx, Scope};

use super::*;

/// Bytes per stored file chunk.
const FILE_CHUNK: usize = 1024 * 1024;

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
