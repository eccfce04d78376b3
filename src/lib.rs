//! rackscope: a datacenter and HPC cluster monitoring host, extended by Lua plugins.
//!
//! # Layout
//!
//! - [`config`]: the `app.yaml` model, its validation (pydantic-compatible error shapes),
//!   loading with path resolution, and redaction of secrets.
//! - [`fsutil`]: atomic, serialised file writes shared by every writer of config files.
//! - [`topology`]: the on-disk topology (segmented and single-file), device templates,
//!   the one nodeset expander and the instance index.
//! - [`prometheus`]: the Prometheus HTTP API client with its TTL cache and merged in-flight
//!   queries; the primitive that plugins use.
//! - [`auth`]: the single user, bcrypt passwords and policy, HS256 session tokens bound to
//!   the current credentials, the login rate limit, the global auth gate and the avatar.
//! - [`lua`]: the sandboxed Lua states, budgets, errors and the `rackscope.*` API.
//! - [`plugin`]: the plugin runtime: instances on their own threads, the manager that
//!   loads and hot-reloads them, route dispatch data, metrics listeners.
//! - [`state`]: the running state (config, topology, catalog) behind one atomic pointer, and
//!   the reload path that rebuilds it from disk.
//! - [`http`]: the axum application: core routes, error type, middleware.
//! - [`check`]: the `rackscope check` command.
//! - [`server`]: `run(listener, shutdown)`, the entry point used by `main` and by tests.

pub mod app;
pub mod auth;
pub mod check;
pub mod config;
pub mod fsutil;
pub mod http;
pub mod lua;
pub mod metrics;
pub mod plugin;
pub mod prometheus;
pub mod server;
pub mod state;
pub mod topology;
