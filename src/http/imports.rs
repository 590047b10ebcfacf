//! Imports: upload (streamed), dry run, commit, rollback, progress, rows and the error report.

use std::io::Write;

use actix_web::{web, HttpResponse};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::extract::{Json, Query};
use crate::error::{AppError, AppResult};
use crate::service::imports::runner::Worker;
use crate::service::imports::{self, DryRunRequest, RowQuery, TempFile, UploadQuery};
use crate::service::Ctx;
use crate::state::AppState;

fn worker(state: &AppState) -> Worker {
    Worker {
        pool: state.pool.clone(),
        matching: state.settings.matching.clone(),
        points: state.points.clone(),
    }
}

/// Upload a file: the body is the file itself (CSV or .xlsx), streamed to disk, not held in
/// memory.
pub async fn upload(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Query<UploadQuery>,
    mut body: web::Payload,
) -> AppResult<HttpResponse> {
    let max = state.settings.imports.max_upload_bytes;
    // Before a byte of the file is read.
    let (limit_ctx, per_hour) = (ctx.clone(), state.settings.imports.uploads_per_hour);
    state
        .db(move |c| crate::service::limits::hourly(c, &limit_ctx, "import.upload", per_hour))
        .await?;
    let (tmp, file) = TempFile::create().map_err(|e| AppError::Internal(format!("temporary file: {e}")))?;
    let mut out = std::io::BufWriter::new(file);
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest {
            code: "bad_body",
            detail: format!("The upload was interrupted: {e}"),
            errors: Vec::new(),
        })?;
        total += chunk.len() as u64;
        if total > max {
            return Err(AppError::PayloadTooLarge(format!(
                "The file is larger than the {max} bytes allowed (imports.max_upload_bytes)."
            )));
        }
        hasher.update(&chunk);
        out.write_all(&chunk)
            .map_err(|e| AppError::Internal(format!("temporary file: {e}")))?;
    }
    out.flush()
        .map_err(|e| AppError::Internal(format!("temporary file: {e}")))?;
    drop(out);
    let hash = hex::encode(hasher.finalize());
    let view = state
        .db(move |c| {
            let r = imports::create(c, &ctx, &q.0, &tmp.0, total, &hash);
            drop(tmp);
            r
        })
        .await?;
    super::json(201, &view)
}

/// Imports the caller can see.
pub async fn list(state: web::Data<AppState>, ctx: Ctx) -> AppResult<HttpResponse> {
    super::json(200, &state.db(move |c| imports::list(c, &ctx)).await?)
}

/// A department's saved mapping templates.
pub async fn templates(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Query<imports::templates::TemplateQuery>,
) -> AppResult<HttpResponse> {
    super::json(200, &state.db(move |c| imports::templates::list(c, &ctx, &q.0)).await?)
}

/// One import with its progress.
pub async fn get(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    let now = ctx.meta.now;
    let view = state
        .db(move |c| {
            let b = imports::find(c, &ctx, &id)?;
            imports::view(c, &b, now)
        })
        .await?;
    super::json(200, &view)
}

/// Start the dry run.
pub async fn dry_run(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<DryRunRequest>,
) -> AppResult<HttpResponse> {
    let now = ctx.meta.now;
    let (b, view) = state
        .db(move |c| {
            let b = imports::start_dry_run(c, &ctx, &id, &body.0)?;
            let v = imports::view(c, &b, now)?;
            Ok((b, v))
        })
        .await?;
    worker(&state).spawn(b.id);
    super::json(202, &view)
}

async fn phase(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: String,
    from: &'static str,
    to: &'static str,
    action: &'static str,
) -> AppResult<HttpResponse> {
    let now = ctx.meta.now;
    let (b, view) = state
        .db(move |c| {
            let b = imports::start_phase(c, &ctx, &id, from, to, action)?;
            let v = imports::view(c, &b, now)?;
            Ok((b, v))
        })
        .await?;
    worker(&state).spawn(b.id);
    super::json(202, &view)
}

/// Commit what the dry run predicted.
pub async fn commit(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    phase(state, ctx, id.into_inner(), "analysed", "committing", "import.commit").await
}

/// Roll a committed import back.
pub async fn rollback(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    phase(
        state,
        ctx,
        id.into_inner(),
        "committed",
        "rolling_back",
        "import.rollback",
    )
    .await
}

/// Row outcomes.
pub async fn rows(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    q: Query<RowQuery>,
) -> AppResult<HttpResponse> {
    let sink = state.audit.clone();
    super::json(200, &state.db(move |c| imports::rows(c, &ctx, &sink, &id, &q.0)).await?)
}

/// The error report as CSV.
pub async fn errors(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    let name = format!("import-{}-errors.csv", id.as_str());
    let sink = state.audit.clone();
    let body = state.db(move |c| imports::error_report(c, &ctx, &sink, &id)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .body(body))
}
