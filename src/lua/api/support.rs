//! What the namespaces of the API share (no namespace of its own): argument checks that
//! raise located errors worded like Lua's, the check that registration is still open, the
//! `nil, err` shape of an expected failure, and
//! the `encode`/`decode` pair of a text format (`rackscope.json`, `rackscope.yaml`).

use mlua::{Lua, LuaSerdeExt, MultiValue, Table, Value};

use crate::lua::errors;

/// Argument `n` of `func` as a string, or a located type error.
pub fn arg_string(lua: &Lua, func: &str, n: usize, v: &Value) -> mlua::Result<String> {
    match v {
        Value::String(s) => Ok(s.to_str()?.to_string()),
        other => Err(errors::type_error(lua, func, n, "string", other)),
    }
}

/// Argument `n` of `func` as a number, or a located type error.
pub fn arg_number(lua: &Lua, func: &str, n: usize, v: &Value) -> mlua::Result<f64> {
    match v {
        Value::Integer(i) => Ok(*i as f64),
        Value::Number(f) => Ok(*f),
        other => Err(errors::type_error(lua, func, n, "number", other)),
    }
}

/// Argument `n` of `func` as a table, or a located type error.
pub fn arg_table(lua: &Lua, func: &str, n: usize, v: &Value) -> mlua::Result<Table> {
    match v {
        Value::Table(t) => Ok(t.clone()),
        other => Err(errors::type_error(lua, func, n, "table", other)),
    }
}

/// Registration (`route`, `menu`, `status_map`, `metrics.serve`) is only open while the
/// plugin sets itself up: `func` raises at the caller's line once it is sealed.
pub fn check_open(lua: &Lua, func: &str, sealed: bool) -> mlua::Result<()> {
    if sealed {
        Err(errors::misuse(
            lua,
            format!("{func} can only be called during setup"),
        ))
    } else {
        Ok(())
    }
}

/// `nil, message`: the shape of an expected failure.
pub fn fail(lua: &Lua, msg: impl Into<String>) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([
        Value::Nil,
        Value::String(lua.create_string(msg.into())?),
    ]))
}

/// Encodes a Lua value straight to text (no intermediate document).
pub type Encode = fn(&Value) -> Result<String, String>;
/// Parses text into a JSON document.
pub type Decode = fn(&str) -> Result<serde_json::Value, String>;

/// Sets `ns.encode(value)` and `ns.decode(text)` for the text format `format` of the
/// namespace `rackscope.<name>`: decoding bad text returns `nil, err`; encoding a value
/// that has no such form (a function) raises.
pub fn encode_decode(
    lua: &Lua,
    ns: &Table,
    name: &'static str,
    format: &'static str,
    encode: Encode,
    decode: Decode,
) -> mlua::Result<()> {
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
    )
}
