//! Topology and template model types.
//!
//! These are the *validated* shapes: the loaders in [`super::load`] and [`super::catalog`]
//! build them from YAML. Serialising them gives the JSON shapes of Rackscope's API
//! (docs/architecture.md, compatibility C9): field order as the reference models declare them,
//! `null` for an absent optional, floats as floats (`24.0`), and slot maps with string keys
//! (`{"1": "hm001"}`). Deserialising ignores unknown keys, as the reference does.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------
// Topology
// ---------------------------------------------------------------------------------------

/// A whole topology: the ordered list of sites.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Topology {
    pub sites: Vec<Site>,
}

impl Topology {
    /// Every room with its site, in topology order.
    pub fn rooms(&self) -> impl Iterator<Item = (&Site, &Room)> + '_ {
        self.sites
            .iter()
            .flat_map(|site| site.rooms.iter().map(move |room| (site, room)))
    }

    /// Sets every rack's `aisle_id` to the aisle it is placed in (`None` for a standalone
    /// rack), whatever its file says. Unlike the reference, which only shows an `aisle_id`
    /// written in the rack file, so that its frontend's rack breadcrumb is missing for
    /// almost every rack. The loaders call it.
    pub fn fill_aisle_ids(&mut self) {
        for site in &mut self.sites {
            for room in &mut site.rooms {
                for aisle in &mut room.aisles {
                    for rack in &mut aisle.racks {
                        rack.aisle_id = Some(aisle.id.clone());
                    }
                }
                for rack in &mut room.standalone_racks {
                    rack.aisle_id = None;
                }
            }
        }
    }

    /// Every rack in topology order (per room: aisle racks, then standalone racks).
    pub fn racks(&self) -> impl Iterator<Item = &Rack> + '_ {
        self.rooms()
            .flat_map(|(_, room)| room.racks().map(|(_, rack)| rack))
    }
}

impl Room {
    /// The room's racks in topology order, each with its aisle (None when standalone).
    pub fn racks(&self) -> impl Iterator<Item = (Option<&Aisle>, &Rack)> + '_ {
        self.aisles
            .iter()
            .flat_map(|a| a.racks.iter().map(move |r| (Some(a), r)))
            .chain(self.standalone_racks.iter().map(|r| (None, r)))
    }
}

/// A site (a datacenter).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub location: Option<SiteLocation>,
    pub rooms: Vec<Room>,
}

/// Map coordinates of a site.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SiteLocation {
    /// Latitude in [-90, 90].
    pub lat: f64,
    /// Longitude in [-180, 180].
    pub lon: f64,
    pub address: Option<String>,
}

/// A machine room.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Room {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The floor plan; `None` when `room.yaml` has no `layout`.
    pub layout: Option<RoomLayout>,
    pub aisles: Vec<Aisle>,
    /// Racks that are not in an aisle; they come after all aisles in topology order.
    pub standalone_racks: Vec<Rack>,
}

/// A room's floor plan (grid cells / pixels). Every part has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RoomLayout {
    /// `rectangle` or `polygon` (not enforced).
    pub shape: String,
    pub size: RoomSize,
    pub orientation: RoomOrientation,
    pub grid: RoomGrid,
    /// The entrance; present by default, `null` removes it.
    pub door: Option<RoomDoor>,
}

impl Default for RoomLayout {
    fn default() -> Self {
        RoomLayout {
            shape: "rectangle".into(),
            size: RoomSize::default(),
            orientation: RoomOrientation::default(),
            grid: RoomGrid::default(),
            door: Some(RoomDoor::default()),
        }
    }
}

/// Room size; both at least 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RoomSize {
    pub width: f64,
    pub height: f64,
}

impl Default for RoomSize {
    fn default() -> Self {
        RoomSize {
            width: 24.0,
            height: 16.0,
        }
    }
}

/// Which side of the plan is north (`top|right|bottom|left`, not enforced).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RoomOrientation {
    pub north: String,
}

impl Default for RoomOrientation {
    fn default() -> Self {
        RoomOrientation {
            north: "top".into(),
        }
    }
}

/// The background grid; `cell` is at least 4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RoomGrid {
    pub enabled: bool,
    pub cell: f64,
}

impl Default for RoomGrid {
    fn default() -> Self {
        RoomGrid {
            enabled: false,
            cell: 32.0,
        }
    }
}

/// The room entrance; `position` is in [0, 1] along `side`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RoomDoor {
    pub side: String,
    pub label: Option<String>,
    pub position: f64,
}

impl Default for RoomDoor {
    fn default() -> Self {
        RoomDoor {
            side: "west".into(),
            label: Some("Entrance".into()),
            position: 0.2,
        }
    }
}

