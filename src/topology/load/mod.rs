//! Loading a topology from disk (docs/architecture.md, compatibility C9).
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
//! A **file** is the single-file form `{sites: [...]}` with everything inline.
//!
//! The rules follow the reference loader: only `.yaml` files, rooms discovered (sorted) when a
//! site lists none, aisle names from `room.yaml`, rack refs as strings, `{id}` maps or inline
//! rack maps, plain-string aisle entries accepted, unknown keys ignored, the legacy `nodes`
//! used when `instance` is empty. A missing room, aisle or rack file is a warning and the item
//! is skipped; entries without an id are skipped silently.
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
        let mut topology = topology;
        topology.fill_aisle_ids();
        Ok((topology, ctx.warnings))
    } else {
        Err(TopologyError::Invalid {
            path: path.to_path_buf(),
            problems: ctx.problems,
        })
    }
}

mod build;
mod ctx;
mod raw;
mod segmented;
mod single;

use build::*;
use ctx::*;
use raw::*;
use segmented::*;
use single::*;

#[cfg(test)]
mod tests;
