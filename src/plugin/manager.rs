//! Discovery, enabling and transactional reload of plugins, and the published
//! [`PluginSet`] that requests read.
//!
//! The set is immutable once published (behind an `ArcSwap`): a request takes a
//! snapshot and never blocks. Every change (startup, enabling or disabling in app.yaml,
//! a file edit, a config update) builds the new plugin instance aside; only if it loads
//! cleanly (and its routes collide with no other plugin's) is a new set published with
//! it, in one swap (D3). A failed load keeps the old instance serving and records the
//! error on the slot, where `GET /api/plugins/{id}` shows it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::{Map, Value};

use super::instance::{self, Limits, LoadSpec, PluginHandle};
use super::MenuSection;
use crate::config::plugin_file;
use crate::lua::host::PluginRuntime;
use crate::lua::registry::StatusMap;
use crate::lua::routes::PathPattern;
use crate::metrics;
use crate::state::AppState;

/// How long `GET /api/plugins/menu` waits for a plugin's menu functions.
pub const MENU_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long server shutdown waits for every plugin's `shutdown()`: in-flight jobs get
/// [`SHUTDOWN_DRAIN`] of it, the hooks the rest.
pub const SHUTDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);
const SHUTDOWN_DRAIN: std::time::Duration = std::time::Duration::from_secs(3);

/// One plugin folder that is enabled: its running instance (if any) and its last error.
#[derive(Debug, Clone)]
pub struct PluginSlot {
    pub folder: String,
    pub handle: Option<Arc<PluginHandle>>,
    /// While there is no running instance: the plugin's fallback, what its
    /// `on_load_error(error, config)` registered (routes that explain the failure, its
    /// menu), if it has one. Never set beside a running instance.
    pub fallback: Option<Arc<PluginHandle>>,
    /// The last load error; cleared by the next successful load.
    pub error: Option<String>,
    /// Content fingerprint of the plugin's files at the last load attempt.
    pub fingerprint: u64,
}

impl PluginSlot {
    /// The id the API knows it by: the plugin's declared id, or its folder while it has
    /// never loaded.
    pub fn id(&self) -> &str {
        self.serving()
            .map(|h| h.meta.id.as_str())
            .unwrap_or(&self.folder)
    }

    /// The instance that answers the slot's routes: the running one, else the fallback.
    pub fn serving(&self) -> Option<&Arc<PluginHandle>> {
        self.handle.as_ref().or(self.fallback.as_ref())
    }
}

/// Everything requests need about plugins, published atomically.
#[derive(Debug, Default)]
pub struct PluginSet {
    /// Sorted by folder name (the discovery order).
    pub slots: Vec<PluginSlot>,
    /// (method, pattern, slot index, route index), most specific first.
    routes: Vec<(String, PathPattern, usize, usize)>,
}

/// Where a request goes.
pub struct RouteMatch {
    pub handle: Arc<PluginHandle>,
    pub index: usize,
    pub params: BTreeMap<String, String>,
}

impl PluginSet {
    fn new(slots: Vec<PluginSlot>) -> PluginSet {
        let mut routes = Vec::new();
        for (si, slot) in slots.iter().enumerate() {
            if let Some(h) = slot.serving() {
                for (ri, r) in h.routes.iter().enumerate() {
                    routes.push((r.method.clone(), r.pattern.clone(), si, ri));
                }
            }
        }
        routes.sort_by_key(|r| std::cmp::Reverse(r.1.specificity()));
        PluginSet { slots, routes }
    }

    pub fn slot(&self, id: &str) -> Option<&PluginSlot> {
        self.slots.iter().find(|s| s.id() == id)
    }

    fn slot_by_folder(&self, folder: &str) -> Option<&PluginSlot> {
        self.slots.iter().find(|s| s.folder == folder)
    }

    /// Every slot but the one of `folder`: what a plugin loaded there must not collide with.
    fn others_than(&self, folder: &str) -> Vec<PluginSlot> {
        self.slots
            .iter()
            .filter(|s| s.folder != folder)
            .cloned()
            .collect()
    }

    /// The route for `method path`; `Err(true)` when the path exists under another
    /// method (405), `Err(false)` when nothing matches (404).
    pub fn find_route(&self, method: &str, path: &str) -> Result<RouteMatch, bool> {
        let mut other_method = false;
        for (m, pattern, si, ri) in &self.routes {
            if let Some(params) = pattern.matches(path) {
                if m == method || (method == "HEAD" && m == "GET") {
                    if let Some(h) = self.slots[*si].serving() {
                        return Ok(RouteMatch {
                            handle: h.clone(),
                            index: *ri,
                            params,
                        });
                    }
                }
                other_method = true;
            }
        }
        Err(other_method)
    }

