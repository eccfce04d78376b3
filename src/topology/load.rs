//! Loading a topology from disk.

use std::path::Path;

use super::Topology;

/// Why a topology could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("{0}")]
    Other(String),
}

/// Loads a segmented topology directory or a single `topology.yaml` file.
pub fn load_topology(path: &Path) -> Result<Topology, TopologyError> {
    let _ = path;
    todo!()
}
// TEMPORARY STUB
pub fn load_topology_with_warnings(path: &Path) -> Result<(Topology, Vec<String>), TopologyError> {
    load_topology(path).map(|t| (t, vec![]))
}
