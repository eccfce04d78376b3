//! Request extractors that answer bad input with Rackscope's 422 shapes instead of
//! axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::{json, Value};

use super::error::ApiError;
use crate::config::{FieldError, Loc};

/// A JSON request body. A non-empty body must be declared `application/json` (or a
/// `+json` type): anything else is a 415, so a page on another origin cannot send a
/// "simple" cross-site request (`text/plain`, forms) that changes state without a CORS
/// preflight. Invalid JSON is a 422 `json_invalid` item.
pub struct JsonBody(pub Value);

/// Refuses a non-empty body whose `Content-Type` is not JSON (415).
pub fn require_json_type(headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"));
    if is_json {
        return Ok(());
    }
    let got = if declared.is_empty() {
        "no Content-Type".to_string()
    } else {
        format!("Content-Type '{declared}'")
    };
    Err(ApiError::UnsupportedMediaType(format!(
        "Request body must be JSON sent with Content-Type: application/json (got {got})"
    )))
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("Request body too large".into())
            } else {
                ApiError::BadRequest(format!("Could not read request body: {}", e.body_text()))
            }
        })?;
        require_json_type(&headers, &bytes)?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses `bytes` as JSON, or returns the 422 `json_invalid` error with the byte offset.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let offset = byte_offset(bytes, e.line(), e.column());
        ApiError::Validation(vec![FieldError {
            kind: "json_invalid".into(),
            loc: vec![Loc::Key("body".into()), Loc::Index(offset)],
            msg: "JSON decode error".into(),
            input: json!({}),
            ctx: Some(json!({ "error": e.to_string() })),
        }])
    })
}

fn byte_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in bytes.split(|b| *b == b'\n').enumerate() {
        if i + 1 == line {
            return offset + column.saturating_sub(1);
        }
        offset += l.len() + 1;
    }
    bytes.len()
}

/// Checks that `body` is an object and returns it, else a 422 at `["body"]`.
pub fn require_object(body: &Value) -> Result<&serde_json::Map<String, Value>, ApiError> {
    body.as_object().ok_or_else(|| {
        ApiError::field(
            &["body"],
            "model_attributes_type",
            "Input should be a valid dictionary or object to extract fields from",
            body.clone(),
        )
    })
}

/// A path parameter whose rejection (for example `%FF`, not UTF-8) is a JSON 400 rather
/// than axum's plain-text one.
pub struct PathParam<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParam<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}
