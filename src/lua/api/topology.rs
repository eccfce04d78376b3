//! `rackscope.topology.*`: read-only views of the running topology, always the current
//! one (a reload is seen by the next call).
//!
//! - `sites()`, `rooms()`: the nested Rackscope JSON shapes (`rooms()` flattens rooms
//!   with their `site_id`).
//! - `room(id)`, `rack(id)`: one object (first match) or nil.
//! - `template(id)`: the device template with this id (`type`, `layout`, `disk_layout`,
//!   `storage_type`, ...) or nil.
//! - `aisles([room_id])`, `racks([room_id])`: flat lists in topology order, each entry with
//!   its `site_id`, `room_id` (and `aisle_id` for racks; nil for standalone racks), without
//!   the nested devices.
//! - `devices(rack_id)`: the rack's devices, each with `instances`, its expanded node
//!   names in slot order; nil for an unknown rack.
//! - `instance(name)`: the placement `{site_id, site_name, room_id, room_name, aisle_id,
//!   aisle_name, rack_id, rack_name, device_id, device_name, template_id}` or nil.
//! - `instances([room_id])`: every node instance in topology order, each a placement
//!   with `name`.
//! - `expand(pattern)`: the one nodeset expander (`compute[001-004]` -> list).
//! - `generation()`: a number that changes whenever the running state (topology, app
//!   config) is reloaded: what a plugin derives from the topology stays valid while it
//!   does not change.

use std::rc::Rc;

use mlua::{Lua, Table, Value};
use serde_json::json;

use super::support::arg_string;
use crate::lua::convert::to_lua;
use crate::lua::errors;
use crate::lua::host::HostCtx;
use crate::state::Snapshot;
use crate::topology::{nodeset, Placement};

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    ns.set("sites", lua.create_function(sites(ctx.clone()))?)?;
    ns.set("rooms", lua.create_function(rooms(ctx.clone()))?)?;
    lookup(lua, &ns, ctx, "room", |snap, id| {
        snap.index.room(id).and_then(|r| r.resolve(&snap.topology))
    })?;
    lookup(lua, &ns, ctx, "rack", |snap, id| {
        snap.index.rack(id).and_then(|r| r.resolve(&snap.topology))
    })?;
    lookup(lua, &ns, ctx, "template", |snap, id| {
        snap.catalog.device_template(id)
    })?;
    ns.set("aisles", lua.create_function(aisles(ctx.clone()))?)?;
    ns.set("racks", lua.create_function(racks(ctx.clone()))?)?;
    ns.set("devices", lua.create_function(devices(ctx.clone()))?)?;
    ns.set("instance", lua.create_function(instance(ctx.clone()))?)?;
    ns.set("instances", lua.create_function(instances(ctx.clone()))?)?;
    ns.set("generation", lua.create_function(generation(ctx.clone()))?)?;
    ns.set("expand", lua.create_function(expand)?)?;
    root.set("topology", ns)
}

/// `rackscope.topology.sites()`: the nested Rackscope shape.
fn sites(c: Rc<HostCtx>) -> impl Fn(&Lua, ()) -> mlua::Result<Value> {
    move |lua, ()| to_lua(lua, &c.state.snapshot().topology.sites)
}

/// `rackscope.topology.rooms()`: every room, each with its `site_id`.
fn rooms(c: Rc<HostCtx>) -> impl Fn(&Lua, ()) -> mlua::Result<Value> {
    move |lua, ()| {
        let snap = c.state.snapshot();
        let mut out = Vec::new();
        for (site, room) in snap.topology.rooms() {
            let mut v = serde_json::to_value(room).map_err(mlua::Error::external)?;
            v["site_id"] = json!(site.id);
            out.push(v);
        }
        to_lua(lua, &out)
    }
}