    /// Every loaded plugin's menu sections, sorted by `order` then id. Plugins are asked
    /// concurrently; one whose menu functions take longer than [`MENU_LIMIT`] is left out
    /// (and logged), so a slow plugin never holds the sidebar.
    pub async fn menu(&self) -> Vec<MenuSection> {
        let asks = self
            .slots
            .iter()
            .filter_map(PluginSlot::serving)
            .map(|h| h.menu(MENU_LIMIT));
        let mut out: Vec<MenuSection> = futures::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .collect();
        out.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id)));
        out
    }
}

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
    /// Scrape listeners by plugin folder. A std mutex: never held across an await.
    listeners: parking_lot::Mutex<HashMap<String, Listener>>,
}

/// A plugin's scrape listener: the address it asked for, whether it is bound yet, and the
/// task that binds it (retrying while the address is taken) and then serves it.
struct Listener {
    addr: std::net::SocketAddr,
    open: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

/// How often a scrape listener whose address is taken tries again.
const LISTENER_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

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

/// `^[a-z0-9][a-z0-9._-]{0,127}$`: the safe-id rule for plugin ids and folders.
pub fn is_safe_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
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
        if !is_safe_id(folder) || !code_root(state).join(folder).join("init.lua").is_file() {
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
        self.current()
            .slot_by_folder(folder)
            .and_then(slot_config_path)
            .unwrap_or_else(|| {
                plugin_file::config_dir(state.config_path(), folder)
                    .join(plugin_file::DEFAULT_CONFIG_FILE)
            })
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
        let mut slots: Vec<Option<PluginSlot>> = wanted
            .iter()
            .map(|f| {
                current
                    .slot_by_folder(f)
                    .filter(|s| {
                        !force
                            && s.handle.as_ref().is_some_and(|h| {
                                h.limits == limits_for(state, f)
                                    && s.fingerprint == fingerprint(state, f, Some(&h.config_path))
                            })
                    })
                    .cloned()
            })
            .collect();
        let kept: Vec<bool> = slots.iter().map(Option::is_some).collect();
        for (i, folder) in wanted.iter().enumerate() {
            if slots[i].is_some() {
                continue;
            }
            let others: Vec<PluginSlot> = slots.iter().flatten().cloned().collect();
            let prev = current.slot_by_folder(folder);
            let new = self
                .load_slot(
                    state,
                    folder,
                    None,
                    &others,
                    prev.and_then(slot_config_path),
                    prev.is_none_or(|p| p.handle.is_none()),
                )
                .await;
            slots[i] = Some(match prev {
                Some(old) => merge_slot(old, new),
                None => new,
            });
        }
        let slots: Vec<PluginSlot> = slots.into_iter().flatten().collect();
        for old in &current.slots {
            if !wanted.contains(&old.folder) {
                if let Some(h) = &old.handle {
                    tracing::info!(plugin = %h.meta.id, "plugin disabled; stopping it");
                }
                self.stop_listener(&old.folder);
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
    /// with `rackscope.reload()`, to re-read its data files).
    pub async fn reload_forced(&self, state: &AppState, folder: &str) {
        self.reload_inner(state, folder, true).await
    }

    async fn reload_inner(&self, state: &AppState, folder: &str, force: bool) {
        let _guard = self.inner.change.lock().await;
        let current = self.current();
        let Some(pos) = current.slots.iter().position(|s| s.folder == folder) else {
            return;
        };
        let prev_config = slot_config_path(&current.slots[pos]);
        let fp = fingerprint(state, folder, prev_config.as_deref());
        if !force && fp == current.slots[pos].fingerprint {
            return;
        }
        let others = current.others_than(folder);
        let no_instance = current.slots[pos].handle.is_none();
        let new_slot = self
            .load_slot(state, folder, None, &others, prev_config, no_instance)
            .await;
        let mut slots = current.slots.clone();
        slots[pos] = merge_slot(&current.slots[pos], new_slot);
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
        let path = slot_config_path(slot).unwrap_or_else(|| {
            plugin_file::config_dir(state.config_path(), &slot.folder)
                .join(plugin_file::DEFAULT_CONFIG_FILE)
        });
        let mut attempts = 0;
        let (new_slot, handle) = loop {
            attempts += 1;
            let stored = {
                let _file = crate::fsutil::lock_file(&path).await;
                plugin_file::read(&path).map_err(ConfigUpdateError::Read)?
            };
            let merged = plugin_file::merge(&stored.config, update);
            let new_slot = self
                .load_slot(
                    state,
                    &slot.folder,
                    Some(merged.clone()),
                    &others,
                    Some(path.clone()),
                    false,
                )
                .await;
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
            fingerprint: fingerprint(state, &slot.folder, Some(&handle.config_path)),
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
        let Some(h) = &slot.handle else {
            return Ok(());
        };
        let others = current.others_than(folder);
        let tried = self
            .load_slot(
                state,
                folder,
                Some(config),
                &others,
                Some(h.config_path.clone()),
                false,
            )
            .await;
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
        for (_, l) in self.inner.listeners.lock().drain() {
            l.task.abort();
        }
        let all = futures::future::join_all(handles.iter().map(|h| h.stopped()));
        if tokio::time::timeout(SHUTDOWN_LIMIT, all).await.is_err() {
            tracing::warn!(limit = ?SHUTDOWN_LIMIT, "some plugins did not finish shutdown() in time");
        }
    }

    /// Loads `folder` aside and returns the slot it would have: with the new handle, or
    /// with no handle and the error. Route collisions with `others` are load errors.
    /// With `fallback`, a failed load also loads the plugin's fallback (its
    /// `on_load_error`), for a slot that has no running instance to keep serving.
    async fn load_slot(
        &self,
        state: &AppState,
        folder: &str,
        config_override: Option<Value>,
        others: &[PluginSlot],
        prev_config: Option<PathBuf>,
        fallback: bool,
    ) -> PluginSlot {
        let mut fp = fingerprint(state, folder, prev_config.as_deref());
        let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let spec = LoadSpec {
            folder: folder.to_string(),
            code_dir: code_root(state).join(folder),
            config_dir: plugin_file::config_dir(state.config_path(), folder),
            config_override,
            limits: limits_for(state, folder),
            generation,
            fallback_for: None,
        };
        let result = self.spawn_checked(state, spec.clone(), others).await;
        match result {
            Ok(h) => {
                tracing::info!(plugin = %h.meta.id, folder, generation, routes = h.routes.len(), "plugin loaded");
                if prev_config.as_deref() != Some(h.config_path.as_path()) {
                    // The plugin declared another config file than we assumed.
                    fp = fingerprint(state, folder, Some(&h.config_path));
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
                let fallback = if fallback {
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
    ) -> Result<PluginHandle, instance::LoadError> {
        instance::spawn(spec, state.clone(), Arc::new(self.clone()))
            .await
            .and_then(|h| match collision(&h, others) {
                Some(msg) => {
                    h.shutdown();
                    Err(instance::LoadError::Plugin(msg))
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

    fn ensure_listener(&self, slot: &PluginSlot) {
        let Some(h) = &slot.handle else { return };
        let mut listeners = self.inner.listeners.lock();
        match (h.metrics_listen, listeners.get(&slot.folder)) {
            (Some(addr), Some(cur)) if cur.addr == addr => {}
            (Some(addr), _) => {
                if let Some(old) = listeners.remove(&slot.folder) {
                    old.task.abort();
                }
                let me = self.clone();
                let folder = slot.folder.clone();
                let current: metrics::CurrentRegistry = Arc::new(move || {
                    me.current()
                        .slot_by_folder(&folder)
                        .and_then(|s| s.handle.as_ref().map(|h| h.metrics.clone()))
                });
                let open = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let task = tokio::spawn(bind_and_serve(
                    h.meta.id.clone(),
                    addr,
                    open.clone(),
                    current,
                ));
                listeners.insert(slot.folder.clone(), Listener { addr, open, task });
            }
            (None, Some(_)) => {
                if let Some(old) = listeners.remove(&slot.folder) {
                    old.task.abort();
                }
            }
            (None, None) => {}
        }
    }

    fn stop_listener(&self, folder: &str) {
        if let Some(l) = self.inner.listeners.lock().remove(folder) {
            l.task.abort();
        }
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
        main.spawn(async move { me.reload_forced(&state, &folder).await });
    }

    fn listener_addr(&self, folder: &str) -> Option<std::net::SocketAddr> {
        self.inner
            .listeners
            .lock()
            .get(folder)
            .filter(|l| l.open.load(Ordering::SeqCst))
            .map(|l| l.addr)
    }
}

/// Binds a plugin's scrape listener and serves it. An address that is taken (another
/// process still holds it, say, during a restart) is logged once and tried again every
/// [`LISTENER_RETRY`], until it is free or the plugin stops asking for it.
async fn bind_and_serve(
    plugin: String,
    addr: std::net::SocketAddr,
    open: Arc<std::sync::atomic::AtomicBool>,
    current: metrics::CurrentRegistry,
) {
    let mut attempts = 0u32;
    let listener = loop {
        attempts += 1;
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) => {
                if attempts == 1 {
                    tracing::error!(%plugin, %addr, error = %e, "cannot open metrics listener; trying again every {} s", LISTENER_RETRY.as_secs());
                }
                tokio::time::sleep(LISTENER_RETRY).await;
            }
        }
    };
    open.store(true, Ordering::SeqCst);
    tracing::info!(%plugin, %addr, attempts, "metrics listener open");
    metrics::serve(listener, current).await;
}

/// The first line of a load error, without Lua's `runtime error: ` prefix: what a
/// plugin's `on_load_error` gets to show its users (the log has the traceback).
fn headline(error: &str) -> String {
    let first = error.lines().next().unwrap_or_default();
    first
        .strip_prefix("runtime error: ")
        .unwrap_or(first)
        .to_string()
}

/// A failed reload keeps the old running instance (and records the error); without one,
/// the new slot (error and fallback) replaces the old.
fn merge_slot(old: &PluginSlot, new: PluginSlot) -> PluginSlot {
    if new.handle.is_some() || old.handle.is_none() {
        new
    } else {
        PluginSlot {
            handle: old.handle.clone(),
            fallback: None,
            ..new
        }
    }
}

fn collision(h: &PluginHandle, others: &[PluginSlot]) -> Option<String> {
    for o in others {
        let Some(oh) = o.serving() else { continue };
        if oh.meta.id == h.meta.id {
            return Some(format!(
                "plugin id '{}' is already used by the plugin in folder '{}'",
                h.meta.id, o.folder
            ));
        }
        for r in &h.routes {
            if oh.routes.iter().any(|x| {
                x.method == r.method
                    && x.pattern.overlaps(&r.pattern)
                    && x.pattern.specificity() == r.pattern.specificity()
            }) {
                return Some(format!(
                    "route {} {} is already registered by plugin '{}'",
                    r.method,
                    r.pattern.as_str(),
                    oh.meta.id
                ));
            }
        }
    }
    None
}

/// The resolved `paths.plugins`.
pub fn code_root(state: &AppState) -> PathBuf {
    PathBuf::from(&state.snapshot().paths.plugins)
}

/// Folders under `paths.plugins` that have an init.lua and are enabled, sorted, except
/// those this process leaves off (`without`).
pub fn enabled_folders(state: &AppState, without: &BTreeSet<String>) -> Vec<String> {
    let snap = state.snapshot();
    let root = PathBuf::from(&snap.paths.plugins);
    let mut out: Vec<String> = snap
        .config
        .plugins
        .keys()
        .filter(|f| snap.config.plugin_enabled(f))
        .filter(|f| {
            let off = without.contains(f.as_str());
            if off {
                tracing::info!(folder = %f, "plugin enabled in app.yaml but left off on this replica (--without-plugin)");
            }
            !off
        })
        .filter(|f| {
            let ok = is_safe_id(f);
            if !ok {
                tracing::warn!(folder = %f, "plugin folder name is not a safe id; not loaded");
            }
            ok
        })
        .filter(|f| {
            let present = root.join(f.as_str()).join("init.lua").is_file();
            if !present {
                tracing::warn!(folder = %f, root = %root.display(), "plugin enabled but no init.lua found");
            }
            present
        })
        .cloned()
        .collect();
    out.sort();
    out
}

/// Limits from `plugins.<folder>.memory_limit_mb`, `.instruction_limit` and
/// `.request_timeout_seconds`, else defaults.
fn limits_for(state: &AppState, folder: &str) -> Limits {
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

/// The config path the slot's instance (or fallback) uses, if it has one.
fn slot_config_path(slot: &PluginSlot) -> Option<PathBuf> {
    slot.serving().map(|h| h.config_path.clone())
}

/// A hash of what a reload depends on: every `.lua` file of the plugin's code folder and
/// its config file (`config_path`, else the default one). Other files (data a plugin
/// writes with `rackscope.fs`, READMEs) do not count, so writing them reloads nothing;
/// nor do our own config writes, which record the new fingerprint.
pub fn fingerprint(state: &AppState, folder: &str, config_path: Option<&Path>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut files = Vec::new();
    collect_lua_files(&code_root(state).join(folder), &mut files, 0);
    files.sort();
    files.push(match config_path {
        Some(p) => p.to_path_buf(),
        None => plugin_file::config_dir(state.config_path(), folder)
            .join(plugin_file::DEFAULT_CONFIG_FILE),
    });
    for f in files {
        f.hash(&mut h);
        std::fs::read(&f).ok().hash(&mut h);
    }
    h.finish()
}

fn collect_lua_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect_lua_files(&p, out, depth + 1);
        } else if p.extension().is_some_and(|x| x == "lua") {
            out.push(p);
        }
    }
}
