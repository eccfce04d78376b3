//! Loads Rackscope's bundled example topologies and templates (read-only fixtures) and checks
//! the counts the reference loader gives (`spec/reference/topology.md` §5.7), then exercises
//! the loader's error and warning paths on small topologies written to temp dirs.

mod support;

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use rackscope::topology::{
    load_catalog, load_topology, load_topology_with_warnings, InstanceSpec, Topology,
    TopologyError, TopologyIndex,
};
use support::server::fixtures_dir as fixtures;

#[derive(Debug, PartialEq, Eq)]
struct Counts {
    sites: usize,
    rooms: usize,
    aisles: usize,
    racks: usize,
    standalone: usize,
    devices: usize,
    instances: usize,
    device_templates: usize,
}

fn counts(topology: &Topology, index: &TopologyIndex, device_templates: usize) -> Counts {
    let rooms = || topology.rooms().map(|(_, r)| r);
    Counts {
        sites: topology.sites.len(),
        rooms: rooms().count(),
        aisles: rooms().map(|r| r.aisles.len()).sum(),
        racks: topology.racks().count(),
        standalone: rooms().map(|r| r.standalone_racks.len()).sum(),
        devices: topology.racks().map(|r| r.devices.len()).sum(),
        instances: index.instance_count(),
        device_templates,
    }
}

fn check_fixture(name: &str, expected: Counts) {
    let dir = fixtures().join(name);
    let (topology, warnings) = load_topology_with_warnings(&dir.join("topology"))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(warnings.is_empty(), "{name}: {warnings:?}");
    let (catalog, catalog_warnings) = load_catalog(&dir.join("templates"));
    assert!(catalog_warnings.is_empty(), "{name}: {catalog_warnings:?}");
    let index = TopologyIndex::build(&topology).unwrap();
    assert!(
        index.warnings().is_empty(),
        "{name}: {:?}",
        index.warnings()
    );
    assert_eq!(index.expanded_count(), index.instance_count(), "{name}");
    assert_eq!(
        counts(&topology, &index, catalog.device_templates().len()),
        expected,
        "{name}"
    );

    // Every template reference resolves (true for all bundled examples, §4.6).
    for site in &topology.sites {
        for room in &site.rooms {
            let racks = room
                .aisles
                .iter()
                .flat_map(|a| &a.racks)
                .chain(&room.standalone_racks);
            for rack in racks {
                if let Some(t) = &rack.template_id {
                    assert!(
                        catalog.rack_template(t).is_some(),
                        "{name}: rack template {t}"
                    );
                }
                for device in &rack.devices {
                    assert!(
                        catalog.device_template(&device.template_id).is_some(),
                        "{name}: device template {} of {}",
                        device.template_id,
                        device.id
                    );
                }
            }
        }
    }
    for rt in catalog.rack_templates() {
        for component in &rt.infrastructure.rack_components {
            assert!(
                catalog
                    .rack_component_template(&component.template_id)
                    .is_some(),
                "{name}: component template {}",
                component.template_id
            );
        }
    }

    // Every instance's placement points back at a device that expands to it.
    for entry in index.instances() {
        let device = entry.placement().device(&topology).unwrap();
        assert_eq!(device.id, entry.placement().device_id());
    }
}

#[test]
fn simple_room() {
    check_fixture(
        "simple-room",
        Counts {
            sites: 1,
            rooms: 1,
            aisles: 1,
            racks: 4,
            standalone: 0,
            devices: 11,
            instances: 11,
            device_templates: 2,
        },
    );
}

#[test]
fn hpc_cluster() {
    check_fixture(
        "hpc-cluster",
        Counts {
            sites: 2,
            rooms: 2,
            aisles: 3,
            racks: 13,
            standalone: 0,
            devices: 136,
            instances: 256,
            device_templates: 23,
        },
    );
}

#[test]
fn full_datacenter() {
    check_fixture(
        "full-datacenter",
        Counts {
            sites: 2,
            rooms: 3,
            aisles: 6,
            racks: 22,
            standalone: 0,
            devices: 296,
            instances: 850,
            device_templates: 10,
        },
    );
    let (catalog, _) = load_catalog(&fixtures().join("full-datacenter/templates"));
    assert_eq!(catalog.rack_templates().len(), 1);
    assert_eq!(catalog.rack_component_templates().len(), 1);
}

