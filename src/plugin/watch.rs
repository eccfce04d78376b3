//! File watching: edits to a plugin's Lua files (including files it `require`s) or to its
//! config folder reload that plugin, and edits to app.yaml reload the whole state, each
//! transactionally (D3). Events are debounced ([`DEBOUNCE`]) so an editor's
//! write-rename-chmod burst is one reload.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::state::AppState;

/// Quiet time after the last event before reloading.
pub const DEBOUNCE: Duration = Duration::from_millis(120);

/// What changed.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    AppYaml,
    Plugin(String),
}

/// Starts watching and returns the watcher, which must be kept alive.
pub fn start(state: AppState) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            if matches!(ev.kind, notify::EventKind::Access(_)) {
                return;
            }
            for p in ev.paths {
                let _ = tx.send(p);
            }
        }
    })?;
    let app_yaml = absolute(state.config_path());
    let app_dir = app_yaml
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let code_root = absolute(&super::manager::code_root(&state));
    let config_root = app_dir.join("plugins");
    watcher.watch(&app_dir, RecursiveMode::NonRecursive)?;
    if code_root.is_dir() {
        watcher.watch(&code_root, RecursiveMode::Recursive)?;
    }
    if config_root.is_dir() && !config_root.starts_with(&code_root) {
        watcher.watch(&config_root, RecursiveMode::Recursive)?;
    }
    tracing::info!(app_yaml = %app_yaml.display(), plugins = %code_root.display(), "watching for edits");
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut paths = vec![first];
            loop {
                match tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                    Ok(Some(p)) => paths.push(p),
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            let targets: BTreeSet<Target> = paths
                .iter()
                .filter_map(|p| classify(p, &app_yaml, &code_root, &config_root))
                .collect();
            for t in targets {
                match t {
                    Target::AppYaml => {
                        if let Err(e) = state.reload_if_changed().await {
                            tracing::error!(error = %e, "app.yaml edit refused; the running config is kept");
                        }
                    }
                    Target::Plugin(folder) => state.plugins().reload(&state, &folder).await,
                }
            }
        }
    });
    Ok(watcher)
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn classify(p: &Path, app_yaml: &Path, code_root: &Path, config_root: &Path) -> Option<Target> {
    if p == app_yaml {
        return Some(Target::AppYaml);
    }
    let name = p.file_name()?.to_string_lossy();
    if name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") {
        return None;
    }
    for root in [code_root, config_root] {
        if let Ok(rel) = p.strip_prefix(root) {
            let folder = rel
                .components()
                .next()?
                .as_os_str()
                .to_string_lossy()
                .into_owned();
            return Some(Target::Plugin(folder));
        }
    }
    None
}
