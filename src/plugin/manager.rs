//! The plugin manager: owns the published [`PluginSet`] and serialises every change to it.
//!
//! Every change (startup, enabling or disabling in app.yaml, a file edit, a config update)
//! builds the new plugin instance aside; only if it loads cleanly (and its routes collide
//! with no other plugin's) is a new set published with it, in one swap (D3). A failed load
//! keeps the old instance serving and records the error on the slot, where
//! `GET /api/plugins/{id}` shows it.
//!
//! Each load works the plugin's paths out once ([`discovery::paths_of`]) and hands them to
//! the instance; the manager keeps the set ([`super::set`]), the scrape listeners
//! ([`super::listener`]) and the fingerprints that tell a reload whether anything changed.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::{Map, Value};

use super::discovery::{self, enabled_folders, fingerprint};
use super::instance::{self, PluginHandle};
use super::listener::Listeners;
use super::load::{LoadError, LoadSpec};
use super::set::collision;
use crate::config::plugin_file::{self, PluginPaths};
use crate::lua::host::{Limits, PluginRuntime, TestHooks};
use crate::lua::registry::StatusMap;
use crate::metrics;
use crate::state::AppState;

// The HTTP layer and the file watcher name these through `manager`.
pub use super::discovery::code_root;
pub use super::set::{PluginSet, PluginSlot};

/// How long server shutdown waits for every plugin's `shutdown()`: in-flight jobs get
/// [`SHUTDOWN_DRAIN`] of it, the hooks the rest.
pub const SHUTDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);
const SHUTDOWN_DRAIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Owns the plugin set and serialises every change to it.
#[derive(Clone, Default)]
pub struct PluginManager {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    set: ArcSwap<PluginSet>,
    /// Serialises loads, reloads and reconciles. A tokio mutex: held across loads.
    change: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    /// Set once the first reconcile is done; requests that may need a plugin wait for it
    /// (`ready`), so the server can answer core routes while plugins are still loading.
    loaded: std::sync::atomic::AtomicBool,
    loaded_signal: tokio::sync::Notify,
    /// Plugin folders this process leaves off even when app.yaml enables them (one
    /// replica runs the plugins with timers and listeners; see docs/deployment.md).
    without: BTreeSet<String>,
    /// The scrape listeners plugins asked for, by folder.
    listeners: Listeners,
    /// Under a test host (`rackscope plugin test`): its clock and fakes, handed to every
    /// instance, which then runs on the test's thread; no scrape listener is opened (a
    /// test reads the registry), and reloads a plugin asks for run through the hooks.
    hooks: Option<Arc<dyn TestHooks>>,
}

/// Why `POST /api/plugins/{id}/config` did not apply.
#[derive(Debug, thiserror::Error)]
pub enum ConfigUpdateError {
    #[error("Plugin '{0}' not found")]
    NotFound(String),
    /// The plugin refused the merged config (422).
    #[error("{0}")]
    Rejected(String),
    #[error("Failed to read plugin config: {0}")]
    Read(plugin_file::PluginFileError),
    #[error("Failed to write plugin config: {0}")]
    Write(plugin_file::PluginFileError),
    /// The file kept changing under other writers (409).
    #[error("The plugin's config file keeps changing; retry")]
    Busy,
}

impl PluginManager {
    /// A manager that leaves the plugin folders in `without` off on this process.
    pub fn new(without: BTreeSet<String>) -> PluginManager {
        PluginManager {
            inner: Arc::new(Inner {
                without,
                ..Inner::default()
            }),
        }
    }

    /// A manager for a test host: every instance gets `hooks` and runs on the calling
    /// thread (inside its `LocalSet`), and no socket is opened.
    pub fn for_tests(hooks: Arc<dyn TestHooks>) -> PluginManager {
        PluginManager {
            inner: Arc::new(Inner {
                hooks: Some(hooks),
                ..Inner::default()
            }),
        }
    }

    pub fn current(&self) -> Arc<PluginSet> {
        self.inner.set.load_full()
    }

    /// Waits (at most `limit`) until the plugins enabled at startup have been loaded, then
    /// returns the current set.
    pub async fn loaded(&self, limit: std::time::Duration) -> Arc<PluginSet> {
        self.ready(limit).await;
        self.current()
    }

