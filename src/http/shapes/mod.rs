//! The shapes of the answers that handlers build as JSON values (`json!`) or encode ahead
//! (the views, the health answers), for the API document (`GET /api/openapi.json`).
//!
//! Where an answer is a model type serialised as it is (the topology, the catalog, the
//! checks and metrics libraries, the config), its schema is derived from that type
//! instead (`ToSchema` beside `Serialize`). The types here are only descriptions: nothing
//! serialises them. `tests/openapi.rs` holds them to the real answers (every answer of a
//! test run of each route must validate against the schema of its status).

pub mod health;
pub mod views;

use serde_json::Value;
use utoipa::ToSchema;

use crate::config::FieldError;

/// `{"detail": "<message>"}`: every error of the core routes except request validation.
#[derive(ToSchema)]
pub struct Detail {
    /// What went wrong, for people.
    pub detail: String,
}

/// 422: the request was refused. `detail` lists each problem with the request
/// (`{type, loc, msg, input}`, as FastAPI answers), or says in words what rule refused
/// it.
#[derive(ToSchema)]
pub struct Unprocessable {
    pub detail: DetailOrProblems,
}

/// A message, or the list of problems found in the request.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum DetailOrProblems {
    Message(String),
    Problems(Vec<FieldError>),
}

/// The 403 of the admin check (`http::guard::Admin`), which every state-changing route
/// passes: auth off and the client outside `auth.trusted_networks`.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 403,
    description = "Not allowed to change the server (auth.trusted_networks)"
)]
pub struct AdminRefused;

/// An error answered by a plugin route: `detail` is whatever the plugin raised with
/// `rackscope.http_error` (usually a message), or the host's message.
#[derive(ToSchema)]
pub struct PluginError {
    pub detail: Value,
}

/// `{"ok": true}`.
#[derive(ToSchema)]
pub struct Ok {
    pub ok: bool,
}

/// `{"ok": true, "message": ...}`.
#[derive(ToSchema)]
pub struct OkMessage {
    pub ok: bool,
    pub message: String,
}

// ---------------------------------------------------------------------------------------
// System and env
// ---------------------------------------------------------------------------------------

/// `GET /api/system/status`.
#[derive(ToSchema)]
pub struct SystemStatus {
    /// Always `running` when the server answers.
    pub status: String,
    /// The server's process id.
    pub pid: u32,
}

/// `POST /api/system/restart`.
#[derive(ToSchema)]
pub struct Restarted {
    /// `ok`.
    pub status: String,
    pub message: String,
}

/// `GET /healthz`.
#[derive(ToSchema)]
pub struct Healthz {
    /// `ok`.
    pub status: String,
}