/// `rackscope.topology.aisles([room_id])`: flat, with their rack ids.
fn aisles(c: Rc<HostCtx>) -> impl Fn(&Lua, Option<String>) -> mlua::Result<Value> {
    move |lua, room| {
        let snap = c.state.snapshot();
        let mut out = Vec::new();
        for (site, r) in rooms_of(&snap.topology, room.as_deref()) {
            for a in &r.aisles {
                out.push(json!({
                    "id": a.id, "name": a.name, "site_id": site.id, "room_id": r.id,
                    "racks": a.racks.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
                }));
            }
        }
        to_lua(lua, &out)
    }
}

/// `rackscope.topology.racks([room_id])`: flat, without their devices.
fn racks(c: Rc<HostCtx>) -> impl Fn(&Lua, Option<String>) -> mlua::Result<Value> {
    move |lua, room| {
        let snap = c.state.snapshot();
        let mut out = Vec::new();
        for (site, r) in rooms_of(&snap.topology, room.as_deref()) {
            for (aisle, k) in r.racks() {
                out.push(json!({
                    "id": k.id, "name": k.name, "site_id": site.id, "room_id": r.id,
                    "aisle_id": aisle.map(|a| a.id.as_str()), "template_id": k.template_id, "u_height": k.u_height,
                    "device_count": k.devices.len(),
                }));
            }
        }
        to_lua(lua, &out)
    }
}

/// `rackscope.topology.devices(rack_id)`: the rack's devices with their `instances`.
fn devices(c: Rc<HostCtx>) -> impl Fn(&Lua, Value) -> mlua::Result<Value> {
    move |lua, id| {
        let id = arg_string(lua, "rackscope.topology.devices", 1, &id)?;
        let snap = c.state.snapshot();
        let Some(rack) = snap.index.rack(&id).and_then(|r| r.resolve(&snap.topology)) else {
            return Ok(Value::Nil);
        };
        let mut out = Vec::with_capacity(rack.devices.len());
        for d in &rack.devices {
            let mut v = serde_json::to_value(d).map_err(mlua::Error::external)?;
            let names: Vec<String> = nodeset::expand_instance(&d.instance)
                .map(|slots| slots.into_iter().map(|(_, n)| n).collect())
                .unwrap_or_default();
            v["instances"] = json!(names);
            out.push(v);
        }
        to_lua(lua, &out)
    }
}

/// `rackscope.topology.instance(name)`: a node instance's placement, or nil.
fn instance(c: Rc<HostCtx>) -> impl Fn(&Lua, Value) -> mlua::Result<Value> {
    move |lua, name| {
        let name = arg_string(lua, "rackscope.topology.instance", 1, &name)?;
        let snap = c.state.snapshot();
        match snap.index.instance(&name) {
            Some(p) => to_lua(lua, &placement_json(p, None)),
            None => Ok(Value::Nil),
        }
    }
}

/// `rackscope.topology.instances([room_id])`: every placement with its `name`.
fn instances(c: Rc<HostCtx>) -> impl Fn(&Lua, Option<String>) -> mlua::Result<Table> {
    move |lua, room| {
        let snap = c.state.snapshot();
        let t = lua.create_table()?;
        let entries: Box<dyn Iterator<Item = _>> = match &room {
            Some(r) => Box::new(snap.index.instances_in_room(r).iter()),
            None => Box::new(snap.index.instances()),
        };
        for (i, e) in entries.enumerate() {
            t.raw_set(
                i + 1,
                to_lua(lua, &placement_json(e.placement(), Some(e.name())))?,
            )?;
        }
        Ok(t)
    }
}

/// `rackscope.topology.generation()`: moves on whenever the running state is rebuilt.
fn generation(c: Rc<HostCtx>) -> impl Fn(&Lua, ()) -> mlua::Result<u64> {
    move |_, ()| Ok(c.state.snapshot().generation)
}

/// `rackscope.topology.expand(pattern)`: the one nodeset expander.
fn expand(lua: &Lua, p: Value) -> mlua::Result<Table> {
    let p = arg_string(lua, "rackscope.topology.expand", 1, &p)?;
    let names = nodeset::expand(&p)
        .map_err(|e| errors::bad_argument(lua, "rackscope.topology.expand", 1, e))?;
    lua.create_sequence_from(names)
}

