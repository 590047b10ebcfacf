//! Middleware: request ids, access logs, metrics, security headers, and per-route authorisation.
//!
//! Authorisation policy: a bearer token (`Authorization: Bearer …`) or the session cookie
//! authenticates; a cookie-authenticated request with an unsafe method must also carry the
//! session's CSRF token in `X-CSRF-Token` (browsers never add that header cross-site). Denials
//! are audited.

use std::time::Instant;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};

use super::extract::{meta_of, RequestId};
use super::Access;
use crate::error::AppError;
use crate::service::{audit, auth, sha256_hex, Principal};
use crate::state::AppState;

/// Name of the session cookie (the `__Host-` prefix pins it to this host, path `/`, Secure).
pub const SESSION_COOKIE: &str = "__Host-lighthouse_session";
/// Name of the cookie holding the CSRF token for the web client to echo in `X-CSRF-Token`.
pub const CSRF_COOKIE: &str = "__Host-lighthouse_csrf";
/// Header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What a session signed in without the second factor its roles require may reach.
const ENROLMENT_ROUTES: [&str; 4] = [
    "/api/v1/auth/me",
    "/api/v1/auth/logout",
    "/api/v1/auth/totp",
    "/api/v1/auth/totp/confirm",
];

/// Authenticate and authorise one request for a route with `access`. Refusals are answered
/// here (not returned as errors) so the outer middleware still logs and decorates them.
pub async fn authorize(
    access: Access,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, Error> {
    match check(access, &req).await {
        Ok(principal) => {
            let signed_in = principal.is_some();
            if let Some(p) = principal {
                req.extensions_mut().insert(p);
            }
            // Sign-out, token revocation, password changes and changes to staff accounts end
            // or change sessions: forget what this instance remembers of them (sign-in, a
            // public route, changes nothing remembered).
            let path = req.path();
            let changes_sessions = signed_in
                && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
                && (path.starts_with("/api/v1/auth/") || path.starts_with("/api/v1/users"));
            let state = changes_sessions
                .then(|| req.app_data::<web::Data<AppState>>().cloned())
                .flatten();
            let res = next.call(req).await.map(ServiceResponse::map_into_left_body);
            if let Some(state) = state {
                state.sessions.clear();
            }
            res
        }
        Err(e) => Ok(req.error_response(e).map_into_right_body()),
    }
}

async fn check(access: Access, req: &ServiceRequest) -> Result<Option<Principal>, AppError> {
    refuse_nul_in_url(req)?;
    if access == Access::Public {
        return Ok(None);
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("application state missing".into()))?;
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_string());
    let (token, via_cookie) = match bearer {
        Some(t) => (t, false),
        None => match req.cookie(SESSION_COOKIE) {
            Some(c) => (c.value().to_string(), true),
            None => return Err(AppError::Unauthorized("Sign in first.".into())),
        },
    };
    let now = state.clock.now();
    let token_hash = sha256_hex(&token);
    let authed = match state.sessions.get(&token_hash, now) {
        Some(a) => a,
        None => {
            let settings = state.settings.auth.clone();
            let a = state.db(move |c| auth::authenticate(c, &settings, &token, now)).await?;
            state.sessions.put(token_hash, &a);
            a
        }
    };
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if via_cookie && unsafe_method {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(sha256_hex);
        if sent.is_none() || sent != authed.csrf_hash {
            return Err(AppError::Forbidden(
                "This request needs the X-CSRF-Token header of your session.".into(),
            ));
        }
    }
    if authed.principal.enrolment_only && !ENROLMENT_ROUTES.contains(&req.path()) {
        return Err(AppError::SecondFactor {
            enrol: true,
            code: "mfa_enrolment_required",
            detail: "Your role signs in with a second factor: enrol one first (POST /api/v1/auth/totp, then /api/v1/auth/totp/confirm).".into(),
        });
    }
    if let Access::Needs(permission) = access {
        if !authed.principal.can(permission) {
            let meta = meta_of(req.request());
            let detail = serde_json::json!({"route": req.match_pattern(), "method": req.method().as_str()});
            state.audit.send(audit::event(
                &meta,
                Some(&authed.principal),
                "access.denied",
                None,
                "denied",
                Some(detail),
            ));
            return Err(AppError::Forbidden("Your role does not allow this.".into()));
        }
    }
    Ok(Some(authed.principal))
}

/// A NUL character (`%00`) in the path or the query string: refused for every route, because no
/// id, code or filter holds one and PostgreSQL cannot store or compare text with it.
fn refuse_nul_in_url(req: &ServiceRequest) -> Result<(), AppError> {
    let uri = req.uri();
    let nul = |s: &str| s.contains("%00");
    let field = if nul(uri.path()) {
        "path"
    } else if uri.query().is_some_and(nul) {
        "query"
    } else {
        return Ok(());
    };
    Err(AppError::BadRequest {
        code: "control_characters",
        detail: "The address holds a NUL character (%00), which no value may contain.".into(),
        errors: vec![crate::error::FieldError::new(
            field,
            "control_characters",
            "NUL characters are not allowed.",
        )],
    })
}

fn valid_request_id(v: &str) -> bool {
    (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The headers every answer carries: its request id and the security headers.
fn secure(headers: &mut actix_web::http::header::HeaderMap, id: &str, under_api: bool) {
    let set = |h: &mut actix_web::http::header::HeaderMap, name: &'static str, value: &'static str| {
        h.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    };
    if let Ok(v) = HeaderValue::from_str(id) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "no-referrer");
    set(headers, "x-frame-options", "DENY");
    set(
        headers,
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            headers,
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        );
    }
    if under_api && !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, "cache-control", "no-store");
    }
}

/// The answer to a request whose handler panicked: a 500 problem like any internal fault, with
/// the headers every answer carries.
#[derive(Debug)]
struct Panicked {
    id: String,
    under_api: bool,
}

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a request handler panicked")
    }
}

impl actix_web::ResponseError for Panicked {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let mut res = crate::error::AppError::Internal(self.to_string()).error_response();
        secure(res.headers_mut(), &self.id, self.under_api);
        res
    }
}

/// Assign a request id, log the request, count it, and add security headers.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| crate::service::random_token(12));
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let under_api = req.path().starts_with("/api/");
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // Last resort (security anchor 58): a handler that panics answers 500 like any other fault,
    // and its worker goes on serving (without this the connection is dropped and the worker
    // thread restarted). What was mid-way is rolled back with its transaction. The request went
    // with the handler, so the answer is an error the server turns into the response.
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(next.call(req))).await;
    let mut res = match outcome {
        Ok(res) => res?.map_into_boxed_body(),
        Err(_) => {
            let elapsed = started.elapsed();
            if let Some(state) = state {
                state.metrics.record(method.as_str(), "panicked", 500, elapsed);
            }
            tracing::error!(request_id = %id, method = %method, status = 500, ms = elapsed.as_secs_f64() * 1000.0, "a request handler panicked");
            return Err(Panicked { id, under_api }.into());
        }
    };
    let status = res.status().as_u16();
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let elapsed = started.elapsed();
    if let Some(state) = state {
        state.metrics.record(method.as_str(), &route, status, elapsed);
    }
    // The route's pattern is logged (`/api/v1/people/{id}`, `/u/{token}`), not the path: the
    // path's values and query string can hold personal data or a token (security anchor 63).
    tracing::info!(request_id = %id, method = %method, route = %route, status, ms = elapsed.as_secs_f64() * 1000.0, "request");
    secure(res.headers_mut(), &id, under_api);
    Ok(res)
}
