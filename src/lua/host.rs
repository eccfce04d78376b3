//! The host a plugin's Lua API is built from: [`HostCtx`] is handed to
//! [`super::api::register`] as a value (as Kong's PDK builds each namespace with
//! `new(self)`), so no namespace imports the runtime that owns the plugin. The plugin
//! runtime (the `plugin` layer) builds one per instance; tests build one on a bare Lua state.
//!
//! What the API needs of the rest of the server comes through here: the running state
//! ([`AppState`]: config, topology, Prometheus), the main runtime for network IO, the
//! plugin runtime ([`PluginRuntime`]: other plugins' status maps, reload requests, scrape
//! listeners), and the instance's own config, limits, metrics registry, warnings and
//! [`Registrar`]. A test host (`rackscope plugin test`) adds [`TestHooks`]: its clock and
//! its fake Prometheus stand in for the real ones, and nothing else changes.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value as Json;

use super::registry::{Registrar, StatusMap};
use crate::config::plugin_file::PluginPaths;
use crate::metrics::MetricsRegistry;
use crate::prometheus::{CacheKind, PromError};
use crate::state::AppState;

/// Resource limits of one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes the Lua state may allocate.
    pub memory: usize,
    /// Lua instructions one call may run.
    pub instructions: u64,
    /// How long a route call may take, waiting included; then the client gets a 504 and
    /// the call is cancelled.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 256 << 20,
            instructions: 200_000_000,
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// The other loaded plugins and the runtime that runs them, as the API sees them.
pub trait PluginRuntime: Send + Sync {
    /// The status map `name` registered by any loaded plugin.
    fn status_map(&self, name: &str) -> Option<StatusMap>;
    /// Reloads the plugin in `folder` from disk even if no file changed (transactional,
    /// like any reload), in a task spawned at once on the `main` runtime: the new instance
    /// is built while the current call goes on, and the old one is shut down (after its
    /// in-flight calls) once the new one is in place.
    fn request_reload(&self, main: &tokio::runtime::Handle, state: AppState, folder: String);
    /// The address of the scrape listener open for the plugin in `folder`, if any.
    fn listener_addr(&self, folder: &str) -> Option<std::net::SocketAddr>;
}

/// No other plugins and no runtime to reload through (tests, tools).
pub struct NoRuntime;

impl PluginRuntime for NoRuntime {
    fn status_map(&self, _name: &str) -> Option<StatusMap> {
        None
    }

    fn request_reload(&self, _main: &tokio::runtime::Handle, _state: AppState, _folder: String) {}

    fn listener_addr(&self, _folder: &str) -> Option<std::net::SocketAddr> {
        None
    }
}

