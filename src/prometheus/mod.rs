//! Prometheus HTTP API client: instant and range queries, TTL caches, merged in-flight
//! queries and typed errors. The primitive plugins query Prometheus through.
//!
//! - [`settings`]: [`PromSettings`], everything the client needs, built from `app.yaml`.
//! - [`client`]: [`PromClient`], the cheap-to-clone handle that runs queries.
//! - [`cache`]: the per-kind TTL caches and the in-flight map (single-flight).
//! - [`vector`]: instant vectors read straight from the body, keeping only the labels
//!   asked for (the health engine's bulk reads).
//! - [`error`]: [`PromError`], which says whether Prometheus was unreachable, too slow,
//!   answered an HTTP error, rejected the query, or answered garbage.
//!
//! Deliberate differences from the reference (docs/architecture.md, compatibility C8):
//! the caches are cleared when the URL or the credentials change, and errors keep
//! Prometheus's own error text.

pub mod cache;
pub mod client;
pub mod error;
pub mod settings;
pub mod vector;

pub use cache::CacheKind;
pub use client::PromClient;
pub use error::PromError;
pub use settings::PromSettings;
