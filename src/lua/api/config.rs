//! `rackscope.config.app()` (the app config, read-only, without secrets),
//! `rackscope.config.plugin()` (this plugin's own config) and
//! `rackscope.config.save(tbl)` (write it atomically; the plugin then hot-reloads) and
//! `rackscope.config.update(tbl)` (merge top-level keys into the file as it is now).

use std::rc::Rc;

use mlua::{Lua, LuaSerdeExt, MultiValue, Table, Value};

use super::support::fail;
use crate::config::plugin_file;
use crate::lua::convert::to_lua;
use crate::lua::errors;
use crate::lua::host::HostCtx;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    ns.set("app", lua.create_function(app(ctx.clone()))?)?;
    ns.set("plugin", lua.create_function(plugin(ctx.clone()))?)?;
    ns.set("path", lua.create_function(path(ctx.clone()))?)?;
    let c = ctx.clone();
    ns.set(
        "save",
        lua.create_async_function(move |lua, t: Value| {
            let c = c.clone();
            async move { save(&lua, &c, t).await }
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "update",
        lua.create_async_function(move |lua, t: Value| {
            let c = c.clone();
            async move { update(&lua, &c, t).await }
        })?,
    )?;
    root.set("config", ns)
}

/// `rackscope.config.app()`: the running app config without secrets (a copy).
fn app(c: Rc<HostCtx>) -> impl Fn(&Lua, ()) -> mlua::Result<Value> {
    move |lua, ()| {
        let snap = c.state.snapshot();
        to_lua(lua, &crate::config::view::redacted_json(&snap.config))
    }
}

/// `rackscope.config.plugin()`: this instance's config (a copy).
fn plugin(c: Rc<HostCtx>) -> impl Fn(&Lua, ()) -> mlua::Result<Value> {
    move |lua, ()| to_lua(lua, &*c.config.borrow())
}

/// `rackscope.config.path()`: the config file's path.
fn path(c: Rc<HostCtx>) -> impl Fn(&Lua, ()) -> mlua::Result<String> {
    move |_, ()| Ok(c.config_file().display().to_string())
}

/// `rackscope.config.save(tbl)`: replaces the config file under its lock (the same one
/// the API's config writes take), atomically.
async fn save(lua: &Lua, c: &HostCtx, t: Value) -> mlua::Result<MultiValue> {
    write_config(lua, c, "rackscope.config.save", t, false).await
}

/// `rackscope.config.update(tbl)`: merges `tbl`'s top-level keys into the file as it is
/// now (a key set to `rackscope.null` is removed), under the same lock, so a concurrent
/// `POST /api/plugins/{id}/config` is never overwritten with this instance's older copy.
async fn update(lua: &Lua, c: &HostCtx, t: Value) -> mlua::Result<MultiValue> {
    write_config(lua, c, "rackscope.config.update", t, true).await
}

async fn write_config(
    lua: &Lua,
    c: &HostCtx,
    f: &str,
    t: Value,
    merge: bool,
) -> mlua::Result<MultiValue> {
    let Value::Table(_) = &t else {
        return Err(errors::type_error(lua, f, 1, "table", &t));
    };
    let json: serde_json::Value = lua
        .from_value(t)
        .map_err(|e| errors::bad_argument(lua, f, 1, e))?;
    let Some(changes) = json.as_object() else {
        return Err(errors::bad_argument(
            lua,
            f,
            1,
            "the config must be a table with string keys",
        ));
    };
    let path = c.config_file();
    let _file = crate::fsutil::lock_file(&path).await;
    let doc = if merge {
        match plugin_file::read(&path) {
            Ok(stored) => plugin_file::merge(&stored.config, changes),
            Err(e) => return fail(lua, e.to_string()),
        }
    } else {
        json.clone()
    };
    let name = c.plugin_id.borrow().clone();
    match plugin_file::write(&path, &name, &doc) {
        Ok(()) => {
            *c.config.borrow_mut() = doc;
            Ok(MultiValue::from_iter([Value::Boolean(true)]))
        }
        Err(e) => fail(lua, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[tokio::test]
    async fn app_plugin_path_and_save() {
        let h = TestHost::new(&[super::register]);
        let (name, hash, plugins): (String, bool, String) = h
            .eval(
                r#"local a = rackscope.config.app()
                   return a.app.name, a.auth.password_hash == nil, a.paths.plugins"#,
            )
            .unwrap();
        assert_eq!(name, "Kestrel Bay HPC");
        assert!(hash, "secrets are never handed to plugins");
        assert_eq!(plugins, "../plugins");
        let greeting: String = h.eval("return rackscope.config.plugin().greeting").unwrap();
        assert_eq!(greeting, "hi");
        let path: String = h.eval("return rackscope.config.path()").unwrap();
        assert!(path.ends_with("config.yml"));
        let ok: bool = h
            .eval_async("return rackscope.config.save({ greeting = 'hello', n = 2 })")
            .await
            .unwrap();
        assert!(ok);
        let text = std::fs::read_to_string(h.dir.path().join("config.yml")).unwrap();
        assert!(text.contains("greeting: hello"), "{text}");
        let greeting: String = h.eval("return rackscope.config.plugin().greeting").unwrap();
        assert_eq!(greeting, "hello");
        let err = h
            .eval_async::<()>("rackscope.config.save({ 1, 2 })")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the config must be a table with string keys"),
            "{err}"
        );
        // update merges into the file as it is now, not into this instance's copy.
        std::fs::write(
            h.dir.path().join("config.yml"),
            "greeting: hello\nadded_elsewhere: 1\n",
        )
        .unwrap();
        let ok: bool = h
            .eval_async("return rackscope.config.update({ n = 3, greeting = rackscope.null })")
            .await
            .unwrap();
        assert!(ok);
        let text = std::fs::read_to_string(h.dir.path().join("config.yml")).unwrap();
        assert!(
            text.contains("added_elsewhere: 1") && text.contains("n: 3"),
            "{text}"
        );
        assert!(!text.contains("greeting"), "{text}");
        let err = h
            .eval_async::<()>("rackscope.config.save('x')")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("(table expected, got string)"), "{err}");
    }
}
