//! Lax scalars: the one rule by which every file of a config folder (app.yaml, the
//! topology files, the templates) turns what a YAML file says into an integer, a number or
//! a boolean. It is pydantic v2's lax mode, as Rackscope's Python server applies it to
//! app.yaml, so a value that loads in one file loads in every other (docs/architecture.md,
//! compatibility C1 and C9, has the table of accepted spellings):
//!
//! - integer: an integer; a boolean (`true` is 1); a float without a fractional part
//!   (`3.0`); a string holding an integer, with surrounding whitespace, an optional sign,
//!   single `_` between digits (`"1_000"`) and a `.000` tail (`"3.0"`);
//! - number: a number, a boolean, or a string a float parses from (`"2.5"`, `"1e3"`,
//!   `"inf"`, `"1_000.5"`); NaN is refused;
//! - boolean: a boolean; the numbers 0 and 1; the strings `0 1 f t n y no yes off on false
//!   true` in any case.
//!
//! Strings are never made from numbers here (pydantic's `str` refuses them); the topology
//! loader's ids and names are the one exception Rackscope's loader makes, and it is kept
//! there (`topology::load`).

use serde_json::Value;

/// Why a value is not the scalar asked for: pydantic's error type and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaxError {
    IntType,
    IntParsing,
    IntFromFloat,
    /// Larger than 64 bits (pydantic has no limit; its message for integers it cannot hold).
    IntTooBig,
    FloatType,
    FloatParsing,
    FiniteNumber,
    BoolType,
    BoolParsing,
}

impl LaxError {
    /// pydantic's error type (`int_parsing`, ...).
    pub fn kind(self) -> &'static str {
        match self {
            LaxError::IntType => "int_type",
            LaxError::IntParsing => "int_parsing",
            LaxError::IntFromFloat => "int_from_float",
            LaxError::IntTooBig => "int_parsing_size",
            LaxError::FloatType => "float_type",
            LaxError::FloatParsing => "float_parsing",
            LaxError::FiniteNumber => "finite_number",
            LaxError::BoolType => "bool_type",
            LaxError::BoolParsing => "bool_parsing",
        }
    }

    /// pydantic's message.
    pub fn message(self) -> &'static str {
        match self {
            LaxError::IntType => "Input should be a valid integer",
            LaxError::IntParsing => {
                "Input should be a valid integer, unable to parse string as an integer"
            }
            LaxError::IntFromFloat => {
                "Input should be a valid integer, got a number with a fractional part"
            }
            LaxError::IntTooBig => {
                "Unable to parse input string as an integer, exceeded maximum size"
            }
            LaxError::FloatType => "Input should be a valid number",
            LaxError::FloatParsing => {
                "Input should be a valid number, unable to parse string as a number"
            }
            LaxError::FiniteNumber => "Input should be a finite number",
            LaxError::BoolType => "Input should be a valid boolean",
            LaxError::BoolParsing => "Input should be a valid boolean, unable to interpret input",
        }
    }
}

impl std::fmt::Display for LaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// A lax integer.
pub fn int(v: &Value) -> Result<i64, LaxError> {
    match v {
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Ok(i),
            (None, Some(_), _) => Err(LaxError::IntTooBig),
            (None, None, Some(f)) => float_as_int(f),
            (None, None, None) => Err(LaxError::IntType),
        },
        Value::String(s) => str_as_int(s),
        _ => Err(LaxError::IntType),
    }
}

/// A float that must be integral to be an integer.
pub fn float_as_int(f: f64) -> Result<i64, LaxError> {
    if !f.is_finite() {
        Err(LaxError::FiniteNumber)
    } else if f.fract() != 0.0 {
        Err(LaxError::IntFromFloat)
    } else if f > i64::MIN as f64 && f < i64::MAX as f64 {
        // In range and integral, so the cast is exact.
        Ok(f as i64)
    } else {
        Err(LaxError::IntTooBig)
    }
}

/// An integer string: whitespace around, a sign, `_` between digits, a `.000` tail.
pub fn str_as_int(s: &str) -> Result<i64, LaxError> {
    let t = s.trim();
    if t.len() > 4300 {
        return Err(LaxError::IntTooBig);
    }
    let t = strip_underscores(t).unwrap_or_else(|| t.to_string());
    let t = strip_decimal_zeros(&t).unwrap_or(&t);
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LaxError::IntParsing);
    }
    t.parse::<i64>().map_err(|_| LaxError::IntTooBig)
}

