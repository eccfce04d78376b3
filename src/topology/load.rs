//! Loading a topology from disk (`spec/reference/topology.md` §1, §2, §6).
//!
//! A **directory** is the segmented layout:
//!
//! ```text
//! sites.yaml
//! datacenters/<site>/rooms/<room>/room.yaml
//! datacenters/<site>/rooms/<room>/aisles/<aisle>/aisle.yaml
//! datacenters/<site>/rooms/<room>/aisles/<aisle>/racks/<rack_ref>.yaml
//! datacenters/<site>/rooms/<room>/standalone_racks/<rack_ref>.yaml
//! ```
//!
//! A **file** is the single-file form `{sites: [...]}` with everything inline (§1.8).
//!
//! The rules follow the reference loader: only `.yaml` files, rooms discovered (sorted) when a
//! site lists none, aisle names from `room.yaml`, rack refs as strings, `{id}` maps or inline
//! rack maps, plain-string aisle entries accepted, unknown keys ignored, the legacy `nodes`
//! used when `instance` is empty. A missing room, aisle or rack file is a warning and the item
//! is skipped (§6.2); entries without an id are skipped silently (§6.3).
//!
//! Unlike the reference, every problem is collected and reported at once
//! ([`TopologyError::Invalid`]), each with its file and, where the YAML parser knows it, its
//! line. Everything the reference treats as fatal is fatal here too (unsafe ids, duplicate
//! site/room/aisle ids, bad layouts, missing required fields, ranges over 10,000 names, ...),
//! including the cases where the reference crashes instead (`aisles:` / `racks:` set to null).
//!
//! YAML is read as YAML 1.2 (serde_norway), where the reference uses PyYAML's YAML 1.1: `yes`,
//! `off`, `0777` and `001` are strings, not booleans or octal numbers. We are also laxer about
//! scalars: a plain `1234` where a string is expected (a name, an instance, a label value) is
//! taken as its text, and `u_position: "3"` is 3. Every bundled example loads identically.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::model::{
    Aisle, Device, InstanceSpec, Rack, Room, RoomDoor, RoomGrid, RoomLayout, RoomOrientation,
    RoomSize, Site, SiteLocation, Topology,
};
use super::nodeset::{self, NodesetError};

/// One thing wrong with a topology: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line, when the YAML parser reported one.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Why a topology could not be loaded or indexed.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The topology path does not exist.
    #[error("Topology path not found: {}", .0.display())]
    NotFound(PathBuf),
    /// The topology has problems; all of them are listed.
    #[error("{}", describe_problems(.path, .problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    /// A device's instances could not be expanded (raised by the index).
    #[error("rack `{rack_id}`, device `{device_id}`: {source}")]
    Expansion {
        rack_id: String,
        device_id: String,
        #[source]
        source: NodesetError,
    },
}

