//! `rackscope.health.*`: the health engine's states, read-only (D8): plugins combine them
//! with their own data and never recompute them. Every call reads the latest snapshot's
//! answers, the same that `/api/rooms/...`, `/api/racks/...` and `/api/alerts/active`
//! serve (maintenances applied); before the first snapshot, everything is `UNKNOWN` with
//! the reason.
//!
//! - `rooms()`: `{[room_id] = state}`.
//! - `room(id)`, `rack(id [, {metrics = true}])`: the state answers, or nil for an unknown id.
//! - `node(name)`: `{state, checks, alerts, rack_id, room_id, maintenance, temperature,
//!   power}` (checks and alerts as `{id, name, severity}`), or nil.
//! - `alerts()`: the active alerts, as `/api/alerts/active` lists them.
//! - `summary()`: the global counts and status (`/api/stats/global`).

use std::rc::Rc;
use std::sync::Arc;

use mlua::{Lua, Table, Value};
use serde_json::json;

use super::support::arg_string;
use crate::health::check::is_alert;
use crate::health::HealthView;
use crate::lua::convert::to_lua;
use crate::lua::errors;
use crate::lua::host::HostCtx;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    let c = ctx.clone();
    ns.set(
        "rooms",
        lua.create_function(move |lua, ()| decode(lua, &view(&c).rooms_states))?,
    )?;
    let c = ctx.clone();
    ns.set(
        "room",
        lua.create_function(move |lua, id: Value| {
            let id = arg_string(lua, "rackscope.health.room", 1, &id)?;
            decode_found(lua, view(&c).room_answers.get(id.as_str()))
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "rack",
        lua.create_function(move |lua, (id, opts): (Value, Value)| {
            let id = arg_string(lua, "rackscope.health.rack", 1, &id)?;
            let metrics = match opts {
                Value::Nil => false,
                Value::Table(t) => t.get::<Option<bool>>("metrics")?.unwrap_or(false),
                other => {
                    return Err(errors::type_error(
                        lua,
                        "rackscope.health.rack",
                        2,
                        "table or nil",
                        &other,
                    ))
                }
            };
            let v = view(&c);
            let answers = if metrics {
                &v.rack_metric_answers
            } else {
                &v.rack_answers
            };
            decode_found(lua, answers.get(id.as_str()))
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "node",
        lua.create_function(move |lua, name: Value| {
            let name = arg_string(lua, "rackscope.health.node", 1, &name)?;
            node(lua, &view(&c), &name)
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "alerts",
        lua.create_function(move |lua, ()| {
            let v = view(&c);
            let all: serde_json::Value =
                serde_json::from_slice(&v.alerts).map_err(mlua::Error::external)?;
            to_lua(lua, &all["alerts"])
        })?,
    )?;
    let c = ctx.clone();
    ns.set(
        "summary",
        lua.create_function(move |lua, ()| decode(lua, &view(&c).global))?,
    )?;
    root.set("health", ns)
}

/// The answers in force, or (before the first snapshot) the placeholder for the current
/// state's inputs.
fn view(c: &HostCtx) -> Arc<HealthView> {
    let engine = c.state.health();
    engine
        .view()
        .unwrap_or_else(|| engine.placeholder(c.state.snapshot().health.clone()))
}

fn decode(lua: &Lua, body: &[u8]) -> mlua::Result<Value> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(mlua::Error::external)?;
    to_lua(lua, &v)
}

/// An answer looked up by id, decoded; nil for an unknown id.
fn decode_found(lua: &Lua, body: Option<&bytes::Bytes>) -> mlua::Result<Value> {
    body.map_or(Ok(Value::Nil), |b| decode(lua, b))
}

/// One node's state, its checks and where it is.
fn node(lua: &Lua, v: &HealthView, name: &str) -> mlua::Result<Value> {
    let s = &v.snapshot;
    let layout = &s.inputs.layout;
    let Some(n) = layout.node(name) else {
        return Ok(Value::Nil);
    };
    let n = n as usize;
    let checks = &s.inputs.checks;
    let list = |only_alerts: bool| {
        s.node_checks[n]
            .iter()
            .filter(|(_, sev)| !only_alerts || is_alert(*sev))
            .map(|(c, sev)| {
                let c = &checks[*c as usize];
                json!({"id": c.id(), "name": c.name(), "severity": sev})
            })
            .collect::<Vec<_>>()
    };
    let rack = &layout.racks[layout.nodes[n].rack as usize];
    let maintenance = v.node_cover[n].map(|i| {
        let m = &v.maintenances[i as usize];
        json!({"id": m.id, "reason": m.reason, "effect": m.effect.as_str()})
    });
    to_lua(
        lua,
        &json!({
            "state": s.node_state[n],
            "checks": list(false),
            "alerts": list(true),
            "rack_id": rack.id,
            "room_id": layout.rooms[rack.room as usize].id,
            "maintenance": maintenance,
            "temperature": s.node_temperature[n],
            "power": s.node_power[n],
            "stale": v.stale.is_some(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[tokio::test]
    async fn before_any_measurement_everything_is_unknown() {
        let h = TestHost::new(&[super::register]);
        let (room, rack_state, node_state, node_nil, rooms): (
            String,
            String,
            String,
            bool,
            String,
        ) = h
            .eval(
                r#"local hl = rackscope.health
                   local r = hl.room("hall-1")
                   local k = hl.rack("h1-a01", {metrics = true})
                   return r.state, k.state, hl.node("cn0001").state, hl.node("nope") == nil,
                          hl.rooms()["hall-2"]"#,
            )
            .unwrap();
        assert_eq!(
            (
                room.as_str(),
                rack_state.as_str(),
                node_state.as_str(),
                node_nil,
                rooms.as_str()
            ),
            ("UNKNOWN", "UNKNOWN", "UNKNOWN", true, "UNKNOWN")
        );
        let (alerts, status): (i64, String) = h
            .eval("return #rackscope.health.alerts(), rackscope.health.summary().status")
            .unwrap();
        assert_eq!((alerts, status.as_str()), (0, "UNKNOWN"));
        let err = h.error("rackscope.health.rack('h1-a01', 5)");
        assert!(
            err.contains("bad argument #2 to 'rackscope.health.rack'"),
            "{err}"
        );
        assert!(h
            .error("rackscope.health.node()")
            .contains("string expected"));
    }
}