    /// Waits (at most `limit`) until the plugins enabled at startup have been loaded.
    pub async fn ready(&self, limit: std::time::Duration) {
        // Every request that may need a plugin calls this: once loaded, no timer is made.
        if self.inner.loaded.load(Ordering::SeqCst) {
            return;
        }
        let wait = async {
            loop {
                let signal = self.inner.loaded_signal.notified();
                if self.inner.loaded.load(Ordering::SeqCst) {
                    return;
                }
                signal.await;
            }
        };
        if tokio::time::timeout(limit, wait).await.is_err() {
            tracing::warn!(?limit, "plugins still loading; answering without them");
        }
    }

    /// Why a request for `path` finds no plugin route, when the path is under
    /// `/api/<folder>/` of a plugin folder that is present but has no running instance:
    /// disabled in app.yaml, left off on this process, or never loaded. None when that
    /// folder's plugin runs (a plain 404) or the path names no plugin folder.
    pub fn not_running(&self, state: &AppState, path: &str) -> Option<String> {
        let folder = path.strip_prefix("/api/")?.split('/').next()?;
        if !discovery::is_present(state, folder) {
            return None;
        }
        let set = self.current();
        if set
            .slot_by_folder(folder)
            .is_some_and(|s| s.handle.is_some())
        {
            return None;
        }
        Some(if self.inner.without.contains(folder) {
            format!("Plugin '{folder}' is left off on this server (--without-plugin)")
        } else if state.snapshot().config.plugin_enabled(folder) {
            format!("Plugin '{folder}' is not running (see GET /api/plugins/{folder})")
        } else {
            format!("Plugin '{folder}' is not enabled")
        })
    }

    /// The config file of the plugin in `folder`: the one its running instance uses, else
    /// the default location.
    pub fn config_path_of(&self, state: &AppState, folder: &str) -> PathBuf {
        let current = self.current();
        config_file_in_use(
            current.slot_by_folder(folder),
            &discovery::paths_of(state, folder),
        )
    }

    /// Brings the running plugins in line with app.yaml: loads newly enabled folders (and
    /// retries those that failed), reloads those whose limits changed, stops disabled
    /// ones, and tells the others the config changed. With `force`, every enabled plugin
    /// is rebuilt from disk (`POST /api/system/restart`); a failed rebuild keeps the old
    /// instance serving.
    pub async fn reconcile(&self, state: &AppState, force: bool) {
        let _guard = self.inner.change.lock().await;
        let snap = state.snapshot();
        let wanted = enabled_folders(state, &self.inner.without);
        let current = self.current();
        let attempts: Vec<Attempt> = wanted
            .iter()
            .map(|f| Attempt::new(state, f, current.slot_by_folder(f)))
            .collect();
        let mut slots: Vec<Option<PluginSlot>> = attempts
            .iter()
            .map(|a| {
                current
                    .slot_by_folder(a.folder)
                    .filter(|s| {
                        !force
                            && s.handle.as_ref().is_some_and(|h| {
                                h.limits == limits_for(state, a.folder)
                                    && s.fingerprint == a.fingerprint()
                            })
                    })
                    .cloned()
            })
            .collect();
        let kept: Vec<bool> = slots.iter().map(Option::is_some).collect();
        for (i, attempt) in attempts.into_iter().enumerate() {
            if slots[i].is_some() {
                continue;
            }
            let others: Vec<PluginSlot> = slots.iter().flatten().cloned().collect();
            let prev = current.slot_by_folder(attempt.folder);
            let new = self.load_slot(state, attempt, &others).await;
            slots[i] = Some(match prev {
                Some(old) => old.merge(new),
                None => new,
            });
        }
        let slots: Vec<PluginSlot> = slots.into_iter().flatten().collect();
        for old in &current.slots {
            if !wanted.contains(&old.folder) {
                if let Some(h) = &old.handle {
                    tracing::info!(plugin = %h.meta.id, "plugin disabled; stopping it");
                }
                self.inner.listeners.stop(&old.folder);
            }
        }
        let app_config = crate::config::view::redacted_json(&snap.config);
        for (s, was_kept) in slots.iter().zip(kept) {
            if let (Some(h), true) = (&s.handle, was_kept) {
                h.config_reloaded(app_config.clone());
            }
        }
        self.publish(slots);
        if !self.inner.loaded.swap(true, Ordering::SeqCst) {
            self.inner.loaded_signal.notify_waiters();
        }
    }

    /// Reloads one plugin from disk (a file changed). Unchanged files do nothing.
    pub async fn reload(&self, state: &AppState, folder: &str) {
        self.reload_inner(state, folder, false).await
    }

    /// Reloads one plugin from disk even if none of its files changed (the plugin asked
    /// with `rackscope.plugin.reload()`, to re-read its data files).
    pub async fn reload_forced(&self, state: &AppState, folder: &str) {
        self.reload_inner(state, folder, true).await
    }

