use std::path::Path;

use serde_json::Value;

use super::*;
use crate::library::{load_checks, load_metrics};
use crate::topology::{load_catalog, load_topology};

fn demo() -> (Topology, TopologyIndex, Catalog, Views) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let topology = load_topology(&root.join("topology")).unwrap();
    let index = TopologyIndex::build(&topology).unwrap();
    let (catalog, _) = load_catalog(&root.join("templates"));
    let views = Views::build(
        &topology,
        &catalog,
        &load_checks(&root.join("checks/library")),
        &load_metrics(&root.join("metrics/library")),
    );
    (topology, index, catalog, views)
}

fn json(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap()
}

#[test]
fn slices_are_exactly_what_serde_writes_for_the_model() {
    let (topology, index, _, views) = demo();
    assert_eq!(views.sites(), serde_json::to_vec(&topology.sites).unwrap());
    for (_, room) in topology.rooms() {
        let first = index.room(&room.id).unwrap().resolve(&topology).unwrap();
        assert_eq!(
            views.room_layout(&index, &room.id).unwrap(),
            serde_json::to_vec(first).unwrap()
        );
        for (_, rack) in room.racks() {
            assert_eq!(
                views.rack(&index, &rack.id).unwrap(),
                serde_json::to_vec(rack).unwrap()
            );
        }
    }
    let gz = views.sites_gzip().unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).unwrap();
    assert_eq!(plain, views.sites());
    assert!(views.room_layout(&index, "nope").is_none());
    assert!(views.rack(&index, "nope").is_none());
}

#[test]
fn device_context_and_misses() {
    let (topology, index, catalog, views) = demo();
    let rack = index.rack("h1-a01").unwrap().resolve(&topology).unwrap();
    let device = &rack.devices[0];
    let answer = json(
        &views
            .device(&index, &topology, "h1-a01", &device.id)
            .unwrap(),
    );
    let keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["device", "template", "rack", "room", "site", "aisle"]
    );
    assert_eq!(answer["device"], serde_json::to_value(device).unwrap());
    assert_eq!(
        answer["template"],
        serde_json::to_value(catalog.device_template(&device.template_id).unwrap()).unwrap()
    );
    assert_eq!(answer["rack"], serde_json::to_value(rack).unwrap());
    assert_eq!(answer["rack"]["aisle_id"], "h1-a");
    assert_eq!(
        answer["aisle"],
        serde_json::json!({"id": "h1-a", "name": answer["aisle"]["name"]})
    );
    assert!(answer["site"]["description"].is_string());
    assert_eq!(
        views.device(&index, &topology, "nope", &device.id),
        Err(DeviceMissing::Rack)
    );
    assert_eq!(
        views.device(&index, &topology, "h1-a01", "nope"),
        Err(DeviceMissing::Device)
    );
    // A standalone rack: no aisle.
    let solo = json(
        &views
            .device(
                &index,
                &topology,
                "h2-s01",
                &index
                    .rack("h2-s01")
                    .unwrap()
                    .resolve(&topology)
                    .unwrap()
                    .devices[0]
                    .id,
            )
            .unwrap(),
    );
    assert_eq!(solo["aisle"], Value::Null);
    assert_eq!(solo["rack"]["aisle_id"], Value::Null);
}

#[test]
fn rooms_summary_has_the_virtual_standalone_aisle() {
    let (topology, _, _, views) = demo();
    let rooms = json(&views.rooms());
    let rooms = rooms.as_array().unwrap();
    assert_eq!(rooms.len(), topology.rooms().count());
    for room in rooms {
        let keys: Vec<&String> = room.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "name", "site_id", "aisles"]);
    }
    let hall2 = rooms.iter().find(|r| r["id"] == "hall-2").unwrap();
    let last = hall2["aisles"].as_array().unwrap().last().unwrap();
    assert_eq!(last["id"], "hall-2-standalone");
    assert_eq!(last["name"], "Standalone");
    assert_eq!(last["racks"][0]["id"], "h2-s01");
    let hall1 = rooms.iter().find(|r| r["id"] == "hall-1").unwrap();
    assert!(hall1["aisles"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["id"] != "hall-1-standalone"));
}

#[test]
fn duplicate_ids_resolve_like_the_index() {
    // Two rooms with the same id in two sites, a rack id used twice, a device id used
    // twice in one rack: the first of each wins, as TopologyIndex (and so
    // rackscope.topology) resolves them.
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("topology.yaml");
    std::fs::write(
        &t,
        "sites:\n- id: s1\n  name: S1\n  rooms:\n  - id: r\n    name: First\n    aisles:\n    - id: a\n      name: A\n      racks:\n      - {id: k, name: K1, devices: [{id: d, name: D1, template_id: t, u_position: 1}, {id: d, name: D2, template_id: t, u_position: 3}]}\n- id: s2\n  name: S2\n  rooms:\n  - id: r\n    name: Second\n    standalone_racks:\n    - {id: k, name: K2}\n",
    )
    .unwrap();
    let topology = load_topology(&t).unwrap();
    let index = TopologyIndex::build(&topology).unwrap();
    let views = Views::build(
        &topology,
        &Catalog::default(),
        &Default::default(),
        &Default::default(),
    );
    assert_eq!(
        json(&views.room_layout(&index, "r").unwrap())["name"],
        "First"
    );
    assert_eq!(index.room("r").unwrap().name(), "First");
    assert_eq!(json(&views.rack(&index, "k").unwrap())["name"], "K1");
    assert_eq!(index.rack("k").unwrap().name(), "K1");
    let dev = json(&views.device(&index, &topology, "k", "d").unwrap());
    assert_eq!(dev["device"]["name"], "D1");
    assert_eq!(dev["template"], Value::Null);
}

#[test]
fn metrics_filters() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("m.yaml"),
        "metrics:\n- {id: a, name: A, metric: x, display: {unit: W}, category: power, tags: [pdu, rack]}\n- {id: b, name: B, metric: y, display: {unit: C}, tags: [node]}\n- {id: a, name: A2, metric: z, display: {unit: W}}\n",
    )
    .unwrap();
    let lib = load_metrics(tmp.path());
    let views = Views::build(
        &Topology::default(),
        &Catalog::default(),
        &Default::default(),
        &lib,
    );
    assert_eq!(json(&views.metrics_library(None, None))["count"], 3);
    assert_eq!(json(&views.metrics_library(Some(""), Some("")))["count"], 3);
    assert_eq!(
        json(&views.metrics_library(Some("power"), None))["count"],
        1
    );
    assert_eq!(
        json(&views.metrics_library(None, Some("node")))["metrics"][0]["id"],
        "b"
    );
    assert_eq!(
        json(&views.metrics_library(Some("power"), Some("node")))["count"],
        0
    );
    assert_eq!(json(&views.metric("a").unwrap())["name"], "A");
    assert!(views.metric("zz").is_none());
    assert_eq!(
        json(&views.metric_categories()),
        serde_json::json!({"categories": ["power"]})
    );
    assert_eq!(
        json(&views.metric_tags()),
        serde_json::json!({"tags": ["node", "pdu", "rack"]})
    );
    assert_eq!(json(&views.metric_files())["files"][0]["name"], "m.yaml");
}
