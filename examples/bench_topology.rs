//! Topology load benchmark: loads a topology and its templates a few times, builds the
//! instance index, and prints the median times, the process memory and the counts.
//!
//! ```text
//! cargo run --release --example bench_topology -- <topology> <templates> [runs]
//! ```
//!
//! The last line is machine-readable (`RESULT key=value ...`) for `scripts/bench-topology.sh`.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rackscope::topology::{load_catalog, load_topology_with_warnings, Topology, TopologyIndex};

/// `VmRSS` and `VmHWM` (peak) of this process, in KiB, from `/proc/self/status`.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        bail!("usage: bench_topology <topology> <templates> [runs]");
    }
    let topology_path = PathBuf::from(&args[0]);
    let templates_path = PathBuf::from(&args[1]);
    let runs: usize = args
        .get(2)
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(5)
        .max(1);

    let (rss_before, _) = memory_kib();
    let (mut t_load, mut t_catalog, mut t_index) = (Vec::new(), Vec::new(), Vec::new());
    let mut kept: Option<(Topology, TopologyIndex)> = None;
    let mut template_count = 0;
    let mut warnings = 0;
    for _ in 0..runs {
        // Drop the previous run's data first so the figures describe one loaded copy.
        drop(kept.take());
        let start = Instant::now();
        let (topology, w) = load_topology_with_warnings(&topology_path)
            .with_context(|| format!("loading {}", topology_path.display()))?;
        t_load.push(start.elapsed());
        let start = Instant::now();
        let (catalog, cw) = load_catalog(&templates_path);
        t_catalog.push(start.elapsed());
        let start = Instant::now();
        let index = TopologyIndex::build(&topology)?;
        t_index.push(start.elapsed());
        template_count = catalog.device_templates().len();
        warnings = w.len() + cw.len() + index.warnings().len();
        kept = Some((topology, index));
    }
    let (rss_after, hwm) = memory_kib();
    let Some((topology, index)) = kept else {
        bail!("no run");
    };

    let aisles: usize = topology.rooms().map(|(_, r)| r.aisles.len()).sum();
    let devices: usize = topology.racks().map(|r| r.devices.len()).sum();
    let (sites, rooms_n, racks_n) = (
        topology.sites.len(),
        topology.rooms().count(),
        topology.racks().count(),
    );
    let total = median(t_load.clone()) + median(t_catalog.clone()) + median(t_index.clone());

    println!("topology   {}", topology_path.display());
    println!("templates  {}", templates_path.display());
    println!(
        "counts     sites={sites} rooms={rooms_n} aisles={aisles} racks={racks_n} devices={devices} \
         instances={} (expanded {}) device_templates={template_count} warnings={warnings}",
        index.instance_count(),
        index.expanded_count()
    );
    println!(
        "median of {runs}: load {} ms, catalog {} ms, index {} ms, total {} ms",
        ms(median(t_load.clone())),
        ms(median(t_catalog.clone())),
        ms(median(t_index.clone())),
        ms(total)
    );
    println!(
        "memory     RSS before {rss_before} KiB, after {rss_after} KiB (+{} KiB held), peak {hwm} KiB",
        rss_after.saturating_sub(rss_before)
    );
    println!(
        "RESULT instances={} racks={racks_n} devices={devices} load_ms={} catalog_ms={} index_ms={} total_ms={} rss_kib={rss_after} held_kib={} peak_kib={hwm}",
        index.instance_count(),
        ms(median(t_load)),
        ms(median(t_catalog)),
        ms(median(t_index)),
        ms(total),
        rss_after.saturating_sub(rss_before)
    );
    Ok(())
}
