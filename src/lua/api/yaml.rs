//! `rackscope.yaml.encode(value)` and `rackscope.yaml.decode(text)`, with the same YAML
//! reader as the plugins' config files. Decoding bad text returns `nil, err` (naming the
//! line); an empty document decodes to an empty table; encoding a value that has no YAML
//! form (a function) raises.

use std::rc::Rc;

use mlua::{Lua, Table};

use super::support::encode_decode;
use crate::config::plugin_file;
use crate::lua::host::HostCtx;

pub fn register(lua: &Lua, root: &Table, _ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    encode_decode(
        lua,
        &ns,
        "yaml",
        "YAML",
        |v| serde_norway::to_string(v).map_err(|e| e.to_string()),
        |s| plugin_file::parse(s).map_err(|e| e.to_string()),
    )?;
    root.set("yaml", ns)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[tokio::test]
    async fn encode_and_decode() {
        let h = TestHost::new(&[super::register]);
        let y: String = h
            .eval(r#"return rackscope.yaml.decode(rackscope.yaml.encode({ a = "b" })).a"#)
            .unwrap();
        assert_eq!(y, "b");
        let (bad, err): (mlua::Value, String) =
            h.eval("return rackscope.yaml.decode('a: [')").unwrap();
        assert!(
            bad.is_nil() && err.starts_with("invalid YAML: line"),
            "{err}"
        );
        let empty: mlua::Table = h.eval("return rackscope.yaml.decode('')").unwrap();
        assert_eq!(empty.raw_len(), 0);
        let err = h.error("rackscope.yaml.encode({ f = print })");
        assert!(
            err.contains("bad argument #1 to 'rackscope.yaml.encode'"),
            "{err}"
        );
    }
}
