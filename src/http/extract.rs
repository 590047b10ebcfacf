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
                let chunk = chunk.map_err(unreadable)?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

/// A body the connection could not deliver.
fn unreadable(e: actix_web::error::PayloadError) -> AppError {
    AppError::bad_request("unreadable_body", format!("The body could not be read: {e}"))
}

/// The first `max` bytes of a body (for bodies whose tail does not matter, such as a bounce
/// notice carrying the original message); the rest is not read.
pub async fn read_capped(mut payload: web::Payload, max: usize) -> Result<web::BytesMut, AppError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(unreadable)?;
        body.extend_from_slice(&chunk[..chunk.len().min(max - body.len())]);
        if body.len() >= max {
            break;
        }
    }
    Ok(body)
}

/// Parse JSON with the path of any fault. A NUL character (`\u0000`) anywhere in a string is
/// refused, naming where it is: no field may hold one, and PostgreSQL cannot store it.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if has_nul_escape(body) {
        // Fail closed: a body with a NUL that does not even parse is refused all the same.
        let path = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|value| nul_path(&value, String::new()))
            .unwrap_or_default();
        return Err(AppError::Validation(vec![FieldError::new(
            path,
            "control_characters",
            "NUL characters are not allowed.",
        )]));
    }
    let malformed =
        |e: serde_json::Error| AppError::bad_request("malformed_json", format!("The body is not valid JSON: {e}"));
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { String::new() } else { path };
                AppError::Validation(vec![FieldError::new(field, "invalid_value", inner.to_string())])
            }
            _ => malformed(inner),
        }
    })?;
    // Nothing but white space may follow the value.
    de.end().map_err(malformed)?;
    Ok(value)
}

/// Whether the JSON text holds a `\u0000` escape (the only way JSON can carry a NUL): a scan
/// that steps over every other escape, so an escaped backslash followed by `u0000` is text.
fn has_nul_escape(body: &[u8]) -> bool {
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\\' {
            if body.get(i + 1) == Some(&b'u') && body.get(i + 2..i + 6) == Some(b"0000".as_slice()) {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// The path (`a.b[2]`) of the first string or key holding a NUL, if any.
fn nul_path(v: &serde_json::Value, at: String) -> Option<String> {
    let join = |key: &str| {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    };
    match v {
        serde_json::Value::String(s) => s.contains('\0').then_some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
            if k.contains('\0') {
                Some(join(&k.replace('\0', "")))
            } else {
                nul_path(item, join(k))
            }
        }),
        _ => None,
    }
}

/// A query string, with unknown parameters refused.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

/// Parse a query string; a fault names the parameter it is in (`query` when it is not one
/// parameter's, such as a repeated one).
pub fn parse_query<T: DeserializeOwned>(qs: &str) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(qs.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            "query".to_string()
        } else {
            path
        };
        let inner = e.into_inner();
        AppError::BadRequest {
            code: "invalid_query",
            detail: format!("The query string is not valid: {inner}"),
            errors: vec![FieldError::new(field, "invalid_query", inner.to_string())],
        }
    })
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

#[cfg(test)]
mod tests {
    use super::{has_nul_escape, nul_path};

    #[test]
    fn nul_escapes_are_found_and_escaped_backslashes_are_not() {
        assert!(has_nul_escape(br#"{"a": "x\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a": "x\\u0000"}"#));
        assert!(has_nul_escape(br#"{"a": "x\\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a": "\u0001"}"#));
        let v: serde_json::Value = serde_json::from_str(r#"{"a": [1, {"b": "x\u0000"}]}"#).unwrap_or_default();
        assert_eq!(nul_path(&v, String::new()).as_deref(), Some("a[1].b"));
    }

    proptest::proptest! {
        /// Whatever text a client's JSON encoder writes, the scan agrees with the text itself.
        #[test]
        fn the_scan_agrees_with_the_decoded_text(s in "[a\\\\\\\\u0\"\\x00-\\x1f]{0,12}", key in "[a-z\\x00]{1,3}") {
            let body = serde_json::json!({ key.clone(): [s.clone()] }).to_string();
            proptest::prop_assert_eq!(has_nul_escape(body.as_bytes()), s.contains('\0') || key.contains('\0'));
        }
    }
}
