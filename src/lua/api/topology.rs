//! `rackscope.topology.*`: read-only views of the running topology.
//! (Filled in once the topology module lands.)

use std::rc::Rc;

use mlua::{Lua, Table};

use crate::plugin::instance::HostCtx;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let _ = ctx;
    root.set("topology", lua.create_table()?)
}
