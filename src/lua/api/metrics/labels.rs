//! Reading label values from Lua: a family's label names made Lua strings once
//! ([`LabelNames`]), and [`label_value`], the text of one value as Lua's `tostring`
//! writes numbers.

use std::rc::Rc;

use mlua::{Lua, Table, Value};

use crate::lua::errors;

/// The label names of one family, as Lua strings made once, so that reading a label
/// table (`:series`, `:set`, ... once per sample) does not intern the names again.
pub struct LabelNames {
    names: Vec<String>,
    keys: Vec<mlua::String>,
}

impl LabelNames {
    pub fn new(lua: &Lua, names: &[String]) -> mlua::Result<Rc<Self>> {
        Ok(Rc::new(LabelNames {
            names: names.to_vec(),
            keys: names
                .iter()
                .map(|n| lua.create_string(n))
                .collect::<mlua::Result<_>>()?,
        }))
    }

    /// The label values of `labels` (a table keyed by label name, or a list of values
    /// in declaration order) as text; `method` names the call in errors.
    pub fn read(
        &self,
        lua: &Lua,
        method: &dyn Fn() -> String,
        labels: &Value,
    ) -> mlua::Result<Vec<String>> {
        let t = match labels {
            Value::Nil if self.names.is_empty() => return Ok(Vec::new()),
            Value::Table(t) => t,
            other => return Err(errors::type_error(lua, &method(), 1, "table", other)),
        };
        let n = t.raw_len();
        if n > 0 {
            return (1..=n)
                .map(|i| Ok(label_text(lua, method, t, i)?.unwrap_or_default()))
                .collect();
        }
        self.keys
            .iter()
            .zip(&self.names)
            .map(|(k, name)| match label_text(lua, method, t, k)? {
                Some(v) => Ok(v),
                None => Err(errors::bad_argument(
                    lua,
                    &method(),
                    1,
                    format!("missing label '{name}'"),
                )),
            })
            .collect()
    }
}

/// `t[key]` as label text, None when it is nil. A string (or number) is read straight off
/// the Lua stack, the common case, without taking a reference to the Lua value; anything
/// else goes through [`label_value`].
fn label_text(
    lua: &Lua,
    method: &dyn Fn() -> String,
    t: &Table,
    key: impl mlua::IntoLua + Copy,
) -> mlua::Result<Option<String>> {
    if let Ok(s) = t.raw_get::<Option<String>>(key) {
        return Ok(s);
    }
    let v: Value = t.raw_get(key)?;
    label_value(lua, &v).map(Some).ok_or_else(|| {
        errors::bad_argument(
            lua,
            &method(),
            1,
            format!(
                "label values must be strings, got {}",
                errors::type_name(&v)
            ),
        )
    })
}

/// A label value as text: a string, or a number or boolean as Lua's `tostring` writes
/// it; None for other types.
pub fn label_value(lua: &Lua, v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string_lossy()),
        Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(v.clone())
            .ok()
            .flatten()
            .map(|s| s.to_string_lossy()),
        Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}