    async fn reload_inner(&self, state: &AppState, folder: &str, force: bool) {
        let _guard = self.inner.change.lock().await;
        let current = self.current();
        let Some(pos) = current.slots.iter().position(|s| s.folder == folder) else {
            return;
        };
        let attempt = Attempt::new(state, folder, Some(&current.slots[pos]));
        if !force && attempt.fingerprint() == current.slots[pos].fingerprint {
            return;
        }
        let others = current.others_than(folder);
        let new_slot = self.load_slot(state, attempt, &others).await;
        let mut slots = current.slots.clone();
        slots[pos] = current.slots[pos].merge(new_slot);
        self.publish(slots);
    }

    /// Merges `update` into the plugin's config file, loads the plugin with the result
    /// aside, and only if it loads writes the file and swaps the new instance in.
    pub async fn update_config(
        &self,
        state: &AppState,
        id: &str,
        update: &Map<String, Value>,
    ) -> Result<Arc<PluginHandle>, ConfigUpdateError> {
        let _guard = self.inner.change.lock().await;
        let current = self.current();
        let pos = current
            .slots
            .iter()
            .position(|s| s.id() == id)
            .ok_or_else(|| ConfigUpdateError::NotFound(id.to_string()))?;
        let slot = &current.slots[pos];
        let others = current.others_than(&slot.folder);
        // Optimistic concurrency on the file: read under its lock, load the plugin with
        // the merge aside (without the lock: its setup may save its own config), then
        // write under the lock only if the file is still what was read. Otherwise another
        // writer (PUT /api/config, a plugin's config.save) got in between: merge again
        // over what it wrote, so no acknowledged write is ever lost.
        // A plugin that failed to load takes a config too: that is how a broken setting
        // is fixed through the API (the new config must load, as always).
        let attempt = Attempt {
            fallback: false,
            ..Attempt::new(state, &slot.folder, Some(slot))
        };
        let path = attempt.config_file.clone();
        let mut attempts = 0;
        let (new_slot, handle) = loop {
            attempts += 1;
            let stored = {
                let _file = crate::fsutil::lock_file(&path).await;
                plugin_file::read(&path).map_err(ConfigUpdateError::Read)?
            };
            let merged = plugin_file::merge(&stored.config, update);
            let with_merged = Attempt {
                config_override: Some(merged.clone()),
                ..attempt.clone()
            };
            let new_slot = self.load_slot(state, with_merged, &others).await;
            let Some(handle) = new_slot.handle.clone() else {
                return Err(ConfigUpdateError::Rejected(
                    new_slot.error.unwrap_or_default(),
                ));
            };
            let _file = crate::fsutil::lock_file(&path).await;
            let now = plugin_file::read(&path).map_err(ConfigUpdateError::Read)?;
            if now.config != stored.config {
                handle.shutdown();
                if attempts < 5 {
                    continue;
                }
                return Err(ConfigUpdateError::Busy);
            }
            if let Err(e) = plugin_file::write(&handle.config_path, &handle.meta.name, &merged) {
                handle.shutdown();
                return Err(ConfigUpdateError::Write(e));
            }
            break (new_slot, handle);
        };
        let mut slots = current.slots.clone();
        slots[pos] = PluginSlot {
            fingerprint: fingerprint(&attempt.paths.code_dir, &handle.config_path),
            ..new_slot
        };
        self.publish(slots);
        Ok(handle)
    }

    /// Loads the plugin in `folder` aside with `config` and stops it again: `Err` with the
    /// reason when it refuses it (`validate_config`, `setup`). A folder with no running
    /// instance has nothing to check against and passes.
    pub async fn trial(&self, state: &AppState, folder: &str, config: Value) -> Result<(), String> {
        let current = self.current();
        let Some(slot) = current.slot_by_folder(folder) else {
            return Ok(());
        };
        if slot.handle.is_none() {
            return Ok(());
        }
        let others = current.others_than(folder);
        let attempt = Attempt {
            config_override: Some(config),
            fallback: false,
            ..Attempt::new(state, folder, Some(slot))
        };
        let tried = self.load_slot(state, attempt, &others).await;
        match tried.handle {
            Some(trial) => {
                trial.shutdown();
                Ok(())
            }
            None => Err(tried.error.unwrap_or_default()),
        }
    }

