//! The running state of the server and the one path that changes it.
//!
//! Everything a request reads (config, topology, index, catalog, checks and metrics
//! libraries, the encoded read views) lives in one immutable
//! [`Snapshot`] behind an [`ArcSwap`]: readers take a cheap `Arc` and never block, and a
//! change builds a whole new snapshot aside, then swaps it in at once. A failed build
//! leaves the old snapshot serving untouched.
//!
//! Changes come from `PUT /api/config`, `POST /api/system/restart` and edits of app.yaml
//! on disk; [`AppState::write_lock`] serialises them, together with every write of
//! app.yaml, so two writers can never interleave a file or swap in an older state.
//!
//! This layer knows nothing of plugins: the `app` layer drives the plugin runtime after each
//! change of the state.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::config::{self, plugin_file, AppConfig, ConfigLoadError, Paths};
use crate::fsutil;
use crate::library::{load_checks, load_metrics, ChecksLibrary, MetricsLibrary};
use crate::prometheus::{PromClient, PromSettings};
use crate::topology::{self, Catalog, Topology, TopologyError, TopologyIndex};
use crate::views::Views;

/// Prometheus URL used while `telemetry.prometheus_url` is null and `PROMETHEUS_URL` is unset.
pub const DEFAULT_PROMETHEUS_URL: &str = "http://127.0.0.1:9090";

/// One consistent view of the running state. Never mutated once published.
#[derive(Debug)]
pub struct Snapshot {
    /// The config as written in app.yaml (relative paths unresolved, secrets included).
    pub config: Arc<AppConfig>,
    /// `config.paths` resolved against the app.yaml directory (docs/architecture.md, compatibility C2).
    pub paths: Paths,
    pub topology: Arc<Topology>,
    pub index: Arc<TopologyIndex>,
    pub catalog: Arc<Catalog>,
    /// The checks library (`paths.checks`), loaded with the topology.
    pub checks: Arc<ChecksLibrary>,
    /// The metrics library (`paths.metrics`), loaded with the topology.
    pub metrics: Arc<MetricsLibrary>,
    /// The read views' answers, encoded once for this topology, catalog and libraries.
    pub views: Arc<Views>,
    /// What the health engine works from: the compiled checks, the topology by index and
    /// each check's targets, the planner settings.
    pub health: Arc<crate::health::Inputs>,
    /// Increases by one on every successful swap.
    pub generation: u64,
    pub loaded_at: SystemTime,
}

impl Snapshot {
    /// The same loaded state under another config, for changes that name no file to load
    /// (credentials): topology, index and catalog are shared, the generation moves on.
    pub fn with_config(&self, config: AppConfig) -> Snapshot {
        Snapshot {
            config: Arc::new(config),
            paths: self.paths.clone(),
            topology: Arc::clone(&self.topology),
            index: Arc::clone(&self.index),
            catalog: Arc::clone(&self.catalog),
            checks: Arc::clone(&self.checks),
            metrics: Arc::clone(&self.metrics),
            views: Arc::clone(&self.views),
            health: Arc::clone(&self.health),
            generation: self.generation + 1,
            loaded_at: SystemTime::now(),
        }
    }
}

/// Why a new state could not be built. The running state is untouched when this happens.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] ConfigLoadError),
    #[error("Topology path not found: {0}")]
    TopologyNotFound(PathBuf),
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// The loader itself failed (a panic in blocking work): a bug, reported not crashed.
    #[error("internal error while loading: {0}")]
    Internal(String),
}

/// Shared handle to the running state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// Path of app.yaml: `--config`, else `RACKSCOPE_APP_CONFIG`, else `config/app.yaml`.
    config_path: PathBuf,
    snapshot: ArcSwap<Snapshot>,
    /// Serialises state changes and app.yaml writes. A tokio mutex because holders await
    /// blocking file work (`spawn_blocking`) while holding it.
    write_lock: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    prometheus: PromClient,
    /// The health engine: its loop (started by the server) recomputes from the current
    /// snapshot's `health` inputs; requests read its answers.
    health: crate::health::HealthEngine,
    /// Hash of the app.yaml content last loaded or written, so the file watcher can tell
    /// our own writes (and editor no-ops) from real edits.
    app_yaml_hash: AtomicU64,
}

