//! The plugin's own lifecycle, as the plugin sees it (`rackscope.plugin.*` functions):
//!
//! - `rackscope.plugin.reload()`: asks the host to reload this plugin from disk, as an edit
//!   of its files would, even when no file changed (for data files the plugin reads at
//!   setup: catalogs, mappings). Transactional like every reload: the new instance is
//!   built aside and replaces this one only if it loads; otherwise this one keeps serving
//!   and the error shows in `GET /api/plugins/{id}`. The reload starts at once, beside
//!   the current call (which finishes on this instance); only allowed once setup is over.
//! - `rackscope.plugin.set_warning(key, message)`: a problem the plugin runs around (a
//!   hand-broken data file it keeps ignoring, a setting it had to drop), shown in the
//!   `warnings` object of `GET /api/plugins/{id}` and logged when it appears, changes or
//!   clears; `message = nil` clears `key`. Load errors stay in `error` (the host's);
//!   `warnings` is the plugin's own word while it runs. A new instance starts with none.

use std::rc::Rc;

use mlua::{Lua, Table, Value};

use super::arg_string;
use crate::lua::errors;
use crate::lua::host::{HostCtx, Warnings};

/// Largest warning text kept (longer ones are cut), so a plugin cannot bloat the API.
const MAX_LEN: usize = 2000;

/// Largest number of warning keys per instance.
const MAX_KEYS: usize = 100;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let plugin: Table = root.get("plugin")?;
    plugin.set("reload", lua.create_function(reload_fn(ctx.clone()))?)?;
    plugin.set(
        "set_warning",
        lua.create_function(set_warning_fn(ctx.clone()))?,
    )?;
    Ok(())
}

/// `rackscope.plugin.reload()`.
fn reload_fn(c: Rc<HostCtx>) -> impl Fn(&Lua, ()) -> mlua::Result<()> {
    move |lua, ()| {
        if !c.registrar.borrow().sealed {
            return Err(errors::misuse(
                lua,
                "rackscope.plugin.reload can only be called after setup",
            ));
        }
        tracing::info!(plugin = %c.folder, "plugin asked to be reloaded");
        c.runtime
            .request_reload(&c.main, c.state.clone(), c.folder.clone());
        Ok(())
    }
}

/// `rackscope.plugin.set_warning(key, message)`.
fn set_warning_fn(c: Rc<HostCtx>) -> impl Fn(&Lua, (Value, Value)) -> mlua::Result<()> {
    move |lua, (key, msg)| {
        const F: &str = "rackscope.plugin.set_warning";
        let key = arg_string(lua, F, 1, &key)?;
        let msg = match msg {
            Value::Nil => None,
            other => Some(arg_string(lua, F, 2, &other)?),
        };
        let id = c.plugin_id.borrow().clone();
        set_warning(&c.warnings, &id, &key, msg).map_err(|e| errors::bad_argument(lua, F, 1, e))
    }
}

/// Sets (or with `None` clears) one warning; logs a change.
pub fn set_warning(
    warnings: &Warnings,
    plugin: &str,
    key: &str,
    msg: Option<String>,
) -> Result<(), String> {
    let mut map = warnings.lock();
    match msg {
        None => {
            if map.remove(key).is_some() {
                tracing::info!(plugin, key, "plugin warning cleared");
            }
        }
        Some(mut m) => {
            if m.len() > MAX_LEN {
                let mut cut = MAX_LEN;
                while !m.is_char_boundary(cut) {
                    cut -= 1;
                }
                m.truncate(cut);
                m.push_str("...");
            }
            if !map.contains_key(key) && map.len() >= MAX_KEYS {
                return Err(format!("too many warning keys (at most {MAX_KEYS})"));
            }
            if map.get(key) != Some(&m) {
                tracing::warn!(plugin, key, "{m}");
                map.insert(key.to_string(), m);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_change_and_clear() {
        let w = Warnings::default();
        set_warning(&w, "p", "mapping", Some("bad line 3".into())).unwrap();
        set_warning(&w, "p", "mapping", Some("bad line 4".into())).unwrap();
        set_warning(&w, "p", "other", Some("x".into())).unwrap();
        assert_eq!(
            w.lock().get("mapping").map(String::as_str),
            Some("bad line 4")
        );
        set_warning(&w, "p", "mapping", None).unwrap();
        set_warning(&w, "p", "never-set", None).unwrap();
        assert_eq!(w.lock().keys().collect::<Vec<_>>(), vec!["other"]);
    }

    #[test]
    fn long_messages_are_cut_and_keys_are_bounded() {
        let w = Warnings::default();
        set_warning(&w, "p", "k", Some("é".repeat(MAX_LEN))).unwrap();
        let kept = w.lock().get("k").cloned().unwrap();
        assert!(kept.len() <= MAX_LEN + 3 && kept.ends_with("..."));
        for i in 1..MAX_KEYS {
            set_warning(&w, "p", &format!("k{i}"), Some("x".into())).unwrap();
        }
        assert!(set_warning(&w, "p", "one-too-many", Some("x".into())).is_err());
        // Changing an existing key is still fine.
        set_warning(&w, "p", "k1", Some("y".into())).unwrap();
    }

    #[tokio::test]
    async fn from_lua() {
        let h = super::super::testing::TestHost::new(&[super::register]);
        h.eval::<()>("rackscope.plugin.set_warning('mapping', 'line 3 is invalid')")
            .unwrap();
        assert_eq!(
            h.ctx.warnings.lock().get("mapping").map(String::as_str),
            Some("line 3 is invalid")
        );
        h.eval::<()>("rackscope.plugin.set_warning('mapping', nil)")
            .unwrap();
        assert!(h.ctx.warnings.lock().is_empty());
        let err = h.error("rackscope.plugin.set_warning(nil, 'x')");
        assert!(err.contains("(string expected, got nil)"), "{err}");
        let err = h.error("rackscope.plugin.reload()");
        assert!(err.contains("can only be called after setup"), "{err}");
        h.seal();
        h.eval::<()>("rackscope.plugin.reload()").unwrap();
    }
}
