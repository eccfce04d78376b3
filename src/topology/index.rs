//! Index from node instance name to its placement, plus id lookups.
//!
//! Built in one pass over a loaded [`Topology`], in topology order (sites, rooms, aisles,
//! racks, standalone racks, devices, expansion order). Node names are expanded with the one
//! shared expander ([`super::nodeset`]).
//!
//! * Instance names: the **last** one wins on a collision (as the reference index), with a
//!   warning; [`TopologyIndex::instances`] still lists every expanded instance, duplicates
//!   included, which is what the simulator enumerates.
//! * Site, room and rack ids: the **first** match wins, like the reference's API lookups.
//!
//! Memory: every instance costs one shared name (`Arc<str>`, also the map key) and a
//! 16-byte [`Placement`] pointing at a per-device context that all slots of the chassis
//! share; site/room/rack strings are shared by all their devices. The index holds indices
//! into the topology rather than a copy of it.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use super::load::TopologyError;
use super::model::{Device, Rack, Room, Site, Topology};
use super::nodeset;

/// Where one node instance sits: site, room, aisle (none for a standalone rack), rack,
/// device, plus its slot in the device.
#[derive(Debug, Clone)]
pub struct Placement {
    ctx: Arc<DeviceContext>,
    slot: u32,
}

/// What every instance of one device shares.
#[derive(Debug)]
struct DeviceContext {
    site_id: Arc<str>,
    site_name: Arc<str>,
    room_id: Arc<str>,
    room_name: Arc<str>,
    aisle_id: Option<Arc<str>>,
    aisle_name: Option<Arc<str>>,
    rack_id: Arc<str>,
    rack_name: Arc<str>,
    device_id: Arc<str>,
    device_name: Arc<str>,
    template_id: Arc<str>,
    site: u32,
    room: u32,
    aisle: Option<u32>,
    rack: u32,
    device: u32,
}

impl Placement {
    pub fn site_id(&self) -> &str {
        &self.ctx.site_id
    }
    pub fn site_name(&self) -> &str {
        &self.ctx.site_name
    }
    pub fn room_id(&self) -> &str {
        &self.ctx.room_id
    }
    pub fn room_name(&self) -> &str {
        &self.ctx.room_name
    }
    /// `None` for a standalone rack.
    pub fn aisle_id(&self) -> Option<&str> {
        self.ctx.aisle_id.as_deref()
    }
    /// `None` for a standalone rack.
    pub fn aisle_name(&self) -> Option<&str> {
        self.ctx.aisle_name.as_deref()
    }
    pub fn rack_id(&self) -> &str {
        &self.ctx.rack_id
    }
    pub fn rack_name(&self) -> &str {
        &self.ctx.rack_name
    }
    pub fn device_id(&self) -> &str {
        &self.ctx.device_id
    }
    pub fn device_name(&self) -> &str {
        &self.ctx.device_name
    }
    /// The device's template id (not checked against the catalog).
    pub fn template_id(&self) -> &str {
        &self.ctx.template_id
    }
    /// The instance's slot in its device (1..n for ranges and lists, the key for maps).
    pub fn slot(&self) -> u32 {
        self.slot
    }
    /// True when the rack is a standalone rack (not in an aisle).
    pub fn is_standalone(&self) -> bool {
        self.ctx.aisle.is_none()
    }
    /// Position of the site in `topology.sites`.
    pub fn site_index(&self) -> usize {
        self.ctx.site as usize
    }
    /// Position of the room in its site's `rooms`.
    pub fn room_index(&self) -> usize {
        self.ctx.room as usize
    }
    /// Position of the aisle in its room's `aisles`; `None` for a standalone rack.
    pub fn aisle_index(&self) -> Option<usize> {
        self.ctx.aisle.map(|a| a as usize)
    }
    /// Position of the rack in its aisle's `racks` (or the room's `standalone_racks`).
    pub fn rack_index(&self) -> usize {
        self.ctx.rack as usize
    }
    /// Position of the device in its rack's `devices`.
    pub fn device_index(&self) -> usize {
        self.ctx.device as usize
    }
    /// The rack in the topology this index was built from.
    pub fn rack<'t>(&self, topology: &'t Topology) -> Option<&'t Rack> {
        rack_at(
            topology,
            self.site_index(),
            self.room_index(),
            self.aisle_index(),
            self.rack_index(),
        )
    }
    /// The device in the topology this index was built from.
    pub fn device<'t>(&self, topology: &'t Topology) -> Option<&'t Device> {
        self.rack(topology)?.devices.get(self.device_index())
    }
}