#[test]
fn hpc_cluster_1912() {
    check_fixture(
        "hpc-cluster-1912",
        Counts {
            sites: 1,
            rooms: 2,
            aisles: 5,
            racks: 25,
            standalone: 0,
            devices: 762,
            instances: 1912,
            device_templates: 16,
        },
    );
}

#[test]
fn hpc_cluster_details_and_json_shapes() {
    let dir = fixtures().join("hpc-cluster");
    let topology = load_topology(&dir.join("topology")).unwrap();
    let index = TopologyIndex::build(&topology).unwrap();

    // dc2/room-b is listed and empty.
    let room_b = index.room("room-b").unwrap();
    assert_eq!(room_b.site_id(), "dc2");
    assert!(index.instances_in_room("room-b").is_empty());
    assert_eq!(index.instances_in_room("room-a").len(), 256);

    // Every instance form is present.
    let devices = topology
        .sites
        .iter()
        .flat_map(|s| &s.rooms)
        .flat_map(|r| r.aisles.iter().flat_map(|a| &a.racks))
        .flat_map(|r| &r.devices);
    let mut forms = HashSet::new();
    for d in devices {
        forms.insert(match &d.instance {
            InstanceSpec::Single(s) if s.contains('[') => "pattern",
            InstanceSpec::Single(_) => "single",
            InstanceSpec::List(_) => "list",
            InstanceSpec::Map(_) => "map",
        });
    }
    assert_eq!(forms.len(), 4, "{forms:?}");

    let json = serde_json::to_value(&topology).unwrap();
    let site = &json["sites"][0];
    assert_eq!(site["location"]["address"], "Paris, FR");
    let room = &site["rooms"][0];
    assert_eq!(room["layout"]["size"]["width"].as_f64(), Some(36.0));
    assert!(room["layout"]["size"]["width"].is_f64());
    assert_eq!(room["aisles"][1]["name"], "Aisle 02 (Storage)");
    let rack = &room["aisles"][1]["racks"][0];
    let keys: Vec<&String> = rack.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "template_id",
            "u_height",
            "aisle_id",
            "devices"
        ]
    );
    let device = &rack["devices"][2];
    let keys: Vec<&String> = device.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "template_id",
            "u_position",
            "instance",
            "nodes",
            "labels"
        ]
    );
    assert_eq!(device["labels"]["tray"], "99");
    assert_eq!(device["nodes"], serde_json::Value::Null);
    assert_eq!(
        rack["devices"][8]["instance"],
        serde_json::json!({"1": "service001"})
    );
}

// ---------------------------------------------------------------------------------------
// Small hand-written topologies
// ---------------------------------------------------------------------------------------

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

const ROOM: &str = "datacenters/s1/rooms/room1";

/// One site, one discovered room, one aisle listing r1 and r2.
fn base(root: &Path) {
    write(root, "sites.yaml", "sites:\n- id: s1\n  name: Site 1\n");
    write(
        root,
        &format!("{ROOM}/room.yaml"),
        "name: Room 1\naisles:\n- id: a1\n  name: Aisle 1\n",
    );
    write(
        root,
        &format!("{ROOM}/aisles/a1/aisle.yaml"),
        "racks:\n- r1\n- id: r2\n",
    );
    write(
        root,
        &format!("{ROOM}/aisles/a1/racks/r1.yaml"),
        &rack("r1", "n[001-004]"),
    );
    write(
        root,
        &format!("{ROOM}/aisles/a1/racks/r2.yaml"),
        &rack("r2", "m[1-2]"),
    );
}

fn rack(id: &str, instance: &str) -> String {
    format!(
        "id: {id}\nname: Rack {id}\ndevices:\n- id: {id}-d1\n  name: D1\n  template_id: quad\n  u_position: 1\n  instance: {instance}\n"
    )
}

fn problems(err: &TopologyError) -> Vec<String> {
    err.problems().iter().map(|p| p.to_string()).collect()
}