impl AppState {
    /// Loads app.yaml and everything it names. Any problem is an error: the server refuses
    /// to start rather than serve an empty topology with auth silently off.
    pub fn load(config_path: &Path) -> Result<AppState, BuildError> {
        let cfg = config::load_file(config_path)?;
        let snapshot = build_snapshot(cfg, config_path, 1)?;
        let settings = PromSettings::from_config(&snapshot.config, &fallback_prometheus_url());
        let prometheus = PromClient::new(settings).map_err(|e| {
            BuildError::Config(ConfigLoadError::Parse {
                path: config_path.to_path_buf(),
                line: None,
                message: format!("telemetry: {e}"),
            })
        })?;
        Ok(AppState {
            inner: Arc::new(Inner {
                config_path: config_path.to_path_buf(),
                snapshot: ArcSwap::from_pointee(snapshot),
                write_lock: tokio::sync::Mutex::new(()),
                generation: AtomicU64::new(1),
                prometheus,
                health: crate::health::HealthEngine::new(config_path),
                app_yaml_hash: AtomicU64::new(file_hash(config_path)),
            }),
        })
    }

    /// The current snapshot. Cheap; never blocks.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.load_full()
    }

    pub fn config_path(&self) -> &Path {
        &self.inner.config_path
    }

    pub fn prometheus(&self) -> &PromClient {
        &self.inner.prometheus
    }

    pub fn health(&self) -> &crate::health::HealthEngine {
        &self.inner.health
    }

    /// The lock that serialises state changes and config file writes.
    pub fn write_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.inner.write_lock
    }

    /// Builds a snapshot for `cfg` off the async runtime. Does not publish it.
    pub async fn build(&self, cfg: AppConfig) -> Result<Snapshot, BuildError> {
        let path = self.inner.config_path.clone();
        let generation = self.inner.generation.load(Ordering::SeqCst) + 1;
        run_blocking(move || build_snapshot(cfg, &path, generation))
            .await
            .map_err(BuildError::Internal)?
    }

    /// Publishes `snapshot` and reconfigures the services that depend on the config.
    /// Call with the write lock held.
    pub fn publish(&self, snapshot: Snapshot) {
        let settings = PromSettings::from_config(&snapshot.config, &fallback_prometheus_url());
        if let Err(e) = self.inner.prometheus.reconfigure(settings) {
            // The config validated, so only an unreadable TLS file gets here; keep the old client.
            tracing::warn!(error = %e, "Prometheus client not reconfigured");
        }
        self.inner
            .generation
            .store(snapshot.generation, Ordering::SeqCst);
        tracing::info!(
            generation = snapshot.generation,
            instances = snapshot.index.instance_count(),
            "state published"
        );
        let health_changed = !Arc::ptr_eq(&self.inner.snapshot.load().health, &snapshot.health);
        self.inner.snapshot.store(Arc::new(snapshot));
        if health_changed {
            // New topology, checks or planner settings: recompute now.
            self.inner.health.poke();
        }
    }

    /// Re-reads app.yaml and everything it names, and swaps the result in. On failure the
    /// running state is kept and the error returned. Plugins are the caller's to bring in
    /// line afterwards (the `app` layer does).
    pub async fn reload_from_disk(&self) -> Result<u64, BuildError> {
        let _guard = self.inner.write_lock.lock().await;
        let path = self.inner.config_path.clone();
        let hash = file_hash(&path);
        let cfg = run_blocking(move || config::load_file(&path))
            .await
            .map_err(BuildError::Internal)??;
        let snapshot = self.build(cfg).await?;
        let generation = snapshot.generation;
        self.publish(snapshot);
        self.inner.app_yaml_hash.store(hash, Ordering::SeqCst);
        Ok(generation)
    }

    /// Rebuilds the state from the running config (topology, templates, checks and
    /// metrics re-read from disk, app.yaml not) and swaps it in: an edit of those files.
    /// On failure the running state is kept and the error returned.
    pub async fn reload_data(&self) -> Result<u64, BuildError> {
        let _guard = self.inner.write_lock.lock().await;
        let cfg = (*self.snapshot().config).clone();
        let snapshot = self.build(cfg).await?;
        let generation = snapshot.generation;
        self.publish(snapshot);
        Ok(generation)
    }

    /// True when app.yaml's content differs from what was last loaded or written (our own
    /// writes and editor no-ops are not changes).
    pub fn app_yaml_changed(&self) -> bool {
        file_hash(&self.inner.config_path) != self.inner.app_yaml_hash.load(Ordering::SeqCst)
    }

    /// Records that app.yaml was just written by us (so the file watcher does not reload
    /// it again). Call with the write lock held, right after the write.
    pub fn note_app_yaml_written(&self) {
        self.inner
            .app_yaml_hash
            .store(file_hash(&self.inner.config_path), Ordering::SeqCst);
    }

    /// Validated config -> built -> written to app.yaml -> published, in that order, so a
    /// refused config changes nothing and a failed write leaves memory as it was.
    /// The caller holds the write lock, and brings plugins in line afterwards.
    ///
    /// `plugin_settings` are settings for plugins' own config files (path, settings), as
    /// [`plugin_file::split_plugin_settings`] took them out of `cfg`: each is merged into
    /// its file under that file's lock and written before app.yaml, so the plugins that
    /// reload afterwards read them, never after.
    pub async fn apply_and_write(
        &self,
        cfg: AppConfig,
        plugin_settings: Vec<(PathBuf, String, serde_json::Map<String, serde_json::Value>)>,
    ) -> Result<Arc<Snapshot>, ApplyError> {
        let snapshot = self.build(cfg).await.map_err(ApplyError::Build)?;
        // What each plugin file held before, to put back if app.yaml cannot be written:
        // a refused request leaves every file as it was.
        let mut written: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
        let restore = |written: &[(PathBuf, Option<Vec<u8>>)]| {
            for (path, old) in written {
                let undone = match old {
                    Some(bytes) => fsutil::write_atomic(path, bytes),
                    None => std::fs::remove_file(path),
                };
                if let Err(e) = undone {
                    tracing::error!(path = %path.display(), error = %e, "cannot restore a plugin config file");
                }
            }
        };
        // Read, merge and write under each file's lock, held until app.yaml is written too:
        // a concurrent `POST /api/plugins/{id}/config` cannot slip in between and be lost,
        // nor be undone by a restore. Nothing else holds two of these locks at once.
        let mut locks = Vec::with_capacity(plugin_settings.len());
        for (path, folder, settings) in plugin_settings {
            if written.iter().any(|(p, _)| *p == path) {
                restore(&written);
                return Err(ApplyError::Write(std::io::Error::other(format!(
                    "two plugins share the config file {}",
                    path.display()
                ))));
            }
            locks.push(fsutil::lock_file(&path).await);
            let old = std::fs::read(&path).ok();
            let result = plugin_file::read(&path)
                .map(|cur| plugin_file::merge(&cur.config, &settings))
                .and_then(|merged| plugin_file::write(&path, &folder, &merged));
            if let Err(e) = result {
                restore(&written);
                return Err(ApplyError::Write(std::io::Error::other(e)));
            }
            written.push((path, old));
        }
        let path = self.inner.config_path.clone();
        let cfg = Arc::clone(&snapshot.config);
        let app_yaml = run_blocking(move || match app_yaml_text(&path, &cfg) {
            Some(text) => fsutil::write_atomic(&path, text.as_bytes()),
            None => Ok(()),
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
        if let Err(e) = app_yaml {
            restore(&written);
            return Err(ApplyError::Write(e));
        }
        drop(locks);
        self.note_app_yaml_written();
        self.publish(snapshot);
        Ok(self.snapshot())
    }
}

/// Why `apply_and_write` did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Build(BuildError),
    /// A running plugin refused the settings sent for it (422).
    #[error("Plugin '{folder}' refused its settings: {reason}")]
    PluginRefused { folder: String, reason: String },
    #[error("Failed to write config: {0}")]
    Write(std::io::Error),
}

