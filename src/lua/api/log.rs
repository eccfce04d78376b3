//! `rackscope.log.debug/info/warn/error(...)` and `print(...)`: log lines through the
//! server's `tracing`, tagged with the plugin and the caller's file and line.

use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use crate::lua::errors;
use crate::lua::host::HostCtx;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    for level in ["debug", "info", "warn", "error"] {
        ns.set(level, lua.create_function(logger(ctx.clone(), level))?)?;
    }
    root.set("log", ns)?;
    lua.globals()
        .raw_set("print", lua.create_function(logger(ctx.clone(), "info"))?)
}

/// `rackscope.log.<level>(...)` (and `print` at info).
fn logger(c: Rc<HostCtx>, level: &'static str) -> impl Fn(&Lua, MultiValue) -> mlua::Result<()> {
    move |lua, args| {
        emit(lua, &c, level, args);
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[tokio::test]
    async fn every_level_takes_any_values() {
        let h = TestHost::new(&[super::register]);
        h.eval::<()>(
            "rackscope.log.debug('a', 1) rackscope.log.info(nil, true) \
             rackscope.log.warn({}) rackscope.log.error() print('x', 2.5)",
        )
        .unwrap();
    }
}
