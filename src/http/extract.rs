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

/// Most values (numbers, strings, literals, arrays and objects, counted together) a
/// request body may hold. A 2 MiB body can hold a million tiny numbers, and decoding
/// each costs far more memory than its two bytes of text; with this cap a body costs at
/// most a few times its size to decode, whatever it holds.
pub const MAX_JSON_VALUES: usize = 100_000;

/// Deepest nesting of arrays and objects a request body may have.
pub const MAX_JSON_DEPTH: usize = 64;

/// Counts the values of a JSON text and its nesting depth without decoding it (strings
/// are skipped, escapes honoured), and refuses one over [`MAX_JSON_VALUES`] (413) or
/// [`MAX_JSON_DEPTH`] (422) before any memory is spent on it. Malformed text is left for
/// the parser to report.
pub fn check_json_size(bytes: &[u8]) -> Result<(), ApiError> {
    let (mut values, mut depth, mut max_depth) = (0usize, 0usize, 0usize);
    let mut i = 0;
    // True while the previous significant byte ends a scalar that was already counted.
    let mut in_scalar = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                values += 1;
                in_scalar = false;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                values += 1;
                depth += 1;
                max_depth = max_depth.max(depth);
                in_scalar = false;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                in_scalar = false;
            }
            b',' | b':' | b' ' | b'\t' | b'\n' | b'\r' => in_scalar = false,
            _ => {
                if !in_scalar {
                    values += 1;
                    in_scalar = true;
                }
            }
        }
        if values > MAX_JSON_VALUES {
            return Err(ApiError::PayloadTooLarge(format!(
                "Request body too large: more than {MAX_JSON_VALUES} JSON values"
            )));
        }
        if max_depth > MAX_JSON_DEPTH {
            return Err(ApiError::Unprocessable(format!(
                "Request body nested too deeply: more than {MAX_JSON_DEPTH} levels of arrays and objects"
            )));
        }
        i += 1;
    }
    Ok(())
}

/// Parses `bytes` as JSON, or returns the 422 `json_invalid` error with the byte offset.
/// Bodies over the value or depth limits are refused first ([`check_json_size`]).
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    check_json_size(bytes)?;
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

/// The path parameters of the routes on one device, read and described for the API
/// document.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RackDevice {
    /// The rack's id.
    pub rack_id: String,
    /// The device's id in that rack.
    pub device_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_ok(text: &str) -> bool {
        check_json_size(text.as_bytes()).is_ok()
    }

    #[test]
    fn size_check_counts_values_not_bytes() {
        assert!(count_ok(
            r#"{"a": [1, 2, "x,]\"y"], "b": {"c": null}, "d": -1.5e3}"#
        ));
        let many = format!("[{}]", vec!["1"; MAX_JSON_VALUES].join(","));
        assert!(matches!(
            check_json_size(many.as_bytes()),
            Err(ApiError::PayloadTooLarge(_))
        ));
        let fits = format!("[{}]", vec!["1"; MAX_JSON_VALUES - 1].join(","));
        assert!(count_ok(&fits));
        // Commas and brackets inside strings are not structure.
        let text = format!("[\"{}\"]", "[,]".repeat(MAX_JSON_VALUES));
        assert!(count_ok(&text));
    }

    #[test]
    fn size_check_limits_depth() {
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH + 1),
            "]".repeat(MAX_JSON_DEPTH + 1)
        );
        assert!(matches!(
            check_json_size(deep.as_bytes()),
            Err(ApiError::Unprocessable(_))
        ));
        let ok = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        assert!(count_ok(&ok));
    }
}
