//! Issues: a validation error before it gets its location and input, with the
//! constructors for pydantic's error types.

use serde_json::{json, Value};

use super::{FieldError, Loc};

#[derive(Debug, PartialEq)]
pub(super) struct Issue {
    pub(super) kind: &'static str,
    pub(super) msg: String,
    pub(super) ctx: Option<Value>,
}

impl Issue {
    pub(super) fn new(kind: &'static str, msg: &str) -> Issue {
        Issue {
            kind,
            msg: msg.to_string(),
            ctx: None,
        }
    }

    pub(super) fn with_ctx(kind: &'static str, msg: String, ctx: Value) -> Issue {
        Issue {
            kind,
            msg,
            ctx: Some(ctx),
        }
    }

    pub(super) fn at(self, loc: Vec<Loc>, input: Value) -> FieldError {
        FieldError {
            kind: self.kind.to_string(),
            loc,
            msg: self.msg,
            input,
            ctx: self.ctx,
        }
    }

    /// A custom validator's failure: pydantic's `ValueError` wrapping.
    pub(super) fn value_error(text: &str) -> Issue {
        Issue::with_ctx(
            "value_error",
            format!("Value error, {text}"),
            json!({ "error": text }),
        )
    }
}

impl From<crate::coerce::LaxError> for Issue {
    fn from(e: crate::coerce::LaxError) -> Issue {
        Issue::new(e.kind(), e.message())
    }
}

pub(super) fn model_type(class_name: &str) -> Issue {
    Issue::with_ctx(
        "model_type",
        format!("Input should be a valid dictionary or instance of {class_name}"),
        json!({ "class_name": class_name }),
    )
}

pub(super) fn dict_type() -> Issue {
    Issue::new("dict_type", "Input should be a valid dictionary")
}

pub(super) fn list_type() -> Issue {
    Issue::new("list_type", "Input should be a valid list")
}