#[test]
fn base_topology_loads() {
    let tmp = tempfile::tempdir().unwrap();
    base(tmp.path());
    let (topology, warnings) = load_topology_with_warnings(tmp.path()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let index = TopologyIndex::build(&topology).unwrap();
    assert_eq!(index.instance_count(), 6);
    let p = index.instance("n003").unwrap();
    assert_eq!(
        (
            p.site_name(),
            p.room_id(),
            p.room_name(),
            p.aisle_name(),
            p.rack_id(),
            p.slot()
        ),
        ("Site 1", "room1", "Room 1", Some("Aisle 1"), "r1", 3)
    );
}

#[test]
fn missing_path_and_missing_sites_yaml() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = load_topology(&missing).unwrap_err();
    assert!(matches!(err, TopologyError::NotFound(_)));
    assert_eq!(
        err.to_string(),
        format!("Topology path not found: {}", missing.display())
    );

    let err = load_topology(tmp.path()).unwrap_err();
    let p = problems(&err);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].contains("sites.yaml") && p[0].contains("Topology sites file not found"),
        "{p:?}"
    );
}

#[test]
fn empty_sites_yaml_is_an_empty_topology() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "sites.yaml", "# nothing yet\n");
    assert!(load_topology(tmp.path()).unwrap().sites.is_empty());
}

#[test]
fn bad_ids_are_all_reported_with_their_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    base(root);
    write(
        root,
        "sites.yaml",
        "sites:\n- id: s1\n  name: Site 1\n- id: Bad_Site\n",
    );
    write(
        root,
        &format!("{ROOM}/aisles/a1/racks/r1.yaml"),
        &rack("R1", "n1"),
    );
    write(
        root,
        &format!("{ROOM}/room.yaml"),
        "aisles:\n- id: a1\n- id: _a2\n",
    );
    let err = load_topology(root).unwrap_err();
    let p = problems(&err);
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(p
        .iter()
        .any(|m| m.contains("sites.yaml") && m.contains("`Bad_Site`")));
    assert!(p
        .iter()
        .any(|m| m.contains("room.yaml") && m.contains("`_a2`")));
    assert!(p
        .iter()
        .any(|m| m.contains("r1.yaml") && m.contains("rack id `R1`")));
    let text = err.to_string();
    assert!(
        text.starts_with("Invalid topology") && text.contains("3 problems"),
        "{text}"
    );
}

#[test]
fn duplicate_site_room_and_aisle_ids_are_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    base(root);
    write(root, "sites.yaml", "sites:\n- id: s1\n- id: s1\n");
    let p = problems(&load_topology(root).unwrap_err());
    assert!(
        p.iter().any(|m| m.contains("duplicate site id `s1`")),
        "{p:?}"
    );

    base(root);
    write(
        root,
        &format!("{ROOM}/room.yaml"),
        "aisles:\n- a1\n- {id: a1, name: Again}\n",
    );
    let p = problems(&load_topology(root).unwrap_err());
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("duplicate aisle id `a1`"), "{p:?}");

    base(root);
    write(
        root,
        "sites.yaml",
        "sites:\n- id: s1\n  rooms: [room1, {id: room1}]\n",
    );
    let p = problems(&load_topology(root).unwrap_err());
    assert!(
        p.iter().any(|m| m.contains("duplicate room id `room1`")),
        "{p:?}"
    );
}

#[test]
fn yaml_syntax_error_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    base(root);
    write(
        root,
        &format!("{ROOM}/aisles/a1/racks/r2.yaml"),
        "id: r2\nname: R2\ndevices:\n- id: d\n  name: [oops\n",
    );
    write(
        root,
        &format!("{ROOM}/aisles/a1/racks/r1.yaml"),
        "id: r1\nname: R1\ndevices:\n- id: d\n  name: D\n  template_id: t\n  u_position: top\n",
    );
    let err = load_topology(root).unwrap_err();
    let probs = err.problems();
    assert_eq!(probs.len(), 2, "{probs:#?}");
    let r1 = probs.iter().find(|p| p.file.ends_with("r1.yaml")).unwrap();
    assert_eq!(r1.line, Some(7));
    assert!(r1.message.contains("u_position"), "{}", r1.message);
    let r2 = probs.iter().find(|p| p.file.ends_with("r2.yaml")).unwrap();
    assert!(r2.line.is_some_and(|l| l >= 5), "{r2:?}");
    assert!(err.to_string().contains("r1.yaml:7: "), "{err}");
}

