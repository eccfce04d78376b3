//! `rackscope.fs.read/write/exists/list(path)` and `rackscope.fs.update(path, fn)`: file
//! access confined to the plugin's config folder (`<dir of app.yaml>/plugins/<folder>/`).
//! Paths are relative to it; `..`, absolute paths and symlinks leading out are refused.
//! Writes are atomic.
//!
//! `rackscope.fs.read_or_bundled(path, bundled)` reads the user's file from the config folder
//! and, when it does not exist there, the plugin's own default from the code folder: the
//! one rule both seed plugins use for their catalogs.
//!
//! `rackscope.fs.read_bundled(path)` reads a file the plugin ships in its own code folder
//! (`<paths.plugins>/<folder>/`: default catalogs, templates), with the same path rules;
//! a plugin never writes there.
//!
//! `update` is a read-modify-write that other processes cannot interleave: it holds an
//! advisory lock (`flock`) on a companion file `.<name>.lock` from the read to the write,
//! so several rackscope replicas sharing one config folder (or two tasks of one plugin)
//! never lose each other's updates. Every writer of the file must go through `update`
//! for that to hold.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use super::support::{arg_string, fail};
use crate::config::plugin_file;
use crate::fsutil;
use crate::lua::errors;
use crate::lua::host::HostCtx;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    ns.set("read", lua.create_function(read(ctx.clone()))?)?;
    ns.set("write", lua.create_function(write(ctx.clone()))?)?;
    let c = ctx.clone();
    ns.set(
        "update",
        lua.create_async_function(move |lua, (p, f): (Value, Value)| {
            let c = c.clone();
            async move { update(&lua, &c, p, f).await }
        })?,
    )?;
    ns.set("exists", lua.create_function(exists(ctx.clone()))?)?;
    ns.set("list", lua.create_function(list(ctx.clone()))?)?;
    ns.set(
        "read_bundled",
        lua.create_function(read_bundled(ctx.clone()))?,
    )?;
    ns.set(
        "read_or_bundled",
        lua.create_function(read_or_bundled(ctx.clone()))?,
    )?;
    root.set("fs", ns)
}

/// Which folder a path is confined to, as error messages name it.
#[derive(Clone, Copy)]
enum Folder {
    Config,
    Code,
}

impl Folder {
    fn name(self) -> &'static str {
        match self {
            Folder::Config => "the plugin's config folder",
            Folder::Code => "the plugin's code folder",
        }
    }
}

/// `rackscope.fs.read(path)`: the text, or `nil, err`.
fn read(c: Rc<HostCtx>) -> impl Fn(&Lua, Value) -> mlua::Result<MultiValue> {
    move |lua, p| {
        let path = confined(
            lua,
            &c.config_dir(),
            Folder::Config,
            "rackscope.fs.read",
            &p,
        )?;
        read_text(lua, &c.config_dir(), &path)
    }
}

/// `rackscope.fs.read_or_bundled(path, bundled)`: `text, "config"` from the config folder,
/// else (the file does not exist there) `text, "bundled"` from the code folder, else
/// `nil, err` naming both. A file of the config folder that exists but cannot be read is
/// that error, not a fallback.
fn read_or_bundled(c: Rc<HostCtx>) -> impl Fn(&Lua, (Value, Value)) -> mlua::Result<MultiValue> {
    move |lua, (p, b)| {
        const F: &str = "rackscope.fs.read_or_bundled";
        let (config_dir, code_dir) = (c.config_dir(), c.code_dir());
        let path = confined(lua, &config_dir, Folder::Config, F, &p)?;
        let bundled = match &b {
            Value::String(_) => confined(lua, &code_dir, Folder::Code, F, &b)?,
            other => return Err(errors::type_error(lua, F, 2, "string", other)),
        };
        let tag = |text: MultiValue, source: &str| -> mlua::Result<MultiValue> {
            let mut v: Vec<Value> = text.into_iter().collect();
            if matches!(v.first(), Some(Value::String(_))) {
                v.push(Value::String(lua.create_string(source)?));
            }
            Ok(MultiValue::from_iter(v))
        };
        if path.exists() {
            return tag(read_text(lua, &config_dir, &path)?, "config");
        }
        if bundled.is_file() {
            return tag(read_text(lua, &code_dir, &bundled)?, "bundled");
        }
        fail(
            lua,
            format!(
                "{} is not in the plugin's config folder, and {} is not in its code folder",
                display(&config_dir, &path),
                display(&code_dir, &bundled)
            ),
        )
    }
}

/// `rackscope.fs.read_bundled(path)`: the text of a file in the plugin's code folder, or
/// `nil, err`.
fn read_bundled(c: Rc<HostCtx>) -> impl Fn(&Lua, Value) -> mlua::Result<MultiValue> {
    move |lua, p| {
        let path = confined(
            lua,
            &c.code_dir(),
            Folder::Code,
            "rackscope.fs.read_bundled",
            &p,
        )?;
        read_text(lua, &c.code_dir(), &path)
    }
}

