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

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[tokio::test]
    async fn encode_and_decode_json_and_yaml() {
        let h = TestHost::new(&[|lua, root, _| super::register(lua, root)]);
        let (doc, back, y): (String, i64, String) = h
            .eval(
                r#"local j = rackscope.json.encode({ list = rackscope.array(), n = 1 })
                   local y = rackscope.yaml.encode({ a = "b" })
                   return j, rackscope.json.decode('{"x": [1, 2]}').x[2], rackscope.yaml.decode(y).a"#,
            )
            .unwrap();
        let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(doc, serde_json::json!({"list": [], "n": 1}));
        assert_eq!((back, y.as_str()), (2, "b"));
        let (bad, err): (mlua::Value, String) =
            h.eval("return rackscope.json.decode('{')").unwrap();
        assert!(bad.is_nil() && err.starts_with("invalid JSON: "), "{err}");
        let (bad, err): (mlua::Value, String) =
            h.eval("return rackscope.yaml.decode('a: [')").unwrap();
        assert!(
            bad.is_nil() && err.starts_with("invalid YAML: line"),
            "{err}"
        );
        let empty: mlua::Table = h.eval("return rackscope.yaml.decode('')").unwrap();
        assert_eq!(empty.raw_len(), 0);
        let err = h.error("rackscope.json.encode({ f = print })");
        assert!(
            err.contains("bad argument #1 to 'rackscope.json.encode'"),
            "{err}"
        );
        let err = h.error("rackscope.json.decode(5)");
        assert!(err.contains("(string expected, got number)"), "{err}");
    }
}
