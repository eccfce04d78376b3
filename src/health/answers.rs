//! The health answers, built once per snapshot and maintenance change and served as
//! encoded bytes (health.md §3 shapes): every room's and rack's state answer, the alert
//! list, the room map and the global stats. A request looks its answer up; nothing is
//! walked or queried per request.
//!
//! Roll-up (health.md §2.6 with D7): a rack is the worst of its own checks and of its
//! nodes when a node is WARN or CRIT, else its checks' state, else its nodes'; a room is the
//! worst of its racks, `UNKNOWN` included (the reference never says UNKNOWN for a room,
//! so a room nobody measured looked healthy).
//!
//! Maintenances (D7: they change what they cover everywhere it shows): a thing in
//! maintenance shows its measured state with a `maintenance` marker, and what contains it
//! counts it as OK. A node or device in maintenance does not turn its rack red, a rack in
//! maintenance does not turn its room red, and the global stats count every rack covered
//! at any level (rack, room, site) as OK. Alerts of what a maintenance covers, at any
//! level, are dropped (`hide`) or marked (`badge`).
//!
//! Beyond the reference's fields, answers carry `generated_at` (unix seconds of the
//! measurement), `stale` (the last recompute failed and this is the one before) and
//! `error` (why), so a client can tell fresh data from old.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::check::is_alert;
use super::compute::HealthSnapshot;
use super::maintenance::{Current, Effect, Maintenance, Place, TargetType};
use super::Severity;

/// Why the answers are not from a fresh measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Staleness {
    pub reason: String,
}

/// Every health answer of one snapshot under one set of maintenances.
#[derive(Debug)]
pub struct HealthView {
    pub snapshot: Arc<HealthSnapshot>,
    pub maintenance_revision: u64,
    pub stale: Option<Staleness>,
    /// Per node: the maintenance covering it at any level (index into `maintenances`).
    pub node_cover: Vec<Option<u32>>,
    /// Per rack: the maintenance covering it at any level (rack, room, site).
    pub rack_cover: Vec<Option<u32>>,
    pub maintenances: Vec<Maintenance>,
    /// Per rack: its rolled-up state (nodes in maintenance count as OK).
    pub rack_state: Vec<Severity>,
    /// Per room: the worst of its racks (racks in maintenance count as OK).
    pub room_state: Vec<Severity>,
    pub rooms_states: Bytes,
    pub room_answers: HashMap<Arc<str>, Bytes>,
    /// Rack states without node metrics (all 0), and with them (`include_metrics`).
    pub rack_answers: HashMap<Arc<str>, Bytes>,
    pub rack_metric_answers: HashMap<Arc<str>, Bytes>,
    pub alerts: Bytes,
    pub global: Bytes,
}

fn encode(v: &Value) -> Bytes {
    // Serialising a `Value` cannot fail (its keys are strings).
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0)
        .unwrap_or(0.0)
}

/// A rack's `infra_metrics.components`: per component template it mounts that lists
/// metrics, the value of each that was measured for the rack (left out otherwise).
fn components(s: &HealthSnapshot, rack: usize) -> Value {
    let mut out = Map::new();
    for c in s
        .inputs
        .rack_metrics
        .components
        .get(rack)
        .into_iter()
        .flatten()
    {
        let mut values = Map::new();
        for (id, index) in &c.metrics {
            let v = index
                .and_then(|i| s.rack_metric_values.get(i))
                .and_then(|by_rack| by_rack.get(&(rack as u32)));
            if let Some(v) = v {
                values.insert(id.to_string(), json!(v));
            }
        }
        out.insert(c.id.to_string(), Value::Object(values));
    }
    Value::Object(out)
}

/// The roll-up of a rack (health.md §2.6): `checks` is the worst of its own checks
/// (`unknown` when none), `nodes` the worst of its nodes (`unknown` when it has none).
pub fn rack_rollup(checks: Severity, nodes: Severity, unknown: Severity) -> Severity {
    if is_alert(nodes) {
        checks.max(nodes)
    } else if checks == unknown && nodes != unknown {
        nodes
    } else {
        checks
    }
}

