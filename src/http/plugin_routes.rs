//! Plugin discovery endpoints (`/api/plugins...`) and the dispatch of plugin routes.
//!
//! Axum's router is fixed once built, so plugin routes are dispatched by the fallback
//! handler, which looks the path up in the current plugin set; a reload swaps the set.
//! Core routes are matched first and plugins cannot register under them (D2).

use std::collections::BTreeMap;
use std::time::UNIX_EPOCH;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult};
use super::extract::{parse_json, JsonBody, PathParam};
use super::guard::Admin;
use super::shapes::{
    AdminRefused, PluginConfig, PluginConfigSaved, PluginConfigUpdate, PluginSummary,
};
use super::AuthUser;
use crate::app::App;
use crate::lua::registry::MenuSection;
use crate::plugin::manager::{ConfigUpdateError, PluginSlot};
use crate::plugin::{CallError, RequestData};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(menu))
        .routes(routes!(detail))
        .routes(routes!(get_config, post_config))
}

fn summary(slot: &PluginSlot) -> Value {
    match &slot.handle {
        Some(h) => {
            let loaded_at = h
                .loaded_at
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            json!({
                "plugin_id": h.meta.id,
                "plugin_name": h.meta.name,
                "enabled": true,
                "version": h.meta.version,
                "description": h.meta.description,
                "author": h.meta.author,
                "folder": slot.folder,
                "running": true,
                "generation": h.generation,
                "loaded_at": loaded_at,
                "error": slot.error,
                "warnings": *h.warnings.lock(),
            })
        }
        // Not running: what its fallback (if any) says of it, else only the folder.
        None => json!({
            "plugin_id": slot.id(),
            "plugin_name": slot.fallback.as_ref().map_or(slot.folder.as_str(), |f| f.meta.name.as_str()),
            "enabled": true,
            // The contract types version as a string; a plugin that never loaded has none.
            "version": slot.fallback.as_ref().map_or("", |f| f.meta.version.as_str()),
            "description": slot.fallback.as_ref().and_then(|f| f.meta.description.clone()),
            "author": slot.fallback.as_ref().and_then(|f| f.meta.author.clone()),
            "folder": slot.folder,
            "running": false,
            "generation": null,
            "loaded_at": null,
            "error": slot.error,
            "warnings": {},
        }),
    }
}

/// How long a request that may need a plugin waits for the plugins loading at startup.
pub const LOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

#[utoipa::path(get, path = "/api/plugins", tag = "plugins", summary = "The plugins",
    description = "Every enabled plugin folder, loaded or not, in folder order.",
    responses((status = 200, description = "The plugins", body = Vec<PluginSummary>)))]
async fn list(State(app): State<App>) -> Json<Value> {
    let set = app.plugins.loaded(LOAD_WAIT).await;
    Json(Value::Array(set.slots.iter().map(summary).collect()))
}

#[utoipa::path(get, path = "/api/plugins/menu", tag = "plugins", summary = "The plugins' sidebar sections",
    description = "Sorted by `order`, then `id`.",
    responses((status = 200, description = "Sidebar sections", body = Vec<MenuSection>)))]
async fn menu(State(app): State<App>) -> Json<Value> {
    let set = app.plugins.loaded(LOAD_WAIT).await;
    Json(json!(set.menu().await))
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Plugin '{id}' not found"))
}

#[utoipa::path(get, path = "/api/plugins/{id}", tag = "plugins", summary = "One plugin",
    params(("id" = String, Path, description = "The plugin's id (its folder while it never loaded)")),
    responses(
        (status = 200, description = "The plugin", body = PluginSummary),
        (status = 404, description = "No such plugin"),
    ))]
async fn detail(
    State(app): State<App>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Json<Value>> {
    let set = app.plugins.loaded(LOAD_WAIT).await;
    let slot = set.slot(&id).ok_or_else(|| not_found(&id))?;
    Ok(Json(summary(slot)))
}

#[utoipa::path(get, path = "/api/plugins/{id}/config", tag = "plugins", summary = "A plugin's config file",
    params(("id" = String, Path, description = "The plugin's id")),
    responses(
        (status = 200, description = "The file's content", body = PluginConfig),
        (status = 404, description = "No such plugin"),
        (status = 500, description = "The file could not be read"),
    ))]