/// The new text of app.yaml for `cfg`, or `None` when the file already says exactly that.
///
/// The file's own text is edited ([`config::edit`]): only the values that differ between
/// what the file says and `cfg` change, so keys the admin left out stay out, comments stay,
/// and a save that changes nothing writes nothing. Only when the file cannot be read or
/// validated, or the edit would not reload as `cfg`, is it rewritten whole.
fn app_yaml_text(path: &Path, cfg: &AppConfig) -> Option<String> {
    let relaxed = config::Options {
        require_hash_when_auth_enabled: false,
    };
    let reloads_as = |text: &str| {
        config::parse_yaml_str(text, path)
            .ok()
            .and_then(|doc| config::validate_with(&doc, relaxed).ok())
            .is_some_and(|c| &c == cfg)
    };
    let edited = std::fs::read_to_string(path).ok().and_then(|text| {
        let doc = config::parse_yaml_str(&text, path).ok()?;
        let on_disk = config::validate_with(&doc, relaxed).ok()?;
        let changes = config::edit::diff(
            &config::view::full_json(&on_disk),
            &config::view::full_json(cfg),
        );
        if changes.is_empty() {
            return Some(None);
        }
        let new = config::edit::apply(&text, &changes).ok()?;
        reloads_as(&new).then_some(Some(new))
    });
    match edited {
        Some(text) => text,
        None => Some(config::view::file_yaml(cfg)),
    }
}