impl Serialize for Placement {
    /// The node context: `{site_id, site_name, room_id, room_name, aisle_id, aisle_name,
    /// rack_id, rack_name, device_id, device_name, template_id, slot}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Placement", 12)?;
        s.serialize_field("site_id", self.site_id())?;
        s.serialize_field("site_name", self.site_name())?;
        s.serialize_field("room_id", self.room_id())?;
        s.serialize_field("room_name", self.room_name())?;
        s.serialize_field("aisle_id", &self.aisle_id())?;
        s.serialize_field("aisle_name", &self.aisle_name())?;
        s.serialize_field("rack_id", self.rack_id())?;
        s.serialize_field("rack_name", self.rack_name())?;
        s.serialize_field("device_id", self.device_id())?;
        s.serialize_field("device_name", self.device_name())?;
        s.serialize_field("template_id", self.template_id())?;
        s.serialize_field("slot", &self.slot)?;
        s.end()
    }
}

fn rack_at(
    topology: &Topology,
    site: usize,
    room: usize,
    aisle: Option<usize>,
    rack: usize,
) -> Option<&Rack> {
    let room = topology.sites.get(site)?.rooms.get(room)?;
    match aisle {
        Some(aisle) => room.aisles.get(aisle)?.racks.get(rack),
        None => room.standalone_racks.get(rack),
    }
}

/// One expanded node instance.
#[derive(Debug, Clone)]
pub struct InstanceEntry {
    name: Arc<str>,
    placement: Placement,
}

impl InstanceEntry {
    /// The instance name (the Prometheus `instance` label value).
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn placement(&self) -> &Placement {
        &self.placement
    }
}

/// A site in the index.
#[derive(Debug, Clone)]
pub struct SiteEntry {
    index: u32,
    id: Arc<str>,
    name: Arc<str>,
}

impl SiteEntry {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Position in `topology.sites`.
    pub fn index(&self) -> usize {
        self.index as usize
    }
    pub fn resolve<'t>(&self, topology: &'t Topology) -> Option<&'t Site> {
        topology.sites.get(self.index())
    }
}

/// A room in the index.
#[derive(Debug, Clone)]
pub struct RoomEntry {
    site: u32,
    index: u32,
    id: Arc<str>,
    name: Arc<str>,
    site_id: Arc<str>,
    instances: Range<usize>,
}

impl RoomEntry {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn site_id(&self) -> &str {
        &self.site_id
    }
    /// Position of the site in `topology.sites`.
    pub fn site_index(&self) -> usize {
        self.site as usize
    }
    /// Position of the room in its site's `rooms`.
    pub fn index(&self) -> usize {
        self.index as usize
    }
    pub fn resolve<'t>(&self, topology: &'t Topology) -> Option<&'t Room> {
        topology
            .sites
            .get(self.site_index())?
            .rooms
            .get(self.index())
    }
}

/// A rack in the index.
#[derive(Debug, Clone)]
pub struct RackEntry {
    site: u32,
    room: u32,
    aisle: Option<u32>,
    index: u32,
    id: Arc<str>,
    name: Arc<str>,
    site_id: Arc<str>,
    room_id: Arc<str>,
    aisle_id: Option<Arc<str>>,
}

impl RackEntry {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn site_id(&self) -> &str {
        &self.site_id
    }
    pub fn room_id(&self) -> &str {
        &self.room_id
    }
    /// `None` for a standalone rack.
    pub fn aisle_id(&self) -> Option<&str> {
        self.aisle_id.as_deref()
    }
    pub fn is_standalone(&self) -> bool {
        self.aisle.is_none()
    }
    pub fn site_index(&self) -> usize {
        self.site as usize
    }
    pub fn room_index(&self) -> usize {
        self.room as usize
    }
    pub fn aisle_index(&self) -> Option<usize> {
        self.aisle.map(|a| a as usize)
    }
    /// Position in its aisle's `racks` (or the room's `standalone_racks`).
    pub fn index(&self) -> usize {
        self.index as usize
    }
    pub fn resolve<'t>(&self, topology: &'t Topology) -> Option<&'t Rack> {
        rack_at(
            topology,
            self.site_index(),
            self.room_index(),
            self.aisle_index(),
            self.index(),
        )
    }
}

/// Lookups over a loaded topology.
#[derive(Debug, Clone, Default)]
pub struct TopologyIndex {
    sites: Vec<SiteEntry>,
    rooms: Vec<RoomEntry>,
    racks: Vec<RackEntry>,
    instances: Vec<InstanceEntry>,
    /// Instance name to its position in `instances`; last wins.
    by_instance: HashMap<Arc<str>, u32>,
    /// Bare ids to positions; first wins.
    site_ids: HashMap<Arc<str>, u32>,
    room_ids: HashMap<Arc<str>, u32>,
    rack_ids: HashMap<Arc<str>, u32>,
    warnings: Vec<String>,
}