/// Every (site, room) in topology order, or only the rooms with id `room`.
fn rooms_of<'t>(
    topology: &'t crate::topology::Topology,
    room: Option<&'t str>,
) -> impl Iterator<Item = (&'t crate::topology::Site, &'t crate::topology::Room)> + 't {
    topology
        .rooms()
        .filter(move |(_, r)| room.is_none_or(|id| id == r.id))
}

/// Registers `rackscope.topology.<name>(id)`: the object `find` returns, or nil.
fn lookup<T: serde::Serialize>(
    lua: &Lua,
    ns: &Table,
    ctx: &Rc<HostCtx>,
    name: &'static str,
    find: impl for<'s> Fn(&'s Snapshot, &str) -> Option<&'s T> + 'static,
) -> mlua::Result<()> {
    let c = ctx.clone();
    ns.set(
        name,
        lua.create_function(move |lua, id: Value| {
            let id = arg_string(lua, &format!("rackscope.topology.{name}"), 1, &id)?;
            let snap = c.state.snapshot();
            match find(&snap, &id) {
                Some(found) => to_lua(lua, found),
                None => Ok(Value::Nil),
            }
        })?,
    )
}

fn placement_json(p: &Placement, name: Option<&str>) -> serde_json::Value {
    let mut v = json!({
        "site_id": p.site_id(), "site_name": p.site_name(),
        "room_id": p.room_id(), "room_name": p.room_name(),
        "aisle_id": p.aisle_id(), "aisle_name": p.aisle_name(),
        "rack_id": p.rack_id(), "rack_name": p.rack_name(),
        "device_id": p.device_id(), "device_name": p.device_name(),
        "template_id": p.template_id(),
    });
    if let Some(n) = name {
        v["name"] = json!(n);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[tokio::test]
    async fn lookups_over_the_demo_topology() {
        let h = TestHost::new(&[super::register]);
        let (sites, rooms, racks, instances): (i64, i64, i64, i64) = h
            .eval(
                r#"local t = rackscope.topology
                   return #t.sites(), #t.rooms(), #t.racks(), #t.instances()"#,
            )
            .unwrap();
        assert_eq!((sites, rooms, racks, instances), (2, 3, 17, 423));
        let (room, rack, site, missing): (String, String, String, bool) = h
            .eval(
                r#"local p = rackscope.topology.instance("cn0001")
                   return p.room_id, p.rack_id, p.site_id, rackscope.topology.instance("nope") == nil"#,
            )
            .unwrap();
        assert_eq!((room.as_str(), rack.as_str()), ("hall-1", "h1-a01"));
        assert_eq!((site.as_str(), missing), ("kb-main", true));
        let (in_room, aisles, devices, first): (i64, i64, i64, String) = h
            .eval(
                r#"local t = rackscope.topology
                   local d = t.devices("h1-a01")
                   return #t.instances("hall-1"), #t.aisles("hall-1"), #d, d[1].instances[1]"#,
            )
            .unwrap();
        assert!(in_room > 0 && in_room < 423, "{in_room}");
        assert!(aisles > 0 && devices > 0, "{aisles} {devices}");
        assert!(!first.is_empty());
        let unknown: (bool, bool, bool) = h
            .eval(
                r#"local t = rackscope.topology
                   return t.devices("nope") == nil, t.room("nope") == nil, t.template("nope") == nil"#,
            )
            .unwrap();
        assert_eq!(unknown, (true, true, true));
        let expanded: Vec<String> = h
            .eval("return rackscope.topology.expand('cn[008-010]')")
            .unwrap();
        assert_eq!(expanded, ["cn008", "cn009", "cn010"]);
        let err = h.error("rackscope.topology.expand('n[1-20000]')");
        assert!(
            err.contains("bad argument #1 to 'rackscope.topology.expand'"),
            "{err}"
        );
        let err = h.error("rackscope.topology.instance(5)");
        assert!(err.contains("(string expected, got number)"), "{err}");
        let g: u64 = h.eval("return rackscope.topology.generation()").unwrap();
        assert_eq!(g, 1);
    }
}
