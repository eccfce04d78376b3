//! Query-string parameters with FastAPI's validation answers: a missing required
//! parameter or a non-integer where an integer is expected is a 422 whose `detail` lists
//! every bad parameter as `{type, loc: ["query", name], msg, input}`.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::{json, Value};

use super::error::ApiError;
use crate::config::{FieldError, Loc};

/// The decoded query string (the last value of a repeated name wins, as in FastAPI), and
/// the validation errors found while reading it.
pub struct QueryParams {
    values: HashMap<String, String>,
    errors: Vec<FieldError>,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(QueryParams::parse(query))
    }
}

impl QueryParams {
    pub fn parse(query: &str) -> QueryParams {
        QueryParams {
            values: url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
            errors: Vec::new(),
        }
    }

    fn error(&mut self, name: &str, kind: &str, msg: &str, input: Value) {
        self.errors.push(FieldError {
            kind: kind.into(),
            loc: vec![Loc::Key("query".into()), Loc::Key(name.into())],
            msg: msg.into(),
            input,
            ctx: None,
        });
    }

    /// An optional string parameter.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A required string parameter; records a `missing` error when absent.
    pub fn required(&mut self, name: &str) -> String {
        match self.values.get(name) {
            Some(v) => v.clone(),
            None => {
                self.error(name, "missing", "Field required", Value::Null);
                String::new()
            }
        }
    }

    /// An optional integer parameter; records an `int_parsing` error when it is not one.
    pub fn int(&mut self, name: &str) -> Option<i64> {
        let raw = self.values.get(name)?.clone();
        match raw.trim().parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.error(
                    name,
                    "int_parsing",
                    "Input should be a valid integer, unable to parse string as an integer",
                    json!(raw),
                );
                None
            }
        }
    }

    /// An optional boolean parameter, read as pydantic does (`true`/`false`, `1`/`0`,
    /// `yes`/`no`, `on`/`off`, `t`/`f`, `y`/`n`, any case); records a `bool_parsing` error
    /// for anything else.
    pub fn bool(&mut self, name: &str) -> Option<bool> {
        let raw = self.values.get(name)?.clone();
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
            _ => {
                self.error(
                    name,
                    "bool_parsing",
                    "Input should be a valid boolean, unable to interpret input",
                    json!(raw),
                );
                None
            }
        }
    }

    /// The 422 for every error recorded so far, if any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_collected_in_fastapi_shape() {
        let mut q = QueryParams::parse("n=abc&since_seq=5&level=INFO&n=x%20y&search=a+b");
        assert_eq!(q.str("search"), Some("a b"));
        assert_eq!(q.int("since_seq"), Some(5));
        assert_eq!(q.int("n"), None);
        assert_eq!(q.int("absent"), None);
        q.required("metric_id");
        let Err(ApiError::Validation(errors)) = q.finish() else {
            panic!("expected a 422");
        };
        let v = serde_json::to_value(&errors).unwrap();
        assert_eq!(
            v,
            json!([
                {"type": "int_parsing", "loc": ["query", "n"],
                 "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "x y"},
                {"type": "missing", "loc": ["query", "metric_id"], "msg": "Field required", "input": null}
            ])
        );
    }
}
