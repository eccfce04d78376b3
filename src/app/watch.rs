//! File watching: edits to a plugin's Lua files (including files it `require`s) or to its
//! config file reload that plugin, and edits to app.yaml reload the whole state, each
//! transactionally (D3). Edits under `paths.topology`, `paths.templates`, `paths.checks`
//! and `paths.metrics` rebuild the state from the running config the same way (a broken
//! edit keeps the old state and is logged); those folders are watched again whenever an
//! app.yaml change moves them.
//!
//! Events go through `notify-debouncer-full`, which debounces **per path** ([`DEBOUNCE`]
//! of quiet on that path) and folds an editor's write-rename-chmod burst into one event.
//! Per-path debouncing is what keeps reloads prompt: a file that changes all the time (the
//! server's own log next to app.yaml, a data file a plugin rewrites every second) only
//! delays events of that file, never an edit of `init.lua`. Events that cannot trigger a
//! reload (reads, files other than Lua code, the config file and app.yaml) are dropped
//! before anything else happens.
//!
//! [`WatchMode::Poll`] replaces inotify with a poller that compares file contents every
//! interval: edits made on another host of a network filesystem (NFS) raise no inotify
//! event on this one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{
    new_debouncer, new_debouncer_opt, DebounceEventResult, Debouncer, NoCache, RecommendedCache,
};

use super::App;

/// Quiet time on a path after its last event before the edit is applied. With the
/// debouncer's tick of a quarter of this, an edit is applied 100-125 ms after the editor's
/// last write, whatever other files do meanwhile.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// What changed.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    AppYaml,
    /// A file of the topology, templates, checks or metrics library.
    Data,
    Plugin(String),
}

/// How edits are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WatchMode {
    /// The kernel's notifications (inotify): immediate, local edits only.
    #[default]
    Native,
    /// Compare file contents every interval: slower, but sees edits made on other hosts
    /// of a shared filesystem.
    Poll(Duration),
}

impl std::str::FromStr for WatchMode {
    type Err = String;

    /// `native`, `poll` (every 2 s) or `poll:<seconds>`.
    fn from_str(s: &str) -> Result<WatchMode, String> {
        match s.split_once(':') {
            None if s == "native" => Ok(WatchMode::Native),
            None if s == "poll" => Ok(WatchMode::Poll(Duration::from_secs(2))),
            Some(("poll", secs)) => match secs.parse::<f64>() {
                Ok(v) if v.is_finite() && (0.1..=3600.0).contains(&v) => {
                    Ok(WatchMode::Poll(Duration::from_secs_f64(v)))
                }
                _ => Err(format!(
                    "poll interval must be 0.1 to 3600 seconds, got '{secs}'"
                )),
            },
            _ => Err(format!(
                "expected native, poll or poll:<seconds>, got '{s}'"
            )),
        }
    }
}

/// The watcher; watching stops when it is dropped.
pub struct Watcher {
    /// Kept only to be dropped with the watcher. Shared with the task that applies edits,
    /// which watches the data folders again when app.yaml moves them. A std mutex: held
    /// only to add or remove a watch, never across an await.
    _backend: Arc<Mutex<Backend>>,
}

enum Backend {
    Native(Debouncer<notify::RecommendedWatcher, RecommendedCache>),
    Poll(Debouncer<notify::PollWatcher, NoCache>),
}

impl Backend {
    fn watch(&mut self, path: &Path, mode: RecursiveMode) -> notify::Result<()> {
        match self {
            Backend::Native(d) => d.watch(path, mode),
            Backend::Poll(d) => d.watch(path, mode),
        }
    }

    fn unwatch(&mut self, path: &Path) -> notify::Result<()> {
        match self {
            Backend::Native(d) => d.unwatch(path),
            Backend::Poll(d) => d.unwatch(path),
        }
    }
}

/// The data paths of the running state (topology, templates, checks, metrics), absolute
/// and deduplicated: what exists of them is what can be watched.
fn data_roots(app: &App) -> Vec<PathBuf> {
    let snap = app.state.snapshot();
    let p = &snap.paths;
    let mut roots: Vec<PathBuf> = [&p.topology, &p.templates, &p.checks, &p.metrics]
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| absolute(Path::new(s)))
        .collect();
    roots.sort();
    roots.dedup();
    roots
}

