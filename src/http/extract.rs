//! Extractors: the signed-in user, request metadata, JSON bodies and query strings, each
//! failing with a problem+json answer that says what was wrong and where.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};
use crate::service::{Ctx, Principal, RequestMeta};
use crate::state::AppState;

/// The request id assigned by the request-id middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Metadata of this request (client address, request id, time).
pub fn meta_of(req: &HttpRequest) -> RequestMeta {
    let now = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.clock.now())
        .unwrap_or_else(crate::db::now);
    RequestMeta {
        client_addr: req.peer_addr().map(|a| a.ip().to_string()),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        now,
    }
}

impl FromRequest for RequestMeta {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(meta_of(req)))
    }
}

/// The signed-in user and request metadata; the route's authorisation middleware put the
/// principal there, so a handler that takes `Ctx` cannot run unauthenticated.
impl FromRequest for Ctx {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = req.extensions().get::<Principal>().cloned();
        let state = req.app_data::<web::Data<AppState>>();
        ready(match (principal, state) {
            (Some(principal), Some(state)) => Ok(Ctx {
                principal,
                meta: meta_of(req),
                points: state.points.clone(),
                matching: state.settings.matching.clone(),
            }),
            _ => Err(AppError::Unauthorized("Sign in first.".into())),
        })
    }
}

/// A route's own JSON body limit (batch endpoints), set as resource data by the route table.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON body: `application/json` only, size-limited, unknown fields refused, and errors that
/// name the JSON path of the fault.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // A route's own limit (batches) wins over the server-wide one.
        let limit = req
            .app_data::<BodyLimit>()
            .map(|l| l.0)
            .or_else(|| {
                req.app_data::<web::Data<AppState>>()
                    .map(|s| s.settings.server.json_limit_bytes)
            })
            .unwrap_or(1 << 20);
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(AppError::UnsupportedMediaType(
                    "Send the body as application/json.".into(),
                ));
            }
            let too_large = || AppError::PayloadTooLarge(format!("The body is larger than {limit} bytes."));
            if declared.is_some_and(|n| n > limit) {
                return Err(too_large());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    AppError::bad_request("unreadable_body", format!("The body could not be read: {e}"))
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

/// Parse JSON with the path of any fault.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { String::new() } else { path };
                AppError::Validation(vec![FieldError::new(field, "invalid_value", inner.to_string())])
            }
            _ => AppError::bad_request("malformed_json", format!("The body is not valid JSON: {inner}")),
        }
    })
}

/// A query string, with unknown parameters refused.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            serde_urlencoded::from_str::<T>(req.query_string())
                .map(Query)
                .map_err(|e| AppError::BadRequest {
                    code: "invalid_query",
                    detail: format!("The query string is not valid: {e}"),
                    errors: vec![FieldError::new("query", "invalid_query", e.to_string())],
                }),
        )
    }
}

/// The version in an `If-Match` header (`"v3"`, `W/"v3"` or `3`), if any.
pub fn if_match_version(req: &HttpRequest) -> Result<Option<i64>, AppError> {
    let Some(v) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or("").trim();
    let s = s.strip_prefix("W/").unwrap_or(s).trim_matches('"');
    let s = s.strip_prefix('v').unwrap_or(s);
    s.parse::<i64>().map(Some).map_err(|_| {
        AppError::bad_request(
            "invalid_if_match",
            "If-Match must be an ETag this service gave, such as \"v3\".",
        )
    })
}