/// A hash of a file's content (0 when unreadable).
fn file_hash(path: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::read(path).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// `PROMETHEUS_URL`, else [`DEFAULT_PROMETHEUS_URL`].
pub fn fallback_prometheus_url() -> String {
    std::env::var("PROMETHEUS_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PROMETHEUS_URL.to_string())
}

/// Loads topology, catalog, index, checks and metrics libraries for `cfg`, and encodes
/// the read views. Blocking file IO.
pub fn build_snapshot(
    cfg: AppConfig,
    config_path: &Path,
    generation: u64,
) -> Result<Snapshot, BuildError> {
    let mut resolved = cfg.clone();
    config::resolve_paths(&mut resolved, config_path);
    let paths = resolved.paths;
    let topo_path = PathBuf::from(&paths.topology);
    if !topo_path.exists() {
        return Err(BuildError::TopologyNotFound(topo_path));
    }
    let topology = topology::load_topology(&topo_path)?;
    let (catalog, warnings) = topology::load_catalog(Path::new(&paths.templates));
    for w in &warnings {
        tracing::warn!(templates = %paths.templates, "{w}");
    }
    let index = TopologyIndex::build(&topology)?;
    let checks = load_checks(Path::new(&paths.checks));
    let metrics = load_metrics(Path::new(&paths.metrics));
    let views = Views::build(&topology, &catalog, &checks, &metrics);
    let health = crate::health::inputs(generation, &cfg, &topology, &catalog, &checks, &metrics);
    Ok(Snapshot {
        config: Arc::new(cfg),
        paths,
        topology: Arc::new(topology),
        index: Arc::new(index),
        catalog: Arc::new(catalog),
        checks: Arc::new(checks),
        metrics: Arc::new(metrics),
        views: Arc::new(views),
        health: Arc::new(health),
        generation,
        loaded_at: SystemTime::now(),
    })
}

/// Runs blocking work on tokio's blocking pool; a panic there becomes an error message
/// for the caller instead of taking the request (or the server) down.
async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("background task failed: {e}"))
}
