//! `rackscope.plugin`: the plugin as it sees itself.
//!
//! - `folder`, `config_dir`, `code_dir`: its folder name, its config folder (`<dir of
//!   app.yaml>/plugins/<folder>`) and its code folder (`<paths.plugins>/<folder>`).
//! - `resolve_path(p)`: a path from the plugin's config as a path inside its config folder
//!   (the one rule for every plugin, below), or `nil, reason`.
//! - `reload()`: asks the host to reload this plugin from disk, as an edit of its files
//!   would, even when no file changed (for data files the plugin reads at setup: catalogs,
//!   mappings). Transactional like every reload: the new instance is built aside and
//!   replaces this one only if it loads; otherwise this one keeps serving and the error
//!   shows in `GET /api/plugins/{id}`. The reload starts at once, beside the current call
//!   (which finishes on this instance); only allowed once setup is over.
//! - `set_warning(key, message)`: a problem the plugin runs around (a hand-broken data
//!   file it keeps ignoring, a setting it had to drop), shown in the `warnings` object of
//!   `GET /api/plugins/{id}` and logged when it appears, changes or clears; `message = nil`
//!   clears `key`. Load errors stay in `error` (the host's); `warnings` is the plugin's own
//!   word while it runs. A new instance starts with none.
//!
//! The path rule of `resolve_path`: Rackscope's configs name plugin files from the
//! server's working directory (`config/plugins/slurm/node_mapping.yaml`), ours relative to
//! the plugin's config folder (`node_mapping.yaml`). Backslashes count as slashes; the
//! path is cut after its last `plugins/<folder>` segment pair (whole segments only: `myplugins/slurm`
//! does not count), absolute or not; what is left must not be absolute nor contain `..`;
//! empty and `.` segments are dropped. `config/plugins/slurm` is `""`, the folder itself.

use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use super::support::{arg_string, fail};
use crate::lua::errors;
use crate::lua::host::{HostCtx, Warnings};

/// Largest warning text kept (longer ones are cut), so a plugin cannot bloat the API.
const MAX_LEN: usize = 2000;

/// Largest number of warning keys per instance.
const MAX_KEYS: usize = 100;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    let paths = ctx.paths.borrow();
    ns.set("folder", ctx.folder.as_str())?;
    ns.set("config_dir", paths.config_dir.display().to_string())?;
    ns.set("code_dir", paths.code_dir.display().to_string())?;
    ns.set(
        "resolve_path",
        lua.create_function(resolve_path_fn(ctx.clone()))?,
    )?;
    ns.set("reload", lua.create_function(reload_fn(ctx.clone()))?)?;
    ns.set(
        "set_warning",
        lua.create_function(set_warning_fn(ctx.clone()))?,
    )?;
    root.set("plugin", ns)
}

/// `rackscope.plugin.resolve_path(p)`.
fn resolve_path_fn(c: Rc<HostCtx>) -> impl Fn(&Lua, Value) -> mlua::Result<MultiValue> {
    move |lua, p| {
        let p = arg_string(lua, "rackscope.plugin.resolve_path", 1, &p)?;
        match resolve_path(&c.folder, &p) {
            Ok(rel) => Ok(MultiValue::from_iter([Value::String(
                lua.create_string(rel)?,
            )])),
            Err(why) => fail(lua, why),
        }
    }
}

/// A path from the config of the plugin in `folder`, relative to its config folder (the
/// rule in the module's header); `Err` with the reason when it leads out of it.
pub fn resolve_path(folder: &str, p: &str) -> Result<String, String> {
    let unified = p.replace('\\', "/");
    let segments: Vec<&str> = unified.split('/').collect();
    let cut = (1..segments.len())
        .rev()
        .find(|&i| segments[i] == folder && segments[i - 1] == "plugins");
    let rest = match cut {
        Some(i) => &segments[i + 1..],
        None if unified.starts_with('/') => {
            return Err(format!(
                "'{p}' is outside the plugin's config folder (plugins/{folder}/ next to app.yaml)"
            ))
        }
        None => &segments[..],
    };
    let mut kept = Vec::new();
    for seg in rest {
        match *seg {
            ".." => return Err(format!("'{p}' must not contain '..'")),
            "" | "." => {}
            s => kept.push(s),
        }
    }
    Ok(kept.join("/"))
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

    #[test]
    fn one_path_rule() {
        for (p, want) in [
            ("node_mapping.yaml", "node_mapping.yaml"),
            (
                "config/plugins/slurm/node_mapping.yaml",
                "node_mapping.yaml",
            ),
            ("/etc/rackscope/plugins/slurm/metrics", "metrics"),
            ("config/plugins/slurm", ""),
            ("config/plugins/slurm/", ""),
            ("plugins/slurm/a/plugins/slurm/b.yaml", "b.yaml"),
            ("C:\\rs\\plugins\\slurm\\map.yaml", "map.yaml"),
            ("./metrics//extra.yml", "metrics/extra.yml"),
            ("myplugins/slurm/x.yaml", "myplugins/slurm/x.yaml"),
            ("plugins/slurmx/x.yaml", "plugins/slurmx/x.yaml"),
            ("plugins/other/x.yaml", "plugins/other/x.yaml"),
        ] {
            assert_eq!(resolve_path("slurm", p).as_deref(), Ok(want), "{p}");
        }
        for (p, why) in [
            ("/etc/passwd", "is outside the plugin's config folder"),
            ("../../app.yaml", "must not contain '..'"),
            ("config/plugins/slurm/../x", "must not contain '..'"),
            (
                "/srv/myplugins/slurm/x",
                "is outside the plugin's config folder",
            ),
        ] {
            let err = resolve_path("slurm", p).unwrap_err();
            assert!(err.contains(why), "{p}: {err}");
        }
    }

    #[tokio::test]
    async fn where_the_plugin_is() {
        let h = super::super::testing::TestHost::new(&[super::register]);
        let (folder, config_dir, code_dir): (String, String, String) = h
            .eval("local p = rackscope.plugin return p.folder, p.config_dir, p.code_dir")
            .unwrap();
        assert_eq!(folder, "probe");
        assert_eq!(config_dir, h.dir.path().display().to_string());
        assert_eq!(code_dir, h.dir.path().join("code").display().to_string());
        let (rel, none, why): (String, mlua::Value, String) = h
            .eval(
                "local none, why = rackscope.plugin.resolve_path('/etc/x') \
                 return rackscope.plugin.resolve_path('config/plugins/probe/a.yaml'), none, why",
            )
            .unwrap();
        assert_eq!(rel, "a.yaml");
        assert!(none.is_nil() && why.contains("outside"), "{why}");
        let err = h.error("rackscope.plugin.resolve_path(5)");
        assert!(err.contains("(string expected, got number)"), "{err}");
    }
}
