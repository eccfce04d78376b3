//! The Lua plugin runtime.
//!
//! A plugin is a folder under `paths.plugins` with an `init.lua`, enabled by
//! `plugins.<folder>.enabled` in app.yaml. Each loaded plugin runs in its own sandboxed
//! Lua state on its own OS thread ([`instance`]): CPU-heavy Lua stalls neither the core
//! routes nor other plugins, and a handler awaiting Prometheus yields, so other requests
//! to the same plugin proceed meanwhile.
//!
//! Layout: [`instance`] (one plugin's thread, its jobs and what it registered),
//! [`manager`] (discovery, enabling, transactional reload, the published [`PluginSet`]),
//! [`routes`] (path patterns), [`watch`] (file events -> reloads), [`metrics`] (the
//! exposition registry and scrape listeners plugins ask for), [`config_file`] (the
//! plugin's own config file: path, read, merge, atomic write).

pub mod config_file;
pub mod instance;
pub mod manager;
pub mod metrics;
pub mod routes;
pub mod watch;

pub use instance::{CallError, PluginHandle, Reply, RequestData};
pub use manager::{PluginManager, PluginSet, PluginSlot};

use serde::Serialize;

/// The warnings a running plugin instance reports about itself, by key
/// (`rackscope.plugin.set_warning`, shown as `warnings` by `GET /api/plugins/{id}`). Shared
/// by the instance's thread and the API: a `parking_lot` mutex, held only to copy or
/// change the map.
pub type Warnings = std::sync::Arc<parking_lot::Mutex<std::collections::BTreeMap<String, String>>>;

/// Severities a status map may use, from best to worst rank order for summaries.
pub const SEVERITIES: [&str; 5] = ["OK", "INFO", "WARN", "CRIT", "UNKNOWN"];

/// What the plugin declares about itself in the table `init.lua` returns.
#[derive(Debug, Clone, Serialize)]
pub struct PluginMeta {
    pub id: String,
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    pub author: Option<String>,
}

/// A sidebar menu item (`GET /api/plugins/menu`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct MenuItem {
    pub id: String,
    pub label: String,
    pub path: String,
    #[serde(default)]
    pub icon: Option<String>,
}

/// A sidebar menu section.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct MenuSection {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default = "default_order")]
    pub order: i64,
    #[serde(default)]
    pub items: Vec<MenuItem>,
}

fn default_order() -> i64 {
    100
}
