//! `rackscope check`: loads app.yaml and everything it names without serving, printing
//! each problem with its file (and line when known). Exit status 1 on any problem.

use std::path::Path;
use std::process::ExitCode;

use crate::config;
use crate::library;
use crate::topology;

/// Runs the check and reports on stdout/stderr.
#[allow(clippy::print_stdout)]
pub fn run(config_path: &Path) -> ExitCode {
    let mut problems: Vec<String> = Vec::new();
    let cfg = match config::load_file(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut resolved = cfg.clone();
    config::resolve_paths(&mut resolved, config_path);
    let paths = &resolved.paths;
    let topo_path = Path::new(&paths.topology);
    let mut instances = 0;
    if !topo_path.exists() {
        problems.push(format!(
            "error: Topology path not found: {}",
            topo_path.display()
        ));
    } else {
        match topology::load::load_topology_with_warnings(topo_path) {
            Ok((topo, warnings)) => {
                problems.extend(warnings.into_iter().map(|w| format!("warning: {w}")));
                match topology::TopologyIndex::build(&topo) {
                    Ok(index) => instances = index.instance_count(),
                    Err(e) => problems.push(format!("error: {e}")),
                }
            }
            Err(e) => problems.push(format!("error: {e}")),
        }
    }
    let (_catalog, warnings) = topology::load_catalog(Path::new(&paths.templates));
    problems.extend(warnings.into_iter().map(|w| format!("warning: {w}")));
    problems.extend(library_problems(paths));
    if problems.is_empty() {
        problems.extend(check_plugins(config_path));
    }
    if problems.is_empty() {
        println!(
            "ok: {} ({} node instances)",
            config_path.display(),
            instances
        );
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!("{} problem(s) found", problems.len());
        ExitCode::FAILURE
    }
}

/// Invalid files and items of the checks and metrics libraries (each with its file and
/// line), and a checks path that does not exist (`paths.checks` is required; the metrics
/// library is optional, so a missing one is not a problem).
fn library_problems(paths: &config::Paths) -> Vec<String> {
    let checks = library::load_checks(Path::new(&paths.checks));
    let metrics = library::load_metrics(Path::new(&paths.metrics));
    let mut out = Vec::new();
    if checks.origin.source == library::Source::Missing {
        out.push(format!("warning: Checks path not found: {}", paths.checks));
    }
    out.extend(
        checks
            .problems
            .iter()
            .chain(&metrics.problems)
            .map(|p| format!("warning: {p}")),
    );
    out
}

/// Loads every enabled plugin as the server would (running `setup`), and returns each
/// load error (they carry the plugin file and line).
fn check_plugins(config_path: &Path) -> Vec<String> {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return vec![format!("error: cannot start the async runtime: {e}")],
    };
    rt.block_on(async {
        let state = match crate::state::AppState::load(config_path) {
            Ok(s) => s,
            Err(e) => return vec![format!("error: {e}")],
        };
        let mut out = Vec::new();
        let root = crate::plugin::manager::code_root(&state);
        for (folder, v) in &state.snapshot().config.plugins {
            if crate::config::model::truthy(v.get("enabled").unwrap_or(&serde_json::Value::Null))
                && !root.join(folder).join("init.lua").is_file()
            {
                out.push(format!(
                    "warning: plugin '{folder}' is enabled but {} does not exist",
                    root.join(folder).join("init.lua").display()
                ));
            }
        }
        let plugins = crate::plugin::PluginManager::default();
        plugins.reconcile(&state, false).await;
        for slot in &plugins.current().slots {
            if let Some(e) = &slot.error {
                out.push(format!("error: plugin '{}': {e}", slot.folder));
            }
        }
        plugins.shutdown_all().await;
        out
    })
}