/// `"10.000"` -> `"10"`, as pydantic does before parsing an integer string.
fn strip_decimal_zeros(s: &str) -> Option<&str> {
    let dot = s.rfind('.')?;
    s[dot + 1..].bytes().all(|b| b == b'0').then(|| &s[..dot])
}

/// `"1_000"` -> `"1000"`: Python allows single underscores between digits.
fn strip_underscores(s: &str) -> Option<String> {
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

/// A lax number (finite or infinite, never NaN).
pub fn float(v: &Value) -> Result<f64, LaxError> {
    let f = match v {
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().ok_or(LaxError::FloatType)?,
        Value::String(s) => {
            let t = s.trim();
            t.parse::<f64>()
                .ok()
                .or_else(|| strip_underscores(t).and_then(|u| u.parse().ok()))
                .ok_or(LaxError::FloatParsing)?
        }
        _ => return Err(LaxError::FloatType),
    };
    if f.is_nan() {
        return Err(LaxError::FiniteNumber);
    }
    Ok(f)
}

/// A lax boolean.
pub fn bool(v: &Value) -> Result<bool, LaxError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f == 0.0 {
                Ok(false)
            } else if f == 1.0 {
                Ok(true)
            } else {
                Err(LaxError::BoolParsing)
            }
        }
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "0" | "f" | "n" | "no" | "off" | "false" => Ok(false),
            "1" | "t" | "y" | "yes" | "on" | "true" => Ok(true),
            _ => Err(LaxError::BoolParsing),
        },
        _ => Err(LaxError::BoolType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers() {
        for (v, want) in [
            (json!(3), 3),
            (json!(-3), -3),
            (json!(true), 1),
            (json!(false), 0),
            (json!(3.0), 3),
            (json!(" 42 "), 42),
            (json!("+7"), 7),
            (json!("1_000"), 1000),
            (json!("3.0"), 3),
            (json!("-10.000"), -10),
        ] {
            assert_eq!(int(&v), Ok(want), "{v}");
        }
        for (v, why) in [
            (json!(3.5), LaxError::IntFromFloat),
            (json!("3.5"), LaxError::IntParsing),
            (json!("1__000"), LaxError::IntParsing),
            (json!("_1"), LaxError::IntParsing),
            (json!(""), LaxError::IntParsing),
            (json!("x"), LaxError::IntParsing),
            (json!(u64::MAX), LaxError::IntTooBig),
            (json!("99999999999999999999"), LaxError::IntTooBig),
            (json!(null), LaxError::IntType),
            (json!([1]), LaxError::IntType),
        ] {
            assert_eq!(int(&v), Err(why), "{v}");
        }
        assert_eq!(float_as_int(f64::INFINITY), Err(LaxError::FiniteNumber));
    }

    #[test]
    fn numbers() {
        for (v, want) in [
            (json!(2.5), 2.5),
            (json!(2), 2.0),
            (json!(true), 1.0),
            (json!(" 1e3 "), 1000.0),
            (json!("1_000.5"), 1000.5),
            (json!("inf"), f64::INFINITY),
        ] {
            assert_eq!(float(&v), Ok(want), "{v}");
        }
        assert_eq!(float(&json!("nan")), Err(LaxError::FiniteNumber));
        assert_eq!(float(&json!("fast")), Err(LaxError::FloatParsing));
        assert_eq!(float(&json!({})), Err(LaxError::FloatType));
    }

    #[test]
    fn booleans() {
        for s in ["1", "t", "T", "y", "yes", "On", "TRUE"] {
            assert_eq!(bool(&json!(s)), Ok(true), "{s}");
        }
        for s in ["0", "f", "n", "NO", "off", "False"] {
            assert_eq!(bool(&json!(s)), Ok(false), "{s}");
        }
        assert_eq!(bool(&json!(1)), Ok(true));
        assert_eq!(bool(&json!(0.0)), Ok(false));
        assert_eq!(bool(&json!(2)), Err(LaxError::BoolParsing));
        assert_eq!(bool(&json!("maybe")), Err(LaxError::BoolParsing));
        assert_eq!(bool(&json!(" yes")), Err(LaxError::BoolParsing));
        assert_eq!(bool(&json!(null)), Err(LaxError::BoolType));
    }
}
