//! The checks library and the metrics library: the YAML definitions under `paths.checks`
//! and `paths.metrics` that the views serve (`GET /api/checks`, `/api/metrics/library`),
//! `GET /api/metrics/data` queries, and the health engine evaluates.
//!
//! Layout: [`checks`] (health checks: scope, expression, rules, `for`), [`metrics`] (chart
//! definitions), [`files`] (which files a loader reads, item lines, serving one file by
//! name without leaving the folder), `yaml` (field-by-field reading with every error).
//!
//! Both loaders never fail: a bad file or item is skipped and reported as a
//! [`crate::topology::Problem`] with its file and line, which the running state keeps and
//! `rackscope check` prints.

pub mod checks;
pub mod files;
pub mod metrics;
pub mod query;
mod yaml;

pub use checks::{load_checks, CheckDefinition, ChecksLibrary};
pub use files::{FileError, LibraryFile, Origin, Source};
pub use metrics::{load_metrics, MetricDefinition, MetricsLibrary};