#[test]
fn range_over_ten_thousand_is_an_error_naming_the_device() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    base(root);
    write(
        root,
        &format!("{ROOM}/aisles/a1/racks/r2.yaml"),
        &rack("r2", "n[0-10000]"),
    );
    let p = problems(&load_topology(root).unwrap_err());
    assert_eq!(p.len(), 1);
    assert!(
        p[0].contains("r2.yaml") && p[0].contains("device `r2-d1`") && p[0].contains("too large"),
        "{p:?}"
    );
    // Exactly 10,000 is fine.
    write(
        root,
        &format!("{ROOM}/aisles/a1/racks/r2.yaml"),
        &rack("r2", "n[1-10000]"),
    );
    let topology = load_topology(root).unwrap();
    assert_eq!(
        TopologyIndex::build(&topology).unwrap().instance_count(),
        10_004
    );
}

#[test]
fn missing_files_are_warnings_and_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    base(root);
    fs::remove_file(root.join(format!("{ROOM}/aisles/a1/racks/r2.yaml"))).unwrap();
    // A second aisle without aisle.yaml, a discovered room dir without room.yaml.
    write(
        root,
        &format!("{ROOM}/room.yaml"),
        "aisles:\n- id: a1\n- id: a2\n",
    );
    fs::create_dir_all(root.join("datacenters/s1/rooms/room0")).unwrap();
    let (topology, warnings) = load_topology_with_warnings(root).unwrap();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings
        .iter()
        .any(|w| w.starts_with("Missing rack file") && w.contains("r2.yaml")));
    assert!(warnings
        .iter()
        .any(|w| w.starts_with("Missing aisle file") && w.contains("a2")));
    assert!(warnings
        .iter()
        .any(|w| w.starts_with("Missing room file") && w.contains("room0")));
    let room = &topology.sites[0].rooms[0];
    assert_eq!(room.aisles.len(), 1);
    assert_eq!(room.aisles[0].racks.len(), 1);
    // Name defaults: the site and the room take their ids.
    assert_eq!(room.name, "room1");
}

#[test]
fn refs_inline_racks_standalone_and_discovery_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    base(root);
    write(
        root,
        &format!("{ROOM}/room.yaml"),
        "id: hall-1\naisles:\n- a1\nstandalone_racks:\n- solo\n- {id: inline, name: Inline, devices: [{id: i1, name: I, template_id: t, u_position: 1, nodes: 'old[1-2]'}]}\n- {name: no-id}\n",
    );
    write(
        root,
        &format!("{ROOM}/standalone_racks/solo.yaml"),
        &rack("solo", "[solo1, solo2]"),
    );
    write(root, "datacenters/s1/rooms/a-first/room.yaml", "");
    let (topology, warnings) = load_topology_with_warnings(root).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let rooms: Vec<&str> = topology.sites[0]
        .rooms
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(rooms, ["a-first", "hall-1"]);
    let room = &topology.sites[0].rooms[1];
    assert_eq!(room.name, "room1");
    assert_eq!(room.aisles[0].name, "a1");
    let standalone: Vec<&str> = room
        .standalone_racks
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(standalone, ["solo", "inline"]);
    let index = TopologyIndex::build(&topology).unwrap();
    let names: Vec<&str> = index.instances().map(|e| e.name()).collect();
    assert_eq!(
        names,
        ["n001", "n002", "n003", "n004", "m1", "m2", "solo1", "solo2", "old1", "old2"]
    );
    assert!(index.instance("old2").unwrap().is_standalone());
}

#[test]
fn null_lists_and_missing_device_fields_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    base(root);
    write(root, &format!("{ROOM}/aisles/a1/aisle.yaml"), "racks:\n");
    write(
        root,
        &format!("{ROOM}/room.yaml"),
        "aisles:\n- a1\nstandalone_racks:\n- s\n",
    );
    write(
        root,
        &format!("{ROOM}/standalone_racks/s.yaml"),
        "id: s\nname: S\nu_height: 0\ndevices:\n- {id: x}\n",
    );
    let p = problems(&load_topology(root).unwrap_err());
    assert_eq!(p.len(), 5, "{p:#?}");
    assert!(p
        .iter()
        .any(|m| m.contains("aisle.yaml") && m.contains("`racks` is null")));
    assert!(p
        .iter()
        .any(|m| m.contains("s.yaml") && m.contains("u_height 0")));
    for field in ["name", "template_id", "u_position"] {
        assert!(
            p.iter()
                .any(|m| m.contains(&format!("device `x`: `{field}` is required"))),
            "{field}: {p:?}"
        );
    }
}

