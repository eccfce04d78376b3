//! `rackscope.plugin.set_warning(key, message)`: problems a running plugin reports about
//! itself (a data file it could not read, a setting it had to ignore), shown in the
//! `warnings` object of `GET /api/plugins/{id}` and logged when they appear, change or
//! clear. `message = nil` clears the warning `key`.
//!
//! Load errors stay in `error` (the host's); `warnings` is the plugin's own word while it
//! runs. Each instance starts with none: a reload re-reports what still applies.

use std::rc::Rc;

use mlua::{Lua, Table, Value};

use super::arg_string;
use crate::lua::errors;
use crate::plugin::instance::HostCtx;
use crate::plugin::Warnings;

/// Largest warning text kept (longer ones are cut), so a plugin cannot bloat the API.
const MAX_LEN: usize = 2000;

/// Largest number of warning keys per instance.
const MAX_KEYS: usize = 100;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let plugin: Table = root.get("plugin")?;
    let c = ctx.clone();
    plugin.set(
        "set_warning",
        lua.create_function(move |lua, (key, msg): (Value, Value)| {
            const F: &str = "rackscope.plugin.set_warning";
            let key = arg_string(lua, F, 1, &key)?;
            let msg = match msg {
                Value::Nil => None,
                other => Some(arg_string(lua, F, 2, &other)?),
            };
            let id = c.plugin_id.borrow().clone();
            set(&c.warnings, &id, &key, msg).map_err(|e| errors::bad_argument(lua, F, 1, e))
        })?,
    )
}

/// Sets (or with `None` clears) one warning; logs a change.
pub fn set(
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
        set(&w, "p", "mapping", Some("bad line 3".into())).unwrap();
        set(&w, "p", "mapping", Some("bad line 4".into())).unwrap();
        set(&w, "p", "other", Some("x".into())).unwrap();
        assert_eq!(
            w.lock().get("mapping").map(String::as_str),
            Some("bad line 4")
        );
        set(&w, "p", "mapping", None).unwrap();
        set(&w, "p", "never-set", None).unwrap();
        assert_eq!(w.lock().keys().collect::<Vec<_>>(), vec!["other"]);
    }

    #[test]
    fn long_messages_are_cut_and_keys_are_bounded() {
        let w = Warnings::default();
        set(&w, "p", "k", Some("é".repeat(MAX_LEN))).unwrap();
        let kept = w.lock().get("k").cloned().unwrap();
        assert!(kept.len() <= MAX_LEN + 3 && kept.ends_with("..."));
        for i in 1..MAX_KEYS {
            set(&w, "p", &format!("k{i}"), Some("x".into())).unwrap();
        }
        assert!(set(&w, "p", "one-too-many", Some("x".into())).is_err());
        // Changing an existing key is still fine.
        set(&w, "p", "k1", Some("y".into())).unwrap();
    }
}
