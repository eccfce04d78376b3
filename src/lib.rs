//! rackscope: a datacenter and HPC cluster monitoring host, extended by Lua plugins.
//!
//! # Layout
//!
//! Lowest layer first; a module only uses the ones listed before it (docs/architecture.md,
//! checked by `scripts/check-layers.py`).
//!
//! - [`fsutil`]: atomic file writes, one lock per config file, clean-up of interrupted writes.
//! - [`gzip`]: gzip of answers encoded ahead.
//! - [`coerce`]: lax integers, numbers and booleans, one rule for every file of a config
//!   folder (pydantic v2's lax mode).
//! - [`metrics`]: the Prometheus exposition registry and the scrape listener plugins ask for.
//! - [`topology`]: the on-disk topology (segmented and single-file), device templates,
//!   the one nodeset expander and the instance index.
//! - [`config`]: the `app.yaml` model, its validation (pydantic-compatible error shapes),
//!   loading with path resolution, in-place edits, redaction, plugin config files.
//! - [`logs`]: the in-memory log served by `GET /api/logs`, fed by a `tracing` layer.
//! - [`library`]: the checks and metrics libraries (loaders, files, the PromQL of a chart).
//! - [`views`]: the read views' answers, encoded once per state generation.
//! - [`prometheus`]: the Prometheus HTTP API client with its TTL cache and merged in-flight
//!   queries; the primitive that plugins use.
//! - [`health`]: the health engine: checks into node, rack and room states through
//!   Prometheus, alerts, maintenances, and the answers built from each snapshot.
//! - [`state`]: the running state (config, topology, catalog, libraries, views) behind one atomic pointer, and
//!   the reload path that rebuilds it from disk.
//! - [`auth`]: the single user, bcrypt passwords and policy, JWT session tokens bound to the
//!   current credentials, the login rate limit, the global auth gate and the avatar.
//! - [`lua`]: the sandboxed Lua states, budgets and cancellation, errors, what a plugin
//!   registers, the host context and the `rackscope.*` API.
//! - [`plugin`]: the plugin runtime: instances on their own threads and the manager that
//!   loads, hot-reloads and publishes them.
//! - [`app`]: state and plugins together, the operations that change both, the file watcher.
//! - [`http`]: the axum application: core routes, error type, middleware, plugin dispatch.
//! - [`check`]: the `rackscope check` command.
//! - [`kit`]: the kit for plugin authors: `rackscope plugin test` (a plugin's Lua tests
//!   on the real runtime, with a fake clock and Prometheus) and `rackscope plugin new`.
//! - [`server`]: `run(listener, state, shutdown)`, the entry point used by `main` and by tests.

pub mod app;
pub mod auth;
pub mod check;
pub mod coerce;
pub mod config;
pub mod fsutil;
pub mod gzip;
pub mod health;
pub mod http;
pub mod kit;
pub mod library;
pub mod logs;
pub mod lua;
pub mod metrics;
pub mod plugin;
pub mod prometheus;
pub mod server;
pub mod state;
pub mod topology;
pub mod views;