/// An aisle: an ordered row of racks.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Aisle {
    pub id: String,
    pub name: String,
    pub racks: Vec<Rack>,
}

/// A rack.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Rack {
    pub id: String,
    pub name: String,
    /// A rack-template id (not checked against the catalog).
    pub template_id: Option<String>,
    /// Height in U, 1..=60 (default 42).
    pub u_height: u32,
    /// The aisle the rack is placed in (`None` for a standalone rack), filled by the
    /// loader from where the rack is listed ([`Topology::fill_aisle_ids`]).
    pub aisle_id: Option<String>,
    /// In file order (not sorted by `u_position`).
    pub devices: Vec<Device>,
}

/// A device (chassis, switch, storage shelf) mounted in a rack.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Device {
    /// Any string (not validated).
    pub id: String,
    pub name: String,
    /// A device-template id (not checked at load time).
    pub template_id: String,
    /// The bottom U occupied (1 = bottom).
    pub u_position: i64,
    /// The node instances. When the file only has the legacy `nodes`, the loader copies
    /// it here, so this is always the list to expand.
    pub instance: InstanceSpec,
    /// The deprecated alias, as written (`None` when absent).
    pub nodes: Option<InstanceSpec>,
    /// Extra Prometheus label matchers.
    pub labels: Option<IndexMap<String, String>>,
}

impl Device {
    /// The instance spec to expand: `instance`, or `nodes` when `instance` is empty.
    pub fn effective_instance(&self) -> &InstanceSpec {
        match &self.nodes {
            Some(nodes) if self.instance.is_empty() => nodes,
            _ => &self.instance,
        }
    }
}

/// A device's `instance` (or `nodes`): one name or range pattern, a list, or a slot map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceSpec {
    /// `instance: compute[001-004]` or `instance: tor-sw-01`.
    Single(String),
    /// `instance: [a, b]`.
    List(Vec<String>),
    /// `instance: {1: a, 2: b}`: slot number to name, in YAML insertion order.
    Map(Vec<(u32, String)>),
}

/// In the API document: one name or pattern, a list of them, or a slot map with string
/// keys, as [`InstanceSpec`]'s `Serialize` writes it.
impl utoipa::PartialSchema for InstanceSpec {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{Array, ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(Array::new(ObjectBuilder::new().schema_type(Type::String)))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String))),
            )
            .description(Some(
                "Node instances as written: one name or pattern (`compute[001-004]`), a list, or a slot map (`{\"1\": \"kb001\"}`)",
            ))
            .into()
    }
}

impl ToSchema for InstanceSpec {}

impl Default for InstanceSpec {
    /// The reference default: an empty slot map (serialised as `{}`).
    fn default() -> Self {
        InstanceSpec::Map(Vec::new())
    }
}

impl InstanceSpec {
    /// True for `""`, `[]`, `{}`: a device with no node instances.
    pub fn is_empty(&self) -> bool {
        match self {
            InstanceSpec::Single(s) => s.is_empty(),
            InstanceSpec::List(v) => v.is_empty(),
            InstanceSpec::Map(v) => v.is_empty(),
        }
    }
}

impl Serialize for InstanceSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            InstanceSpec::Single(s) => serializer.serialize_str(s),
            InstanceSpec::List(v) => v.serialize(serializer),
            InstanceSpec::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (slot, name) in entries {
                    map.serialize_entry(&slot.to_string(), name)?;
                }
                map.end()
            }
        }
    }
}

/// A node name in YAML: a string, or an integer taken as its decimal text.
///
/// With YAML 1.2 (serde_norway) `001`, `yes`, `0777` are strings already; a bare `1234` is
/// an integer, which the reference rejects and which we accept as `"1234"`. Floats, bools,
/// null and collections are refused.
struct NodeName(String);

