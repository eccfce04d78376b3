//! `rackscope.config.app()` (the app config, read-only, without secrets),
//! `rackscope.config.plugin()` (this plugin's own config) and
//! `rackscope.config.save(tbl)` (write it atomically; the plugin then hot-reloads).

use std::rc::Rc;

use mlua::{Lua, LuaSerdeExt, MultiValue, Table, Value};

use super::fail;
use crate::config::plugin_file;
use crate::lua::errors;
use crate::lua::host::HostCtx;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    let c = ctx.clone();
    ns.set(
        "app",
        lua.create_function(move |lua, ()| {
            let snap = c.state.snapshot();
            super::to_lua(lua, &crate::config::view::redacted_json(&snap.config))
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "plugin",
        lua.create_function(move |lua, ()| super::to_lua(lua, &*c.config.borrow()))?,
    )?;
    let c = ctx.clone();
    ns.set(
        "path",
        lua.create_function(move |_, ()| Ok(c.config_path.borrow().display().to_string()))?,
    )?;
    let c = ctx.clone();
    ns.set(
        "save",
        lua.create_async_function(move |lua, t: Value| {
            let c = c.clone();
            async move { save(&lua, &c, t).await }
        })?,
    )?;
    root.set("config", ns)
}

/// `rackscope.config.save(tbl)`: replaces the config file under its lock (the same one
/// the API's config writes take), atomically.
async fn save(lua: &Lua, c: &HostCtx, t: Value) -> mlua::Result<MultiValue> {
    const F: &str = "rackscope.config.save";
    let Value::Table(_) = &t else {
        return Err(errors::type_error(lua, F, 1, "table", &t));
    };
    let json: serde_json::Value = lua
        .from_value(t)
        .map_err(|e| errors::bad_argument(lua, F, 1, e))?;
    if !json.is_object() {
        return Err(errors::bad_argument(
            lua,
            F,
            1,
            "the config must be a table with string keys",
        ));
    }
    let path = c.config_path.borrow().clone();
    let _file = crate::fsutil::lock_file(&path).await;
    let name = c.plugin_id.borrow().clone();
    match plugin_file::write(&path, &name, &json) {
        Ok(()) => {
            *c.config.borrow_mut() = json;
            Ok(MultiValue::from_iter([Value::Boolean(true)]))
        }
        Err(e) => fail(lua, e.to_string()),
    }
}
