//! `rackscope.json.encode/decode` and `rackscope.yaml.encode/decode`. Decoding bad text
//! returns `nil, err`; encoding a value that has no JSON/YAML form (a function) raises.

use mlua::{Lua, LuaSerdeExt, MultiValue, Table, Value};

use super::{arg_string, fail};
use crate::lua::errors;

pub fn register(lua: &Lua, root: &Table) -> mlua::Result<()> {
    let json = lua.create_table()?;
    json.set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let j: serde_json::Value = lua
                .from_value(v)
                .map_err(|e| errors::bad_argument(lua, "rackscope.json.encode", 1, e))?;
            Ok(j.to_string())
        })?,
    )?;
    json.set(
        "decode",
        lua.create_function(|lua, s: Value| -> mlua::Result<MultiValue> {
            let s = arg_string(lua, "rackscope.json.decode", 1, &s)?;
            match serde_json::from_str::<serde_json::Value>(&s) {
                Ok(v) => Ok(MultiValue::from_iter([lua.to_value(&v)?])),
                Err(e) => fail(lua, format!("invalid JSON: {e}")),
            }
        })?,
    )?;
    root.set("json", json)?;

    let yaml = lua.create_table()?;
    yaml.set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let j: serde_json::Value = lua
                .from_value(v)
                .map_err(|e| errors::bad_argument(lua, "rackscope.yaml.encode", 1, e))?;
            serde_norway::to_string(&j).map_err(|e| errors::misuse(lua, e))
        })?,
    )?;
    yaml.set(
        "decode",
        lua.create_function(|lua, s: Value| -> mlua::Result<MultiValue> {
            let s = arg_string(lua, "rackscope.yaml.decode", 1, &s)?;
            match crate::plugin::config_file::parse(&s) {
                Ok(v) => Ok(MultiValue::from_iter([lua.to_value(&v)?])),
                Err(e) => fail(lua, format!("invalid YAML: {e}")),
            }
        })?,
    )?;
    root.set("yaml", yaml)
}
