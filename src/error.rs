//! One error type for the whole service, rendered as RFC 9457 `application/problem+json`.
//!
//! Policy:
//! - Every error a client can cause maps to a 4xx with a stable machine `type`
//!   (`urn:lighthouse:problem:<code>`), the same `code`, a plain-English `detail` and, for
//!   validation, per-field `errors` with a JSON path.
//! - Internal errors are logged with their cause and rendered without it: the client sees only
//!   that something failed and the request id to quote.
//! - Database errors that a client can trigger (unique or foreign-key violations) are mapped by
//!   the service layer where it knows what they mean; anything left over is internal.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// A problem with one field of the request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `emails[1].address`, or a query parameter name.
    pub field: String,
    /// Stable machine code, e.g. `invalid_email`, `required`, `too_long`.
    pub code: String,
    /// Plain-English explanation.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Every failure the service reports.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed (bad JSON, bad query parameter, …).
    #[error("{detail}")]
    BadRequest {
        /// Machine code.
        code: &'static str,
        /// Explanation.
        detail: String,
        /// Field problems, when known.
        errors: Vec<FieldError>,
    },
    /// Well-formed but invalid values.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// No credentials, or credentials that are not (or no longer) valid.
    #[error("authentication required")]
    Unauthorized(String),
    /// Authenticated but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The second sign-in factor is missing or wrong (401), or must be enrolled before anything
    /// else (403, `enrol`).
    #[error("second factor: {detail}")]
    SecondFactor {
        /// A session that may only enrol one (403) rather than a sign-in that needs a code (401).
        enrol: bool,
        /// Machine code.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
    /// Not found, or not visible to this user.
    #[error("not found")]
    NotFound,
    /// Existed once and is gone for good (e.g. erased).
    #[error("gone: {0}")]
    Gone(String),
    /// Conflicts with the current state (duplicate key, stale version, wrong state).
    #[error("conflict: {detail}")]
    Conflict {
        /// Machine code.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
    /// An `If-Match` precondition did not hold.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The body is larger than allowed.
    #[error("payload too large")]
    PayloadTooLarge(String),
    /// The body has the wrong media type.
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    /// The path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Too many attempts (e.g. sign-in lockout).
    #[error("too many requests")]
    TooManyRequests(String),
    /// A dependency (the database) is not available.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Something the request needs besides the database is not there: the mail server, or
    /// sending not configured. 503, with a detail that is shown (the database's own trouble is
    /// `Unavailable`, whose cause stays in the log).
    #[error("{code}: {detail}")]
    Upstream {
        /// Machine code.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
    /// The person was merged into another: the survivor's public id (301).
    #[error("merged into {0}")]
    Merged(String),
    /// A bug or an unexpected failure; the cause is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result with [`AppError`].
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A bad request with a code and detail.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// A validation failure on a single field.
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, code, message)])
    }

    /// A conflict with a code and detail.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Upstream { code, .. }
            | AppError::SecondFactor { code, .. } => code,
            AppError::Validation(_) => "validation_failed",
            AppError::Unauthorized(_) => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Gone(_) => "gone",
            AppError::PreconditionFailed(_) => "precondition_failed",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::Unavailable(_) => "unavailable",
            AppError::Merged(_) => "merged",
            AppError::Internal(_) => "internal",
        }
    }

    fn detail(&self) -> String {
        match self {
            AppError::BadRequest { detail, .. }
            | AppError::Conflict { detail, .. }
            | AppError::Upstream { detail, .. }
            | AppError::SecondFactor { detail, .. } => detail.clone(),
            AppError::Validation(_) => "Some values are not valid; see `errors`.".into(),
            AppError::Unauthorized(d)
            | AppError::Forbidden(d)
            | AppError::Gone(d)
            | AppError::PreconditionFailed(d)
            | AppError::PayloadTooLarge(d)
            | AppError::UnsupportedMediaType(d)
            | AppError::TooManyRequests(d) => d.clone(),
            AppError::NotFound => "Nothing was found at this address.".into(),
            AppError::Merged(id) => format!("This person was merged into {id}."),
            AppError::MethodNotAllowed => "This address does not accept this method.".into(),
            AppError::Unavailable(_) => "The database is busy or cannot be reached; try again shortly.".into(),
            AppError::Internal(_) => "Something went wrong on our side; quote the request id if you report it.".into(),
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::BadRequest { .. } => "Bad request",
            AppError::Validation(_) => "Invalid values",
            AppError::Unauthorized(_) => "Sign-in required",
            AppError::Forbidden(_) => "Not allowed",
            AppError::SecondFactor { .. } => "Second factor needed",
            AppError::NotFound => "Not found",
            AppError::Gone(_) => "Gone",
            AppError::Conflict { .. } => "Conflict",
            AppError::PreconditionFailed(_) => "Precondition failed",
            AppError::PayloadTooLarge(_) => "Too large",
            AppError::UnsupportedMediaType(_) => "Unsupported media type",
            AppError::MethodNotAllowed => "Method not allowed",
            AppError::TooManyRequests(_) => "Too many requests",
            AppError::Unavailable(_) | AppError::Upstream { .. } => "Unavailable",
            AppError::Merged(_) => "Merged",
            AppError::Internal(_) => "Internal error",
        }
    }
}

