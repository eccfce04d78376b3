//! The table `rackscope.metrics.gauge/counter` return: one family's methods (`set`,
//! `inc`, `series`, `set_many`, `remove`, `clear`, and `block` from [`super::block`]).

use std::sync::Arc;

use mlua::{Lua, Table, Value};

use super::block::block_method;
use super::labels::LabelNames;
use crate::lua::api::support::{arg_number, arg_table};
use crate::lua::errors;
use crate::metrics::MetricsRegistry;

/// The method table of the family `name` with label names `labels`.
pub fn family(
    lua: &Lua,
    reg: Arc<MetricsRegistry>,
    name: String,
    labels: &[String],
) -> mlua::Result<Table> {
    let names = LabelNames::new(lua, labels)?;
    let t = lua.create_table()?;
    t.set("name", name.as_str())?;
    for (method, add) in [("set", false), ("inc", true)] {
        let (reg, name, names) = (reg.clone(), name.clone(), names.clone());
        t.set(
            method,
            lua.create_function(move |lua, (_self, labels, v): (Value, Value, Value)| {
                let f = || format!("{name}:{method}");
                let texts = names.read(lua, &f, &labels)?;
                let v = match (&v, add) {
                    (Value::Nil, true) => 1.0,
                    _ => arg_number(lua, &f(), 2, &v)?,
                };
                reg.set(&name, &texts, v, add)
                    .map_err(|e| errors::misuse(lua, e))
            })?,
        )?;
    }
    t.set("block", block_method(lua, reg.clone(), name.clone())?)?;
    let (r, n, ln) = (reg.clone(), name.clone(), names.clone());
    t.set(
        "series",
        lua.create_function(move |lua, (_self, labels): (Value, Value)| {
            let f = || format!("{n}:series");
            let texts = ln.read(lua, &f, &labels)?;
            let h = r.handle(&n, &texts).map_err(|e| errors::misuse(lua, e))?;
            Ok(h as i64 + 1)
        })?,
    )?;
    let (r, n) = (reg.clone(), name.clone());
    t.set(
        "set_many",
        lua.create_function(move |lua, (_self, a, b): (Value, Value, Value)| {
            let f = format!("{n}:set_many");
            let first = arg_table(lua, &f, 1, &a)?;
            let number = |v: Value, i: usize| -> mlua::Result<Option<f64>> {
                match v {
                    Value::Nil => Ok(None),
                    Value::Integer(x) => Ok(Some(x as f64)),
                    Value::Number(x) => Ok(Some(x)),
                    other => Err(errors::bad_argument(
                        lua,
                        &f,
                        1,
                        format!(
                            "value #{i} must be a number, got {}",
                            errors::type_name(&other)
                        ),
                    )),
                }
            };
            let mut updates = Vec::with_capacity(first.raw_len());
            match b {
                Value::Nil => {
                    for i in 1..=first.raw_len() {
                        if let Some(v) = number(first.raw_get(i)?, i)? {
                            updates.push((i - 1, v));
                        }
                    }
                }
                other => {
                    let values = arg_table(lua, &f, 2, &other)?;
                    if values.raw_len() != first.raw_len() {
                        return Err(errors::bad_argument(
                            lua,
                            &f,
                            2,
                            "handles and values must have the same length",
                        ));
                    }
                    for i in 1..=first.raw_len() {
                        let h: i64 = first.raw_get(i)?;
                        if let (true, Some(v)) = (h >= 1, number(values.raw_get(i)?, i)?) {
                            updates.push((h as usize - 1, v));
                        }
                    }
                }
            }
            r.set_many(&n, updates).map_err(|e| errors::misuse(lua, e))
        })?,
    )?;
    let (r, n, ln) = (reg.clone(), name.clone(), names);
    t.set(
        "remove",
        lua.create_function(move |lua, (_self, labels): (Value, Value)| {
            let f = || format!("{n}:remove");
            let texts = ln.read(lua, &f, &labels)?;
            Ok(r.remove(&n, &texts))
        })?,
    )?;
    t.set(
        "clear",
        lua.create_function(move |_, _self: Value| {
            reg.clear(Some(&name));
            Ok(())
        })?,
    )?;
    Ok(t)
}
