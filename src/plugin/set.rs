//! The published plugin set: one [`PluginSlot`] per enabled plugin folder, the routes of
//! the instances that serve, and the rules that keep two plugins apart (ids and routes
//! that collide).
//!
//! A [`PluginSet`] is immutable once built: the manager publishes a new one behind an
//! `ArcSwap` for every change, and a request reads a snapshot without a lock (D2, D3 in
//! docs/architecture.md).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;

use super::instance::PluginHandle;
use crate::lua::registry::{MenuSection, RouteDef};
use crate::lua::routes::PathPattern;

/// How long `GET /api/plugins/menu` waits for a plugin's menu functions.
pub const MENU_LIMIT: Duration = Duration::from_secs(2);

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

    /// The config file the serving instance (or fallback) uses, if there is one: the
    /// plugin may have declared its own (`config_file`).
    pub fn config_file(&self) -> Option<PathBuf> {
        self.serving().map(|h| h.config_path.clone())
    }

    /// A failed reload keeps the old running instance (and records the error); without
    /// one, the new slot (error and fallback) replaces the old.
    pub fn merge(&self, new: PluginSlot) -> PluginSlot {
        if new.handle.is_some() || self.handle.is_none() {
            new
        } else {
            PluginSlot {
                handle: self.handle.clone(),
                fallback: None,
                ..new
            }
        }
    }
}

/// Everything requests need about plugins, published atomically.
#[derive(Debug, Default)]
pub struct PluginSet {
    /// Sorted by folder name (the discovery order).
    pub slots: Vec<PluginSlot>,
    /// (method, pattern, slot index, route index), most specific first.
    routes: Vec<(String, PathPattern, usize, usize)>,
    /// The API document with this set's routes (`GET /api/openapi.json`), encoded by the
    /// HTTP layer the first time it is asked for: once per published set, and always the
    /// document of the set that serves.
    pub api_document: OnceLock<Bytes>,
}

/// Where a request goes.
pub struct RouteMatch {
    pub handle: Arc<PluginHandle>,
    pub index: usize,
    pub params: BTreeMap<String, String>,
}

impl PluginSet {
    pub fn new(slots: Vec<PluginSlot>) -> PluginSet {
        let mut routes = Vec::new();
        for (si, slot) in slots.iter().enumerate() {
            if let Some(h) = slot.serving() {
                for (ri, r) in h.routes.iter().enumerate() {
                    routes.push((r.method.clone(), r.pattern.clone(), si, ri));
                }
            }
        }
        routes.sort_by_key(|r| std::cmp::Reverse(r.1.specificity()));
        PluginSet {
            slots,
            routes,
            api_document: OnceLock::new(),
        }
    }

    pub fn slot(&self, id: &str) -> Option<&PluginSlot> {
        self.slots.iter().find(|s| s.id() == id)
    }

    pub fn slot_by_folder(&self, folder: &str) -> Option<&PluginSlot> {
        self.slots.iter().find(|s| s.folder == folder)
    }

    /// Every slot but the one of `folder`: what a plugin loaded there must not collide with.
    pub fn others_than(&self, folder: &str) -> Vec<PluginSlot> {
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

    /// The methods some route answers `path` with (HEAD with GET), for the `Allow` header
    /// of a 405.
    pub fn allowed_methods(&self, path: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (m, pattern, si, _) in &self.routes {
            if self.slots[*si].serving().is_some() && pattern.matches(path).is_some() {
                out.push(m);
                if m == "GET" {
                    out.push("HEAD");
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
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

/// Why `h` cannot join `others`: its id is taken, or one of its routes is registered by
/// another plugin with the same specificity (D2). None when it fits.
pub fn collision(h: &PluginHandle, others: &[PluginSlot]) -> Option<String> {
    for o in others {
        let Some(oh) = o.serving() else { continue };
        if oh.meta.id == h.meta.id {
            return Some(format!(
                "plugin id '{}' is already used by the plugin in folder '{}'",
                h.meta.id, o.folder
            ));
        }
        if let Some(r) = route_clash(&h.routes, &oh.routes) {
            return Some(format!(
                "route {} {} is already registered by plugin '{}'",
                r.method,
                r.pattern.as_str(),
                oh.meta.id
            ));
        }
    }
    None
}

/// The first of `mine` that another plugin's `theirs` already registers: the same method
/// and paths that overlap with equal specificity (D2).
pub fn route_clash<'a>(mine: &'a [RouteDef], theirs: &[RouteDef]) -> Option<&'a RouteDef> {
    mine.iter().find(|r| {
        theirs.iter().any(|x| {
            x.method == r.method
                && x.pattern.overlaps(&r.pattern)
                && x.pattern.specificity() == r.pattern.specificity()
        })
    })
}