impl HealthView {
    /// Builds every answer of `snapshot` under `maintenances`.
    pub fn build(
        snapshot: Arc<HealthSnapshot>,
        maintenances: &Current,
        stale: Option<Staleness>,
    ) -> HealthView {
        let s = &snapshot;
        let layout = &s.inputs.layout;
        let checks = &s.inputs.checks;
        let unknown = s.inputs.settings.unknown_state;
        let meta = |extra: &mut Map<String, Value>| {
            extra.insert("generated_at".into(), json!(unix(s.computed_at)));
            extra.insert("stale".into(), json!(stale.is_some()));
            extra.insert(
                "error".into(),
                stale.as_ref().map_or(Value::Null, |st| json!(st.reason)),
            );
        };

        // Which maintenance covers each node and rack.
        let active = &maintenances.active;
        let index_of = |m: &Maintenance| {
            active
                .iter()
                .position(|x| std::ptr::eq(x, m))
                .map(|i| i as u32)
        };
        // Covered by a maintenance naming the node or its device / naming the rack: what
        // counts as OK in the rack's / the room's roll-up.
        let mut node_own = vec![false; layout.nodes.len()];
        let mut rack_own = vec![false; layout.racks.len()];
        let place_of_rack = |k: usize| {
            let rack = &layout.racks[k];
            let room = &layout.rooms[rack.room as usize];
            let site = &layout.sites[room.site as usize];
            (rack, room, site)
        };
        let mut node_cover = vec![None; layout.nodes.len()];
        let mut rack_cover = vec![None; layout.racks.len()];
        if !active.is_empty() {
            for (k, cover) in rack_cover.iter_mut().enumerate() {
                let (rack, room, site) = place_of_rack(k);
                let found = maintenances.covering_at(Place {
                    node: None,
                    device: None,
                    rack: &rack.id,
                    room: &room.id,
                    site: &site.id,
                });
                rack_own[k] = matches!(found, Some((_, TargetType::Rack)));
                *cover = found.and_then(|(m, _)| index_of(m));
            }
            for (n, cover) in node_cover.iter_mut().enumerate() {
                let node = &layout.nodes[n];
                let (rack, room, site) = place_of_rack(node.rack as usize);
                let found = maintenances.covering_at(Place {
                    node: Some(&node.name),
                    device: Some(&layout.devices[node.device as usize].id),
                    rack: &rack.id,
                    room: &room.id,
                    site: &site.id,
                });
                node_own[n] = matches!(found, Some((_, TargetType::Device)));
                *cover = found.and_then(|(m, _)| index_of(m));
            }
        }
        // A node as its rack counts it.
        let effective_node = |n: u32| {
            if node_own[n as usize] {
                Severity::Ok
            } else {
                s.node_state[n as usize]
            }
        };
        let rack_state: Vec<Severity> = (0..layout.racks.len())
            .map(|k| {
                let nodes = layout.racks[k]
                    .nodes
                    .iter()
                    .map(|&n| effective_node(n))
                    .max()
                    .unwrap_or(unknown);
                rack_rollup(s.rack_check_state(k as u32), nodes, unknown)
            })
            .collect();
        // A rack as its room counts it.
        let rack_contrib = |k: u32| {
            if rack_own[k as usize] {
                Severity::Ok
            } else {
                rack_state[k as usize]
            }
        };
        let room_state: Vec<Severity> = layout
            .rooms
            .iter()
            .map(|r| {
                r.racks
                    .iter()
                    .map(|&k| rack_contrib(k))
                    .max()
                    .unwrap_or(unknown)
            })
            .collect();

        let maint_json = |i: Option<u32>| -> Option<Value> {
            let m = &active[i? as usize];
            Some(json!({"id": m.id, "reason": m.reason, "effect": m.effect.as_str()}))
        };
        let check_list = |list: &[(u16, Severity)], only_alerts: bool, with_name: bool| -> Value {
            Value::Array(
                list.iter()
                    .filter(|(_, sev)| !only_alerts || is_alert(*sev))
                    .map(|(c, sev)| {
                        let c = &checks[*c as usize];
                        if with_name {
                            json!({"id": c.id(), "name": c.name(), "severity": sev})
                        } else {
                            json!({"id": c.id(), "severity": sev})
                        }
                    })
                    .collect(),
            )
        };

        // rooms/states: first room of each id, as the topology index resolves ids.
        let mut states = Map::new();
        for (ri, room) in layout.rooms.iter().enumerate() {
            states
                .entry(room.id.to_string())
                .or_insert_with(|| json!(room_state[ri]));
        }
        let rooms_states = encode(&Value::Object(states));

        // rooms/{id}/state
        let mut room_answers = HashMap::with_capacity(layout.rooms.len());
        for (ri, room) in layout.rooms.iter().enumerate() {
            if room_answers.contains_key(&room.id) {
                continue;
            }
            let mut racks = Map::new();
            for &k in &room.racks {
                let rack = &layout.racks[k as usize];
                let count = |want: Severity| {
                    rack.nodes
                        .iter()
                        .filter(|&&n| effective_node(n) == want)
                        .count()
                };
                let mut entry = Map::new();
                entry.insert("state".into(), json!(rack_state[k as usize]));
                entry.insert("node_total".into(), json!(rack.nodes.len()));
                entry.insert("node_crit".into(), json!(count(Severity::Crit)));
                entry.insert("node_warn".into(), json!(count(Severity::Warn)));
                entry.insert(
                    "maintenance".into(),
                    maint_json(rack_cover[k as usize]).unwrap_or(Value::Null),
                );
                racks
                    .entry(rack.id.to_string())
                    .or_insert(Value::Object(entry));
            }
            let mut answer = Map::new();
            answer.insert("room_id".into(), json!(room.id));
            answer.insert("state".into(), json!(room_state[ri]));
            answer.insert("racks".into(), Value::Object(racks));
            meta(&mut answer);
            room_answers.insert(room.id.clone(), encode(&Value::Object(answer)));
        }

        // racks/{id}/state, without and with the node metrics.
        let mut rack_answers = HashMap::with_capacity(layout.racks.len());
        let mut rack_metric_answers = HashMap::with_capacity(layout.racks.len());
        for (k, rack) in layout.racks.iter().enumerate() {
            if rack_answers.contains_key(&rack.id) {
                continue;
            }
            for with_metrics in [false, true] {
                let value = |v: Option<f64>| match v {
                    Some(x) if with_metrics => json!(x),
                    _ => json!(0),
                };
                let mut nodes = Map::new();
                let (mut temp_sum, mut temp_n, mut power) = (0.0, 0usize, 0.0);
                for &n in &rack.nodes {
                    let node = &layout.nodes[n as usize];
                    if nodes.contains_key(node.name.as_ref()) {
                        continue;
                    }
                    let (t, p) = (s.node_temperature[n as usize], s.node_power[n as usize]);
                    if let Some(t) = t.filter(|t| *t > 0.0) {
                        temp_sum += t;
                        temp_n += 1;
                    }
                    power += p.unwrap_or(0.0);
                    let list = &s.node_checks[n as usize];
                    let mut entry = Map::new();
                    entry.insert("state".into(), json!(s.node_state[n as usize]));
                    entry.insert("temperature".into(), value(t));
                    entry.insert("power".into(), value(p));
                    entry.insert("checks".into(), check_list(list, false, true));
                    entry.insert("alerts".into(), check_list(list, true, true));
                    if let Some(m) = maint_json(node_cover[n as usize]) {
                        entry.insert("maintenance".into(), m);
                    }
                    nodes.insert(node.name.to_string(), Value::Object(entry));
                    for v in s.virtuals.get(&n).into_iter().flatten() {
                        nodes.insert(
                            v.key.clone(),
                            json!({
                                "state": v.state,
                                "temperature": 0,
                                "power": 0,
                                "checks": check_list(&v.checks, false, true),
                                "alerts": check_list(&v.checks, true, true),
                            }),
                        );
                    }
                }
                // The average of the temperatures above 0 (0 without any), the sum of
                // the power; both 0 without include_metrics.
                let metrics = if with_metrics {
                    json!({
                        "temperature": if temp_n > 0 { json!(temp_sum / temp_n as f64) } else { json!(0) },
                        "power": power,
                    })
                } else {
                    json!({"temperature": 0, "power": 0.0})
                };
                let own = &s.rack_checks[k];
                let mut answer = Map::new();
                answer.insert("rack_id".into(), json!(rack.id));
                answer.insert("state".into(), json!(rack_state[k]));
                answer.insert("checks".into(), check_list(own, false, true));
                answer.insert("alerts".into(), check_list(own, true, true));
                answer.insert("metrics".into(), metrics);
                answer.insert(
                    "infra_metrics".into(),
                    json!({"components": if with_metrics { components(s, k) } else { json!({}) }}),
                );
                answer.insert("nodes".into(), Value::Object(nodes));
                answer.insert(
                    "maintenance".into(),
                    maint_json(rack_cover[k]).unwrap_or(Value::Null),
                );
                meta(&mut answer);
                let target = if with_metrics {
                    &mut rack_metric_answers
                } else {
                    &mut rack_answers
                };
                target.insert(rack.id.clone(), encode(&Value::Object(answer)));
            }
        }

        // alerts/active: nodes first (topology order), then racks.
        let mut alerts = Vec::new();
        let context = |k: usize| {
            let (rack, room, site) = place_of_rack(k);
            (rack, room, site)
        };
        for (n, node) in layout.nodes.iter().enumerate() {
            let list = &s.node_checks[n];
            if !list.iter().any(|(_, sev)| is_alert(*sev)) {
                continue;
            }
            let cover = node_cover[n].map(|i| &active[i as usize]);
            if cover.is_some_and(|m| m.effect == Effect::Hide) {
                continue;
            }
            let (rack, room, site) = context(node.rack as usize);
            let device = &layout.devices[node.device as usize];
            let mut entry = json!({
                "type": "node",
                "node_id": node.name,
                "state": s.node_state[n],
                "checks": check_list(list, true, false),
                "site_id": site.id,
                "site_name": site.name,
                "room_id": room.id,
                "room_name": room.name,
                "rack_id": rack.id,
                "rack_name": rack.name,
                "device_id": device.id,
                "device_name": device.name,
            });
            if let Some(m) = cover {
                entry["maintenance"] = json!({"id": m.id, "reason": m.reason});
            }
            alerts.push(entry);
        }
        for (k, rack) in layout.racks.iter().enumerate() {
            let list = &s.rack_checks[k];
            if !list.iter().any(|(_, sev)| is_alert(*sev)) {
                continue;
            }
            let cover = rack_cover[k].map(|i| &active[i as usize]);
            if cover.is_some_and(|m| m.effect == Effect::Hide) {
                continue;
            }
            let (_, room, site) = context(k);
            let mut entry = json!({
                "type": "rack",
                "rack_id": rack.id,
                "state": rack_state[k],
                "checks": check_list(list, true, false),
                "site_id": site.id,
                "site_name": site.name,
                "room_id": room.id,
                "room_name": room.name,
                "rack_name": rack.name,
            });
            if let Some(m) = cover {
                entry["maintenance"] = json!({"id": m.id, "reason": m.reason});
            }
            alerts.push(entry);
        }
        let mut answer = Map::new();
        answer.insert("alerts".into(), Value::Array(alerts));
        meta(&mut answer);
        let alerts = encode(&Value::Object(answer));

        // stats/global: racks by state, those in maintenance (at any level) as OK.
        let contrib: Vec<Severity> = (0..layout.racks.len())
            .map(|k| {
                if rack_cover[k].is_some() {
                    Severity::Ok
                } else {
                    rack_state[k]
                }
            })
            .collect();
        let count = |want: Severity| contrib.iter().filter(|s| **s == want).count();
        let (crit, warn, unk) = (
            count(Severity::Crit),
            count(Severity::Warn),
            count(Severity::Unknown),
        );
        let status = if crit > 0 {
            Severity::Crit
        } else if warn > 0 {
            Severity::Warn
        } else if unk > 0 || layout.racks.is_empty() && stale.is_some() {
            Severity::Unknown
        } else {
            Severity::Ok
        };
        let mut answer = Map::new();
        answer.insert("total_rooms".into(), json!(layout.rooms.len()));
        answer.insert("total_racks".into(), json!(layout.racks.len()));
        answer.insert("active_alerts".into(), json!(crit + warn));
        answer.insert("crit_count".into(), json!(crit));
        answer.insert("warn_count".into(), json!(warn));
        answer.insert("unknown_count".into(), json!(unk));
        answer.insert("status".into(), json!(status));
        meta(&mut answer);
        let global = encode(&Value::Object(answer));

        HealthView {
            maintenance_revision: maintenances.revision,
            stale,
            node_cover,
            rack_cover,
            maintenances: active.clone(),
            rack_state,
            room_state,
            rooms_states,
            room_answers,
            rack_answers,
            rack_metric_answers,
            alerts,
            global,
            snapshot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Severity::*;

    #[test]
    fn rack_rollup_follows_the_reference() {
        // Nodes WARN/CRIT: the worst of both.
        assert_eq!(rack_rollup(Ok, Crit, Unknown), Crit);
        assert_eq!(rack_rollup(Crit, Warn, Unknown), Crit);
        // No rack check: the nodes' state.
        assert_eq!(rack_rollup(Unknown, Ok, Unknown), Ok);
        // Rack checks OK, nodes unmeasured: the rack's own measurement.
        assert_eq!(rack_rollup(Ok, Unknown, Unknown), Ok);
        // Nothing measured at all.
        assert_eq!(rack_rollup(Unknown, Unknown, Unknown), Unknown);
    }
}