fn read_text(lua: &Lua, base: &Path, path: &Path) -> mlua::Result<MultiValue> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(MultiValue::from_iter([Value::String(
            lua.create_string(s)?,
        )])),
        Err(e) => fail(lua, format!("{}: {e}", display(base, path))),
    }
}

/// `rackscope.fs.write(path, text)`: `true`, or `nil, err`; atomic.
fn write(c: Rc<HostCtx>) -> impl Fn(&Lua, (Value, Value)) -> mlua::Result<MultiValue> {
    move |lua, (p, text)| {
        let path = confined(
            lua,
            &c.config_dir(),
            Folder::Config,
            "rackscope.fs.write",
            &p,
        )?;
        let text = arg_string(lua, "rackscope.fs.write", 2, &text)?;
        match fsutil::write_atomic(&path, text.as_bytes()) {
            Ok(()) => Ok(MultiValue::from_iter([Value::Boolean(true)])),
            Err(e) => fail(lua, format!("{}: {e}", display(&c.config_dir(), &path))),
        }
    }
}

/// `rackscope.fs.exists(path)`.
fn exists(c: Rc<HostCtx>) -> impl Fn(&Lua, Value) -> mlua::Result<bool> {
    move |lua, p| {
        Ok(confined(
            lua,
            &c.config_dir(),
            Folder::Config,
            "rackscope.fs.exists",
            &p,
        )?
        .exists())
    }
}

/// `rackscope.fs.list([path])`: sorted names, or `nil, err`.
fn list(c: Rc<HostCtx>) -> impl Fn(&Lua, Value) -> mlua::Result<MultiValue> {
    move |lua, p| {
        let path = match p {
            Value::Nil => c.config_dir(),
            other => confined(
                lua,
                &c.config_dir(),
                Folder::Config,
                "rackscope.fs.list",
                &other,
            )?,
        };
        match std::fs::read_dir(&path) {
            Ok(rd) => {
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                Ok(MultiValue::from_iter([Value::Table(
                    lua.create_sequence_from(names)?,
                )]))
            }
            Err(e) => fail(lua, format!("{}: {e}", display(&c.config_dir(), &path))),
        }
    }
}

/// How long `update` waits for another process's lock before giving up.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// `rackscope.fs.update(path, fn)`: under the file's lock, `fn(text)` (text is nil when
/// the file does not exist) returns the new text, or nil to leave the file as it is.
/// Returns the file's text afterwards, or `nil, err` (locked too long, IO error); an error
/// raised by `fn` is raised again, after the lock is released.
async fn update(lua: &Lua, c: &HostCtx, p: Value, f: Value) -> mlua::Result<MultiValue> {
    const F: &str = "rackscope.fs.update";
    let path = confined(lua, &c.config_dir(), Folder::Config, F, &p)?;
    let Value::Function(f) = f else {
        return Err(errors::type_error(lua, F, 2, "function", &f));
    };
    let shown = display(&c.config_dir(), &path);
    let lock = match lock_companion(&path).await {
        Ok(lock) => lock,
        Err(e) => return fail(lua, format!("{shown}: {e}")),
    };
    let current = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return fail(lua, format!("{shown}: {e}")),
    };
    let arg = match &current {
        Some(t) => Value::String(lua.create_string(t)?),
        None => Value::Nil,
    };
    // The lock is held while the function runs (it may even yield); dropping `lock`
    // releases it whatever happens.
    let next = match f.call_async::<Value>(arg).await? {
        Value::Nil => current,
        Value::String(s) => {
            let text = s.to_str()?.to_string();
            if let Err(e) = fsutil::write_atomic(&path, text.as_bytes()) {
                return fail(lua, format!("{shown}: {e}"));
            }
            Some(text)
        }
        other => {
            return Err(errors::misuse(
                lua,
                format!(
                    "{F}: the function must return the new text (a string) or nil, got {}",
                    errors::type_name(&other)
                ),
            ))
        }
    };
    drop(lock);
    Ok(MultiValue::from_iter([match next {
        Some(t) => Value::String(lua.create_string(t)?),
        None => Value::Nil,
    }]))
}

