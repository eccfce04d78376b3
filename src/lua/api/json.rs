//! `rackscope.json.encode/decode(...)` and `rackscope.json.raw(value)`: JSON text, and a
//! JSON document encoded once and sent many times.
//!
//! A handler that returns the same large answer to many requests (a list of 14,000 nodes
//! that changes once per cache period) would otherwise encode it again for every request.
//! `raw(value)` encodes a Lua value (or checks a JSON text) once and returns a
//! [`RawJson`] userdata; a handler that returns it as its body has it sent as is, which
//! costs a reference-count increment. Nested inside a table it is still valid (it is
//! re-encoded then, so the fast path is the top level). `tostring(raw)` gives the text and
//! `#raw` its length in bytes. Decoding bad text returns `nil, err`; encoding a value that
//! has no JSON form (a function) raises.

use std::rc::Rc;

use bytes::Bytes;
use mlua::{Lua, Table, Value};

use super::support::encode_decode;
use crate::lua::convert::RawJson;
use crate::lua::errors;
use crate::lua::host::HostCtx;

pub fn register(lua: &Lua, root: &Table, _ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    root.set("json", namespace(lua)?)
}

/// The `rackscope.json` table (it needs no host).
fn namespace(lua: &Lua) -> mlua::Result<Table> {
    let ns = lua.create_table()?;
    encode_decode(
        lua,
        &ns,
        "json",
        "JSON",
        |v| serde_json::to_string(v).map_err(|e| e.to_string()),
        |s| serde_json::from_str(s).map_err(|e| e.to_string()),
    )?;
    ns.set(
        "raw",
        lua.create_function(|lua, v: Value| {
            let bytes =
                encode(&v).map_err(|e| errors::bad_argument(lua, "rackscope.json.raw", 1, e))?;
            lua.create_ser_userdata(RawJson(bytes))
        })?,
    )?;
    Ok(ns)
}

/// Encodes `v` (a JSON text is checked and kept as is).
fn encode(v: &Value) -> Result<Bytes, String> {
    if let Some(already) = RawJson::from_value(v) {
        return Ok(already);
    }
    match v {
        Value::String(s) => {
            let bytes = s.as_bytes().to_vec();
            serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
                .map_err(|e| format!("invalid JSON text: {e}"))?;
            Ok(bytes.into())
        }
        other => serde_json::to_vec(other)
            .map(Bytes::from)
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua() -> Lua {
        let lua = Lua::new();
        let root = lua.create_table().unwrap();
        root.set("json", namespace(&lua).unwrap()).unwrap();
        lua.globals().set("rackscope", root).unwrap();
        lua
    }

    #[test]
    fn encodes_once_and_gives_the_bytes_back() {
        let lua = lua();
        let v: Value = lua
            .load(r#"return rackscope.json.raw({ a = 1, list = { "x", "y" } })"#)
            .eval()
            .unwrap();
        let bytes = RawJson::from_value(&v).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(doc, serde_json::json!({"a": 1, "list": ["x", "y"]}));
        let (text, len): (String, usize) = lua
            .load(r#"local r = rackscope.json.raw('{"k": [1, 2]}'); return tostring(r), #r"#)
            .eval()
            .unwrap();
        assert_eq!(text, r#"{"k": [1, 2]}"#);
        assert_eq!(len, text.len());
    }

    #[test]
    fn nested_raw_values_are_still_valid_json() {
        let lua = lua();
        let v: Value = lua
            .load(r#"return { inner = rackscope.json.raw('[1, 2, 3]'), n = 4 }"#)
            .eval()
            .unwrap();
        let text = serde_json::to_string(&v).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc, serde_json::json!({"inner": [1, 2, 3], "n": 4}));
        assert!(RawJson::from_value(&v).is_none());
    }

    #[test]
    fn bad_text_and_functions_are_argument_errors() {
        let lua = lua();
        let err = lua
            .load(r#"rackscope.json.raw('{"open": ')"#)
            .exec()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad argument #1 to 'rackscope.json.raw' (invalid JSON text"),
            "{err}"
        );
        let err = lua
            .load("rackscope.json.raw({ f = print })")
            .exec()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad argument #1 to 'rackscope.json.raw'"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn encode_and_decode() {
        let h = super::super::testing::TestHost::new(&[super::register]);
        let (doc, back): (String, i64) = h
            .eval(
                r#"return rackscope.json.encode({ list = rackscope.array(), n = 1 }),
                          rackscope.json.decode('{"x": [1, 2]}').x[2]"#,
            )
            .unwrap();
        let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(doc, serde_json::json!({"list": [], "n": 1}));
        assert_eq!(back, 2);
        let (bad, err): (mlua::Value, String) =
            h.eval("return rackscope.json.decode('{')").unwrap();
        assert!(bad.is_nil() && err.starts_with("invalid JSON: "), "{err}");
        let err = h.error("rackscope.json.encode({ f = print })");
        assert!(
            err.contains("bad argument #1 to 'rackscope.json.encode'"),
            "{err}"
        );
        let err = h.error("rackscope.json.decode(5)");
        assert!(err.contains("(string expected, got number)"), "{err}");
    }
}
