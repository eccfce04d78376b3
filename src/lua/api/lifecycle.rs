//! The plugin's own lifecycle, as the plugin sees it:
//!
//! - `rackscope.reload()`: asks the host to reload this plugin from disk, as an edit of
//!   its files would, even when no file changed (for data files the plugin reads at setup:
//!   catalogs, mappings). Transactional like every reload: the new instance is built aside
//!   and replaces this one only if it loads; otherwise this one keeps serving and the
//!   error shows in `GET /api/plugins/{id}`. The reload starts after the current call
//!   returns; only allowed once setup is over.
//! - `rackscope.set_warning(text)`: a problem the plugin runs around (a hand-broken data
//!   file it keeps ignoring), shown as `warning` in `GET /api/plugins/{id}` until
//!   `rackscope.set_warning(nil)`; a new instance starts without one.

use std::rc::Rc;

use mlua::{Lua, Table, Value};

use super::arg_string;
use crate::lua::errors;
use crate::plugin::instance::HostCtx;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let c = ctx.clone();
    root.set(
        "reload",
        lua.create_function(move |lua, ()| {
            if !c.registrar.borrow().sealed {
                return Err(errors::misuse(
                    lua,
                    "rackscope.reload can only be called after setup",
                ));
            }
            let (state, folder) = (c.state.clone(), c.folder.clone());
            tracing::info!(plugin = %c.folder, "plugin asked to be reloaded");
            c.main.spawn(async move {
                state.plugins().reload_forced(&state, &folder).await;
            });
            Ok(())
        })?,
    )?;
    let c = ctx.clone();
    root.set(
        "set_warning",
        lua.create_function(move |lua, text: Value| {
            let text = match text {
                Value::Nil => None,
                other => Some(arg_string(lua, "rackscope.set_warning", 1, &other)?),
            };
            let mut w = c.warning.lock();
            if *w != text {
                match &text {
                    Some(t) => {
                        tracing::warn!(plugin = %c.folder, warning = %t, "plugin reports a problem")
                    }
                    None => tracing::info!(plugin = %c.folder, "plugin problem cleared"),
                }
            }
            *w = text;
            Ok(())
        })?,
    )?;
    Ok(())
}