async fn get_config(
    State(app): State<App>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Json<Value>> {
    let set = app.plugins.loaded(LOAD_WAIT).await;
    let slot = set.slot(&id).ok_or_else(|| not_found(&id))?;
    let path = app.plugins.config_path_of(&app.state, &slot.folder);
    let loaded = crate::config::plugin_file::read(&path)
        .map_err(|e| ApiError::Internal(format!("Failed to read plugin config: {e}")))?;
    Ok(Json(json!({
        "config": loaded.config,
        "source": loaded.source,
        "path": path.display().to_string(),
    })))
}

/// Merges `{"config": {...}}` into the plugin's file; the plugin is loaded with the
/// result aside first, and a refusal (422) changes nothing.
#[utoipa::path(post, path = "/api/plugins/{id}/config", tag = "plugins", summary = "Change a plugin's config",
    description = "Merges the given top-level keys into the plugin's config file (a key set to null is removed), \
        loads the plugin with the result aside, and only if it loads writes the file and swaps the new instance in.",
    params(("id" = String, Path, description = "The plugin's id")),
    request_body(content = PluginConfigUpdate, example = json!({"config": {"incident_mode": "light"}})),
    responses(
        (status = 200, description = "Saved and reloaded", body = PluginConfigSaved),
        AdminRefused,
        (status = 404, description = "No such plugin"),
        (status = 409, description = "The file kept changing under other writers; retry"),
        (status = 422, description = "`config` missing or not an object, too large, or refused by the plugin"),
        (status = 500, description = "The file could not be read or written"),
    ))]
async fn post_config(
    State(app): State<App>,
    PathParam(id): PathParam<String>,
    _admin: Admin,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    if app.plugins.loaded(LOAD_WAIT).await.slot(&id).is_none() {
        return Err(not_found(&id));
    }
    let obj = super::extract::require_object(&body)?;
    let update = match obj.get("config") {
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(ApiError::field(
                &["body", "config"],
                "dict_type",
                "Input should be a valid dictionary",
                other.clone(),
            ))
        }
        None => {
            return Err(ApiError::field(
                &["body", "config"],
                "missing",
                "Field required",
                body.clone(),
            ))
        }
    };
    let values: usize = update.values().map(count_values).sum();
    if values > MAX_PLUGIN_CONFIG_VALUES {
        return Err(ApiError::Unprocessable(format!(
            "Plugin config too large: {values} values (limit {MAX_PLUGIN_CONFIG_VALUES}); keep bulk data in a file of the plugin's folder"
        )));
    }
    let handle = app
        .plugins
        .update_config(&app.state, &id, update)
        .await
        .map_err(|e| match e {
            ConfigUpdateError::NotFound(id) => not_found(&id),
            ConfigUpdateError::Busy => ApiError::Conflict(e.to_string()),
            ConfigUpdateError::Rejected(m) => {
                ApiError::Unprocessable(format!("Plugin '{id}' refused the config: {m}"))
            }
            other => ApiError::Internal(other.to_string()),
        })?;
    Ok(Json(json!({
        "config": handle.config,
        "source": "file",
        "path": handle.config_path.display().to_string(),
        "status": "saved",
    })))
}

/// Most values a plugin config sent through the API may hold. Each accepted config is
/// loaded into a trial instance of the plugin, written as YAML and read back on every
/// reload, so it is kept far below the request body limit; bulk data belongs in a file
/// of the plugin's config folder.
pub const MAX_PLUGIN_CONFIG_VALUES: usize = 10_000;

/// Scalars, lists and maps in `v`, counted together.
fn count_values(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_values).sum(),
        Value::Object(m) => m.values().map(count_values).sum(),
        _ => 0,
    }
}

