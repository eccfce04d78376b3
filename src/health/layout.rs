//! The topology as the health engine sees it, built once per state generation: every
//! site, room, rack, device and node in topology order, addressed by small integers, with
//! the lookups the endpoints need, and which checks run on what (health.md §1.5).
//!
//! Node keys are what a node check's series are keyed by: the instance names, and the
//! device id of a device without instances (that device is one node, as the reference's
//! targets have it; unlike the reference, such nodes count in their rack). A name used by
//! two devices is one node placed where it was seen last, as in the topology index
//! (`topology::TopologyIndex`); both racks list it. Room and rack ids used twice resolve to
//! the first, as the topology index does.

use std::collections::HashMap;
use std::sync::Arc;

use super::check::Check;
use crate::library::checks::Scope;
use crate::topology::{self, Catalog, Topology};

/// A site.
#[derive(Debug, Clone)]
pub struct SiteInfo {
    pub id: Arc<str>,
    pub name: Arc<str>,
}

/// A room: its racks in topology order (aisles first, then standalone racks).
#[derive(Debug, Clone)]
pub struct RoomInfo {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub site: u32,
    pub racks: Vec<u32>,
}

/// A rack: its devices in file order and every node of them (a name listed twice in the
/// rack counts twice, as the reference's `node_total` does).
#[derive(Debug, Clone)]
pub struct RackInfo {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub room: u32,
    /// Its rack template, when it names one.
    pub template_id: Option<Arc<str>>,
    pub devices: Vec<u32>,
    pub nodes: Vec<u32>,
}

/// A device.
#[derive(Debug, Clone)]
pub struct DeviceInfo {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub rack: u32,
    pub template_id: Arc<str>,
    pub nodes: Vec<u32>,
}

/// A node key: an instance, or the id of a device without instances.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: Arc<str>,
    /// Where it was seen last.
    pub device: u32,
    pub rack: u32,
}

/// What one check runs on: the ids of its scope, deduplicated and sorted by name.
#[derive(Debug, Clone, Default)]
pub struct CheckTargets {
    /// Node indexes (node checks).
    pub nodes: Vec<u32>,
    /// Device indexes (chassis checks).
    pub devices: Vec<u32>,
    /// Rack indexes (rack checks).
    pub racks: Vec<u32>,
}

impl CheckTargets {
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.devices.is_empty() && self.racks.is_empty()
    }
}

/// The topology, addressed by index, and the checks' targets.
#[derive(Debug, Default)]
pub struct Layout {
    pub sites: Vec<SiteInfo>,
    pub rooms: Vec<RoomInfo>,
    pub racks: Vec<RackInfo>,
    pub devices: Vec<DeviceInfo>,
    pub nodes: Vec<NodeInfo>,
    /// One per check of the compiled library, in the same order.
    pub targets: Vec<CheckTargets>,
    room_ids: HashMap<Arc<str>, u32>,
    rack_ids: HashMap<Arc<str>, u32>,
    node_ids: HashMap<Arc<str>, u32>,
    /// (rack index, device id) -> device index; first wins.
    device_ids: HashMap<(u32, Arc<str>), u32>,
    /// Nodes whose device ids are the keys of chassis results (first wins).
    device_by_id: HashMap<Arc<str>, u32>,
}