/// What to watch for a data root: a folder recursively, a file through its folder.
fn data_watch(root: &Path) -> Option<(PathBuf, RecursiveMode)> {
    if root.is_dir() {
        Some((root.to_path_buf(), RecursiveMode::Recursive))
    } else if root.is_file() {
        root.parent()
            .map(|d| (d.to_path_buf(), RecursiveMode::NonRecursive))
    } else {
        None
    }
}

/// Brings the watches of the data folders in line with `roots`; `watched` holds what is
/// watched now and is updated.
/// Folders in `fixed` are watched for other reasons already and are left alone.
fn rewatch_data(
    backend: &Mutex<Backend>,
    watched: &mut Vec<PathBuf>,
    roots: &[PathBuf],
    fixed: &[PathBuf],
) {
    let wanted: Vec<(PathBuf, RecursiveMode)> = roots
        .iter()
        .filter_map(|r| data_watch(r))
        .filter(|(p, _)| !fixed.contains(p))
        .collect();
    let mut backend = match backend.lock() {
        Ok(b) => b,
        Err(poisoned) => poisoned.into_inner(),
    };
    for old in watched.iter() {
        if !wanted.iter().any(|(p, _)| p == old) {
            let _ = backend.unwatch(old);
        }
    }
    let mut now = Vec::new();
    for (path, mode) in wanted {
        if now.contains(&path) {
            continue;
        }
        if !watched.contains(&path) {
            if let Err(e) = backend.watch(&path, mode) {
                tracing::warn!(path = %path.display(), error = %e, "cannot watch a data folder; its edits need POST /api/system/restart");
                continue;
            }
        }
        now.push(path);
    }
    *watched = now;
}

/// The watched roots, as absolute paths (event paths are absolute).
struct Roots {
    app_yaml: PathBuf,
    code_root: PathBuf,
    config_root: PathBuf,
}

/// Starts watching and returns the watcher, which must be kept alive.
pub fn start(app: App, mode: WatchMode) -> notify::Result<Watcher> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Target>();
    let app_yaml = absolute(app.state.config_path());
    let app_dir = app_yaml
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let roots = Roots {
        app_yaml,
        code_root: absolute(&crate::plugin::manager::code_root(&app.state)),
        config_root: app_dir.join("plugins"),
    };
    let watch_code = roots.code_root.is_dir();
    let watch_config =
        roots.config_root.is_dir() && !roots.config_root.starts_with(&roots.code_root);
    tracing::info!(app_yaml = %roots.app_yaml.display(), plugins = %roots.code_root.display(), ?mode, "watching for edits");
    let (code_root, config_root) = (roots.code_root.clone(), roots.config_root.clone());
    let classifier = app.clone();
    let handler = move |res: DebounceEventResult| {
        let Ok(events) = res else { return };
        for ev in events {
            if matches!(ev.event.kind, EventKind::Access(_) | EventKind::Other) {
                continue;
            }
            for p in &ev.event.paths {
                let config_of = |folder: &str| {
                    absolute(&classifier.plugins.config_path_of(&classifier.state, folder))
                };
                if let Some(t) = classify(p, &roots, config_of) {
                    let _ = tx.send(t);
                } else if is_data(p, &data_roots(&classifier)) {
                    let _ = tx.send(Target::Data);
                }
            }
        }
    };
    let mut debouncer = match mode {
        WatchMode::Native => Backend::Native(new_debouncer(DEBOUNCE, None, handler)?),
        WatchMode::Poll(every) => Backend::Poll(new_debouncer_opt(
            DEBOUNCE,
            None,
            handler,
            NoCache,
            notify::Config::default()
                .with_poll_interval(every)
                .with_compare_contents(true),
        )?),
    };
    debouncer.watch(&app_dir, RecursiveMode::NonRecursive)?;
    if watch_code {
        debouncer.watch(&code_root, RecursiveMode::Recursive)?;
    }
    if watch_config {
        debouncer.watch(&config_root, RecursiveMode::Recursive)?;
    }
    let backend = Arc::new(Mutex::new(debouncer));
    let fixed = vec![app_dir.clone(), code_root.clone(), config_root.clone()];
    let mut watched_data = Vec::new();
    let mut roots_now = data_roots(&app);
    rewatch_data(&backend, &mut watched_data, &roots_now, &fixed);
    let rewatch = Arc::clone(&backend);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            // Everything that arrived together is applied once, app.yaml first.
            let mut targets = BTreeSet::from([first]);
            while let Ok(t) = rx.try_recv() {
                targets.insert(t);
            }
            for t in targets {
                match t {
                    Target::AppYaml => {
                        if let Err(e) = app.reload_if_changed().await {
                            tracing::error!(error = %e, "app.yaml edit refused; the running config is kept");
                        }
                    }
                    Target::Data => {
                        if let Err(e) = app.reload_data().await {
                            tracing::error!(error = %e, "topology, template or library edit refused; the running state is kept");
                        }
                    }
                    Target::Plugin(folder) => app.plugins.reload(&app.state, &folder).await,
                }
            }
            // An app.yaml change may have moved the data folders (or a missing one may
            // exist now).
            let roots = data_roots(&app);
            if roots != roots_now || watched_data.len() < roots.len() {
                rewatch_data(&rewatch, &mut watched_data, &roots, &fixed);
                roots_now = roots;
            }
        }
    });
    Ok(Watcher { _backend: backend })
}

