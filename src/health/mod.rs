//! The health engine (decisions D7 and D8): which checks of the checks library run on
//! which nodes, devices and racks; the recompute that turns their Prometheus answers into
//! node, rack and room states; the answers served from the latest snapshot; maintenances.
//!
//! Layout: [`check`] (a library check compiled for the planner), [`layout`] (the topology
//! by index, and each check's targets), [`query`] (placeholders and batches), [`compute`]
//! (one recompute: queries in parallel, `for:` timers, virtual nodes, a snapshot),
//! [`node_metrics`] (node temperature and power, measured with the states),
//! [`rack_metrics`] (rack component metrics, likewise), [`timers`] (`for:` delays),
//! [`answers`] (roll-up and the encoded answers, maintenances applied), [`maintenance`]
//! (the maintenances file and what each covers), [`engine`] (the background loop and the
//! answers in force).
//!
//! This module sits below `state`: it is given the topology, templates, checks and
//! settings of a state generation as [`compute::Inputs`], and the Prometheus client; the
//! state owns the engine and the server runs its loop.

pub mod answers;
pub mod check;
pub mod compute;
pub mod engine;
pub mod layout;
pub mod maintenance;
pub mod node_metrics;
pub mod query;
pub mod rack_metrics;
pub mod timers;

pub use crate::library::checks::Severity;
pub use answers::HealthView;
pub use compute::{Inputs, Settings};
pub use engine::HealthEngine;

use std::sync::Arc;

/// The inputs of the health engine for one state generation: the compiled checks and the
/// layout of the topology with their targets.
pub fn inputs(
    generation: u64,
    config: &crate::config::AppConfig,
    topology: &crate::topology::Topology,
    catalog: &crate::topology::Catalog,
    checks: &crate::library::ChecksLibrary,
    metrics: &crate::library::MetricsLibrary,
) -> Inputs {
    let compiled: Vec<check::Check> = checks.checks.iter().map(check::Check::compile).collect();
    let layout = layout::Layout::build(topology, catalog, &compiled);
    let node_metrics = node_metrics::plan(&layout, catalog, metrics);
    let rack_metrics = rack_metrics::plan(&layout, catalog, metrics);
    Inputs {
        generation,
        layout: Arc::new(layout),
        checks: Arc::new(compiled),
        node_metrics,
        rack_metrics,
        settings: Settings::from_config(config),
    }
}

/// Config folders for the engine's unit tests.
#[cfg(test)]
pub(crate) mod fixture {
    /// A temporary folder with one site `s1`, room `r1` and aisle `a1` listing `racks`,
    /// and `files` (path inside the folder, text) beside: the rack files, templates and
    /// libraries of the test.
    pub fn one_aisle(racks: &[&str], files: &[(String, String)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let aisle = format!("racks: [{}]\n", racks.join(", "));
        let base = [
            (
                "topology/sites.yaml",
                "sites:\n  - id: s1\n    name: S1\n    rooms:\n      - id: r1\n",
            ),
            (
                "topology/datacenters/s1/rooms/r1/room.yaml",
                "name: R1\naisles:\n  - id: a1\n    name: A1\n",
            ),
            (
                "topology/datacenters/s1/rooms/r1/aisles/a1/aisle.yaml",
                &aisle,
            ),
        ];
        let all = base
            .iter()
            .map(|(p, t)| (*p, *t))
            .chain(files.iter().map(|(p, t)| (p.as_str(), t.as_str())));
        for (rel, text) in all {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    /// The path of rack `id`'s file in [`one_aisle`]'s aisle.
    pub fn rack_file(id: &str) -> String {
        format!("topology/datacenters/s1/rooms/r1/aisles/a1/racks/{id}.yaml")
    }
}
