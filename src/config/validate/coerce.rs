//! Lax coercions (pydantic v2, Python-mode input): int, float, bool, str, literals and
//! nullable values, and the numeric range checks.

use serde_json::{json, Value};

use super::issue::*;

/// `int`: integers, booleans, floats without a fractional part and integer strings
/// (surrounding whitespace, `_` between digits and a `.000` tail allowed).
pub(super) fn coerce_int(v: &Value) -> Result<i64, Issue> {
    match v {
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Ok(i),
            (None, Some(_), _) => Err(int_too_big()),
            (None, None, Some(f)) => float_as_int(f),
            (None, None, None) => Err(int_type()),
        },
        Value::String(s) => str_as_int(s),
        _ => Err(int_type()),
    }
}

pub(super) fn float_as_int(f: f64) -> Result<i64, Issue> {
    if !f.is_finite() {
        Err(finite_number())
    } else if f.fract() != 0.0 {
        Err(int_from_float())
    } else if f > i64::MIN as f64 && f < i64::MAX as f64 {
        // In range and integral, so the cast is exact.
        Ok(f as i64)
    } else {
        Err(int_too_big())
    }
}

pub(super) fn str_as_int(s: &str) -> Result<i64, Issue> {
    let t = s.trim();
    if t.len() > 4300 {
        return Err(int_too_big());
    }
    let t = strip_underscores(t).unwrap_or_else(|| t.to_string());
    let t = strip_decimal_zeros(&t).unwrap_or(&t);
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(int_parsing());
    }
    t.parse::<i64>().map_err(|_| int_too_big())
}

/// `"10.000"` -> `"10"`, as pydantic does before parsing an integer string.
pub(super) fn strip_decimal_zeros(s: &str) -> Option<&str> {
    let dot = s.rfind('.')?;
    s[dot + 1..].bytes().all(|b| b == b'0').then(|| &s[..dot])
}

/// `"1_000"` -> `"1000"`: Python allows single underscores between digits.
pub(super) fn strip_underscores(s: &str) -> Option<String> {
    if !s.contains('_') {
        return None;
    }
    let chars: Vec<char> = s.chars().collect();
    let ok = chars.iter().enumerate().all(|(i, c)| {
        *c != '_'
            || (i > 0
                && chars[i - 1].is_ascii_digit()
                && chars.get(i + 1).is_some_and(char::is_ascii_digit))
    });
    ok.then(|| s.replace('_', ""))
}

/// `float`: numbers, booleans and numeric strings (`"inf"` included).
pub(super) fn coerce_float(v: &Value) -> Result<f64, Issue> {
    let f = match v {
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| Issue::new("float_type", "Input should be a valid number"))?,
        Value::String(s) => {
            let t = s.trim();
            t.parse::<f64>()
                .ok()
                .or_else(|| strip_underscores(t).and_then(|u| u.parse().ok()))
                .ok_or_else(|| {
                    Issue::new(
                        "float_parsing",
                        "Input should be a valid number, unable to parse string as a number",
                    )
                })?
        }
        _ => return Err(Issue::new("float_type", "Input should be a valid number")),
    };
    if f.is_nan() {
        return Err(finite_number());
    }
    Ok(f)
}

/// `bool`: booleans, 0/1 and the strings yes/no, on/off, true/false, y/n, t/f, 1/0 in any
/// case.
pub(super) fn coerce_bool(v: &Value) -> Result<bool, Issue> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f == 0.0 {
                Ok(false)
            } else if f == 1.0 {
                Ok(true)
            } else {
                Err(bool_parsing())
            }
        }
        Value::String(s) => {
            let l = s.to_ascii_lowercase();
            match l.as_str() {
                "0" | "f" | "n" | "no" | "off" | "false" => Ok(false),
                "1" | "t" | "y" | "yes" | "on" | "true" => Ok(true),
                _ => Err(bool_parsing()),
            }
        }
        _ => Err(Issue::new("bool_type", "Input should be a valid boolean")),
    }
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