/// Whether `p` is a file (or folder) of a data root: inside a data folder, or a data file
/// itself. Editor scratch files are not.
fn is_data(p: &Path, roots: &[PathBuf]) -> bool {
    let Some(name) = p.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    if name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") {
        return false;
    }
    roots
        .iter()
        .any(|r| p == r || (p.starts_with(r) && r.is_dir()))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// What an event on `p` may reload, if anything: app.yaml itself, a `.lua` file under a
/// plugin's code folder, or the file `config_of(folder)` names (the plugin's config file).
/// Data files, READMEs, logs and editor scratch files (`.x`, `x~`, `x.swp`) reload nothing.
fn classify(p: &Path, roots: &Roots, config_of: impl Fn(&str) -> PathBuf) -> Option<Target> {
    if p == roots.app_yaml {
        return Some(Target::AppYaml);
    }
    let name = p.file_name()?.to_string_lossy();
    if name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") {
        return None;
    }
    for (root, code) in [(&roots.code_root, true), (&roots.config_root, false)] {
        let Ok(rel) = p.strip_prefix(root) else {
            continue;
        };
        let mut parts = rel.components();
        let folder = parts.next()?.as_os_str().to_string_lossy().into_owned();
        parts.next()?; // a file inside the folder, not the folder itself
        let is_lua = code && p.extension().is_some_and(|x| x == "lua");
        if is_lua || p == config_of(&folder) {
            return Some(Target::Plugin(folder));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> Roots {
        Roots {
            app_yaml: PathBuf::from("/etc/rs/app.yaml"),
            code_root: PathBuf::from("/opt/rs/plugins"),
            config_root: PathBuf::from("/etc/rs/plugins"),
        }
    }

    fn config_of(folder: &str) -> PathBuf {
        PathBuf::from(format!("/etc/rs/plugins/{folder}/config.yml"))
    }

    fn class(p: &str) -> Option<Target> {
        classify(Path::new(p), &roots(), config_of)
    }

    #[test]
    fn watch_modes_parse() {
        assert_eq!("native".parse(), Ok(WatchMode::Native));
        assert_eq!("poll".parse(), Ok(WatchMode::Poll(Duration::from_secs(2))));
        assert_eq!(
            "poll:0.5".parse(),
            Ok(WatchMode::Poll(Duration::from_millis(500)))
        );
        for bad in ["", "inotify", "poll:", "poll:0", "poll:x", "native:1"] {
            assert!(bad.parse::<WatchMode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_code_config_and_app_yaml_can_reload() {
        assert_eq!(class("/etc/rs/app.yaml"), Some(Target::AppYaml));
        assert_eq!(
            class("/opt/rs/plugins/hello/init.lua"),
            Some(Target::Plugin("hello".into()))
        );
        assert_eq!(
            class("/opt/rs/plugins/hello/lib/util.lua"),
            Some(Target::Plugin("hello".into()))
        );
        assert_eq!(
            class("/etc/rs/plugins/hello/config.yml"),
            Some(Target::Plugin("hello".into()))
        );
        for quiet in [
            "/etc/rs/server.log",
            "/etc/rs/plugins/hello/notes.json",
            "/etc/rs/plugins/hello/overrides/overrides.yaml",
            "/opt/rs/plugins/hello/README.md",
            "/opt/rs/plugins/hello/.init.lua.swp",
            "/opt/rs/plugins/hello/init.lua~",
            "/opt/rs/plugins/hello",
            "/etc/rs/plugins/hello/x.lua",
        ] {
            assert_eq!(class(quiet), None, "{quiet}");
        }
    }
}
