//! The application config (`app.yaml`): the typed model, its validation, loading from disk
//! and the JSON views the API serves.
//!
//! The model mirrors Rackscope's schema (docs/architecture.md, compatibility C1) field for field and in
//! the same order, because the file is dumped in model order and clients compare shapes.
//! Validation is hand-written in [`validate`] rather than derived, so that every error is
//! reported (not just the first) with the reference's `loc`, `msg` and `type`.

pub mod edit;
pub mod load;
pub mod model;
pub mod plugin_file;
pub mod validate;
pub mod view;

pub use load::{load_file, load_file_with, parse_yaml_str, resolve_paths, ConfigLoadError};
pub use model::*;
pub use validate::{auth_hash_error, validate, validate_with, FieldError, Loc, Options};
pub use view::{file_yaml, no_config_json, preserve_secrets, redacted_json};
