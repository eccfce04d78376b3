//! `rackscope.json.raw(value)`: a JSON document encoded once and sent many times.
//!
//! A handler that returns the same large answer to many requests (a list of 14,000 nodes
//! that changes once per cache period) would otherwise encode it again for every request.
//! `raw(value)` encodes a Lua value (or checks a JSON text) once and returns a
//! [`RawJson`] userdata; a handler that returns it as its body has it sent as is, which
//! costs a reference-count increment. Nested inside a table it is still valid (it is
//! re-encoded then, so the fast path is the top level).
//!
//! `tostring(raw)` gives the text and `#raw` its length in bytes.

use bytes::Bytes;
use mlua::{Lua, MetaMethod, Table, UserData, UserDataMethods, Value};

use crate::lua::errors;

/// Pre-encoded JSON text, known to be valid.
#[derive(Debug, Clone)]
pub struct RawJson(pub Bytes);

impl UserData for RawJson {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(String::from_utf8_lossy(&this.0).into_owned())
        });
        methods.add_meta_method(MetaMethod::Len, |_, this, ()| Ok(this.0.len()));
    }
}

impl serde::Serialize for RawJson {
    /// Nested use: the text is parsed back into a document (the top level needs no such
    /// step; see [`RawJson::from_value`]).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let doc: serde_json::Value =
            serde_json::from_slice(&self.0).map_err(serde::ser::Error::custom)?;
        doc.serialize(s)
    }
}

impl RawJson {
    /// The bytes of `v` when it is a `RawJson` userdata.
    pub fn from_value(v: &Value) -> Option<Bytes> {
        match v {
            Value::UserData(ud) => ud.borrow::<RawJson>().ok().map(|r| r.0.clone()),
            _ => None,
        }
    }
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

/// Adds `raw` to the `rackscope.json` table (registered by the codec module first).
pub fn register(lua: &Lua, root: &Table) -> mlua::Result<()> {
    let json: Table = root.get("json")?;
    json.set(
        "raw",
        lua.create_function(|lua, v: Value| {
            let bytes =
                encode(&v).map_err(|e| errors::bad_argument(lua, "rackscope.json.raw", 1, e))?;
            lua.create_ser_userdata(RawJson(bytes))
        })?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua() -> Lua {
        let lua = Lua::new();
        let root = lua.create_table().unwrap();
        root.set("json", lua.create_table().unwrap()).unwrap();
        register(&lua, &root).unwrap();
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
}
