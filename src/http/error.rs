//! The API error type: one enum for every handler, each variant with its status code.
//! Bodies follow Rackscope's shapes (D5): `{"detail": "<message>"}`, or a list of
//! `{type, loc, msg, input}` items for request validation (422). Internal causes are
//! logged, never sent to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::config::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is well-formed but cannot be honoured as asked.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated (or anonymous) but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with the state on disk or in memory.
    #[error("{0}")]
    Conflict(String),
    /// 413: the request body is larger than the server accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: a request body that is not declared as JSON (`Content-Type`).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: request validation failed, field by field (pydantic-shaped `detail` list).
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 422: a business rule refused the request (`detail` is a string).
    #[error("{0}")]
    Unprocessable(String),
    /// 429: too many attempts.
    #[error("{0}")]
    TooManyRequests(String),
    /// 502: a dependency (Prometheus) answered, but with an error or garbage.
    #[error("{0}")]
    BadGateway(String),
    /// 503: a dependency (Prometheus, a plugin) is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an environment failure. The message is logged; the client gets a
    /// generic body.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) | ApiError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A single validation error at `loc` (already prefixed, e.g. `["body", "config"]`).
    pub fn field(
        loc: &[&str],
        kind: &str,
        msg: impl Into<String>,
        input: serde_json::Value,
    ) -> Self {
        ApiError::Validation(vec![FieldError {
            kind: kind.to_string(),
            loc: loc
                .iter()
                .map(|s| crate::config::Loc::Key((*s).to_string()))
                .collect(),
            msg: msg.into(),
            input,
            ctx: None,
        }])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            ApiError::Validation(errors) => json!({ "detail": errors }),
            ApiError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                if debug_errors() {
                    json!({ "detail": "Internal server error", "exception": msg })
                } else {
                    json!({ "detail": "Internal server error" })
                }
            }
            other => json!({ "detail": other.to_string() }),
        };
        (status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// `RACKSCOPE_DEBUG=true` (read once): 500 answers carry the internal error message, and
/// plugin failures the Lua error with its file and line. For development only: the
/// messages can name files on the server.
pub fn debug_errors() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| {
        std::env::var("RACKSCOPE_DEBUG").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
    })
}
