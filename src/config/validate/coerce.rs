//! Lax coercions (pydantic v2, Python-mode input) as validation issues: int, float and
//! bool by the one rule every file of a config folder follows (`crate::coerce`), str,
//! literals and nullable values, and the numeric range checks.

use serde_json::{json, Value};

use super::issue::*;

/// `int`: the one lax integer rule ([`crate::coerce::int`]).
pub(super) fn coerce_int(v: &Value) -> Result<i64, Issue> {
    crate::coerce::int(v).map_err(Issue::from)
}

/// `float`: the one lax number rule ([`crate::coerce::float`]).
pub(super) fn coerce_float(v: &Value) -> Result<f64, Issue> {
    crate::coerce::float(v).map_err(Issue::from)
}

/// `bool`: the one lax boolean rule ([`crate::coerce::bool`]).
pub(super) fn coerce_bool(v: &Value) -> Result<bool, Issue> {
    crate::coerce::bool(v).map_err(Issue::from)
}

/// `str`: strings only (pydantic does not turn numbers into strings).
pub(super) fn coerce_str(v: &Value) -> Result<String, Issue> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(Issue::new("string_type", "Input should be a valid string")),
    }
}

pub(super) fn non_empty(s: String) -> Result<String, Issue> {
    if s.is_empty() {
        Err(Issue::with_ctx(
            "string_too_short",
            "String should have at least 1 character".into(),
            json!({ "min_length": 1 }),
        ))
    } else {
        Ok(s)
    }
}

/// Optional string fields whose `""` means "not set".
pub(super) fn empty_to_none(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

pub(super) fn literal(v: &Value, options: &[&str]) -> Result<String, Issue> {
    match v {
        Value::String(s) if options.contains(&s.as_str()) => Ok(s.clone()),
        _ => {
            let quoted: Vec<String> = options.iter().map(|o| format!("'{o}'")).collect();
            let expected = match quoted.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => quoted.join(""),
            };
            Err(Issue::with_ctx(
                "literal_error",
                format!("Input should be {expected}"),
                json!({ "expected": expected }),
            ))
        }
    }
}

pub(super) fn nullable<T>(
    v: &Value,
    f: impl FnOnce(&Value) -> Result<T, Issue>,
) -> Result<Option<T>, Issue> {
    if v.is_null() {
        Ok(None)
    } else {
        f(v).map(Some)
    }
}

/// Integer bounds, checked like pydantic: `le` first, then `ge`.
#[derive(Clone, Copy)]
pub(super) struct IntRange {
    ge: Option<i64>,
    le: Option<i64>,
}

pub(super) const ANY: IntRange = IntRange { ge: None, le: None };

pub(super) const fn at_least(ge: i64) -> IntRange {
    IntRange {
        ge: Some(ge),
        le: None,
    }
}

pub(super) const fn between(ge: i64, le: i64) -> IntRange {
    IntRange {
        ge: Some(ge),
        le: Some(le),
    }
}

impl IntRange {
    pub(super) fn check(self, i: i64) -> Result<i64, Issue> {
        if let Some(le) = self.le.filter(|le| i > *le) {
            return Err(Issue::with_ctx(
                "less_than_equal",
                format!("Input should be less than or equal to {le}"),
                json!({ "le": le }),
            ));
        }
        if let Some(ge) = self.ge.filter(|ge| i < *ge) {
            return Err(Issue::with_ctx(
                "greater_than_equal",
                format!("Input should be greater than or equal to {ge}"),
                json!({ "ge": ge }),
            ));
        }
        Ok(i)
    }
}

/// Float bounds. pydantic holds float bounds as floats: the message prints them the short
/// way (`60`) and `ctx` carries a float (`60.0`).
#[derive(Clone, Copy)]
pub(super) struct FloatRange {
    pub(super) gt: Option<f64>,
    pub(super) ge: Option<f64>,
    pub(super) le: Option<f64>,
}

impl FloatRange {
    pub(super) fn check(self, f: f64) -> Result<f64, Issue> {
        if let Some(le) = self.le.filter(|le| f > *le) {
            return Err(Issue::with_ctx(
                "less_than_equal",
                format!("Input should be less than or equal to {le}"),
                json!({ "le": le }),
            ));
        }
        if let Some(ge) = self.ge.filter(|ge| f < *ge) {
            return Err(Issue::with_ctx(
                "greater_than_equal",
                format!("Input should be greater than or equal to {ge}"),
                json!({ "ge": ge }),
            ));
        }
        if let Some(gt) = self.gt.filter(|gt| f <= *gt) {
            return Err(Issue::with_ctx(
                "greater_than",
                format!("Input should be greater than {gt}"),
                json!({ "gt": gt }),
            ));
        }
        Ok(f)
    }
}
