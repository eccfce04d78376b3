//! Host values as Lua values and back: [`to_lua`] for host data handed to plugins, and
//! [`RawJson`], a JSON document encoded once (`rackscope.json.raw`) that a handler can
//! return or publish and the host sends as is. Shared by the `rackscope.*` API (`api/`) and
//! the plugin runtime, which reads handlers' answers.

use bytes::Bytes;
use mlua::{Lua, MetaMethod, UserData, UserDataMethods, Value};

/// Host data (topology, config, Prometheus answers) as Lua values, with JSON null as
/// `nil` (the key is simply absent), which is what plugin code tests for. Request bodies
/// and `json.decode` keep `rackscope.null` instead, so a handler can tell an explicit null
/// from a missing field.
pub fn to_lua<T: serde::Serialize + ?Sized>(lua: &Lua, v: &T) -> mlua::Result<Value> {
    use mlua::LuaSerdeExt;
    lua.to_value_with(
        v,
        mlua::SerializeOptions::new()
            .serialize_none_to_null(false)
            .serialize_unit_to_null(false),
    )
}

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
