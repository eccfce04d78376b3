//! `GET/PUT /api/config` and `GET /api/env`.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult};
use super::extract::JsonBody;
use super::guard::Admin;
use super::shapes::{AdminRefused, AppConfigUpdate, AppConfigView, Env};
use super::AppState;
use crate::app::App;
use crate::config::{self, FieldError, Loc};
use crate::state::{fallback_prometheus_url, ApplyError, BuildError};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(get_config, put_config))
        .routes(routes!(get_env))
}

/// The running config, secrets omitted.
#[utoipa::path(get, path = "/api/config", tag = "config", summary = "The running config",
    description = "The whole config model in app.yaml's order, defaults and nulls included; \
        the secrets (`auth.password_hash`, `auth.secret_key`, `telemetry.basic_auth_password`) are never sent.",
    responses((status = 200, description = "The running config", body = AppConfigView)))]
async fn get_config(State(state): State<AppState>) -> Json<Value> {
    Json(config::view::redacted_json(&state.snapshot().config))
}

/// Merges the body over the running config at every depth (a key the body leaves out
/// keeps its stored value; an explicit `null` clears a nullable key), validates the
/// result, keeps the stored secrets the body leaves empty, loads what it names, edits
/// app.yaml atomically (only what changed), then swaps the running state. A refused
/// request changes nothing, on disk or in memory.
#[utoipa::path(put, path = "/api/config", tag = "config", summary = "Change the config",
    description = "Merges the body over the running config at every depth, validates the result, \
        writes app.yaml (only what changed) and applies it at once, plugins included. \
        Secrets left out or empty keep their stored values. A refused request changes nothing.",
    request_body(content = AppConfigUpdate, example = json!({"app": {"name": "Kestrel Bay HPC"}})),
    responses(
        (status = 200, description = "The config now running (secrets omitted)", body = AppConfigView),
        AdminRefused,
        (status = 422, description = "The merged config is invalid (each problem with its `loc` under `body`), \
            names a topology that cannot be loaded, or a plugin refused its new settings"),
        (status = 500, description = "app.yaml could not be written"),
    ))]
async fn put_config(
    State(app): State<App>,
    _admin: Admin,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    super::extract::require_object(&body)?;
    check_plugin_folders(&body)?;
    let state = &app.state;
    let _guard = state.write_lock().lock().await;
    let current = state.snapshot();
    let mut merged = config::view::full_json(&current.config);
    config::edit::merge(&mut merged, &body);
    // Removing the Prometheus user removes its stored password too, unless one is sent.
    let sends_password = body
        .pointer("/telemetry/basic_auth_password")
        .is_some_and(|v| !v.is_null());
    if merged
        .pointer("/telemetry/basic_auth_user")
        .is_some_and(Value::is_null)
        && !sends_password
    {
        merged["telemetry"]["basic_auth_password"] = Value::Null;
    }
    let mut cfg = config::validate::validate_with(
        &merged,
        config::validate::Options {
            require_hash_when_auth_enabled: false,
        },
    )
    .map_err(|errors| ApiError::Validation(prefix_body(errors)))?;

    config::view::preserve_secrets(&mut cfg, &current.config);
    if let Some(e) = config::auth_hash_error(&cfg) {
        return Err(ApiError::Validation(vec![e.with_loc_prefix("body")]));
    }
    let topology = cfg.paths.topology.clone();
    let snapshot = app.apply_config(cfg).await.map_err(|e| match e {
        ApplyError::Build(BuildError::TopologyNotFound(p)) => {
            let text = format!("Topology path not found: {}", p.display());
            ApiError::Validation(vec![FieldError {
                kind: "value_error".into(),
                loc: keys(&["body", "paths", "topology"]),
                msg: format!("Value error, {text}"),
                input: json!(topology),
                ctx: Some(json!({ "error": text })),
            }])
        }
        ApplyError::Build(BuildError::Internal(msg)) => ApiError::Internal(msg),
        ApplyError::Build(other) => {
            ApiError::Unprocessable(format!("The new config could not be loaded: {other}"))
        }
        ApplyError::PluginRefused { .. } => ApiError::Unprocessable(e.to_string()),
        ApplyError::Write(io) => ApiError::Internal(format!("Failed to write config: {io}")),
    })?;
    Ok(Json(config::view::redacted_json(&snapshot.config)))
}

/// `plugins.<folder>` names a plugin folder, whose settings are written to
/// `<config dir>/plugins/<folder>/`: a name that is not a safe id (`..`, a slash, a
/// control character) is refused (422), or it would write outside that folder.
fn check_plugin_folders(body: &Value) -> Result<(), ApiError> {
    let Some(plugins) = body.get("plugins").and_then(Value::as_object) else {
        return Ok(());
    };
    let errors: Vec<FieldError> = plugins
        .keys()
        .filter(|folder| !crate::config::plugin_file::is_safe_id(folder))
        .map(|folder| FieldError {
            kind: "value_error".into(),
            loc: keys(&["body", "plugins", folder]),
            msg: "Value error, a plugin folder name is 1 to 128 lowercase letters, digits, '.', '-' or '_', starting with a letter or digit".into(),
            input: json!(folder),
            ctx: None,
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn keys(parts: &[&str]) -> Vec<Loc> {
    parts.iter().map(|s| Loc::Key((*s).to_string())).collect()
}

/// Locates errors in the body and drops stored secrets from their `input` (the body was
/// merged over the running config, so an input may hold a stored value).
fn prefix_body(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut e| {
            strip_secret_keys(&mut e.input);
            e.with_loc_prefix("body")
        })
        .collect()
}

fn strip_secret_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (_, key) in config::SECRET_FIELDS {
                m.shift_remove(key);
            }
            m.values_mut().for_each(strip_secret_keys);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_secret_keys),
        _ => {}
    }
}

/// The environment variables that shape this server, with effective values where the
/// contract asks for them (the config path and the Prometheus URL).
#[utoipa::path(get, path = "/api/env", tag = "config", summary = "Environment variables",
    responses((status = 200, description = "The variables (null when unset)", body = Env)))]
async fn get_env(State(state): State<AppState>) -> Json<Value> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .map(Value::String)
            .unwrap_or(Value::Null)
    };
    let snapshot = state.snapshot();
    let prom_url = snapshot
        .config
        .telemetry
        .prometheus_url
        .clone()
        .unwrap_or_else(fallback_prometheus_url);
    Json(json!({
        "RACKSCOPE_APP_CONFIG": state.config_path().display().to_string(),
        "PROMETHEUS_URL": strip_userinfo(&prom_url),
        "RACKSCOPE_CONFIG_DIR": var("RACKSCOPE_CONFIG_DIR"),
        "RACKSCOPE_CONFIG": var("RACKSCOPE_CONFIG"),
        "RACKSCOPE_TEMPLATES": var("RACKSCOPE_TEMPLATES"),
        "RACKSCOPE_CHECKS": var("RACKSCOPE_CHECKS"),
        "PROMETHEUS_CACHE_TTL": var("PROMETHEUS_CACHE_TTL"),
    }))
}

/// Credentials embedded in a URL from the environment never leave the server.
fn strip_userinfo(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => raw.to_string(),
    }
}
