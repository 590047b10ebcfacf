//! `/api/v1/people`: thin handlers over `service::people`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::{if_match_version, Json, Query};
use crate::error::AppResult;
use crate::service::people::input::{NewPersonRequest, UpdatePersonRequest};
use crate::service::people::view::PersonView;
use crate::service::people::{self, ListQuery, PeopleParams, SearchRequest};
use crate::service::Ctx;
use crate::state::AppState;

fn with_etag(status: u16, view: &PersonView) -> AppResult<HttpResponse> {
    super::json_versioned(status, view, view.version)
}

/// List people.
pub async fn list(state: web::Data<AppState>, ctx: Ctx, q: Query<PeopleParams>) -> AppResult<HttpResponse> {
    let q = q.0.into_query()?;
    let sink = state.audit.clone();
    let page = state.db(move |c| people::list(c, &ctx, &sink, &q)).await?;
    super::json(200, &page)
}

/// List people with filters that may be personal (name, email, phone, postcode), sent in the body.
pub async fn list_by_body(state: web::Data<AppState>, ctx: Ctx, body: Json<ListQuery>) -> AppResult<HttpResponse> {
    let sink = state.audit.clone();
    let page = state.db(move |c| people::list(c, &ctx, &sink, &body.0)).await?;
    super::json(200, &page)
}

/// Create a person.
pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: Json<NewPersonRequest>) -> AppResult<HttpResponse> {
    let view = state.db(move |c| people::create(c, &ctx, &body.0)).await?;
    with_etag(201, &view)
}

/// Search.
pub async fn search(state: web::Data<AppState>, ctx: Ctx, body: Json<SearchRequest>) -> AppResult<HttpResponse> {
    let sink = state.audit.clone();
    let results = state.db(move |c| people::search(c, &ctx, &sink, &body.0)).await?;
    super::json(200, &results)
}

/// One person.
pub async fn get(state: web::Data<AppState>, ctx: Ctx, id: web::Path<String>) -> AppResult<HttpResponse> {
    let sink = state.audit.clone();
    let view = state.db(move |c| people::get(c, &ctx, &sink, &id)).await?;
    with_etag(200, &view)
}

/// Change a person.
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    ctx: Ctx,
    id: web::Path<String>,
    body: Json<UpdatePersonRequest>,
) -> AppResult<HttpResponse> {
    let if_match = if_match_version(&req)?;
    let view = state
        .db(move |c| people::update(c, &ctx, &id, if_match, &body.0))
        .await?;
    with_etag(200, &view)
}
