//! `/api/v1/departments`.

use actix_web::{web, HttpResponse};

use super::extract::Json;
use crate::error::AppResult;
use crate::service::departments::{self, NewDepartmentRequest, UpdateDepartmentRequest};
use crate::service::Ctx;
use crate::state::AppState;

/// Every department.
pub async fn list(state: web::Data<AppState>, _ctx: Ctx) -> AppResult<HttpResponse> {
    let rows = state.db(departments::list).await?;
    super::json(200, &rows)
}

/// Create a department.
pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: Json<NewDepartmentRequest>) -> AppResult<HttpResponse> {
    let view = state
        .db(move |c| departments::create(c, Some(&ctx), ctx.meta.now, &body.0))
        .await?;
    super::json(201, &view)
}

/// Rename a department.
pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    code: web::Path<String>,
    body: Json<UpdateDepartmentRequest>,
) -> AppResult<HttpResponse> {
    let view = state.db(move |c| departments::update(c, &ctx, &code, &body.0)).await?;
    super::json(200, &view)
}