/// `GET /api/env`: the environment variables that shape the server (null when unset).
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct Env {
    /// The app.yaml in use.
    pub RACKSCOPE_APP_CONFIG: String,
    /// The Prometheus URL in use (from the config or the environment), without credentials.
    pub PROMETHEUS_URL: String,
    pub RACKSCOPE_CONFIG_DIR: Option<String>,
    pub RACKSCOPE_CONFIG: Option<String>,
    pub RACKSCOPE_TEMPLATES: Option<String>,
    pub RACKSCOPE_CHECKS: Option<String>,
    pub PROMETHEUS_CACHE_TTL: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------

/// `GET /api/auth/status` (public): whether auth is on and the password rules.
#[derive(ToSchema)]
pub struct AuthStatus {
    pub enabled: bool,
    /// A password is set.
    pub configured: bool,
    pub username: String,
    pub policy: crate::config::model::PasswordPolicy,
}

/// `POST /api/auth/login`.
#[derive(ToSchema)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// A session token.
#[derive(ToSchema)]
pub struct Token {
    /// Send it as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// `bearer`.
    pub token_type: String,
    /// Seconds until it expires; null for `session_duration: unlimited`.
    pub expires_in: Option<u64>,
    pub username: String,
}

/// `GET /api/auth/me`.
#[derive(ToSchema)]
pub struct Me {
    pub username: String,
}

/// `POST /api/auth/change-password`. While no password is set, `current_password` is
/// ignored (send any string) and the caller must pass the admin check.
#[derive(ToSchema)]
pub struct ChangePassword {
    pub current_password: String,
    /// Checked against `auth.policy`.
    pub new_password: String,
}

/// `POST /api/auth/change-username`.
#[derive(ToSchema)]
pub struct ChangeUsername {
    /// Not empty or blank, no control characters.
    pub new_username: String,
    /// The current password (ignored while none is set).
    pub password: String,
}

/// The answer of a username change.
#[derive(ToSchema)]
pub struct UsernameChanged {
    pub ok: bool,
    pub username: String,
}

/// The avatar: a `data:image/...;base64,` URL, or null when there is none.
#[derive(ToSchema)]
pub struct Avatar {
    pub avatar: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Plugins
// ---------------------------------------------------------------------------------------

/// A plugin as `GET /api/plugins` lists it: the contract's four fields (the required
/// ones), then what this server adds (load state, generation, last error, warnings).
#[derive(ToSchema)]
pub struct PluginSummary {
    pub plugin_id: String,
    pub plugin_name: String,
    pub enabled: bool,
    /// Empty while the plugin has never loaded.
    pub version: String,
    pub description: Option<String>,
    pub author: Option<String>,
    /// Its folder under `paths.plugins`.
    #[schema(required = false)]
    pub folder: String,
    /// An instance of it is serving.
    #[schema(required = false)]
    pub running: bool,
    /// Which load of the plugin serves (null while none does).
    pub generation: Option<u64>,
    /// When that load happened (Unix seconds).
    pub loaded_at: Option<f64>,
    /// The last load error (the previous instance keeps serving).
    pub error: Option<String>,
    /// Problems the plugin runs around, by key (`rackscope.plugin.set_warning`).
    #[schema(required = false)]
    pub warnings: std::collections::HashMap<String, String>,
}

/// A plugin's config file: `GET /api/plugins/{id}/config`.
#[derive(ToSchema)]
pub struct PluginConfig {
    /// The whole file as an object.
    pub config: std::collections::HashMap<String, Value>,
    /// `file` when read from disk, `defaults` when there is no file.
    pub source: String,
    pub path: String,
}

/// `POST /api/plugins/{id}/config`: top-level keys to merge into the file (a key set to
/// null is removed). The plugin is loaded with the result first; if it refuses it,
/// nothing is written.
#[derive(ToSchema)]
pub struct PluginConfigUpdate {
    pub config: std::collections::HashMap<String, Value>,
}

/// The merged config, saved.
#[derive(ToSchema)]
pub struct PluginConfigSaved {
    pub config: std::collections::HashMap<String, Value>,
    /// `file`.
    pub source: String,
    pub path: String,
    /// `saved`.
    pub status: String,
}

// ---------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------

/// The running config as `GET /api/config` answers it: [`crate::config::AppConfig`]
/// without its secrets (`auth.password_hash`, `auth.secret_key`,
/// `telemetry.basic_auth_password`). Its schema is made from `AppConfig`'s when the
/// document is built (`openapi::finish`), so the two cannot drift apart.
pub struct AppConfigView;

/// `PUT /api/config`: any part of [`AppConfigView`], merged over the running config at
/// every depth (`null` clears a nullable key). Made from `AppConfig`'s schema with every
/// property optional.
pub struct AppConfigUpdate;

/// Names a schema made from another when the document is built; registers `AppConfig`
/// (and what it uses), which it is made from.
macro_rules! derived_from_app_config {
    ($t:ty) => {
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::Object::new().into()
            }
        }
        impl ToSchema for $t {
            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                use utoipa::PartialSchema;
                schemas.push(("AppConfig".into(), crate::config::AppConfig::schema()));
                <crate::config::AppConfig as ToSchema>::schemas(schemas);
            }
        }
    };
}
derived_from_app_config!(AppConfigView);
derived_from_app_config!(AppConfigUpdate);