    /// Stops every plugin (server shutdown) and waits, at most [`SHUTDOWN_LIMIT`], until
    /// each has run its `shutdown()` and exited.
    pub async fn shutdown_all(&self) {
        let _guard = self.inner.change.lock().await;
        let current = self.current();
        let handles: Vec<Arc<PluginHandle>> = current
            .slots
            .iter()
            .rev()
            .filter_map(|s| s.serving().cloned())
            .collect();
        for h in &handles {
            h.shutdown_within(SHUTDOWN_DRAIN);
        }
        self.inner.set.store(Arc::new(PluginSet::default()));
        self.inner.listeners.stop_all();
        let all = futures::future::join_all(handles.iter().map(|h| h.stopped()));
        if tokio::time::timeout(SHUTDOWN_LIMIT, all).await.is_err() {
            tracing::warn!(limit = ?SHUTDOWN_LIMIT, "some plugins did not finish shutdown() in time");
        }
    }

    /// Loads `attempt.folder` aside and returns the slot it would have: with the new
    /// handle, or with no handle and the error. Route collisions with `others` are load
    /// errors. With `attempt.fallback`, a failed load also loads the plugin's fallback
    /// (its `on_load_error`), for a slot that has no running instance to keep serving.
    async fn load_slot(
        &self,
        state: &AppState,
        attempt: Attempt<'_>,
        others: &[PluginSlot],
    ) -> PluginSlot {
        let folder = attempt.folder;
        let mut fp = attempt.fingerprint();
        let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let spec = LoadSpec {
            folder: folder.to_string(),
            paths: attempt.paths.clone(),
            config_override: attempt.config_override,
            limits: limits_for(state, folder),
            generation,
            fallback_for: None,
            hooks: self.inner.hooks.clone(),
        };
        let result = self.spawn_checked(state, spec.clone(), others).await;
        match result {
            Ok(h) => {
                tracing::info!(plugin = %h.meta.id, folder, generation, routes = h.routes.len(), "plugin loaded");
                if h.config_path != attempt.config_file {
                    // The plugin declared another config file than we assumed.
                    fp = fingerprint(&attempt.paths.code_dir, &h.config_path);
                }
                PluginSlot {
                    folder: folder.to_string(),
                    handle: Some(Arc::new(h)),
                    fallback: None,
                    error: None,
                    fingerprint: fp,
                }
            }
            Err(e) => {
                tracing::error!(folder, error = %e, "plugin failed to load");
                let error = e.to_string();
                let fallback = if attempt.fallback {
                    let spec = LoadSpec {
                        fallback_for: Some(headline(&error)),
                        config_override: None,
                        ..spec
                    };
                    match self.spawn_checked(state, spec, others).await {
                        Ok(h) => {
                            tracing::info!(plugin = %h.meta.id, folder, routes = h.routes.len(), "plugin fallback serving until the plugin loads");
                            Some(Arc::new(h))
                        }
                        Err(e) => {
                            tracing::debug!(folder, error = %e, "no plugin fallback");
                            None
                        }
                    }
                } else {
                    None
                };
                PluginSlot {
                    folder: folder.to_string(),
                    handle: None,
                    fallback,
                    error: Some(error),
                    fingerprint: fp,
                }
            }
        }
    }

    /// Spawns an instance for `spec`; a route or id colliding with `others` is a load error.
    async fn spawn_checked(
        &self,
        state: &AppState,
        spec: LoadSpec,
        others: &[PluginSlot],
    ) -> Result<PluginHandle, LoadError> {
        instance::spawn(spec, state.clone(), Arc::new(self.clone()))
            .await
            .and_then(|h| match collision(&h, others) {
                Some(msg) => {
                    h.shutdown();
                    Err(LoadError::Plugin(msg))
                }
                None => Ok(h),
            })
    }

    fn publish(&self, slots: Vec<PluginSlot>) {
        for s in &slots {
            self.ensure_listener(s);
        }
        // Swap first, then stop the replaced instances (those whose handle is not in the
        // new set): a request that finds a stopped instance then always finds its
        // replacement already published when it retries.
        let new = Arc::new(PluginSet::new(slots));
        let old = self.inner.set.swap(new.clone());
        let instances = |s: &PluginSlot| [s.handle.clone(), s.fallback.clone()];
        for oh in old.slots.iter().flat_map(instances).flatten() {
            let kept = new
                .slots
                .iter()
                .flat_map(instances)
                .flatten()
                .any(|h| Arc::ptr_eq(&h, &oh));
            if !kept {
                oh.shutdown();
            }
        }
    }

