//! Rackscope's example app.yaml files (the shared fixtures, read in place) load with
//! their values, and paths relative to a profile's folder resolve against it.

mod support;

use std::path::{Path, PathBuf};

use rackscope::config::{load_file, resolve_paths};
use serde_json::json;
use support::server::fixtures_dir as fixtures;

#[test]
fn fixture_app_yaml_files_validate() {
    let root = fixtures();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path().join("app.yaml");
            p.is_file().then_some(p)
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "fixtures not found under {}",
        root.display()
    );
    files.push(root.join("app.yaml.reference"));
    for file in files {
        let cfg = load_file(&file).unwrap_or_else(|e| panic!("{e}"));
        assert!(!cfg.paths.topology.is_empty());
    }
}

#[test]
fn fixture_values_are_read() {
    let root = fixtures();
    let cfg = load_file(&root.join("hpc-cluster/app.yaml")).unwrap();
    assert!(cfg.plugin_enabled("simulator") && cfg.plugin_enabled("slurm"));
    assert_eq!(cfg.plugins["simulator"]["changes_per_hour"], json!(5));
    assert!(!cfg.telemetry.tls_verify);
    assert!(cfg.auth.password_hash.starts_with("$2b$12$"));
    assert_eq!((cfg.simulator, cfg.slurm), (None, None));

    let cfg = load_file(&root.join("app.yaml.reference")).unwrap();
    assert_eq!(
        cfg.app.description.as_deref(),
        Some("Datacenter Monitoring")
    );
    assert_eq!(cfg.planner.max_ids_per_query, 300);
    assert!(!cfg.plugin_enabled("simulator"));
    assert_eq!(cfg.map.default_zoom, Some(2));

    let cfg = load_file(&root.join("simple-room/app.yaml")).unwrap();
    assert!(!cfg.features.worldmap);
    assert_eq!(cfg.paths.metrics, "config/metrics/library");
}

#[test]
fn profile_relative_paths_resolve_against_the_file() {
    // hpc-cluster-1912 uses "topology: topology" relative to its own directory.
    let dir = fixtures().join("hpc-cluster-1912");
    let mut cfg = load_file(&dir.join("app.yaml")).unwrap();
    assert_eq!(
        cfg.paths.topology, "topology",
        "loading keeps paths as written"
    );
    resolve_paths(&mut cfg, &dir.join("app.yaml"));
    assert_eq!(Path::new(&cfg.paths.topology), dir.join("topology"));
    assert_eq!(Path::new(&cfg.paths.templates), dir.join("templates"));
    assert_eq!(Path::new(&cfg.paths.checks), dir.join("checks/library"));
    assert_eq!(Path::new(&cfg.paths.metrics), dir.join("metrics/library"));
    // `plugins` is the default and exists from the working directory (the project
    // root has a plugins/ folder), so the working-directory rule keeps it as is.
    assert_eq!(cfg.paths.plugins, "plugins");
}