/// The fallback: a plugin route, or the JSON 404/405.
pub async fn dispatch(State(app): State<App>, req: Request) -> Response {
    match dispatch_inner(app, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn dispatch_inner(app: App, req: Request) -> ApiResult<Response> {
    let (mut parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let set = app.plugins.loaded(LOAD_WAIT).await;
    let m = match set.find_route(method.as_str(), &path) {
        Ok(m) => m,
        Err(true) => {
            // RFC 9110: a 405 says which methods the path has.
            let allow = set.allowed_methods(&path).join(",");
            return Ok((
                StatusCode::METHOD_NOT_ALLOWED,
                [(axum::http::header::ALLOW, allow)],
                Json(json!({"detail": "Method Not Allowed"})),
            )
                .into_response());
        }
        // An action on a plugin that is off cannot be carried out (503, decision D4); a
        // read finds nothing, as for any unknown path.
        Err(false) => {
            if !matches!(method, Method::GET | Method::HEAD) {
                if let Some(detail) = app.plugins.not_running(&app.state, &path) {
                    return Err(ApiError::Unavailable(detail));
                }
            }
            return Err(ApiError::NotFound("Not Found".into()));
        }
    };
    if matches!(method, Method::GET | Method::HEAD) {
        // An answer the plugin published ahead: served here, without calling the plugin.
        let published = crate::lua::api::publish::lookup(
            &m.handle.published,
            parts.uri.path(),
            parts.uri.query(),
        );
        if let Some(answer) = published {
            return Ok(super::encoded::published(answer, &parts.headers));
        }
    } else {
        Admin::from_request_parts(&mut parts, &app).await?;
    }
    let bytes = axum::body::to_bytes(body, super::MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge("Request body too large (limit 2 MiB)".into()))?;
    super::extract::require_json_type(&parts.headers, &bytes)?;
    let body = parse_body(&bytes)?;
    let query: BTreeMap<String, String> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "authorization" | "cookie" | "proxy-authorization"
            )
        })
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    let user = parts.extensions.get::<AuthUser>().map(|u| u.0.clone());
    let req = std::sync::Arc::new(RequestData {
        method: method.to_string(),
        path,
        params: m.params,
        query,
        headers,
        body,
        user,
    });
    let id = m.handle.meta.id.clone();
    let timeout = m.handle.limits.request_timeout;
    let call = async {
        let mut result = m.handle.call_route(m.index, req.clone()).await;
        // Retried when the call was never taken, or, for reads, when the instance stopped
        // under it; a state-changing call that may have run in part is not run twice.
        let reads = matches!(method, Method::GET | Method::HEAD);
        if matches!(result, Err(CallError::Unavailable))
            || (reads && matches!(result, Err(CallError::Dropped)))
        {
            // The instance was swapped out between lookup and call (a reload): retry once
            // on the instance that replaced it.
            let set = app.plugins.current();
            if let Ok(again) = set.find_route(method.as_str(), &req.path) {
                if !std::sync::Arc::ptr_eq(&again.handle, &m.handle) {
                    result = again.handle.call_route(again.index, req).await;
                }
            }
        }
        result
    };
    let Ok(result) = tokio::time::timeout(timeout, call).await else {
        tracing::warn!(plugin = %id, path = %parts.uri.path(), ?timeout, "plugin route timed out; call cancelled");
        let detail = format!(
            "Plugin '{id}' did not answer within {} s",
            timeout.as_secs_f64()
        );
        return Ok((
            StatusCode::GATEWAY_TIMEOUT,
            Json(json!({ "detail": detail })),
        )
            .into_response());
    };
    match result {
        Ok(reply) => {
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
            Ok((
                status,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                reply.body,
            )
                .into_response())
        }
        Err(CallError::Http { status, detail }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Ok((status, Json(json!({ "detail": detail }))).into_response())
        }
        Err(CallError::Budget(m)) => {
            tracing::warn!(plugin = %id, "{m}");
            Ok(plugin_failure(&format!(
                "Plugin '{id}' stopped this request: {m}"
            )))
        }
        Err(CallError::Memory) => {
            tracing::warn!(plugin = %id, "plugin reached its memory limit");
            Ok(plugin_failure(&format!(
                "Plugin '{id}' ran out of memory handling this request"
            )))
        }
        Err(CallError::Failed(m)) => {
            tracing::error!(plugin = %id, error = %m, "plugin handler failed");
            if super::error::debug_errors() {
                return Ok(plugin_failure(&format!("Plugin '{id}' failed: {m}")));
            }
            Ok(plugin_failure(&format!(
                "Plugin '{id}' failed to handle the request (details in the server log)"
            )))
        }
        Err(CallError::Cancelled(m)) => Err(ApiError::Unavailable(format!(
            "Plugin '{id}' stopped this request: {m}"
        ))),
        Err(CallError::Dropped) => Err(ApiError::Unavailable(format!(
            "Plugin '{id}' stopped while handling the request (a reload); it may have run in part"
        ))),
        Err(CallError::Unavailable) => Err(ApiError::Unavailable(format!(
            "Plugin '{id}' is reloading or stopped; retry"
        ))),
    }
}

fn plugin_failure(detail: &str) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "detail": detail })),
    )
        .into_response()
}

fn parse_body(bytes: &Bytes) -> ApiResult<Option<Value>> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    parse_json(bytes).map(Some)
}
