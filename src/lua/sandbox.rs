//! A sandboxed Lua state for one plugin: an allow-listed standard library, `require`
//! limited to the plugin's own folder, a memory limit and the instruction-budget hook.
//!
//! Allowed: the base library without `dofile`/`loadfile` (`load` only accepts source
//! text, never bytecode), `table`, `string` (without `string.dump`), `math`, `utf8`,
//! `coroutine`, and a reduced `os` (`time`, `clock`, `date`, `difftime`). Not loaded:
//! `io`, `debug`, `package` (so no `package.loadlib` or C modules), and the rest of `os`
//! (`execute`, `exit`, `getenv`, `remove`, ...). Files are reached only through
//! `rackscope.fs`, which is confined to the plugin's config folder.

use std::path::{Component, Path, PathBuf};

use mlua::{Lua, LuaOptions, StdLib, Table, Value};

use super::budget;
use super::errors;

/// Limits and locations for one plugin's state.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// The plugin's code folder (`require` resolves inside it).
    pub code_dir: PathBuf,
    /// How chunk names start in error messages, e.g. `plugins/hello`.
    pub display_prefix: String,
    /// Bytes the state may allocate.
    pub memory_limit: usize,
}

/// Creates the sandboxed state. The caller registers the `rackscope` API afterwards.
pub fn new_state(spec: &SandboxSpec) -> mlua::Result<Lua> {
    let libs = StdLib::TABLE
        | StdLib::STRING
        | StdLib::MATH
        | StdLib::UTF8
        | StdLib::COROUTINE
        | StdLib::OS;
    // Recycle coroutines: every handler call runs in one, and creating a fresh one per
    // call is a measurable share of a trivial route's cost.
    let lua = Lua::new_with(libs, LuaOptions::new().thread_pool_size(64))?;
    budget::install(&lua)?;
    let g = lua.globals();

    for name in ["dofile", "loadfile"] {
        g.raw_set(name, Value::Nil)?;
    }
    let string: Table = g.get("string")?;
    string.raw_set("dump", Value::Nil)?;
    let os: Table = g.get("os")?;
    let safe_os = lua.create_table()?;
    for name in ["time", "clock", "date", "difftime"] {
        safe_os.raw_set(name, os.get::<Value>(name)?)?;
    }
    g.raw_set("os", safe_os)?;

    // `load` accepts text only: bytecode can crash the VM.
    lua.load(
        r#"
        local raw_load = load
        load = function(chunk, name, mode, env)
          if mode ~= nil and mode ~= "t" then
            error("load: only text chunks are allowed (mode 't')", 2)
          end
          if env == nil then return raw_load(chunk, name, "t") end
          return raw_load(chunk, name, "t", env)
        end
        local raw_gc = collectgarbage
        collectgarbage = function(opt, ...)
          opt = opt or "collect"
          if opt == "collect" or opt == "count" or opt == "step" or opt == "isrunning" then
            return raw_gc(opt, ...)
          end
          error("collectgarbage: option '" .. tostring(opt) .. "' is not allowed", 2)
        end
        "#,
    )
    .set_name("=sandbox")
    .exec()?;

    budget::guard_protected_calls(&lua)?;
    install_require(&lua, spec)?;
    lua.set_memory_limit(spec.memory_limit)?;
    Ok(lua)
}

/// Loads a file of the plugin as a chunk named after its display path, so errors read
/// `plugins/hello/init.lua:12: ...`.
pub fn load_file(lua: &Lua, spec: &SandboxSpec, rel: &Path) -> mlua::Result<mlua::Function> {
    let path = spec.code_dir.join(rel);
    let source = std::fs::read_to_string(&path).map_err(|e| {
        mlua::Error::RuntimeError(format!("cannot read {}: {e}", display_path(spec, rel)))
    })?;
    lua.load(source)
        .set_name(format!("@{}", display_path(spec, rel)))
        .set_mode(mlua::ChunkMode::Text)
        .into_function()
}

fn display_path(spec: &SandboxSpec, rel: &Path) -> String {
    format!("{}/{}", spec.display_prefix, rel.display())
}

/// `require("lib.util")` loads `<plugin>/lib/util.lua` (or `lib/util/init.lua`) once.
fn install_require(lua: &Lua, spec: &SandboxSpec) -> mlua::Result<()> {
    let loaded = lua.create_table()?;
    let spec = spec.clone();
    let require = lua.create_function(move |lua, name: Value| {
        let name = match &name {
            Value::String(s) => s.to_str()?.to_string(),
            other => return Err(errors::type_error(lua, "require", 1, "string", other)),
        };
        if let Some(v) = loaded.raw_get::<Option<Value>>(name.as_str())? {
            return Ok(v);
        }
        let rel = module_path(&name).ok_or_else(|| {
            errors::bad_argument(
                lua,
                "require",
                1,
                format!("invalid module name '{name}': use dotted names like 'lib.util'"),
            )
        })?;
        let candidates = [rel.with_extension("lua"), rel.join("init.lua")];
        let Some(found) = candidates.iter().find(|c| spec.code_dir.join(c).is_file()) else {
            return Err(errors::misuse(
                lua,
                format!(
                    "module '{name}' not found in {} (require only loads files of the plugin's own folder)",
                    spec.display_prefix
                ),
            ));
        };
        let func = load_file(lua, &spec, found)?;
        let value: Value = func.call(name.as_str())?;
        let value = if value.is_nil() { Value::Boolean(true) } else { value };
        loaded.raw_set(name.as_str(), value.clone())?;
        Ok(value)
    })?;
    lua.globals().raw_set("require", require)
}

