//! Reading library items field by field from parsed YAML, collecting every error of an
//! item (not only the first) in words that name the field, as pydantic would report them.

use serde_norway::Value;

/// One mapping being read; errors pile up in `errors`.
pub struct Fields<'a> {
    value: &'a Value,
    pub errors: Vec<String>,
}

/// A short description of a YAML value's type, for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

impl<'a> Fields<'a> {
    /// `None` (and nothing to read) when `value` is not a mapping.
    pub fn new(value: &'a Value) -> Option<Fields<'a>> {
        value.as_mapping().map(|_| Fields {
            value,
            errors: Vec::new(),
        })
    }

    /// The value under `key`; an explicit `null` counts as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.value.get(key).filter(|v| !v.is_null())
    }

    /// True when `key` is written at all, even as `null`.
    pub fn has(&self, key: &str) -> bool {
        self.value.get(key).is_some()
    }

    pub fn error(&mut self, message: String) {
        self.errors.push(message);
    }

    /// A required string.
    pub fn req_str(&mut self, key: &str) -> String {
        match self.get(key) {
            Some(Value::String(s)) => s.clone(),
            None => {
                self.error(format!("`{key}` is required"));
                String::new()
            }
            Some(other) => {
                self.error(format!(
                    "`{key}` must be a string, not {}",
                    type_name(other)
                ));
                String::new()
            }
        }
    }

    /// An optional string (`null` when absent).
    pub fn opt_str(&mut self, key: &str) -> Option<String> {
        match self.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            None => None,
            Some(other) => {
                self.error(format!(
                    "`{key}` must be a string or null, not {}",
                    type_name(other)
                ));
                None
            }
        }
    }

    /// A list of strings (`[]` when absent).
    pub fn str_list(&mut self, key: &str) -> Vec<String> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Sequence(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => self.error(format!(
                            "`{key}[{i}]` must be a string, not {}",
                            type_name(other)
                        )),
                    }
                }
                out
            }
            Some(other) => {
                self.error(format!(
                    "`{key}` must be a list of strings, not {}",
                    type_name(other)
                ));
                Vec::new()
            }
        }
    }

    /// One of `allowed` (exact spelling), else `default` when absent.
    pub fn choice(
        &mut self,
        key: &str,
        allowed: &[&'static str],
        default: Option<&'static str>,
    ) -> &'static str {
        let fallback = default.unwrap_or(allowed[0]);
        match self.get(key) {
            None if default.is_some() => fallback,
            None => {
                self.error(format!(
                    "`{key}` is required (one of {})",
                    allowed.join(", ")
                ));
                fallback
            }
            Some(Value::String(s)) => match allowed.iter().find(|a| **a == s.as_str()) {
                Some(a) => a,
                None => {
                    self.error(format!(
                        "`{key}` must be one of {} (got `{s}`)",
                        allowed.join(", ")
                    ));
                    fallback
                }
            },
            Some(other) => {
                self.error(format!(
                    "`{key}` must be one of {}, not {}",
                    allowed.join(", "),
                    type_name(other)
                ));
                fallback
            }
        }
    }

    /// An optional integer: integers, whole floats and strings of digits (pydantic's lax
    /// mode).
    pub fn opt_int(&mut self, key: &str) -> Option<i64> {
        let v = self.get(key)?;
        let parsed = match v {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            }),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.error(format!(
                "`{key}` must be an integer or null, not {}",
                type_name(v)
            ));
        }
        parsed
    }
}

/// The `id` of an item, for messages: `` (id `x`)`` or nothing.
pub fn id_hint(item: &Value) -> String {
    item.get("id")
        .and_then(Value::as_str)
        .map(|id| format!(" (id `{id}`)"))
        .unwrap_or_default()
}
