//! Segments, templates, campaigns, one-click unsubscribe and bounces.

use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::{if_match_version, Json};
use crate::error::{AppError, AppResult};
use crate::service::campaigns::segments::{self, NewSegmentRequest, PreviewRequest, UpdateSegmentRequest};
use crate::service::campaigns::{
    self as campaigns, send, unsubscribe, NewCampaignRequest, NewTemplateRequest, TemplatePreviewRequest,
    TestSendRequest, UpdateTemplateRequest,
};
use crate::service::Ctx;
use crate::state::AppState;

/// Save a segment.
pub async fn create_segment(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<NewSegmentRequest>,
) -> AppResult<HttpResponse> {
    super::json(201, &state.db(move |c| segments::create(c, &ctx, &body.0)).await?)
}

/// Every segment.
pub async fn list_segments(state: web::Data<AppState>, _ctx: Ctx) -> AppResult<HttpResponse> {
    super::json(200, &state.db(segments::list).await?)
}

/// One segment.
pub async fn get_segment(state: web::Data<AppState>, _ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    let view = state.db(move |c| segments::get(c, &id)).await?;
    super::json_versioned(200, &view, view.version)
}

/// Change a segment.
pub async fn update_segment(
    state: web::Data<AppState>,
    req: HttpRequest,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<UpdateSegmentRequest>,
) -> AppResult<HttpResponse> {
    let if_match = if_match_version(&req)?;
    let view = state
        .db(move |c| segments::update(c, &ctx, &id, if_match, &body.0))
        .await?;
    super::json_versioned(200, &view, view.version)
}

/// Preview a saved segment.
pub async fn preview_segment(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<PreviewRequest>,
) -> AppResult<HttpResponse> {
    let sink = state.audit.clone();
    super::json(
        200,
        &state
            .db(move |c| segments::preview(c, &ctx, &sink, Some(&id), &body.0))
            .await?,
    )
}

/// Preview a filter without saving it.
pub async fn preview_filter(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<PreviewRequest>,
) -> AppResult<HttpResponse> {
    let sink = state.audit.clone();
    super::json(
        200,
        &state
            .db(move |c| segments::preview(c, &ctx, &sink, None, &body.0))
            .await?,
    )
}

/// Save a template.
pub async fn create_template(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<NewTemplateRequest>,
) -> AppResult<HttpResponse> {
    super::json(
        201,
        &state.db(move |c| campaigns::create_template(c, &ctx, &body.0)).await?,
    )
}

/// Every template.
pub async fn list_templates(state: web::Data<AppState>, _ctx: Ctx) -> AppResult<HttpResponse> {
    super::json(200, &state.db(campaigns::list_templates).await?)
}

/// One template.
pub async fn get_template(state: web::Data<AppState>, _ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    let view = state.db(move |c| campaigns::get_template(c, &id)).await?;
    super::json_versioned(200, &view, view.version)
}

/// Change a template.
pub async fn update_template(
    state: web::Data<AppState>,
    req: HttpRequest,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<UpdateTemplateRequest>,
) -> AppResult<HttpResponse> {
    let if_match = if_match_version(&req)?;
    let view = state
        .db(move |c| campaigns::update_template(c, &ctx, &id, if_match, &body.0))
        .await?;
    super::json_versioned(200, &view, view.version)
}

/// Render a template for a person.
pub async fn preview_template(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<TemplatePreviewRequest>,
) -> AppResult<HttpResponse> {
    super::json(
        200,
        &state
            .db(move |c| campaigns::preview_template(c, &ctx, &id, &body.0))
            .await?,
    )
}

/// Draft a campaign.
pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: Json<NewCampaignRequest>) -> AppResult<HttpResponse> {
    super::json(201, &state.db(move |c| campaigns::create(c, &ctx, &body.0)).await?)
}

/// Campaigns.
pub async fn list(state: web::Data<AppState>, _ctx: Ctx) -> AppResult<HttpResponse> {
    super::json(200, &state.db(campaigns::list).await?)
}

/// One campaign with its numbers.
pub async fn get(state: web::Data<AppState>, _ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    super::json(200, &state.db(move |c| campaigns::get(c, &id)).await?)
}

/// Approve a campaign.
pub async fn approve(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    let threshold = state.settings.campaigns.approval_threshold;
    super::json(
        200,
        &state.db(move |c| campaigns::approve(c, &ctx, &id, threshold)).await?,
    )
}

/// Start sending.
pub async fn start(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    super::json(202, &state.db(move |c| campaigns::start(c, &ctx, &id)).await?)
}

/// Cancel.
pub async fn cancel(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    super::json(200, &state.db(move |c| campaigns::cancel(c, &ctx, &id)).await?)
}

/// Send one test message.
pub async fn test_send(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<TestSendRequest>,
) -> AppResult<HttpResponse> {
    let sender = state.sender.clone();
    state
        .db(move |c| send::test_send(c, &ctx, &sender, &id, &body.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Feed a bounce notice (the raw message as the body). A notice often carries the original
/// message: its first [`MAX_INPUT`](crate::campaigns_core::bounce::MAX_INPUT) bytes are read (the
/// parser ignores anything past them) and the rest is not.
pub async fn bounces(state: web::Data<AppState>, ctx: Ctx, payload: web::Payload) -> AppResult<HttpResponse> {
    let body = super::extract::read_capped(payload, crate::campaigns_core::bounce::MAX_INPUT).await?;
    // NUL is no part of any address or status, and PostgreSQL cannot store it.
    let raw = String::from_utf8_lossy(&body).replace('\0', "");
    let points = state.points.clone();
    super::json(
        200,
        &state
            .db(move |c| unsubscribe::record_bounces(c, &ctx, &points, &raw))
            .await?,
    )
}

/// The unsubscribe page: shows a confirm button, changes nothing.
pub async fn unsubscribe_page(state: web::Data<AppState>, token: web::Path<String>) -> AppResult<HttpResponse> {
    let points = state.points.clone();
    let html = state.db(move |c| unsubscribe::page(c, &points, &token)).await?;
    Ok(html_page(html))
}

fn html_page(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .body(html)
}

/// One-click unsubscribe (RFC 8058): no cookie, no redirect. A mail client's request gets JSON;
/// the confirmation page's button (its form names itself) gets a page saying what was done.
pub async fn unsubscribe_post(
    state: web::Data<AppState>,
    token: web::Path<String>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    // A one-click request's body is `List-Unsubscribe=One-Click`; the page's is one field.
    let body = super::extract::read_capped(payload, 1024).await?;
    let from_page = form_urlencoded::parse(&body).any(|(k, v)| k == unsubscribe::PAGE_FIELD && v == "page");
    let points = state.points.clone();
    let now = state.clock.now();
    let (done, html) = state
        .db(move |c| {
            let done = unsubscribe::unsubscribe(c, &points, &token, now)?;
            let html = if from_page {
                Some(unsubscribe::done_page(c, &done)?)
            } else {
                None
            };
            Ok::<_, AppError>((done, html))
        })
        .await?;
    match html {
        Some(html) => Ok(html_page(html)),
        None => super::json(200, &done),
    }
}