/// `a.b.c` -> `a/b/c`, refusing anything that could leave the folder.
fn module_path(name: &str) -> Option<PathBuf> {
    if name.is_empty()
        || !name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
    {
        return None;
    }
    let p: PathBuf = name.split('.').collect();
    p.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(dir: &Path) -> Lua {
        new_state(&SandboxSpec {
            code_dir: dir.to_path_buf(),
            display_prefix: "plugins/t".into(),
            memory_limit: 64 << 20,
        })
        .unwrap()
    }

    #[test]
    fn dangerous_functions_are_absent() {
        let dir = tempfile::tempdir().unwrap();
        let lua = state(dir.path());
        for expr in [
            "os.execute",
            "os.exit",
            "os.getenv",
            "os.remove",
            "io",
            "debug",
            "package",
            "dofile",
            "loadfile",
            "string.dump",
        ] {
            let v: Value = lua.load(format!("return {expr}")).eval().unwrap();
            assert!(v.is_nil(), "{expr} must not be reachable");
        }
        let v: i64 = lua.load("return os.time()").eval().unwrap();
        assert!(v > 0);
    }

    #[test]
    fn load_refuses_bytecode() {
        let dir = tempfile::tempdir().unwrap();
        let lua = state(dir.path());
        let err = lua
            .load(r#"return load("\27Lua", "x", "b")"#)
            .exec()
            .unwrap_err();
        assert!(err.to_string().contains("only text chunks"), "{err}");
        let (f, e): (Value, Option<String>) = lua.load(r#"return load("\27Lua")"#).eval().unwrap();
        assert!(f.is_nil());
        assert!(e.unwrap().contains("binary"));
        let n: i64 = lua.load(r#"return load("return 1 + 1")()"#).eval().unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn require_stays_in_the_plugin_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("lib/util.lua"), "return { x = 41 + 1 }").unwrap();
        let lua = state(dir.path());
        let x: i64 = lua.load(r#"return require("lib.util").x"#).eval().unwrap();
        assert_eq!(x, 42);
        let same: bool = lua
            .load(r#"return require("lib.util") == require("lib.util")"#)
            .eval()
            .unwrap();
        assert!(same);
        for bad in ["../etc/passwd", "..", "/etc/passwd", "lib/../../x"] {
            let err = lua
                .load(format!("require({bad:?})"))
                .set_name("@plugins/t/init.lua")
                .exec()
                .unwrap_err();
            assert!(
                err.to_string().contains("invalid module name"),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains("plugins/t/init.lua:1:"), "{err}");
        }
        let err = lua.load("require('nope')").exec().unwrap_err();
        assert!(err.to_string().contains("module 'nope' not found"), "{err}");
    }

    #[test]
    fn memory_limit_stops_a_hog() {
        let dir = tempfile::tempdir().unwrap();
        let lua = new_state(&SandboxSpec {
            code_dir: dir.path().to_path_buf(),
            display_prefix: "plugins/t".into(),
            memory_limit: 8 << 20,
        })
        .unwrap();
        let err = lua
            .load("local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(100) .. i end")
            .exec()
            .unwrap_err();
        assert!(
            matches!(errors::classify(&err), errors::Failure::Memory),
            "{err}"
        );
        // The state is still usable afterwards.
        lua.load("collectgarbage()").exec().unwrap();
        let n: i64 = lua.load("return 1").eval().unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn budget_stops_a_runaway_loop_even_through_pcall_and_coroutines() {
        let dir = tempfile::tempdir().unwrap();
        let lua = state(dir.path());
        for src in [
            "while true do end",
            "while true do pcall(function() for i = 1, 100 do end end) end",
            "local co = coroutine.wrap(function() while true do end end) co()",
        ] {
            let b = budget::Budget::new(1_000_000, "test");
            let err = budget::run_with(&b, || lua.load(src).exec()).unwrap_err();
            assert!(
                matches!(
                    errors::classify(&err),
                    errors::Failure::Interrupted(budget::Interrupt::Budget { .. })
                ),
                "{src}: {err}"
            );
        }
    }

    #[test]
    fn a_cancelled_call_stops_at_its_next_hook_even_through_pcall() {
        let dir = tempfile::tempdir().unwrap();
        let lua = state(dir.path());
        let cancel = budget::Cancel::default();
        let b = budget::Budget::cancellable(u64::MAX, "GET /api/x", cancel.clone());
        let flag = cancel.clone();
        let stop = lua
            .create_function(move |_, ()| {
                flag.cancel();
                Ok(())
            })
            .unwrap();
        lua.globals().set("stop", stop).unwrap();
        let src = "stop() while true do pcall(function() for i = 1, 100 do end end) end";
        let err = budget::run_with(&b, || lua.load(src).exec()).unwrap_err();
        assert!(
            matches!(
                errors::classify(&err),
                errors::Failure::Interrupted(budget::Interrupt::Cancelled { .. })
            ),
            "{err}"
        );
        drop(cancel.on_drop());
        assert!(cancel.is_cancelled());
    }
}
