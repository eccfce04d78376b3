//! The Lua plugin runtime.
//!
//! A plugin is a folder under `paths.plugins` with an `init.lua`, enabled by
//! `plugins.<folder>.enabled` in app.yaml. Each loaded plugin runs in its own sandboxed
//! Lua state on its own OS thread ([`instance`]): CPU-heavy Lua stalls neither the core
//! routes nor other plugins, and a handler awaiting Prometheus yields, so other requests
//! to the same plugin proceed meanwhile.
//!
//! Layout, one room each, lowest first (none imports one below it):
//!
//! - [`discovery`]: which folders are enabled, each plugin's paths (code folder, config
//!   folder, config file: one `PluginPaths` per load), the fingerprint a reload compares;
//! - [`listener`]: the scrape listeners plugins ask for, kept across reloads;
//! - [`load`]: loading one instance on its thread (`init.lua`, config, `setup`);
//! - [`instance`]: a running instance, its thread and its jobs ([`PluginHandle`]);
//! - [`set`]: the published [`PluginSet`], its slots and what makes two plugins collide;
//! - [`manager`]: the [`PluginManager`] that loads, reloads and publishes the set.
//!
//! Below this layer: the Lua embedding and what a plugin registers (`crate::lua`), the
//! exposition registry (`crate::metrics`) and the plugin config files
//! (`crate::config::plugin_file`). Above it: the `app` layer, which drives plugins together
//! with the running state, and the file watcher.

pub mod discovery;
pub mod instance;
pub mod listener;
pub mod load;
pub mod manager;
pub mod set;

pub use crate::lua::registry::{MenuItem, MenuSection, PluginMeta, SEVERITIES};
pub use instance::{CallError, PluginHandle, Reply, RequestData};
pub use manager::PluginManager;
pub use set::{PluginSet, PluginSlot};