#[test]
fn duplicate_rack_room_and_device_ids_are_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    base(root);
    write(
        root,
        &format!("{ROOM}/aisles/a1/aisle.yaml"),
        "racks: [r1, r1, r2]\n",
    );
    write(
        root,
        &format!("{ROOM}/aisles/a1/racks/r2.yaml"),
        &rack("r2", "n001"),
    );
    write(root, "sites.yaml", "sites:\n- id: s1\n- id: s2\n");
    write(root, "datacenters/s2/rooms/room1/room.yaml", "");
    let (topology, warnings) = load_topology_with_warnings(root).unwrap();
    assert_eq!(topology.sites[0].rooms[0].aisles[0].racks.len(), 3);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("Duplicate rack id `r1`")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("Duplicate room id `room1`")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("Duplicate device id `r1-d1`")),
        "{warnings:?}"
    );
    let index = TopologyIndex::build(&topology).unwrap();
    assert!(!index.warnings().is_empty());
    // n001 is in r1 twice and in r2: the last one wins.
    assert_eq!(index.instance("n001").unwrap().rack_id(), "r2");
    assert_eq!(index.rack("r1").unwrap().index(), 0);
}

#[test]
fn single_file_form() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("topology.yaml");
    fs::write(
        &file,
        r#"sites:
- id: s1
  name: Site
  location: {lat: 48.85, lon: 2.35}
  rooms:
  - id: r1
    name: Room
    layout: {size: {width: 10, height: 8}}
    aisles:
    - id: a1
      name: Aisle
      racks:
      - id: k1
        name: K1
        u_height: 48
        devices:
        - {id: d1, name: D1, template_id: t, u_position: 1, instance: {1: x1, 2: x2}}
    standalone_racks:
    - {id: k2, name: K2}
"#,
    )
    .unwrap();
    let (topology, warnings) = load_topology_with_warnings(&file).unwrap();
    assert!(warnings.is_empty());
    let room = &topology.sites[0].rooms[0];
    assert_eq!(room.layout.as_ref().unwrap().size.width, 10.0);
    assert_eq!(room.aisles[0].racks[0].u_height, 48);
    assert_eq!(room.standalone_racks[0].u_height, 42);
    let index = TopologyIndex::build(&topology).unwrap();
    assert_eq!(index.instance("x2").unwrap().slot(), 2);

    // Names are required here, and lat/lon are range-checked.
    fs::write(
        &file,
        "sites:\n- id: s1\n  location: {lat: 91, lon: 0}\n  rooms:\n  - id: r1\n    name: R\n    aisles: [{id: a1}]\n",
    )
    .unwrap();
    let p = problems(&load_topology(&file).unwrap_err());
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(p
        .iter()
        .any(|m| m.contains("site `s1`: missing required field `name`")));
    assert!(p
        .iter()
        .any(|m| m.contains("aisle `a1`: missing required field `name`")));
    assert!(p.iter().any(|m| m.contains("location.lat 91")));

    fs::write(&file, "sites: [\n").unwrap();
    let err = load_topology(&file).unwrap_err();
    assert!(err.problems()[0].line.is_some(), "{err}");

    fs::write(&file, "").unwrap();
    assert!(load_topology(&file).unwrap().sites.is_empty());
}

#[test]
fn a_bad_site_entry_does_not_hide_the_other_sites_problems() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    base(root);
    write(
        root,
        "sites.yaml",
        "sites:\n- id: s0\n  location: {lat: north}\n- id: s1\n- id: s2\n  location: [1]\n",
    );
    write(
        root,
        &format!("{ROOM}/aisles/a1/racks/r2.yaml"),
        &rack("r2", "n[1-20000]"),
    );
    let err = load_topology(root).unwrap_err();
    let p = problems(&err);
    assert_eq!(p.len(), 3, "{p:#?}");
    assert_eq!(err.problems()[0].line, Some(3));
    assert!(p[1].contains("sites[2]: location"), "{p:?}");
    assert!(
        p.iter()
            .any(|m| m.contains("r2.yaml") && m.contains("too large")),
        "{p:?}"
    );
}
