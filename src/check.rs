//! `rackscope check`: loads app.yaml and everything it names without serving, printing
//! each problem with its file (and line when known). Exit status 1 on any problem.
//!
//! Plugins are checked without running their `setup` (which may open listeners, start
//! timers, query Prometheus or write files): each enabled plugin's Lua files compile,
//! its `init.lua` runs and returns valid metadata, its config file reads and passes its
//! `validate_config`, and its id and the routes it registers while loading collide with
//! no other plugin's ([`check_plugins`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::config;
use crate::library;
use crate::lua::host::NoRuntime;
use crate::lua::registry::RouteDef;
use crate::plugin::load::{self, LoadError, LoadSpec};
use crate::plugin::{discovery, manager, set};
use crate::state::AppState;
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
    match AppState::load(config_path) {
        Ok(state) => {
            problems.extend(missing_plugins(&state));
            for p in check_plugins(&state) {
                problems.extend(
                    p.problems
                        .iter()
                        .map(|m| format!("error: plugin '{}': {m}", p.folder)),
                );
            }
        }
        // The same problems as above, unless none was found.
        Err(e) if problems.is_empty() => problems.push(format!("error: {e}")),
        Err(_) => {}
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

/// Plugins enabled in app.yaml whose `init.lua` does not exist.
fn missing_plugins(state: &AppState) -> Vec<String> {
    let root = discovery::code_root(state);
    let mut out = Vec::new();
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
    out
}

/// What `check` found of one enabled plugin folder.
#[derive(Debug, Clone)]
pub struct PluginCheck {
    pub folder: String,
    /// Its id, once its `init.lua` ran.
    pub id: Option<String>,
    /// Each with its file, and its line where Lua knows it.
    pub problems: Vec<String>,
}

/// Checks every enabled plugin of `state` without running `setup`: its Lua files
/// compile (all of them, `tests/` aside: a module `setup` would require is checked too),
/// `init.lua` runs and returns valid metadata, its config file reads and passes
/// `validate_config`, and its id and the routes it registers while loading (at the top of
/// `init.lua`) collide with no other plugin's.
pub fn check_plugins(state: &AppState) -> Vec<PluginCheck> {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return vec![PluginCheck {
                folder: "*".into(),
                id: None,
                problems: vec![format!("cannot start the async runtime: {e}")],
            }]
        }
    };
    let mut out = Vec::new();
    let mut seen: Vec<(String, String, Vec<RouteDef>)> = Vec::new();
    for folder in discovery::enabled_folders(state, &BTreeSet::new()) {
        let paths = discovery::paths_of(state, &folder);
        let mut check = PluginCheck {
            folder: folder.clone(),
            id: None,
            problems: syntax_problems(&paths.code_dir, &folder),
        };
        if check.problems.is_empty() {
            let spec = LoadSpec {
                folder: folder.clone(),
                paths,
                config_override: None,
                limits: manager::limits_for(state, &folder),
                generation: 0,
                fallback_for: None,
                hooks: None,
            };
            // A LocalSet of its own, dropped afterwards: a timer `init.lua` would start
            // at its top level never runs.
            let local = tokio::task::LocalSet::new();
            match local.block_on(&rt, declare_and_validate(&spec, state)) {
                Ok((id, routes)) => {
                    if let Some((_, other, _)) = seen.iter().find(|(i, _, _)| *i == id) {
                        check.problems.push(format!(
                            "plugin id '{id}' is already used by the plugin in folder '{other}'"
                        ));
                    }
                    for (other_id, _, theirs) in &seen {
                        if let Some(r) = set::route_clash(&routes, theirs) {
                            check.problems.push(format!(
                                "route {} {} is already registered by plugin '{other_id}'",
                                r.method,
                                r.pattern.as_str()
                            ));
                        }
                    }
                    check.id = Some(id.clone());
                    seen.push((id, folder.clone(), routes));
                }
                // The first line, without Lua's `runtime error: ` (the traceback is for
                // the server's log).
                Err(e) => check.problems.push(manager::headline(&e)),
            }
        }
        out.push(check);
    }
    out
}

/// The plugin's id and the routes `init.lua` registered, once its config passed
/// `validate_config`; or the problem.
async fn declare_and_validate(
    spec: &LoadSpec,
    state: &AppState,
) -> Result<(String, Vec<RouteDef>), String> {
    let main = tokio::runtime::Handle::current();
    let declared = load::declare(spec, state.clone(), Arc::new(NoRuntime), main)
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = load::validated_config(spec, &declared).await {
        return Err(match e {
            // `validate_config`'s refusal: the file it refused.
            LoadError::Config(m) if m.starts_with("invalid config") => {
                format!("{}: {m}", declared.config_path.display())
            }
            other => other.to_string(),
        });
    }
    let routes = declared.ctx.registrar.borrow().routes.clone();
    Ok((declared.meta.id.clone(), routes))
}

/// Syntax errors in the plugin's Lua files (`tests/` and hidden folders aside), each as
/// `syntax error: plugins/<folder>/<file>:<line>: ...`.
fn syntax_problems(code_dir: &Path, folder: &str) -> Vec<String> {
    let mut files = Vec::new();
    lua_files(code_dir, Path::new(""), &mut files, 0);
    files.sort();
    let lua = mlua::Lua::new();
    let mut out = Vec::new();
    for rel in files {
        let name = format!("plugins/{folder}/{}", rel.display());
        match std::fs::read_to_string(code_dir.join(&rel)) {
            Ok(src) => {
                if let Err(e) = lua
                    .load(src)
                    .set_name(format!("@{name}"))
                    .set_mode(mlua::ChunkMode::Text)
                    .into_function()
                {
                    out.push(e.to_string());
                }
            }
            Err(e) => out.push(format!("{name}: cannot be read: {e}")),
        }
    }
    out
}

fn lua_files(root: &Path, rel: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(root.join(rel)) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || (depth == 0 && name == "tests") {
            continue;
        }
        let r = rel.join(name.as_ref());
        if e.path().is_dir() {
            lua_files(root, &r, out, depth + 1);
        } else if name.ends_with(".lua") {
            out.push(r);
        }
    }
}
