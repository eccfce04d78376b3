//! `rackscope.log.debug/info/warn/error(...)` and `print(...)`: log lines through the
//! server's `tracing`, tagged with the plugin and the caller's file and line.

use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use crate::lua::errors;
use crate::lua::host::HostCtx;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    for level in ["debug", "info", "warn", "error"] {
        let c = ctx.clone();
        ns.set(
            level,
            lua.create_function(move |lua, args: MultiValue| {
                emit(lua, &c, level, args);
                Ok(())
            })?,
        )?;
    }
    root.set("log", ns)?;
    let c = ctx.clone();
    lua.globals().raw_set(
        "print",
        lua.create_function(move |lua, args: MultiValue| {
            emit(lua, &c, "info", args);
            Ok(())
        })?,
    )
}

fn emit(lua: &Lua, ctx: &HostCtx, level: &str, args: MultiValue) {
    let msg = args
        .iter()
        .map(|v| match v {
            Value::String(s) => s.to_string_lossy(),
            other => other
                .to_string()
                .unwrap_or_else(|_| errors::type_name(other).into()),
        })
        .collect::<Vec<_>>()
        .join(" ");
    let at = errors::caller_location(lua);
    let at = at.trim_end_matches(": ");
    let plugin = ctx.plugin_id.borrow();
    match level {
        "debug" => tracing::debug!(plugin = %plugin, at, "{msg}"),
        "info" => tracing::info!(plugin = %plugin, at, "{msg}"),
        "warn" => tracing::warn!(plugin = %plugin, at, "{msg}"),
        _ => tracing::error!(plugin = %plugin, at, "{msg}"),
    }
}
