//! The `rackscope.*` API that plugins call, one module per namespace, all registered
//! here under the one root global `rackscope`:
//!
//! | namespace | module |
//! |---|---|
//! | `rackscope.route`, `menu`, `status_map`, `status.*`, `http_error`, `every`, `array`, `null`, `plugin` | [`core`] |
//! | `rackscope.prometheus.*` | [`prometheus`] (columnar answers: [`promcolumns`]) |
//! | `rackscope.config.*` | [`config`] |
//! | `rackscope.topology.*` | [`topology`] |
//! | `rackscope.json.*`, `rackscope.yaml.*` | [`codec`] |
//! | `rackscope.log.*` (and `print`) | [`log`] |
//! | `rackscope.fs.*` | [`fs`] |
//! | `rackscope.metrics.*` | [`metrics`]; `label_table`, `family:block`, `listening` in [`metrics_bulk`] |
//! | `rackscope.plugin.reload`, `rackscope.plugin.set_warning` | [`lifecycle`] |
//! | `rackscope.spawn`, `rackscope.single_flight` | [`task`] |
//! | `rackscope.json.raw` (pre-encoded answers) | [`rawjson`] |
//! | `rackscope.publish`, `rackscope.unpublish` (answers served without the plugin) | [`publish`] |
//! | `rackscope.prometheus.query(q, {columns = ...})` (columnar answers) | [`promcolumns`] |
//!
//! Conventions (Kong's): misuse raises an error located at the caller's line, worded like
//! Lua's own (`bad argument #1 to 'rackscope.prometheus.query' (string expected, got
//! nil)`); expected failures (Prometheus down, file missing) return `nil, err`.
//! `plugins/_meta/` (one file per namespace) documents all of it for editors.

pub mod codec;
pub mod config;
pub mod core;
pub mod fs;
pub mod lifecycle;
pub mod log;
pub mod metrics;
pub mod metrics_bulk;
pub mod promcolumns;
pub mod prometheus;
pub mod publish;
pub mod rawjson;
pub mod task;
pub mod topology;

#[cfg(test)]
pub(crate) mod testing;

use std::rc::Rc;

use mlua::{Lua, Table, Value};

use super::errors;
use crate::lua::host::HostCtx;

/// Creates the `rackscope` global with every namespace.
pub fn register(lua: &Lua, ctx: Rc<HostCtx>) -> mlua::Result<()> {
    let root = lua.create_table()?;
    core::register(lua, &root, &ctx)?;
    prometheus::register(lua, &root, &ctx)?;
    config::register(lua, &root, &ctx)?;
    topology::register(lua, &root, &ctx)?;
    codec::register(lua, &root)?;
    log::register(lua, &root, &ctx)?;
    fs::register(lua, &root, &ctx)?;
    metrics::register(lua, &root, &ctx)?;
    metrics_bulk::register(lua, &root.get::<Table>("metrics")?, &ctx)?;
    lifecycle::register(lua, &root, &ctx)?;
    task::register(lua, &root, &ctx)?;
    rawjson::register(lua, &root)?;
    publish::register(lua, &root, &ctx)?;
    lua.globals().raw_set("rackscope", root)
}

/// Host data (topology, config, Prometheus answers) as Lua values, with JSON null as
/// `nil` (the key is simply absent), which is what plugin code tests for. Request bodies
/// and `json.decode` keep `rackscope.null` instead, so a handler can tell an explicit null
/// from a missing field.
pub fn to_lua<T: serde::Serialize + ?Sized>(lua: &Lua, v: &T) -> mlua::Result<Value> {
    use mlua::LuaSerdeExt;
    lua.to_value_with(
        v,
        mlua::SerializeOptions::new()
            .serialize_none_to_null(false)
            .serialize_unit_to_null(false),
    )
}

/// Argument `n` of `func` as a string, or a located type error.
pub fn arg_string(lua: &Lua, func: &str, n: usize, v: &Value) -> mlua::Result<String> {
    match v {
        Value::String(s) => Ok(s.to_str()?.to_string()),
        other => Err(errors::type_error(lua, func, n, "string", other)),
    }
}

/// Argument `n` of `func` as a number, or a located type error.
pub fn arg_number(lua: &Lua, func: &str, n: usize, v: &Value) -> mlua::Result<f64> {
    match v {
        Value::Integer(i) => Ok(*i as f64),
        Value::Number(f) => Ok(*f),
        other => Err(errors::type_error(lua, func, n, "number", other)),
    }
}

/// Argument `n` of `func` as a table, or a located type error.
pub fn arg_table(lua: &Lua, func: &str, n: usize, v: &Value) -> mlua::Result<Table> {
    match v {
        Value::Table(t) => Ok(t.clone()),
        other => Err(errors::type_error(lua, func, n, "table", other)),
    }
}

/// `nil, message`: the shape of an expected failure.
pub fn fail(lua: &Lua, msg: impl Into<String>) -> mlua::Result<mlua::MultiValue> {
    Ok(mlua::MultiValue::from_iter([
        Value::Nil,
        Value::String(lua.create_string(msg.into())?),
    ]))
}
