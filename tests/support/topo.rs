//! Writes small config folders whose names are unlike the demo's, so tests prove that a
//! feature works on any topology: a segmented topology (one site, one room, aisles of
//! racks) and its device templates, plus an app.yaml that points at them.
//!
//! Each rack holds, bottom up: compute twins (role `compute`, nodes `node0001`...), one
//! accelerator server (role `gpu`, `acc001`...; no "gpu" in the name), one visualisation
//! server (role `visu`, `viz01`...), one login server (role `login`, `fe01`...), one
//! storage server (type server, role `storage`, `nsd01`...), one storage enclosure (type
//! `storage`, `st-enc01`...) and a leaf switch (type `switch`, `leaf-<rack>`). The compute
//! and accelerator templates list the check `node_up` (a library with it is the caller's).

use std::fs;
use std::path::Path;

/// What a generated cluster holds, by kind of node.
#[derive(Debug, Default, Clone)]
pub struct Cluster {
    pub compute: Vec<String>,
    pub gpu: Vec<String>,
    pub visu: Vec<String>,
    pub login: Vec<String>,
    pub storage_servers: Vec<String>,
    pub enclosures: Vec<String>,
    pub switches: Vec<String>,
    pub racks: Vec<String>,
    pub room: String,
}

impl Cluster {
    /// Nodes a Slurm cluster has: every server node except storage servers.
    pub fn slurm_nodes(&self) -> Vec<String> {
        [&self.compute, &self.gpu, &self.visu, &self.login]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }

    /// Every node instance of the topology.
    pub fn all_nodes(&self) -> Vec<String> {
        let mut all = self.slurm_nodes();
        for more in [&self.storage_servers, &self.enclosures, &self.switches] {
            all.extend(more.iter().cloned());
        }
        all
    }
}

const TEMPLATES: &str = "templates:
  - id: twin-1u
    name: Twin 1U
    type: server
    role: compute
    u_height: 1
    checks: [node_up]
    layout: {type: grid, rows: 1, cols: 2, matrix: [[1, 2]]}
  - id: accel-4u
    name: Accelerator server 4U
    type: server
    role: gpu
    u_height: 4
    checks: [node_up]
  - id: viz-2u
    name: Visualisation server 2U
    type: server
    role: visu
    u_height: 2
  - id: front-1u
    name: Front-end server 1U
    type: server
    role: login
    u_height: 1
  - id: nsd-2u
    name: Storage server 2U
    type: server
    role: storage
    u_height: 2
  - id: enclosure-4u
    name: Disk enclosure 4U
    type: storage
    storage_type: eseries
    u_height: 4
    disk_layout: {type: grid, rows: 2, cols: 4, matrix: [[1, 2, 3, 4], [5, 6, 7, 8]]}
  - id: leaf-1u
    name: Leaf switch
    type: switch
    u_height: 1
";

/// The rack frame every rack uses: two PDUs of one template that lists one metric,
/// `tls_pdu_power` (a metrics library that defines it is the test's to write).
const RACK_TEMPLATES: &str = "rack_templates:
  - id: frame-42u
    name: Frame 42U
    u_height: 42
    infrastructure:
      rack_components:
        - {template_id: tls-pdu, side: left}
        - {template_id: tls-pdu, side: right}
";

const COMPONENT_TEMPLATES: &str = "rack_component_templates:
  - id: tls-pdu
    name: Rack PDU
    type: pdu
    location: side
    u_height: 42
    metrics: [tls_pdu_power]
";

/// Writes `<root>/topology` and `<root>/templates` for `aisles` x `racks_per_aisle` racks
/// (frame `frame-42u`) with `twins` compute twins each, and an `app.yaml` naming them
/// (plus empty checks), and returns what it holds.
pub fn write_cluster(root: &Path, aisles: usize, racks_per_aisle: usize, twins: usize) -> Cluster {
    let site = "tls";
    let room = "tls-hall";
    let room_dir = root.join(format!("topology/datacenters/{site}/rooms/{room}"));
    let mut c = Cluster {
        room: room.into(),
        ..Cluster::default()
    };
    let mut aisle_list = String::new();
    for a in 1..=aisles {
        let aisle = format!("row-{a}");
        aisle_list.push_str(&format!("  - id: {aisle}\n    name: Row {a}\n"));
        let mut racks = String::from("racks:\n");
        for r in 1..=racks_per_aisle {
            let rack = format!("r{a}{r:02}");
            racks.push_str(&format!("  - {rack}\n"));
            let n = c.racks.len() + 1;
            let mut devices = String::new();
            let mut u = 1;
            let mut device = |id: &str, template: &str, instance: &str, height: u32| {
                devices.push_str(&format!(
                    "  - id: {rack}-{id}\n    name: {id}\n    template_id: {template}\n    u_position: {u}\n    instance: {instance}\n"
                ));
                u += height;
            };
            for t in 0..twins {
                let first = c.compute.len() + 1;
                c.compute.push(format!("node{first:04}"));
                c.compute.push(format!("node{:04}", first + 1));
                device(
                    &format!("tw{t}"),
                    "twin-1u",
                    &format!("node[{first:04}-{:04}]", first + 1),
                    1,
                );
            }
            let names = [
                (format!("acc{n:03}"), "accel-4u", 4, &mut c.gpu),
                (format!("viz{n:02}"), "viz-2u", 2, &mut c.visu),
                (format!("fe{n:02}"), "front-1u", 1, &mut c.login),
                (format!("nsd{n:02}"), "nsd-2u", 2, &mut c.storage_servers),
                (
                    format!("st-enc{n:02}"),
                    "enclosure-4u",
                    4,
                    &mut c.enclosures,
                ),
                (format!("leaf-{rack}"), "leaf-1u", 1, &mut c.switches),
            ];
            for (name, template, height, list) in names {
                device(&name, template, &name, height);
                list.push(name);
            }
            write(
                &room_dir.join(format!("aisles/{aisle}/racks/{rack}.yaml")),
                &format!(
                    "id: {rack}\nname: Rack {rack}\nu_height: 42\ntemplate_id: frame-42u\ndevices:\n{devices}"
                ),
            );
            c.racks.push(rack);
        }
        write(&room_dir.join(format!("aisles/{aisle}/aisle.yaml")), &racks);
    }
    write(
        &room_dir.join("room.yaml"),
        &format!("name: Toulouse hall\naisles:\n{aisle_list}"),
    );
    write(
        &root.join("topology/sites.yaml"),
        &format!("sites:\n  - id: {site}\n    name: Toulouse\n    rooms:\n      - id: {room}\n"),
    );
    write(&root.join("templates/devices/all.yaml"), TEMPLATES);
    write(&root.join("templates/racks/frame.yaml"), RACK_TEMPLATES);
    write(
        &root.join("templates/rack_components/pdu.yaml"),
        COMPONENT_TEMPLATES,
    );
    fs::create_dir_all(root.join("checks")).unwrap();
    write(
        &root.join("app.yaml"),
        "paths:\n  topology: topology\n  templates: templates\n  checks: checks\n",
    );
    c
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}
