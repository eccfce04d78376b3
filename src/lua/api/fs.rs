//! `rackscope.fs.read/write/exists/list(path)`: file access confined to the plugin's
//! config folder (`<dir of app.yaml>/plugins/<folder>/`). Paths are relative to it; `..`,
//! absolute paths and symlinks leading out are refused. Writes are atomic.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use super::{arg_string, fail};
use crate::config::plugin_file;
use crate::fsutil;
use crate::lua::errors;
use crate::lua::host::HostCtx;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    let c = ctx.clone();
    ns.set(
        "read",
        lua.create_function(move |lua, p: Value| -> mlua::Result<MultiValue> {
            let path = confined(lua, &c.config_dir, "rackscope.fs.read", &p)?;
            match std::fs::read_to_string(&path) {
                Ok(s) => Ok(MultiValue::from_iter([Value::String(
                    lua.create_string(s)?,
                )])),
                Err(e) => fail(lua, format!("{}: {e}", display(&c.config_dir, &path))),
            }
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "write",
        lua.create_function(
            move |lua, (p, text): (Value, Value)| -> mlua::Result<MultiValue> {
                let path = confined(lua, &c.config_dir, "rackscope.fs.write", &p)?;
                let text = arg_string(lua, "rackscope.fs.write", 2, &text)?;
                match fsutil::write_atomic(&path, text.as_bytes()) {
                    Ok(()) => Ok(MultiValue::from_iter([Value::Boolean(true)])),
                    Err(e) => fail(lua, format!("{}: {e}", display(&c.config_dir, &path))),
                }
            },
        )?,
    )?;
    let c = ctx.clone();
    ns.set(
        "exists",
        lua.create_function(move |lua, p: Value| {
            let path = confined(lua, &c.config_dir, "rackscope.fs.exists", &p)?;
            Ok(path.exists())
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "list",
        lua.create_function(move |lua, p: Value| -> mlua::Result<MultiValue> {
            let path = match p {
                Value::Nil => c.config_dir.clone(),
                other => confined(lua, &c.config_dir, "rackscope.fs.list", &other)?,
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
                Err(e) => fail(lua, format!("{}: {e}", display(&c.config_dir, &path))),
            }
        })?,
    )?;
    root.set("fs", ns)
}

fn display(base: &Path, p: &Path) -> String {
    p.strip_prefix(base).unwrap_or(p).display().to_string()
}

/// Resolves `p` inside `base`, refusing escapes (including through symlinks).
fn confined(lua: &Lua, base: &Path, func: &str, p: &Value) -> mlua::Result<PathBuf> {
    let rel = arg_string(lua, func, 1, p)?;
    let Some(rel) = plugin_file::safe_relative(&rel) else {
        return Err(errors::bad_argument(
            lua,
            func,
            1,
            format!("path '{rel}' must be relative to the plugin's config folder, without '..'"),
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
                format!(
                    "path '{}' leads outside the plugin's config folder",
                    rel.display()
                ),
            ));
        }
    }
    Ok(path)
}
