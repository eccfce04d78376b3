//! `rackscope.json.encode/decode` and `rackscope.yaml.encode/decode`. Decoding bad text
//! returns `nil, err`; encoding a value that has no JSON/YAML form (a function) raises.

use mlua::{Lua, LuaSerdeExt, MultiValue, Table, Value};

use super::{arg_string, fail};
use crate::lua::errors;

/// Encodes a Lua value straight to text (no intermediate document).
type Encode = fn(&Value) -> Result<String, String>;
/// Parses text into a JSON document.
type Decode = fn(&str) -> Result<serde_json::Value, String>;

pub fn register(lua: &Lua, root: &Table) -> mlua::Result<()> {
    namespace(
        lua,
        root,
        "json",
        "JSON",
        |v| serde_json::to_string(v).map_err(|e| e.to_string()),
        |s| serde_json::from_str(s).map_err(|e| e.to_string()),
    )?;
    namespace(
        lua,
        root,
        "yaml",
        "YAML",
        |v| serde_norway::to_string(v).map_err(|e| e.to_string()),
        |s| crate::config::plugin_file::parse(s).map_err(|e| e.to_string()),
    )
}

/// `rackscope.<name>.encode(value)` and `rackscope.<name>.decode(text)`.
fn namespace(
    lua: &Lua,
    root: &Table,
    name: &'static str,
    format: &'static str,
    encode: Encode,
    decode: Decode,
) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    ns.set(
        "encode",
        lua.create_function(move |lua, v: Value| {
            encode(&v)
                .map_err(|e| errors::bad_argument(lua, &format!("rackscope.{name}.encode"), 1, e))
        })?,
    )?;
    ns.set(
        "decode",
        lua.create_function(move |lua, s: Value| -> mlua::Result<MultiValue> {
            let s = arg_string(lua, &format!("rackscope.{name}.decode"), 1, &s)?;
            match decode(&s) {
                Ok(v) => Ok(MultiValue::from_iter([lua.to_value(&v)?])),
                Err(e) => fail(lua, format!("invalid {format}: {e}")),
            }
        })?,
    )?;
    root.set(name, ns)
}