impl<'de> Deserialize<'de> for NodeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NodeName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a node name (string)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeName, E> {
                Ok(NodeName(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<NodeName, E> {
                Ok(NodeName(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeName, E> {
                Ok(NodeName(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeName, E> {
                Ok(NodeName(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A slot-map key: an integer, or a string holding one (`"1":` is coerced to 1).
struct SlotKey(u32);

impl<'de> Deserialize<'de> for SlotKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SlotKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a slot number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SlotKey, E> {
                u32::try_from(v)
                    .map(SlotKey)
                    .map_err(|_| E::custom(format!("slot number {v} is too large")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SlotKey, E> {
                u32::try_from(v)
                    .map(SlotKey)
                    .map_err(|_| E::custom(format!("invalid slot number {v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SlotKey, E> {
                v.trim()
                    .parse::<u32>()
                    .map(SlotKey)
                    .map_err(|_| E::custom(format!("slot key `{v}` is not a slot number")))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for InstanceSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InstanceSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a node name or range, a list of names, or a map of slot to name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<InstanceSpec, E> {
                Ok(InstanceSpec::Single(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<InstanceSpec, E> {
                Ok(InstanceSpec::Single(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<InstanceSpec, E> {
                Ok(InstanceSpec::Single(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<InstanceSpec, E> {
                Ok(InstanceSpec::Single(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<InstanceSpec, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(NodeName(name)) = seq.next_element()? {
                    out.push(name);
                }
                Ok(InstanceSpec::List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<InstanceSpec, A::Error> {
                let mut out: Vec<(u32, String)> = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(SlotKey(slot)) = map.next_key()? {
                    let NodeName(name) = map.next_value()?;
                    // A repeated key keeps its first position and takes the last value,
                    // as a Python dict does.
                    match out.iter_mut().find(|(s, _)| *s == slot) {
                        Some(entry) => entry.1 = name,
                        None => out.push((slot, name)),
                    }
                }
                Ok(InstanceSpec::Map(out))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------

/// A device template (`templates:` items).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceTemplate {
    pub id: String,
    pub name: String,
    /// `server` (default), `switch`, `storage`, `network`, ... (free string).
    #[serde(rename = "type", default = "default_device_type")]
    pub kind: String,
    #[serde(default)]
    pub storage_type: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    /// Chassis height in U.
    pub u_height: u32,
    /// Front grid of node slots.
    #[serde(default)]
    pub layout: Option<Layout>,
    /// Storage: grid of disk slots.
    #[serde(default)]
    pub disk_layout: Option<Layout>,
    /// Rear grid; slot ids >= 900 are infrastructure (901 fan, 902 PSU, ...).
    #[serde(default)]
    pub rear_layout: Option<Layout>,
    #[serde(default)]
    pub rear_components: Vec<DeviceRearComponent>,
    #[serde(default)]
    pub checks: Vec<String>,
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default)]
    pub display_thresholds: Option<IndexMap<String, DisplayThreshold>>,
}

fn default_device_type() -> String {
    "server".into()
}

impl DeviceTemplate {
    /// Nodes per device: the distinct slot numbers below 900 in `layout` (1 with no layout).
    pub fn slot_count(&self) -> usize {
        match &self.layout {
            None => 1,
            Some(layout) => {
                let mut slots: Vec<u32> = layout
                    .matrix
                    .iter()
                    .flatten()
                    .copied()
                    .filter(|s| *s < 900)
                    .collect();
                slots.sort_unstable();
                slots.dedup();
                slots.len()
            }
        }
    }
}

/// A UI threshold override for one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DisplayThreshold {
    pub warn: f64,
    pub crit: f64,
}

/// A grid of slots, rows listed top-first as seen from the front.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = LayoutConfig)]
pub struct Layout {
    #[serde(rename = "type", default)]
    pub kind: LayoutKind,
    #[serde(default = "one")]
    pub rows: u32,
    #[serde(default = "one")]
    pub cols: u32,
    /// Slot numbers, row by row.
    pub matrix: Vec<Vec<u32>>,
}

fn one() -> u32 {
    1
}

/// How a [`Layout`] is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LayoutKind {
    #[default]
    Grid,
    Vertical,
}

/// A rear module of a device (PSU, fan, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceRearComponent {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: RearComponentKind,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub checks: Vec<String>,
}

/// The kind of a [`DeviceRearComponent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RearComponentKind {
    Psu,
    Fan,
    Io,
    Hydraulics,
    Other,
}

/// A rack template (`rack_templates:` items): frame infrastructure and rack-level checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RackTemplate {
    pub id: String,
    pub name: String,
    #[serde(default = "default_rack_height")]
    pub u_height: u32,
    #[serde(default)]
    pub infrastructure: RackInfrastructure,
    #[serde(default)]
    pub checks: Vec<String>,
}

fn default_rack_height() -> u32 {
    42
}

/// The infrastructure of a rack template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RackInfrastructure {
    pub components: Vec<InfrastructureComponent>,
    pub front_components: Vec<InfrastructureComponent>,
    pub rear_components: Vec<InfrastructureComponent>,
    pub side_components: Vec<InfrastructureComponent>,
    /// References to rack component templates (what the examples use).
    pub rack_components: Vec<RackComponentRef>,
}

/// A legacy inline infrastructure component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InfrastructureComponent {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: InfrastructureKind,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub location: InfrastructureLocation,
    #[serde(default)]
    pub u_position: Option<i64>,
    #[serde(default)]
    pub u_height: Option<u32>,
}

/// The kind of an [`InfrastructureComponent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InfrastructureKind {
    Power,
    Cooling,
    Management,
    Network,
    Other,
}

/// Where an [`InfrastructureComponent`] is mounted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InfrastructureLocation {
    #[default]
    UMount,
    SideLeft,
    SideRight,
    Top,
    Bottom,
}

/// A rack template's reference to a rack component template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RackComponentRef {
    pub template_id: String,
    #[serde(default = "default_component_position")]
    pub u_position: i64,
    /// Overrides the component template's height.
    #[serde(default)]
    pub u_height: Option<u32>,
    #[serde(default)]
    pub side: Option<Side>,
}

fn default_component_position() -> i64 {
    1
}

/// A rack rail side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Left,
    Right,
}

/// A rack component template (`rack_component_templates:` items): PDUs, cooling, ...
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RackComponentTemplate {
    pub id: String,
    pub name: String,
    /// `pdu`, `power`, `cooling`, `management`, ... (free string, default `other`).
    #[serde(rename = "type", default = "default_component_type")]
    pub kind: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub location: ComponentLocation,
    /// The default rail side when `location` is `side`.
    #[serde(default)]
    pub side: Option<Side>,
    pub u_height: u32,
    #[serde(default)]
    pub u_position: Option<i64>,
    #[serde(default)]
    pub checks: Vec<String>,
    #[serde(default)]
    pub metrics: Vec<String>,
}

fn default_component_type() -> String {
    "other".into()
}

/// Where a [`RackComponentTemplate`] is mounted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentLocation {
    Side,
    #[default]
    UMount,
    Front,
    Rear,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instance_spec_parses_every_form() {
        let s: InstanceSpec = serde_norway::from_str("compute[001-004]").unwrap();
        assert_eq!(s, InstanceSpec::Single("compute[001-004]".into()));
        let s: InstanceSpec = serde_norway::from_str("[a, '001', 002]").unwrap();
        assert_eq!(
            s,
            InstanceSpec::List(vec!["a".into(), "001".into(), "002".into()])
        );
        let s: InstanceSpec = serde_norway::from_str("2: b\n1: a\n'3': c\n").unwrap();
        assert_eq!(
            s,
            InstanceSpec::Map(vec![(2, "b".into()), (1, "a".into()), (3, "c".into())])
        );
        let s: InstanceSpec = serde_norway::from_str("1234").unwrap();
        assert_eq!(s, InstanceSpec::Single("1234".into()));
        // YAML 1.2: these are strings, not bools / octal ints.
        let s: InstanceSpec = serde_norway::from_str("[yes, off, 0777]").unwrap();
        assert_eq!(
            s,
            InstanceSpec::List(vec!["yes".into(), "off".into(), "0777".into()])
        );
        assert!(serde_norway::from_str::<InstanceSpec>("x: a").is_err());
        assert!(serde_norway::from_str::<InstanceSpec>("[1.5]").is_err());
        assert!(serde_norway::from_str::<InstanceSpec>("true").is_err());
    }

    #[test]
    fn instance_spec_serialises_like_the_api() {
        let m = InstanceSpec::Map(vec![(2, "b".into()), (1, "a".into())]);
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"2":"b","1":"a"}"#);
        assert_eq!(
            serde_json::to_value(InstanceSpec::default()).unwrap(),
            json!({})
        );
        assert_eq!(
            serde_json::to_value(InstanceSpec::List(vec!["x".into()])).unwrap(),
            json!(["x"])
        );
    }

    #[test]
    fn room_layout_defaults_serialise_as_floats() {
        let v = serde_json::to_value(RoomLayout::default()).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"shape":"rectangle","size":{"width":24.0,"height":16.0},"orientation":{"north":"top"},"grid":{"enabled":false,"cell":32.0},"door":{"side":"west","label":"Entrance","position":0.2}}"#
        );
    }

    #[test]
    fn device_template_defaults_and_slots() {
        let t: DeviceTemplate = serde_norway::from_str(
            "id: q\nname: Quad\nu_height: 2\nlayout: {matrix: [[3, 4], [1, 2]], rows: 2, cols: 2}\nextra: ignored\n",
        )
        .unwrap();
        assert_eq!(t.kind, "server");
        assert_eq!(t.slot_count(), 4);
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["type"], "server");
        assert_eq!(v["layout"]["type"], "grid");
        assert_eq!(v["disk_layout"], serde_json::Value::Null);
        let sw: DeviceTemplate =
            serde_norway::from_str("id: s\nname: S\ntype: switch\nu_height: 1\n").unwrap();
        assert_eq!(sw.slot_count(), 1);
    }
}