/// The problem document (RFC 9457) as sent.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// `urn:lighthouse:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Explanation of this occurrence.
    pub detail: String,
    /// The same machine code as in `type`.
    pub code: String,
    /// Per-field problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a merged person: the survivor's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::SecondFactor { enrol: true, .. } => StatusCode::FORBIDDEN,
            AppError::SecondFactor { enrol: false, .. } => StatusCode::UNAUTHORIZED,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) | AppError::Upstream { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Merged(_) => StatusCode::MOVED_PERMANENTLY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) | AppError::Unavailable(cause) = self {
            tracing::error!(error = %cause, "request failed");
        }
        let status = self.status_code();
        let errors = match self {
            AppError::Validation(e) | AppError::BadRequest { errors: e, .. } => e.clone(),
            _ => Vec::new(),
        };
        let problem = Problem {
            kind: format!("urn:lighthouse:problem:{}", self.code()),
            title: self.title().into(),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code().into(),
            errors,
            merged_into: match self {
                AppError::Merged(id) => Some(id.clone()),
                _ => None,
            },
        };
        let mut resp = HttpResponse::build(status);
        resp.content_type("application/problem+json");
        if let AppError::Unauthorized(_) = self {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let AppError::Merged(id) = self {
            resp.insert_header(("Location", format!("/api/v1/people/{id}")));
        }
        if let AppError::TooManyRequests(_) = self {
            resp.insert_header(("Retry-After", "60"));
        }
        if let AppError::Unavailable(_) = self {
            resp.insert_header(("Retry-After", "1"));
        }
        resp.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound,
            other if is_busy(&other) => AppError::Unavailable(format!("database: {other}")),
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        AppError::Unavailable(format!("connection pool: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(format!("blocking task: {e}"))
    }
}

/// True when a database error says the database is busy: SQLite could not take a lock within
/// `database.busy_timeout_ms` (another connection held the write lock that long), or PostgreSQL
/// cancelled a transaction caught in a lock cycle or a serialisation conflict. That is a
/// moment's congestion, not a fault: the request can be sent again.
pub fn is_busy(e: &diesel::result::Error) -> bool {
    match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::SerializationFailure, _) => true,
        diesel::result::Error::DatabaseError(_, info) => {
            let m = info.message();
            m.starts_with("database is locked")
                || m.starts_with("database table is locked")
                || m.starts_with("database is busy")
                // PostgreSQL gave up one of two transactions waiting for each other's locks.
                || m.starts_with("deadlock detected")
        }
        _ => false,
    }
}

/// True when a database error is a unique-constraint violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
