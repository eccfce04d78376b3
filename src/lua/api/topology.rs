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

use super::arg_string;
use crate::lua::errors;
use crate::lua::host::HostCtx;
use crate::state::Snapshot;
use crate::topology::{nodeset, Placement};

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    let c = ctx.clone();
    ns.set(
        "sites",
        lua.create_function(move |lua, ()| super::to_lua(lua, &c.state.snapshot().topology.sites))?,
    )?;
    let c = ctx.clone();
    ns.set(
        "rooms",
        lua.create_function(move |lua, ()| {
            let snap = c.state.snapshot();
            let mut out = Vec::new();
            for (site, room) in snap.topology.rooms() {
                let mut v = serde_json::to_value(room).map_err(mlua::Error::external)?;
                v["site_id"] = json!(site.id);
                out.push(v);
            }
            super::to_lua(lua, &out)
        })?,
    )?;
    lookup(lua, &ns, ctx, "room", |snap, id| {
        snap.index.room(id).and_then(|r| r.resolve(&snap.topology))
    })?;
    lookup(lua, &ns, ctx, "rack", |snap, id| {
        snap.index.rack(id).and_then(|r| r.resolve(&snap.topology))
    })?;
    lookup(lua, &ns, ctx, "template", |snap, id| {
        snap.catalog.device_template(id)
    })?;
    let c = ctx.clone();
    ns.set(
        "aisles",
        lua.create_function(move |lua, room: Option<String>| {
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
            super::to_lua(lua, &out)
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "racks",
        lua.create_function(move |lua, room: Option<String>| {
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
            super::to_lua(lua, &out)
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "devices",
        lua.create_function(move |lua, id: Value| {
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
            super::to_lua(lua, &out)
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "instance",
        lua.create_function(move |lua, name: Value| {
            let name = arg_string(lua, "rackscope.topology.instance", 1, &name)?;
            let snap = c.state.snapshot();
            match snap.index.instance(&name) {
                Some(p) => super::to_lua(lua, &placement_json(p, None)),
                None => Ok(Value::Nil),
            }
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "instances",
        lua.create_function(move |lua, room: Option<String>| {
            let snap = c.state.snapshot();
            let t = lua.create_table()?;
            let mut i = 0;
            let entries: Box<dyn Iterator<Item = _>> = match &room {
                Some(r) => Box::new(snap.index.instances_in_room(r).iter()),
                None => Box::new(snap.index.instances()),
            };
            for e in entries {
                i += 1;
                t.raw_set(
                    i,
                    super::to_lua(lua, &placement_json(e.placement(), Some(e.name())))?,
                )?;
            }
            Ok(t)
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "generation",
        lua.create_function(move |_, ()| Ok(c.state.snapshot().generation))?,
    )?;
    ns.set(
        "expand",
        lua.create_function(|lua, p: Value| {
            let p = arg_string(lua, "rackscope.topology.expand", 1, &p)?;
            let names = nodeset::expand(&p)
                .map_err(|e| errors::bad_argument(lua, "rackscope.topology.expand", 1, e))?;
            lua.create_sequence_from(names)
        })?,
    )?;
    root.set("topology", ns)
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
                Some(found) => super::to_lua(lua, found),
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
