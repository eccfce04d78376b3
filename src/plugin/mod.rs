//! The Lua plugin runtime.
//!
//! A plugin is a folder under `paths.plugins` with an `init.lua`, enabled by
//! `plugins.<folder>.enabled` in app.yaml. Each loaded plugin runs in its own sandboxed
//! Lua state on its own OS thread ([`instance`]): CPU-heavy Lua stalls neither the core
//! routes nor other plugins, and a handler awaiting Prometheus yields, so other requests
//! to the same plugin proceed meanwhile.
//!
//! Layout: [`instance`] (one plugin's thread, its jobs and what it registered) and
//! [`manager`] (discovery, enabling, transactional reload, the published [`PluginSet`],
//! the scrape listeners plugins ask for). Below this layer: the Lua embedding and what a
//! plugin registers (`crate::lua`), the exposition registry (`crate::metrics`) and the
//! plugin config files (`crate::config::plugin_file`). Above it: the `app` layer, which
//! drives plugins together with the running state, and the file watcher.

pub mod instance;
pub mod manager;

pub use crate::lua::registry::{MenuItem, MenuSection, PluginMeta, SEVERITIES};
pub use instance::{CallError, PluginHandle, Reply, RequestData};
pub use manager::{PluginManager, PluginSet, PluginSlot};