impl TopologyError {
    /// The problems of an [`TopologyError::Invalid`] error (empty for the other kinds).
    pub fn problems(&self) -> &[Problem] {
        match self {
            TopologyError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn describe_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = format!(
        "Invalid topology {}: {} problem{}",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str("\n  - ");
        out.push_str(&p.to_string());
    }
    out
}

/// Whether `id` is a safe site/room/aisle/rack id: `[a-z0-9][a-z0-9._-]{0,127}`.
pub fn is_safe_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// Whether `name` can be used as one path component (no separator, not `.`/`..`).
fn is_plain_component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// Loads a segmented topology directory or a single-file topology.
///
/// Warnings (skipped files, duplicate ids) are logged with `tracing`; use
/// [`load_topology_with_warnings`] to get them too.
pub fn load_topology(path: &Path) -> Result<Topology, TopologyError> {
    load_topology_with_warnings(path).map(|(topology, _)| topology)
}

/// Like [`load_topology`], also returning the warnings (already logged).
pub fn load_topology_with_warnings(path: &Path) -> Result<(Topology, Vec<String>), TopologyError> {
    if !path.exists() {
        return Err(TopologyError::NotFound(path.to_path_buf()));
    }
    let mut ctx = Ctx::default();
    let topology = if path.is_dir() {
        let topology = load_segmented(path, &mut ctx);
        if ctx.problems.is_empty() {
            warn_duplicates(&topology, &mut ctx);
        }
        topology
    } else {
        load_single_file(path, &mut ctx)
    };
    if ctx.problems.is_empty() {
        Ok((topology, ctx.warnings))
    } else {
        Err(TopologyError::Invalid {
            path: path.to_path_buf(),
            problems: ctx.problems,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Problem collection
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct Ctx {
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

impl Ctx {
    fn problem(&mut self, file: &Path, message: impl Into<String>) {
        self.problems.push(Problem {
            file: file.to_path_buf(),
            line: None,
            message: message.into(),
        });
    }

    fn yaml_problem(&mut self, file: &Path, err: &serde_norway::Error) {
        let mut message = err.to_string();
        let line = err.location().map(|loc| {
            // The position goes into `line`; drop the parser's own " at line L column C".
            let at = format!(" at line {} column {}", loc.line(), loc.column());
            if let Some(pos) = message.find(&at) {
                message.replace_range(pos..pos + at.len(), "");
            }
            loc.line()
        });
        self.problems.push(Problem {
            file: file.to_path_buf(),
            line,
            message,
        });
    }

    fn warn(&mut self, message: String) {
        tracing::warn!("{message}");
        self.warnings.push(message);
    }
}

/// Reads and parses one YAML file. `Some(None)` is an empty document; `None` means a
/// problem was recorded.
fn read_yaml<T: DeserializeOwned>(file: &Path, ctx: &mut Ctx) -> Option<Option<T>> {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) => {
            ctx.problem(file, format!("cannot read file: {err}"));
            return None;
        }
    };
    match serde_norway::from_str::<Option<T>>(&text) {
        Ok(value) => Some(value),
        Err(err) => {
            ctx.yaml_problem(file, &err);
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Raw (as written) shapes
// ---------------------------------------------------------------------------------------

/// A field that tells "absent" from an explicit `null`.
#[derive(Debug, Default)]
enum Maybe<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Maybe<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Maybe::Value(v),
            None => Maybe::Null,
        })
    }
}

impl<T> Maybe<T> {
    fn is_absent(&self) -> bool {
        matches!(self, Maybe::Absent)
    }
}

/// A string-valued scalar; numbers and booleans are taken as their text.
#[derive(Debug)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        // serde_norway hands any scalar's source text to `deserialize_string`.
        d.deserialize_string(V)
    }
}

/// An integer, also accepted as a numeric string (`"3"`) or an integral float (`3.0`).
#[derive(Debug, Clone, Copy)]
struct LaxInt(i64);

impl<'de> Deserialize<'de> for LaxInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LaxInt;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LaxInt, E> {
                Ok(LaxInt(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LaxInt, E> {
                i64::try_from(v)
                    .map(LaxInt)
                    .map_err(|_| E::custom(format!("integer {v} is too large")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LaxInt, E> {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    // Integral and well inside i64: the cast is exact.
                    Ok(LaxInt(v as i64))
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(v), &self))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LaxInt, E> {
                v.trim()
                    .parse()
                    .map(LaxInt)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// A boolean, also accepted as `yes/no/on/off/true/false/1/0` strings (YAML 1.1 spellings).
#[derive(Debug, Clone, Copy)]
struct LaxBool(bool);

impl<'de> Deserialize<'de> for LaxBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LaxBool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<LaxBool, E> {
                Ok(LaxBool(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LaxBool, E> {
                match v {
                    0 => Ok(LaxBool(false)),
                    1 => Ok(LaxBool(true)),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LaxBool, E> {
                match v.to_ascii_lowercase().as_str() {
                    "yes" | "on" | "true" | "y" | "1" => Ok(LaxBool(true)),
                    "no" | "off" | "false" | "n" | "0" => Ok(LaxBool(false)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A list entry that is either a plain string or a mapping; anything else is `Other`.
#[derive(Debug)]
enum StrOr<T> {
    Str(String),
    Map(T),
    Other,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for StrOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = StrOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StrOr<T>, E> {
                Ok(StrOr::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<StrOr<T>, E> {
                Ok(StrOr::Str(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StrOr<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(StrOr::Map)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrOr<T>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(StrOr::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
            fn visit_none<E: de::Error>(self) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Debug, Deserialize)]
struct RawSitesFile {
    #[serde(default)]
    sites: Maybe<Vec<StrOr<RawSiteEntry>>>,
}

#[derive(Debug, Deserialize)]
struct RawSiteEntry {
    id: Option<Text>,
    #[serde(default)]
    name: Maybe<Text>,
    description: Option<Text>,
    location: Option<RawLocation>,
    rooms: Option<Vec<StrOr<RawIdOnly>>>,
}

#[derive(Debug, Deserialize)]
struct RawIdOnly {
    id: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct RawLocation {
    lat: Option<f64>,
    lon: Option<f64>,
    address: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
struct RawRoomFile {
    id: Option<Text>,
    #[serde(default)]
    name: Maybe<Text>,
    description: Option<Text>,
    layout: Option<RawRoomLayout>,
    #[serde(default)]
    aisles: Maybe<Vec<StrOr<RawAisleEntry>>>,
    #[serde(default)]
    standalone_racks: Maybe<Vec<RackRef>>,
}

#[derive(Debug, Deserialize)]
struct RawAisleEntry {
    id: Option<Text>,
    #[serde(default)]
    name: Maybe<Text>,
}

#[derive(Debug, Default, Deserialize)]
struct RawAisleFile {
    #[serde(default)]
    racks: Maybe<Vec<RackRef>>,
}

#[derive(Debug, Deserialize)]
struct RawRoomLayout {
    shape: Option<Text>,
    size: Option<RawSize>,
    orientation: Option<RawOrientation>,
    grid: Option<RawGrid>,
    #[serde(default)]
    door: Maybe<RawDoor>,
}

#[derive(Debug, Deserialize)]
struct RawSize {
    width: Option<f64>,
    height: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RawOrientation {
    north: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct RawGrid {
    enabled: Option<LaxBool>,
    cell: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RawDoor {
    side: Option<Text>,
    #[serde(default)]
    label: Maybe<Text>,
    position: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
struct RawRack {
    id: Option<Text>,
    #[serde(default)]
    name: Maybe<Text>,
    template_id: Option<Text>,
    u_height: Option<LaxInt>,
    aisle_id: Option<Text>,
    #[serde(default)]
    devices: Maybe<Vec<RawDevice>>,
}

impl RawRack {
    /// True when the map has rack content beyond its `id` (an inline rack definition).
    fn has_content(&self) -> bool {
        !self.name.is_absent()
            || self.template_id.is_some()
            || self.u_height.is_some()
            || self.aisle_id.is_some()
            || !self.devices.is_absent()
    }
}

#[derive(Debug, Deserialize)]
struct RawDevice {
    id: Option<Text>,
    #[serde(default)]
    name: Maybe<Text>,
    #[serde(default)]
    template_id: Maybe<Text>,
    #[serde(default)]
    u_position: Maybe<LaxInt>,
    instance: Option<InstanceSpec>,
    nodes: Option<InstanceSpec>,
    labels: Option<IndexMap<String, Text>>,
}

/// A rack reference in `aisle.yaml racks` / `room.yaml standalone_racks` (§1.5).
#[derive(Debug)]
enum RackRef {
    /// `r01` or `{id: r01}`: read `<r01>.yaml`.
    File(String),
    /// `{id: r01, name: ..., devices: ...}`: used as is.
    Inline(Box<RawRack>),
    /// No id, an empty string, a number, ...: skipped silently.
    Skip,
}

impl<'de> Deserialize<'de> for RackRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match StrOr::<RawRack>::deserialize(d)? {
            StrOr::Str(s) if !s.is_empty() => RackRef::File(s),
            StrOr::Map(raw) => match &raw.id {
                Some(Text(id)) if !id.is_empty() => {
                    if raw.has_content() {
                        RackRef::Inline(Box::new(raw))
                    } else {
                        RackRef::File(id.clone())
                    }
                }
                _ => RackRef::Skip,
            },
            _ => RackRef::Skip,
        })
    }
}

#[derive(Debug, Deserialize)]
struct RawTopologyFile {
    #[serde(default)]
    sites: Maybe<Vec<RawSiteFull>>,
}

#[derive(Debug, Deserialize)]
struct RawSiteFull {
    id: Option<Text>,
    #[serde(default)]
    name: Maybe<Text>,
    description: Option<Text>,
    location: Option<RawLocation>,
    #[serde(default)]
    rooms: Maybe<Vec<RawRoomFull>>,
}

#[derive(Debug, Deserialize)]
struct RawRoomFull {
    id: Option<Text>,
    #[serde(default)]
    name: Maybe<Text>,
    description: Option<Text>,
    layout: Option<RawRoomLayout>,
    #[serde(default)]
    aisles: Maybe<Vec<RawAisleFull>>,
    #[serde(default)]
    standalone_racks: Maybe<Vec<RawRack>>,
}

#[derive(Debug, Deserialize)]
struct RawAisleFull {
    id: Option<Text>,
    #[serde(default)]
    name: Maybe<Text>,
    #[serde(default)]
    racks: Maybe<Vec<RawRack>>,
}

// ---------------------------------------------------------------------------------------
// Validation helpers shared by both forms
// ---------------------------------------------------------------------------------------

fn text(t: Option<Text>) -> Option<String> {
    t.map(|Text(s)| s)
}

/// A list field: absent is empty, `null` is a problem.
fn list<T>(value: Maybe<Vec<T>>, what: &str, file: &Path, ctx: &mut Ctx) -> Vec<T> {
    match value {
        Maybe::Absent => Vec::new(),
        Maybe::Null => {
            ctx.problem(
                file,
                format!("{what} is null (write `[]` for an empty list)"),
            );
            Vec::new()
        }
        Maybe::Value(v) => v,
    }
}

/// A name field: absent takes `default` (or is a problem when there is none); `null` is a
/// problem.
fn name_field(
    value: Maybe<Text>,
    default: Option<&str>,
    what: &str,
    file: &Path,
    ctx: &mut Ctx,
) -> String {
    match (value, default) {
        (Maybe::Value(Text(name)), _) => name,
        (Maybe::Absent, Some(default)) => default.to_owned(),
        (Maybe::Absent, None) => {
            ctx.problem(file, format!("{what}: missing required field `name`"));
            String::new()
        }
        (Maybe::Null, default) => {
            ctx.problem(file, format!("{what}: `name` must not be null"));
            default.unwrap_or_default().to_owned()
        }
    }
}

fn check_safe_id(id: &str, what: &str, file: &Path, ctx: &mut Ctx) -> bool {
    let ok = is_safe_id(id);
    if !ok {
        ctx.problem(
            file,
            format!(
                "{what} id `{id}` is not a safe id (1-128 chars from [a-z0-9._-], starting with [a-z0-9])"
            ),
        );
    }
    ok
}

fn build_location(
    raw: RawLocation,
    what: &str,
    file: &Path,
    ctx: &mut Ctx,
) -> Option<SiteLocation> {
    let mut ok = true;
    let mut coord = |value: Option<f64>, key: &str, limit: f64| match value {
        Some(v) if (-limit..=limit).contains(&v) => v,
        Some(v) => {
            ctx.problem(
                file,
                format!("{what}: location.{key} {v} is outside [-{limit}, {limit}]"),
            );
            ok = false;
            0.0
        }
        None => {
            ctx.problem(file, format!("{what}: location.{key} is required"));
            ok = false;
            0.0
        }
    };
    let lat = coord(raw.lat, "lat", 90.0);
    let lon = coord(raw.lon, "lon", 180.0);
    ok.then(|| SiteLocation {
        lat,
        lon,
        address: text(raw.address),
    })
}

fn build_layout(raw: RawRoomLayout, what: &str, file: &Path, ctx: &mut Ctx) -> RoomLayout {
    let mut layout = RoomLayout::default();
    let mut at_least = |value: Option<f64>, key: &str, min: f64, default: f64| match value {
        Some(v) if v >= min => v,
        Some(v) => {
            ctx.problem(
                file,
                format!("{what}: layout.{key} {v} must be at least {min}"),
            );
            default
        }
        None => default,
    };
    if let Some(size) = raw.size {
        layout.size = RoomSize {
            width: at_least(size.width, "size.width", 1.0, 24.0),
            height: at_least(size.height, "size.height", 1.0, 16.0),
        };
    }
    if let Some(grid) = raw.grid {
        layout.grid = RoomGrid {
            enabled: grid.enabled.is_some_and(|LaxBool(b)| b),
            cell: at_least(grid.cell, "grid.cell", 4.0, 32.0),
        };
    }
    if let Some(shape) = raw.shape {
        layout.shape = shape.0;
    }
    if let Some(RawOrientation {
        north: Some(Text(north)),
    }) = raw.orientation
    {
        layout.orientation = RoomOrientation { north };
    }
    layout.door = match raw.door {
        Maybe::Absent => Some(RoomDoor::default()),
        Maybe::Null => None,
        Maybe::Value(door) => {
            let defaults = RoomDoor::default();
            let position = match door.position {
                Some(p) if (0.0..=1.0).contains(&p) => p,
                Some(p) => {
                    ctx.problem(
                        file,
                        format!("{what}: layout.door.position {p} is outside [0, 1]"),
                    );
                    defaults.position
                }
                None => defaults.position,
            };
            Some(RoomDoor {
                side: text(door.side).unwrap_or(defaults.side),
                label: match door.label {
                    Maybe::Absent => defaults.label,
                    Maybe::Null => None,
                    Maybe::Value(Text(label)) => Some(label),
                },
                position,
            })
        }
    };
    layout
}

fn build_rack(raw: RawRack, file: &Path, ctx: &mut Ctx) -> Option<Rack> {
    let Some(Text(id)) = raw.id else {
        ctx.problem(file, "rack: missing required field `id`");
        return None;
    };
    let what = format!("rack `{id}`");
    check_safe_id(&id, "rack", file, ctx);
    let name = name_field(raw.name, None, &what, file, ctx);
    let u_height = match raw.u_height {
        None => 42,
        Some(LaxInt(h)) if (1..=60).contains(&h) => h as u32, // 1..=60 fits in u32
        Some(LaxInt(h)) => {
            ctx.problem(file, format!("{what}: u_height {h} is outside 1..=60"));
            42
        }
    };
    let raw_devices = list(raw.devices, &format!("{what}: `devices`"), file, ctx);
    let mut devices = Vec::with_capacity(raw_devices.len());
    for (i, raw_device) in raw_devices.into_iter().enumerate() {
        if let Some(device) = build_device(raw_device, i, &what, file, ctx) {
            devices.push(device);
        }
    }
    Some(Rack {
        id,
        name,
        template_id: text(raw.template_id),
        u_height,
        aisle_id: text(raw.aisle_id),
        devices,
    })
}

fn build_device(
    raw: RawDevice,
    i: usize,
    rack: &str,
    file: &Path,
    ctx: &mut Ctx,
) -> Option<Device> {
    let what = match &raw.id {
        Some(Text(id)) => format!("{rack}, device `{id}`"),
        None => format!("{rack}, devices[{i}]"),
    };
    let mut ok = true;
    let mut required = |present: bool, field: &str, null: bool| {
        if !present {
            let why = if null {
                "must not be null"
            } else {
                "is required"
            };
            ctx.problem(file, format!("{what}: `{field}` {why}"));
            ok = false;
        }
    };
    required(raw.id.is_some(), "id", false);
    let null = |m: &Maybe<Text>| matches!(m, Maybe::Null);
    required(matches!(raw.name, Maybe::Value(_)), "name", null(&raw.name));
    required(
        matches!(raw.template_id, Maybe::Value(_)),
        "template_id",
        null(&raw.template_id),
    );
    required(
        matches!(raw.u_position, Maybe::Value(_)),
        "u_position",
        matches!(raw.u_position, Maybe::Null),
    );
    let (Some(Text(id)), Maybe::Value(Text(name)), Maybe::Value(Text(template_id))) =
        (raw.id, raw.name, raw.template_id)
    else {
        return None;
    };
    let Maybe::Value(LaxInt(u_position)) = raw.u_position else {
        return None;
    };
    // §5.5 REC: `nodes` is an alias used when `instance` is missing or empty.
    let instance = match (raw.instance, &raw.nodes) {
        (Some(instance), _) if !instance.is_empty() => instance,
        (_, Some(nodes)) => nodes.clone(),
        (instance, None) => instance.unwrap_or_default(),
    };
    if let Err(err) = nodeset::count_instance(&instance) {
        ctx.problem(file, format!("{what}: {err}"));
        ok = false;
    }
    let labels = raw
        .labels
        .map(|labels| labels.into_iter().map(|(k, Text(v))| (k, v)).collect());
    ok.then_some(Device {
        id,
        name,
        template_id,
        u_position,
        instance,
        nodes: raw.nodes,
        labels,
    })
}

/// Duplicate ids among `ids` (each reported once, in first-seen order).
fn duplicates<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    let mut reported = HashSet::new();
    let mut out = Vec::new();
    for id in ids {
        if !seen.insert(id) && reported.insert(id) {
            out.push(id);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Segmented form
// ---------------------------------------------------------------------------------------

fn load_segmented(dir: &Path, ctx: &mut Ctx) -> Topology {
    let sites_file = dir.join("sites.yaml");
    if !sites_file.is_file() {
        ctx.problem(&sites_file, "Topology sites file not found");
        return Topology::default();
    }
    let raw = match read_yaml::<RawSitesFile>(&sites_file, ctx) {
        Some(Some(raw)) => raw,
        Some(None) => return Topology::default(), // an empty sites.yaml is an empty topology
        None => match salvage_sites(&sites_file, ctx) {
            Some(raw) => raw,
            None => return Topology::default(),
        },
    };
    let mut sites = Vec::new();
    for (i, entry) in list(raw.sites, "`sites`", &sites_file, ctx)
        .into_iter()
        .enumerate()
    {
        let entry = match entry {
            StrOr::Map(entry) => entry,
            _ => {
                ctx.problem(
                    &sites_file,
                    format!("sites[{i}]: a site entry must be a mapping"),
                );
                continue;
            }
        };
        let Some(Text(id)) = entry.id.filter(|t| !t.0.is_empty()) else {
            continue; // §6.3: no id, skipped silently
        };
        if !check_safe_id(&id, "site", &sites_file, ctx) {
            continue; // the id names a directory: do not descend with an unsafe one
        }
        let what = format!("site `{id}`");
        let name = name_field(entry.name, Some(&id), &what, &sites_file, ctx);
        let location = entry
            .location
            .and_then(|loc| build_location(loc, &what, &sites_file, ctx));
        let rooms_dir = dir.join("datacenters").join(&id).join("rooms");
        let listed: Vec<String> = entry
            .rooms
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| match r {
                StrOr::Str(s) => Some(s),
                StrOr::Map(RawIdOnly { id: Some(Text(s)) }) => Some(s),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect();
        let room_dirs = if listed.is_empty() {
            discover_rooms(&rooms_dir, ctx)
        } else {
            listed
        };
        let mut rooms = Vec::new();
        for room_dir_id in room_dirs {
            if !is_plain_component(&room_dir_id) {
                ctx.problem(
                    &sites_file,
                    format!("{what}: room id `{room_dir_id}` is not a valid directory name"),
                );
                continue;
            }
            if let Some(room) = load_room(&rooms_dir.join(&room_dir_id), &room_dir_id, ctx) {
                rooms.push(room);
            }
        }
        for dup in duplicates(rooms.iter().map(|r| r.id.as_str())) {
            ctx.problem(&sites_file, format!("{what}: duplicate room id `{dup}`"));
        }
        sites.push(Site {
            id,
            name,
            description: text(entry.description),
            location,
            rooms,
        });
    }
    for dup in duplicates(sites.iter().map(|s| s.id.as_str())) {
        ctx.problem(&sites_file, format!("duplicate site id `{dup}`"));
    }
    Topology { sites }
}

/// After a type error in `sites.yaml` (already reported), keeps the site entries that do
/// parse, so that the problems of every other site are reported too.
fn salvage_sites(file: &Path, ctx: &mut Ctx) -> Option<RawSitesFile> {
    let text = fs::read_to_string(file).ok()?;
    let root: serde_norway::Value = serde_norway::from_str(&text).ok()?;
    let entries = root.get("sites")?.as_sequence()?;
    let mut sites = Vec::with_capacity(entries.len());
    let mut first_error = true;
    for (i, entry) in entries.iter().enumerate() {
        // Round-trip through YAML text so that scalars are read exactly as in a full parse.
        let parsed = serde_norway::to_string(entry)
            .and_then(|yaml| serde_norway::from_str::<StrOr<RawSiteEntry>>(&yaml));
        match parsed {
            Ok(site) => sites.push(site),
            // The first bad entry is the error already reported, with its line.
            Err(_) if first_error => first_error = false,
            Err(err) => ctx.problem(file, format!("sites[{i}]: {err}")),
        }
    }
    Some(RawSitesFile {
        sites: Maybe::Value(sites),
    })
}

/// The sub-directories of a site's `rooms/`, sorted by name (§1.2).
fn discover_rooms(rooms_dir: &Path, ctx: &mut Ctx) -> Vec<String> {
    let entries = match fs::read_dir(rooms_dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(err) => {
            ctx.problem(rooms_dir, format!("cannot list rooms: {err}"));
            return Vec::new();
        }
    };
    let mut names = Vec::new();
    for entry in entries.flatten() {
        if !entry.path().is_dir() {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(name) => names.push(name),
            Err(name) => ctx.warn(format!(
                "Skipping room directory with a non-UTF-8 name: {}",
                rooms_dir.join(name).display()
            )),
        }
    }
    names.sort();
    names
}

fn load_room(room_dir: &Path, dir_id: &str, ctx: &mut Ctx) -> Option<Room> {
    let room_file = room_dir.join("room.yaml");
    if !room_file.is_file() {
        ctx.warn(format!("Missing room file: {}", room_file.display()));
        return None;
    }
    let raw = read_yaml::<RawRoomFile>(&room_file, ctx)?.unwrap_or_default();
    let id = text(raw.id)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| dir_id.to_owned());
    check_safe_id(&id, "room", &room_file, ctx);
    let what = format!("room `{id}`");
    let name = name_field(raw.name, Some(dir_id), &what, &room_file, ctx);
    let layout = raw.layout.map(|l| build_layout(l, &what, &room_file, ctx));

    let mut aisles = Vec::new();
    for entry in list(raw.aisles, &format!("{what}: `aisles`"), &room_file, ctx) {
        let (aisle_id, aisle_name) = match entry {
            StrOr::Str(s) => (s, Maybe::Absent),
            StrOr::Map(RawAisleEntry {
                id: Some(Text(s)),
                name,
            }) => (s, name),
            _ => continue, // §6.3: no id
        };
        if aisle_id.is_empty() {
            continue;
        }
        if !check_safe_id(&aisle_id, "aisle", &room_file, ctx) {
            continue;
        }
        let aisle_what = format!("{what}, aisle `{aisle_id}`");
        let name = name_field(aisle_name, Some(&aisle_id), &aisle_what, &room_file, ctx);
        let aisle_dir = room_dir.join("aisles").join(&aisle_id);
        let aisle_file = aisle_dir.join("aisle.yaml");
        if !aisle_file.is_file() {
            ctx.warn(format!("Missing aisle file: {}", aisle_file.display()));
            continue;
        }
        let Some(raw_aisle) = read_yaml::<RawAisleFile>(&aisle_file, ctx) else {
            continue;
        };
        let refs = list(
            raw_aisle.unwrap_or_default().racks,
            "`racks`",
            &aisle_file,
            ctx,
        );
        let racks = load_rack_refs(refs, &aisle_dir.join("racks"), &aisle_file, ctx);
        aisles.push(Aisle {
            id: aisle_id,
            name,
            racks,
        });
    }
    for dup in duplicates(aisles.iter().map(|a| a.id.as_str())) {
        ctx.problem(&room_file, format!("{what}: duplicate aisle id `{dup}`"));
    }
    let refs = list(
        raw.standalone_racks,
        &format!("{what}: `standalone_racks`"),
        &room_file,
        ctx,
    );
    let standalone_racks =
        load_rack_refs(refs, &room_dir.join("standalone_racks"), &room_file, ctx);
    Some(Room {
        id,
        name,
        description: text(raw.description),
        layout,
        aisles,
        standalone_racks,
    })
}

/// Loads the racks of an aisle or the standalone racks of a room, in list order.
fn load_rack_refs(
    refs: Vec<RackRef>,
    racks_dir: &Path,
    list_file: &Path,
    ctx: &mut Ctx,
) -> Vec<Rack> {
    let mut racks = Vec::with_capacity(refs.len());
    for rack_ref in refs {
        match rack_ref {
            RackRef::Skip => {}
            RackRef::Inline(raw) => racks.extend(build_rack(*raw, list_file, ctx)),
            RackRef::File(name) => {
                if !is_plain_component(&name) {
                    ctx.problem(
                        list_file,
                        format!("rack ref `{name}` is not a valid file name"),
                    );
                    continue;
                }
                let file = racks_dir.join(format!("{name}.yaml"));
                if !file.is_file() {
                    ctx.warn(format!("Missing rack file: {}", file.display()));
                    continue;
                }
                // An empty rack file is skipped silently (§6.3).
                if let Some(Some(raw)) = read_yaml::<RawRack>(&file, ctx) {
                    racks.extend(build_rack(raw, &file, ctx));
                }
            }
        }
    }
    racks
}

/// §6.4: duplicate rack ids, room ids across sites, device ids (warnings only).
fn warn_duplicates(topology: &Topology, ctx: &mut Ctx) {
    let racks: Vec<&Rack> = topology.racks().collect();
    let mut messages = Vec::new();
    for dup in duplicates(racks.iter().map(|r| r.id.as_str())) {
        messages.push(format!(
            "Duplicate rack id `{dup}`: /views/rack/{dup} will resolve to the first match"
        ));
    }
    let mut room_sites: HashMap<&str, &str> = HashMap::new();
    let mut reported = HashSet::new();
    for site in &topology.sites {
        for room in &site.rooms {
            match room_sites.get(room.id.as_str()) {
                Some(first) if *first != site.id && reported.insert(room.id.as_str()) => {
                    messages.push(format!(
                        "Duplicate room id `{}` across sites (`{first}` and `{}`)",
                        room.id, site.id
                    ));
                }
                Some(_) => {}
                None => {
                    room_sites.insert(&room.id, &site.id);
                }
            }
        }
    }
    for dup in duplicates(
        racks
            .iter()
            .flat_map(|r| r.devices.iter().map(|d| d.id.as_str())),
    ) {
        messages.push(format!("Duplicate device id `{dup}`"));
    }
    for message in messages {
        ctx.warn(message);
    }
}

// ---------------------------------------------------------------------------------------
// Single-file form
// ---------------------------------------------------------------------------------------

fn load_single_file(file: &Path, ctx: &mut Ctx) -> Topology {
    let Some(Some(raw)) = read_yaml::<RawTopologyFile>(file, ctx) else {
        return Topology::default();
    };
    let mut sites = Vec::new();
    for (si, raw_site) in list(raw.sites, "`sites`", file, ctx)
        .into_iter()
        .enumerate()
    {
        let Some(id) = required_id(raw_site.id, &format!("sites[{si}]"), "site", file, ctx) else {
            continue;
        };
        let what = format!("site `{id}`");
        let name = name_field(raw_site.name, None, &what, file, ctx);
        let location = raw_site
            .location
            .and_then(|loc| build_location(loc, &what, file, ctx));
        let mut rooms = Vec::new();
        for (ri, raw_room) in list(raw_site.rooms, &format!("{what}: `rooms`"), file, ctx)
            .into_iter()
            .enumerate()
        {
            let Some(room_id) = required_id(
                raw_room.id,
                &format!("{what}, rooms[{ri}]"),
                "room",
                file,
                ctx,
            ) else {
                continue;
            };
            let room_what = format!("{what}, room `{room_id}`");
            let room_name = name_field(raw_room.name, None, &room_what, file, ctx);
            let layout = raw_room
                .layout
                .map(|l| build_layout(l, &room_what, file, ctx));
            let mut aisles = Vec::new();
            for (ai, raw_aisle) in list(
                raw_room.aisles,
                &format!("{room_what}: `aisles`"),
                file,
                ctx,
            )
            .into_iter()
            .enumerate()
            {
                let Some(aisle_id) = required_id(
                    raw_aisle.id,
                    &format!("{room_what}, aisles[{ai}]"),
                    "aisle",
                    file,
                    ctx,
                ) else {
                    continue;
                };
                let aisle_what = format!("{room_what}, aisle `{aisle_id}`");
                let aisle_name = name_field(raw_aisle.name, None, &aisle_what, file, ctx);
                let racks = list(
                    raw_aisle.racks,
                    &format!("{aisle_what}: `racks`"),
                    file,
                    ctx,
                )
                .into_iter()
                .filter_map(|r| build_rack(r, file, ctx))
                .collect();
                aisles.push(Aisle {
                    id: aisle_id,
                    name: aisle_name,
                    racks,
                });
            }
            for dup in duplicates(aisles.iter().map(|a| a.id.as_str())) {
                ctx.problem(file, format!("{room_what}: duplicate aisle id `{dup}`"));
            }
            let standalone_racks = list(
                raw_room.standalone_racks,
                &format!("{room_what}: `standalone_racks`"),
                file,
                ctx,
            )
            .into_iter()
            .filter_map(|r| build_rack(r, file, ctx))
            .collect();
            rooms.push(Room {
                id: room_id,
                name: room_name,
                description: text(raw_room.description),
                layout,
                aisles,
                standalone_racks,
            });
        }
        for dup in duplicates(rooms.iter().map(|r| r.id.as_str())) {
            ctx.problem(file, format!("{what}: duplicate room id `{dup}`"));
        }
        sites.push(Site {
            id,
            name,
            description: text(raw_site.description),
            location,
            rooms,
        });
    }
    for dup in duplicates(sites.iter().map(|s| s.id.as_str())) {
        ctx.problem(file, format!("duplicate site id `{dup}`"));
    }
    Topology { sites }
}

/// A required, safe id in the single-file form (where a missing id is a problem).
fn required_id(
    id: Option<Text>,
    at: &str,
    kind: &str,
    file: &Path,
    ctx: &mut Ctx,
) -> Option<String> {
    match id {
        Some(Text(id)) => {
            check_safe_id(&id, kind, file, ctx);
            Some(id)
        }
        None => {
            ctx.problem(file, format!("{at}: missing required field `id`"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_ids() {
        for ok in ["a", "0", "rack-01", "r.1_x", &"a".repeat(128)] {
            assert!(is_safe_id(ok), "{ok}");
        }
        for bad in [
            "",
            "A",
            "_x",
            ".x",
            "-x",
            "a b",
            "a/b",
            "é",
            "a\n",
            &"a".repeat(129),
        ] {
            assert!(!is_safe_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn plain_components() {
        assert!(is_plain_component("Room A"));
        for bad in ["", ".", "..", "a/b", "a\\b"] {
            assert!(!is_plain_component(bad), "{bad:?}");
        }
    }

    #[test]
    fn rack_refs_parse_every_form() {
        let refs: Vec<RackRef> = serde_norway::from_str(
            "- r01\n- {id: r02}\n- {id: r03, name: R3}\n- {name: x}\n- ''\n- 12\n- [a]\n- {id: r04, devices: []}\n",
        )
        .unwrap();
        let kinds: Vec<String> = refs
            .iter()
            .map(|r| match r {
                RackRef::File(f) => format!("file:{f}"),
                RackRef::Inline(raw) => format!("inline:{}", raw.id.as_ref().unwrap().0),
                RackRef::Skip => "skip".into(),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "file:r01",
                "file:r02",
                "inline:r03",
                "skip",
                "skip",
                "skip",
                "skip",
                "inline:r04"
            ]
        );
    }

    #[test]
    fn device_fields_are_validated_together() {
        let raw: RawRack = serde_norway::from_str(
            "id: R1\nname: x\nu_height: 61\ndevices:\n- {id: d1}\n- {id: d2, name: n, template_id: t, u_position: '3', nodes: 'c[1-2]'}\n",
        )
        .unwrap();
        let mut ctx = Ctx::default();
        let rack = build_rack(raw, Path::new("r.yaml"), &mut ctx).unwrap();
        let messages: Vec<&str> = ctx.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 5, "{messages:?}");
        assert!(messages[0].contains("safe id"));
        assert!(messages[1].contains("u_height 61"));
        assert!(messages[2].contains("device `d1`: `name` is required"));
        assert_eq!(rack.devices.len(), 1);
        let d2 = &rack.devices[0];
        assert_eq!(d2.u_position, 3);
        assert_eq!(d2.instance, InstanceSpec::Single("c[1-2]".into()));
        assert_eq!(d2.nodes, Some(InstanceSpec::Single("c[1-2]".into())));
    }

    #[test]
    fn layout_defaults_and_limits() {
        let raw: RawRoomLayout = serde_norway::from_str(
            "size: {width: 36}\ngrid: {enabled: yes, cell: 2}\ndoor: {label: null}\n",
        )
        .unwrap();
        let mut ctx = Ctx::default();
        let layout = build_layout(raw, "room", Path::new("room.yaml"), &mut ctx);
        assert_eq!(layout.size.width, 36.0);
        assert_eq!(layout.size.height, 16.0);
        assert!(layout.grid.enabled);
        assert_eq!(ctx.problems.len(), 1);
        assert!(ctx.problems[0].message.contains("grid.cell 2"));
        let door = layout.door.unwrap();
        assert_eq!(door.label, None);
        assert_eq!(door.side, "west");
        let raw: RawRoomLayout = serde_norway::from_str("door: null\n").unwrap();
        assert!(build_layout(raw, "room", Path::new("r"), &mut ctx)
            .door
            .is_none());
    }

    #[test]
    fn yaml_problem_has_line_and_no_duplicate_position() {
        let mut ctx = Ctx::default();
        let err =
            serde_norway::from_str::<RawRack>("id: r1\nname: x\nu_height: abc\n").unwrap_err();
        ctx.yaml_problem(Path::new("r1.yaml"), &err);
        let p = &ctx.problems[0];
        assert_eq!(p.line, Some(3));
        assert!(!p.message.contains("at line"), "{}", p.message);
        assert!(p.to_string().starts_with("r1.yaml:3: u_height"), "{p}");
    }
}