/// Takes the exclusive advisory lock on `.<name>.lock` next to `path`, polling (the
/// plugin's thread keeps serving meanwhile) for at most [`LOCK_WAIT`].
async fn lock_companion(path: &Path) -> std::io::Result<std::fs::File> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!(".{name}.lock")))?;
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::other(format!(
                    "still locked by another writer after {} s",
                    LOCK_WAIT.as_secs()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
}

fn display(base: &Path, p: &Path) -> String {
    p.strip_prefix(base).unwrap_or(p).display().to_string()
}

/// Resolves `p` inside `base` (the `folder` it names), refusing escapes (including
/// through symlinks).
fn confined(
    lua: &Lua,
    base: &Path,
    folder: Folder,
    func: &str,
    p: &Value,
) -> mlua::Result<PathBuf> {
    let rel = arg_string(lua, func, 1, p)?;
    let Some(rel) = plugin_file::safe_relative(&rel) else {
        return Err(errors::bad_argument(
            lua,
            func,
            1,
            format!(
                "path '{rel}' must be relative to {}, without '..'",
                folder.name()
            ),
        ));
    };
    let path = base.join(&rel);
    // Follow symlinks of the part that exists and check it is still inside.
    let mut existing = path.clone();
    while !existing.exists() {
        if !existing.pop() {
            break;
        }
    }
    if let (Ok(real), Ok(real_base)) = (existing.canonicalize(), base.canonicalize()) {
        if !real.starts_with(&real_base) {
            return Err(errors::bad_argument(
                lua,
                func,
                1,
                format!("path '{}' leads outside {}", rel.display(), folder.name()),
            ));
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[tokio::test]
    async fn read_write_list_update_inside_the_folder_only() {
        let h = TestHost::new(&[super::register]);
        let (ok, text, exists, names): (bool, String, bool, Vec<String>) = h
            .eval(
                r#"local fs = rackscope.fs
                   local ok = fs.write("notes/today.txt", "hello")
                   return ok, fs.read("notes/today.txt"), fs.exists("notes"), fs.list("notes")"#,
            )
            .unwrap();
        assert_eq!((ok, text.as_str(), exists), (true, "hello", true));
        assert_eq!(names, ["today.txt"]);
        let (none, err): (mlua::Value, String) =
            h.eval("return rackscope.fs.read('missing.txt')").unwrap();
        assert!(none.is_nil() && err.starts_with("missing.txt: "), "{err}");
        for escape in ["'../x'", "'/etc/passwd'", "'a/../../b'"] {
            let err = h.error(&format!("rackscope.fs.read({escape})"));
            assert!(
                err.contains("must be relative to the plugin's config folder"),
                "{err}"
            );
        }
        std::os::unix::fs::symlink("/etc", h.dir.path().join("out")).unwrap();
        let err = h.error("rackscope.fs.read('out/hostname')");
        assert!(
            err.contains("leads outside the plugin's config folder"),
            "{err}"
        );

        let n: String = h
            .eval_async(
                r#"rackscope.fs.update("n.txt", function(t) return tostring((tonumber(t) or 0) + 1) end)
                   return rackscope.fs.update("n.txt", function(t) return tostring(tonumber(t) + 1) end)"#,
            )
            .await
            .unwrap();
        assert_eq!(n, "2");
        let kept: String = h
            .eval_async("return rackscope.fs.update('n.txt', function() return nil end)")
            .await
            .unwrap();
        assert_eq!(kept, "2");
        let err = h
            .eval_async::<()>("rackscope.fs.update('n.txt', 'x')")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("(function expected, got string)"), "{err}");
        assert!(h.dir.path().join(".n.txt.lock").exists());
    }

    #[test]
    fn read_bundled_reads_the_code_folder_only() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let _guard = rt.enter();
        let h = TestHost::new(&[super::register]);
        let code = h.dir.path().join("code");
        std::fs::create_dir_all(code.join("catalogs")).unwrap();
        std::fs::write(code.join("catalogs/a.yaml"), "metrics: []\n").unwrap();
        std::fs::write(h.dir.path().join("secret.txt"), "x").unwrap();
        let text: String = h
            .eval("return rackscope.fs.read_bundled('catalogs/a.yaml')")
            .unwrap();
        assert_eq!(text, "metrics: []\n");
        let (none, err): (mlua::Value, String) = h
            .eval("return rackscope.fs.read_bundled('catalogs/b.yaml')")
            .unwrap();
        assert!(
            none.is_nil() && err.starts_with("catalogs/b.yaml: "),
            "{err}"
        );
        // The config folder's file wins; without it, the bundled one; neither: an error.
        std::fs::write(h.dir.path().join("mine.yaml"), "mine").unwrap();
        let (a, sa, b, sb, none, why): (String, String, String, String, mlua::Value, String) = h
            .eval(
                r#"local fs = rackscope.fs
                   local a, sa = fs.read_or_bundled("mine.yaml", "catalogs/a.yaml")
                   local b, sb = fs.read_or_bundled("other.yaml", "catalogs/a.yaml")
                   local none, why = fs.read_or_bundled("other.yaml", "catalogs/b.yaml")
                   return a, sa, b, sb, none, why"#,
            )
            .unwrap();
        assert_eq!((a.as_str(), sa.as_str()), ("mine", "config"));
        assert_eq!((b.as_str(), sb.as_str()), ("metrics: []\n", "bundled"));
        assert!(none.is_nil(), "{none:?}");
        assert!(
            why.contains("other.yaml") && why.contains("catalogs/b.yaml"),
            "{why}"
        );
        let err = h.error("rackscope.fs.read_bundled('../secret.txt')");
        assert!(
            err.contains("must be relative to the plugin's code folder"),
            "{err}"
        );
    }
}