fn ix(i: usize) -> u32 {
    // Topologies are far below u32::MAX entries (ranges are capped at 10,000 names);
    // saturate rather than wrap if that ever changes.
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Layout {
    /// Builds the layout of `topology` and the targets of `checks` from the templates of
    /// `catalog`. A device whose instances cannot be expanded has none (the topology
    /// index, built before, already refused such a topology).
    pub fn build(topology: &Topology, catalog: &Catalog, checks: &[Check]) -> Layout {
        let mut l = Layout::default();
        let check_ix: HashMap<&str, Vec<usize>> =
            checks
                .iter()
                .enumerate()
                .fold(HashMap::new(), |mut m, (i, c)| {
                    m.entry(c.id()).or_insert_with(Vec::new).push(i);
                    m
                });
        let mut targets: Vec<CheckTargets> = vec![CheckTargets::default(); checks.len()];
        for site in &topology.sites {
            let si = ix(l.sites.len());
            l.sites.push(SiteInfo {
                id: site.id.as_str().into(),
                name: site.name.as_str().into(),
            });
            for room in &site.rooms {
                let ri = ix(l.rooms.len());
                let room_id: Arc<str> = room.id.as_str().into();
                l.room_ids.entry(room_id.clone()).or_insert(ri);
                l.rooms.push(RoomInfo {
                    id: room_id,
                    name: room.name.as_str().into(),
                    site: si,
                    racks: Vec::new(),
                });
                let racks = room
                    .aisles
                    .iter()
                    .flat_map(|a| a.racks.iter())
                    .chain(room.standalone_racks.iter());
                for rack in racks {
                    let ki = l.add_rack(rack, ri);
                    l.rooms[ri as usize].racks.push(ki);
                    l.collect_targets(ki, rack, catalog, checks, &check_ix, &mut targets);
                }
            }
        }
        let (nodes, devices, racks) = (&l.nodes, &l.devices, &l.racks);
        for t in &mut targets {
            // Two nodes of the same name are one key: dedup by name.
            t.nodes
                .sort_by(|a, b| nodes[*a as usize].name.cmp(&nodes[*b as usize].name));
            t.nodes
                .dedup_by(|a, b| nodes[*a as usize].name == nodes[*b as usize].name);
            t.devices
                .sort_by(|a, b| devices[*a as usize].id.cmp(&devices[*b as usize].id));
            t.devices.dedup();
            t.racks
                .sort_by(|a, b| racks[*a as usize].id.cmp(&racks[*b as usize].id));
            t.racks.dedup();
        }
        l.targets = targets;
        l
    }

    fn add_rack(&mut self, rack: &topology::Rack, room: u32) -> u32 {
        let ki = ix(self.racks.len());
        let rack_id: Arc<str> = rack.id.as_str().into();
        self.rack_ids.entry(rack_id.clone()).or_insert(ki);
        let mut info = RackInfo {
            id: rack_id,
            name: rack.name.as_str().into(),
            room,
            template_id: rack.template_id.as_deref().map(Arc::from),
            devices: Vec::with_capacity(rack.devices.len()),
            nodes: Vec::new(),
        };
        for device in &rack.devices {
            let di = ix(self.devices.len());
            let device_id: Arc<str> = device.id.as_str().into();
            self.device_ids.entry((ki, device_id.clone())).or_insert(di);
            self.device_by_id.entry(device_id.clone()).or_insert(di);
            let names: Vec<String> = topology::expand_instance(device.effective_instance())
                .map(|v| v.into_iter().map(|(_, n)| n).collect())
                .unwrap_or_default();
            let names = if names.is_empty() {
                vec![device.id.clone()]
            } else {
                names
            };
            let mut nodes = Vec::with_capacity(names.len());
            for name in names {
                let name: Arc<str> = name.into();
                let ni = match self.node_ids.get(&name) {
                    Some(&ni) => {
                        // Seen before: the last placement wins, as in the topology index.
                        self.nodes[ni as usize].device = di;
                        self.nodes[ni as usize].rack = ki;
                        ni
                    }
                    None => {
                        let ni = ix(self.nodes.len());
                        self.node_ids.insert(name.clone(), ni);
                        self.nodes.push(NodeInfo {
                            name,
                            device: di,
                            rack: ki,
                        });
                        ni
                    }
                };
                nodes.push(ni);
            }
            info.nodes.extend_from_slice(&nodes);
            info.devices.push(di);
            self.devices.push(DeviceInfo {
                id: device_id,
                name: device.name.as_str().into(),
                rack: ki,
                template_id: device.template_id.as_str().into(),
                nodes,
            });
        }
        self.racks.push(info);
        ki
    }

    /// Adds rack `ki`'s targets for the checks its templates list (health.md §1.5).
    fn collect_targets(
        &self,
        ki: u32,
        rack: &topology::Rack,
        catalog: &Catalog,
        checks: &[Check],
        check_ix: &HashMap<&str, Vec<usize>>,
        targets: &mut [CheckTargets],
    ) {
        let info = &self.racks[ki as usize];
        let mut add = |ids: &[String], nodes: &[u32], devices: &[u32]| {
            for id in ids {
                for &c in check_ix.get(id.as_str()).into_iter().flatten() {
                    let t = &mut targets[c];
                    match checks[c].scope() {
                        Scope::Node => t.nodes.extend_from_slice(nodes),
                        Scope::Chassis => t.devices.extend_from_slice(devices),
                        Scope::Rack => t.racks.push(ki),
                    }
                }
            }
        };
        // Rack template checks, and those of the rack components it mounts: every node and
        // device of the rack.
        if let Some(rt) = rack
            .template_id
            .as_deref()
            .and_then(|t| catalog.rack_template(t))
        {
            add(&rt.checks, &info.nodes, &info.devices);
            for component in &rt.infrastructure.rack_components {
                if let Some(ct) = catalog.rack_component_template(&component.template_id) {
                    add(&ct.checks, &info.nodes, &info.devices);
                }
            }
        }
        // Device template checks: that device's nodes and the device itself.
        for &di in &info.devices {
            let d = &self.devices[di as usize];
            if let Some(dt) = catalog.device_template(&d.template_id) {
                add(&dt.checks, &d.nodes, &[di]);
            }
        }
    }

    pub fn room(&self, id: &str) -> Option<u32> {
        self.room_ids.get(id).copied()
    }

    pub fn rack(&self, id: &str) -> Option<u32> {
        self.rack_ids.get(id).copied()
    }

    pub fn node(&self, name: &str) -> Option<u32> {
        self.node_ids.get(name).copied()
    }

    /// The device `device_id` of rack `rack` (first of that id in the rack).
    pub fn device_in_rack(&self, rack: u32, device_id: &str) -> Option<u32> {
        self.device_ids.get(&(rack, Arc::from(device_id))).copied()
    }

    /// The device whose id is `id` (first in topology order): chassis results' keys.
    pub fn device_by_id(&self, id: &str) -> Option<u32> {
        self.device_by_id.get(id).copied()
    }

    /// Distinct ids over every check's targets (`last_batch.total_ids`).
    pub fn total_target_ids(&self) -> usize {
        let mut nodes = std::collections::HashSet::new();
        let mut devices = std::collections::HashSet::new();
        let mut racks = std::collections::HashSet::new();
        for t in &self.targets {
            nodes.extend(t.nodes.iter().copied());
            devices.extend(t.devices.iter().copied());
            racks.extend(t.racks.iter().copied());
        }
        nodes.len() + devices.len() + racks.len()
    }
}