    /// Opens, keeps or closes the scrape listener `slot`'s instance asks for. A listener
    /// serves the registry of whatever instance is current for its folder, so a reload
    /// that keeps the address keeps the port open.
    fn ensure_listener(&self, slot: &PluginSlot) {
        if self.inner.hooks.is_some() {
            return; // A test host opens no socket: its tests read the registry.
        }
        let Some(h) = &slot.handle else { return };
        let current = || -> metrics::CurrentRegistry {
            let me = self.clone();
            let folder = slot.folder.clone();
            Arc::new(move || {
                me.current()
                    .slot_by_folder(&folder)
                    .and_then(|s| s.handle.as_ref().map(|h| h.metrics.clone()))
            })
        };
        self.inner
            .listeners
            .ensure(&slot.folder, &h.meta.id, h.metrics_listen, current);
    }
}

/// The plugins' API sees the other loaded plugins through the manager.
impl PluginRuntime for PluginManager {
    fn status_map(&self, name: &str) -> Option<StatusMap> {
        let set = self.current();
        set.slots
            .iter()
            .filter_map(|s| s.handle.as_ref())
            .find_map(|h| h.status_maps.get(name).cloned())
    }

    fn request_reload(&self, main: &tokio::runtime::Handle, state: AppState, folder: String) {
        let me = self.clone();
        let reload = async move { me.reload_forced(&state, &folder).await };
        match &self.inner.hooks {
            Some(hooks) => hooks.spawn(Box::pin(reload)),
            None => {
                main.spawn(reload);
            }
        }
    }

    fn listener_addr(&self, folder: &str) -> Option<std::net::SocketAddr> {
        if self.inner.hooks.is_some() {
            // No socket under a test host: the address asked for counts as open.
            return self
                .current()
                .slot_by_folder(folder)
                .and_then(|s| s.handle.as_ref())
                .and_then(|h| h.metrics_listen);
        }
        self.inner.listeners.open_addr(folder)
    }
}

/// What one load of a plugin folder starts from.
#[derive(Clone)]
struct Attempt<'a> {
    folder: &'a str,
    /// The plugin's paths, worked out once for this load and handed to the instance.
    paths: PluginPaths,
    /// The config file in use so far: the fingerprint is taken against it until the new
    /// instance says which one it reads.
    config_file: PathBuf,
    /// Load with this config instead of the file's (a config update, a trial).
    config_override: Option<Value>,
    /// On failure, also load the plugin's fallback: there is no running instance to keep
    /// serving.
    fallback: bool,
}

impl<'a> Attempt<'a> {
    /// A plain load of `folder` from disk, whose slot is `prev` (if it has one).
    fn new(state: &AppState, folder: &'a str, prev: Option<&PluginSlot>) -> Attempt<'a> {
        let paths = discovery::paths_of(state, folder);
        Attempt {
            folder,
            config_file: config_file_in_use(prev, &paths),
            paths,
            config_override: None,
            fallback: prev.is_none_or(|p| p.handle.is_none()),
        }
    }

    fn fingerprint(&self) -> u64 {
        fingerprint(&self.paths.code_dir, &self.config_file)
    }
}

/// The first line of a load error, without Lua's `runtime error: ` prefix: what a
/// plugin's `on_load_error` gets to show its users (the log has the traceback).
pub fn headline(error: &str) -> String {
    let first = error.lines().next().unwrap_or_default();
    first
        .strip_prefix("runtime error: ")
        .unwrap_or(first)
        .to_string()
}

/// The config file a load of `folder` is first compared against: the one the slot's
/// instance uses (the plugin may have declared its own), else the default one.
fn config_file_in_use(slot: Option<&PluginSlot>, paths: &PluginPaths) -> PathBuf {
    slot.and_then(PluginSlot::config_file)
        .unwrap_or_else(|| paths.config_file.clone())
}

/// Limits from `plugins.<folder>.memory_limit_mb`, `.instruction_limit` and
/// `.request_timeout_seconds`, else defaults.
pub fn limits_for(state: &AppState, folder: &str) -> Limits {
    let snap = state.snapshot();
    let mut l = Limits::default();
    if let Some(m) = snap.config.plugins.get(folder) {
        if let Some(mb) = m.get("memory_limit_mb").and_then(Value::as_u64) {
            l.memory = (mb as usize).max(1) << 20;
        }
        if let Some(n) = m.get("instruction_limit").and_then(Value::as_u64) {
            l.instructions = n.max(1_000);
        }
        if let Some(s) = m.get("request_timeout_seconds").and_then(Value::as_f64) {
            if s.is_finite() && s > 0.0 {
                l.request_timeout = std::time::Duration::from_secs_f64(s.min(3600.0));
            }
        }
    }
    l
}