/// What a test host puts in place of the world outside a plugin (docs/architecture.md,
/// "The plugin test kit"): its clock, its fake Prometheus, and where the runtime's
/// background work runs. Handed to every instance a test loads; the server has none.
///
/// Everything else a plugin reaches (the sandbox, budgets, the API, the loading path, the
/// job loop, the HTTP dispatch) is the server's own code in a test too.
pub trait TestHooks: Send + Sync + std::fmt::Debug {
    /// Unix time in seconds on the test's clock (`rackscope.now()`).
    fn now(&self) -> f64;
    /// The fake Prometheus's answer to `call`: the `data` of a success answer, or the
    /// error the test set up. May wait on the test's clock (a slow answer, a timeout).
    fn prometheus(&self, call: PromCall) -> BoxFuture<'static, Result<Arc<Json>, PromError>>;
    /// Runs `task` at the top of the test's thread, outside any plugin instance (a reload
    /// a plugin asked for must outlive the instance that asked).
    fn spawn(&self, task: BoxFuture<'static, ()>);
}

/// One Prometheus call a plugin makes, as a test host's fake Prometheus sees it.
#[derive(Debug, Clone)]
pub struct PromCall {
    pub query: String,
    /// `(start, end, step)` of a range query; None for an instant query.
    pub range: Option<(f64, f64, String)>,
    /// The cache an instant query asked for.
    pub cache: CacheKind,
    /// `telemetry.prometheus_timeout_seconds`: how long a timeout takes.
    pub timeout: Duration,
}

/// Per-plugin host context the API functions capture.
pub struct HostCtx {
    pub state: AppState,
    /// The main runtime: network IO (Prometheus) runs there, not on the plugin thread.
    pub main: tokio::runtime::Handle,
    pub folder: String,
    pub plugin_id: RefCell<String>,
    /// The plugin's code folder (read-only: `rackscope.fs.read_bundled`), config folder
    /// (`rackscope.fs`) and config file. The config file is settled while `init.lua`
    /// loads (its `config_file`); the folders never change.
    pub paths: RefCell<PluginPaths>,
    pub config: RefCell<Json>,
    pub registrar: RefCell<Registrar>,
    pub limits: Limits,
    pub metrics: Arc<MetricsRegistry>,
    /// The other plugins (status maps across plugins) and the runtime (reload requests).
    pub runtime: Arc<dyn PluginRuntime>,
    /// Problems the plugin reports about itself (`rackscope.plugin.set_warning`).
    pub warnings: Warnings,
    /// Answers the plugin computed ahead (`rackscope.publish`), served without calling it.
    pub published: Published,
    /// A test host's clock and fakes; None in the server.
    pub hooks: Option<Arc<dyn TestHooks>>,
}

impl HostCtx {
    /// The context of a plugin instance about to load: nothing registered yet, an empty
    /// config (set once the config file is read), its own metrics registry.
    pub fn new(
        state: AppState,
        main: tokio::runtime::Handle,
        folder: &str,
        paths: PluginPaths,
        limits: Limits,
        runtime: Arc<dyn PluginRuntime>,
    ) -> HostCtx {
        HostCtx {
            state,
            main,
            folder: folder.to_string(),
            plugin_id: RefCell::new(folder.to_string()),
            paths: RefCell::new(paths),
            config: RefCell::new(Json::Object(Default::default())),
            registrar: RefCell::new(Registrar::default()),
            limits,
            metrics: Arc::new(MetricsRegistry::default()),
            runtime,
            warnings: Default::default(),
            published: Default::default(),
            hooks: None,
        }
    }

    /// Unix time in seconds: the test's clock under a test host, else the system's.
    pub fn now(&self) -> f64 {
        match &self.hooks {
            Some(h) => h.now(),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
        }
    }

    /// The plugin's code folder.
    pub fn code_dir(&self) -> PathBuf {
        self.paths.borrow().code_dir.clone()
    }

    /// The plugin's config folder.
    pub fn config_dir(&self) -> PathBuf {
        self.paths.borrow().config_dir.clone()
    }

    /// The plugin's config file.
    pub fn config_file(&self) -> PathBuf {
        self.paths.borrow().config_file.clone()
    }
}

/// An answer published with `rackscope.publish`.
#[derive(Debug, Clone)]
pub struct PublishedAnswer {
    /// The JSON body, encoded once.
    pub body: bytes::Bytes,
    /// Its gzip, made when a client that accepts gzip first asks for it.
    pub gzip: Arc<crate::gzip::Lazy>,
    /// On tokio's clock (the test's clock under a test host).
    pub expires: tokio::time::Instant,
}

/// Published answers by request path (with its query string), shared by the plugin thread
/// (writes) and the dispatcher (reads on every request to the plugin): a `parking_lot`
/// read-write lock, held only to look up or change the map.
pub type Published = Arc<parking_lot::RwLock<std::collections::HashMap<String, PublishedAnswer>>>;

/// The warnings of one plugin instance, by key. Written on the plugin thread and read by
/// API requests on other threads: a `parking_lot` mutex, held only to copy or change the
/// map, never across an await.
pub type Warnings = Arc<parking_lot::Mutex<std::collections::BTreeMap<String, String>>>;