fn idx(i: usize) -> u32 {
    // Topology sizes are far below u32::MAX (each range is capped at 10,000 names and the
    // files must fit in memory); saturate rather than wrap if that ever changes.
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl TopologyIndex {
    /// Builds the index. Fails when a device's instances cannot be expanded (a range of more
    /// than 10,000 names), naming the rack and device.
    pub fn build(topology: &Topology) -> Result<TopologyIndex, TopologyError> {
        let mut index = TopologyIndex::default();
        let mut names = Vec::new();
        for (si, site) in topology.sites.iter().enumerate() {
            let site_id: Arc<str> = site.id.as_str().into();
            let site_name: Arc<str> = site.name.as_str().into();
            index
                .site_ids
                .entry(site_id.clone())
                .or_insert(idx(index.sites.len()));
            index.sites.push(SiteEntry {
                index: idx(si),
                id: site_id.clone(),
                name: site_name.clone(),
            });
            for (ri, room) in site.rooms.iter().enumerate() {
                let start = index.instances.len();
                let room_id: Arc<str> = room.id.as_str().into();
                let room_name: Arc<str> = room.name.as_str().into();
                let racks = room
                    .aisles
                    .iter()
                    .enumerate()
                    .flat_map(|(ai, aisle)| {
                        aisle
                            .racks
                            .iter()
                            .enumerate()
                            .map(move |(ki, rack)| (Some((ai, aisle)), ki, rack))
                    })
                    .chain(
                        room.standalone_racks
                            .iter()
                            .enumerate()
                            .map(|(ki, rack)| (None, ki, rack)),
                    );
                let mut aisle_names: Option<(usize, Arc<str>, Arc<str>)> = None;
                for (aisle, ki, rack) in racks {
                    let aisle = aisle.map(|(ai, a)| match &aisle_names {
                        Some((i, id, name)) if *i == ai => (ai, id.clone(), name.clone()),
                        _ => {
                            let id: Arc<str> = a.id.as_str().into();
                            let name: Arc<str> = a.name.as_str().into();
                            aisle_names = Some((ai, id.clone(), name.clone()));
                            (ai, id, name)
                        }
                    });
                    let rack_id: Arc<str> = rack.id.as_str().into();
                    let rack_name: Arc<str> = rack.name.as_str().into();
                    index
                        .rack_ids
                        .entry(rack_id.clone())
                        .or_insert(idx(index.racks.len()));
                    index.racks.push(RackEntry {
                        site: idx(si),
                        room: idx(ri),
                        aisle: aisle.as_ref().map(|(ai, _, _)| idx(*ai)),
                        index: idx(ki),
                        id: rack_id.clone(),
                        name: rack_name.clone(),
                        site_id: site_id.clone(),
                        room_id: room_id.clone(),
                        aisle_id: aisle.as_ref().map(|(_, id, _)| id.clone()),
                    });
                    for (di, device) in rack.devices.iter().enumerate() {
                        names.clear();
                        names.extend(
                            nodeset::expand_instance(device.effective_instance()).map_err(
                                |source| TopologyError::Expansion {
                                    rack_id: rack.id.clone(),
                                    device_id: device.id.clone(),
                                    source,
                                },
                            )?,
                        );
                        if names.is_empty() {
                            continue;
                        }
                        let ctx = Arc::new(DeviceContext {
                            site_id: site_id.clone(),
                            site_name: site_name.clone(),
                            room_id: room_id.clone(),
                            room_name: room_name.clone(),
                            aisle_id: aisle.as_ref().map(|(_, id, _)| id.clone()),
                            aisle_name: aisle.as_ref().map(|(_, _, name)| name.clone()),
                            rack_id: rack_id.clone(),
                            rack_name: rack_name.clone(),
                            device_id: device.id.as_str().into(),
                            device_name: device.name.as_str().into(),
                            template_id: device.template_id.as_str().into(),
                            site: idx(si),
                            room: idx(ri),
                            aisle: aisle.as_ref().map(|(ai, _, _)| idx(*ai)),
                            rack: idx(ki),
                            device: idx(di),
                        });
                        for (slot, name) in names.drain(..) {
                            index.push_instance(
                                name,
                                Placement {
                                    ctx: ctx.clone(),
                                    slot,
                                },
                            );
                        }
                    }
                }
                index
                    .room_ids
                    .entry(room_id.clone())
                    .or_insert(idx(index.rooms.len()));
                index.rooms.push(RoomEntry {
                    site: idx(si),
                    index: idx(ri),
                    id: room_id,
                    name: room_name,
                    site_id: site_id.clone(),
                    instances: start..index.instances.len(),
                });
            }
        }
        index.instances.shrink_to_fit();
        Ok(index)
    }

    fn push_instance(&mut self, name: String, placement: Placement) {
        let name: Arc<str> = name.into();
        let position = idx(self.instances.len());
        if let Some(old) = self.by_instance.insert(name.clone(), position) {
            let old = &self.instances[old as usize].placement;
            let message = format!(
                "Instance name collision: `{name}` in rack `{}` device `{}` overwrites rack `{}` device `{}`",
                placement.rack_id(),
                placement.device_id(),
                old.rack_id(),
                old.device_id()
            );
            tracing::warn!("{message}");
            self.warnings.push(message);
        }
        self.instances.push(InstanceEntry { name, placement });
    }

    /// Where the instance `name` sits (the last one, if the name is used twice).
    pub fn instance(&self, name: &str) -> Option<&Placement> {
        self.by_instance
            .get(name)
            .map(|&i| &self.instances[i as usize].placement)
    }

    /// Every expanded instance in topology order, duplicates included.
    pub fn instances(&self) -> impl ExactSizeIterator<Item = &InstanceEntry> + '_ {
        self.instances.iter()
    }

    /// The number of distinct instance names.
    pub fn instance_count(&self) -> usize {
        self.by_instance.len()
    }

    /// The number of expanded instances, duplicates included.
    pub fn expanded_count(&self) -> usize {
        self.instances.len()
    }

    /// The instances of the first room with this id, in topology order (empty if none).
    pub fn instances_in_room(&self, room_id: &str) -> &[InstanceEntry] {
        self.room(room_id)
            .map(|room| &self.instances[room.instances.clone()])
            .unwrap_or(&[])
    }

    /// The instances of one room entry (for rooms whose id is used in several sites).
    pub fn room_instances(&self, room: &RoomEntry) -> &[InstanceEntry] {
        self.instances.get(room.instances.clone()).unwrap_or(&[])
    }

    /// The first site with this id.
    pub fn site(&self, id: &str) -> Option<&SiteEntry> {
        self.site_ids.get(id).map(|&i| &self.sites[i as usize])
    }

    /// The first room with this id (room ids may repeat across sites).
    pub fn room(&self, id: &str) -> Option<&RoomEntry> {
        self.room_ids.get(id).map(|&i| &self.rooms[i as usize])
    }

    /// The first rack with this id.
    pub fn rack(&self, id: &str) -> Option<&RackEntry> {
        self.rack_ids.get(id).map(|&i| &self.racks[i as usize])
    }

    /// Every site, in topology order.
    pub fn sites(&self) -> &[SiteEntry] {
        &self.sites
    }

    /// Every room, in topology order.
    pub fn rooms(&self) -> &[RoomEntry] {
        &self.rooms
    }

    /// Every rack, in topology order (each aisle's racks, then the standalone racks).
    pub fn racks(&self) -> &[RackEntry] {
        &self.racks
    }

    /// Warnings raised while building (instance name collisions); already logged.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::model::{Aisle, InstanceSpec};

    fn device(id: &str, instance: InstanceSpec) -> Device {
        Device {
            id: id.into(),
            name: id.to_uppercase(),
            template_id: "t".into(),
            u_position: 1,
            instance,
            nodes: None,
            labels: None,
        }
    }

    fn rack(id: &str, devices: Vec<Device>) -> Rack {
        Rack {
            id: id.into(),
            name: id.to_uppercase(),
            template_id: None,
            u_height: 42,
            aisle_id: None,
            devices,
        }
    }

    fn room(id: &str, aisles: Vec<Aisle>, standalone_racks: Vec<Rack>) -> Room {
        Room {
            id: id.into(),
            name: id.to_uppercase(),
            description: None,
            layout: None,
            aisles,
            standalone_racks,
        }
    }

    fn sample() -> Topology {
        let a1 = Aisle {
            id: "a1".into(),
            name: "A1".into(),
            racks: vec![
                rack(
                    "r1",
                    vec![
                        device("d1", InstanceSpec::Single("c[1-2]".into())),
                        device("sw", InstanceSpec::Single("sw1".into())),
                        device("empty", InstanceSpec::default()),
                    ],
                ),
                rack(
                    "r2",
                    vec![device(
                        "d2",
                        InstanceSpec::Map(vec![(2, "c3".into()), (1, "c1".into())]),
                    )],
                ),
            ],
        };
        let s1 = Site {
            id: "s1".into(),
            name: "S1".into(),
            description: None,
            location: None,
            rooms: vec![
                room(
                    "room1",
                    vec![a1],
                    vec![rack(
                        "solo",
                        vec![device("d3", InstanceSpec::List(vec!["x".into()]))],
                    )],
                ),
                room("room2", vec![], vec![]),
            ],
        };
        let s2 = Site {
            id: "s2".into(),
            name: "S2".into(),
            description: None,
            location: None,
            rooms: vec![room(
                "room1",
                vec![],
                vec![rack(
                    "r1",
                    vec![device("d9", InstanceSpec::Single("y".into()))],
                )],
            )],
        };
        Topology {
            sites: vec![s1, s2],
        }
    }

    #[test]
    fn placements_and_order() {
        let topo = sample();
        let index = TopologyIndex::build(&topo).unwrap();
        let names: Vec<&str> = index.instances().map(|e| e.name()).collect();
        assert_eq!(names, ["c1", "c2", "sw1", "c3", "c1", "x", "y"]);
        assert_eq!(index.expanded_count(), 7);
        assert_eq!(index.instance_count(), 6);
        // Last wins: c1 is in r2 now.
        let c1 = index.instance("c1").unwrap();
        assert_eq!((c1.rack_id(), c1.device_id(), c1.slot()), ("r2", "d2", 1));
        assert_eq!(index.warnings().len(), 1);
        let c2 = index.instance("c2").unwrap();
        assert_eq!(
            (c2.site_id(), c2.site_name(), c2.room_id(), c2.room_name()),
            ("s1", "S1", "room1", "ROOM1")
        );
        assert_eq!((c2.aisle_id(), c2.aisle_name()), (Some("a1"), Some("A1")));
        assert_eq!(
            (
                c2.rack_name(),
                c2.device_name(),
                c2.template_id(),
                c2.slot()
            ),
            ("R1", "D1", "t", 2)
        );
        assert_eq!(c2.device(&topo).unwrap().id, "d1");
        let x = index.instance("x").unwrap();
        assert!(x.is_standalone());
        assert_eq!(x.aisle_id(), None);
        assert_eq!(x.rack(&topo).unwrap().id, "solo");
        assert!(index.instance("nope").is_none());
        let json = serde_json::to_value(x).unwrap();
        assert_eq!(json["aisle_id"], serde_json::Value::Null);
        assert_eq!(json["rack_id"], "solo");
    }

    #[test]
    fn id_lookups_first_match() {
        let topo = sample();
        let index = TopologyIndex::build(&topo).unwrap();
        assert_eq!(index.rack("r1").unwrap().site_id(), "s1");
        assert_eq!(index.room("room1").unwrap().site_id(), "s1");
        assert_eq!(index.site("s2").unwrap().resolve(&topo).unwrap().name, "S2");
        let solo = index.rack("solo").unwrap();
        assert!(solo.is_standalone());
        assert_eq!(solo.resolve(&topo).unwrap().devices[0].id, "d3");
        let names: Vec<&str> = index
            .instances_in_room("room1")
            .iter()
            .map(|e| e.name())
            .collect();
        assert_eq!(names, ["c1", "c2", "sw1", "c3", "c1", "x"]);
        assert!(index.instances_in_room("room2").is_empty());
        assert!(index.instances_in_room("none").is_empty());
        let other = &index.rooms()[2];
        assert_eq!(other.site_id(), "s2");
        assert_eq!(index.room_instances(other)[0].name(), "y");
        assert_eq!(index.racks().len(), 4);
    }

    #[test]
    fn range_too_large_names_the_device() {
        let mut topo = sample();
        topo.sites[0].rooms[0].aisles[0].racks[0].devices[0].instance =
            InstanceSpec::Single("n[1-10001]".into());
        let err = TopologyIndex::build(&topo).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`r1`") && text.contains("`d1`") && text.contains("too large"),
            "{text}"
        );
    }

    #[test]
    fn nodes_alias_is_used_when_instance_is_empty() {
        let mut topo = sample();
        let d = &mut topo.sites[1].rooms[0].standalone_racks[0].devices[0];
        d.instance = InstanceSpec::default();
        d.nodes = Some(InstanceSpec::Single("legacy[1-2]".into()));
        let index = TopologyIndex::build(&topo).unwrap();
        assert!(index.instance("legacy2").is_some());
    }
}
