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
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::extract::{parse_json, JsonBody, PathParam};
use super::guard::Admin;
use super::{AppState, AuthUser};
use crate::plugin::manager::{ConfigUpdateError, PluginSlot};
use crate::plugin::{CallError, RequestData};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/plugins", get(list))
        .route("/api/plugins/menu", get(menu))
        .route("/api/plugins/{id}", get(detail))
        .route(
            "/api/plugins/{id}/config",
            get(get_config).post(post_config),
        )
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
        None => json!({
            "plugin_id": slot.folder,
            "plugin_name": slot.folder,
            "enabled": true,
            // The contract types version as a string; a plugin that never loaded has none.
            "version": "",
            "description": null,
            "author": null,
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
const LOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

async fn list(State(state): State<AppState>) -> Json<Value> {
    let set = state.plugins().loaded(LOAD_WAIT).await;
    Json(Value::Array(set.slots.iter().map(summary).collect()))
}

async fn menu(State(state): State<AppState>) -> Json<Value> {
    let set = state.plugins().loaded(LOAD_WAIT).await;
    Json(json!(set.menu().await))
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Plugin '{id}' not found"))
}

async fn detail(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Json<Value>> {
    let set = state.plugins().loaded(LOAD_WAIT).await;
    let slot = set.slot(&id).ok_or_else(|| not_found(&id))?;
    Ok(Json(summary(slot)))
}

async fn get_config(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Json<Value>> {
    let set = state.plugins().loaded(LOAD_WAIT).await;
    let slot = set.slot(&id).ok_or_else(|| not_found(&id))?;
    let path = state.plugins().config_path_of(&state, &slot.folder);
    let loaded = crate::plugin::config_file::read(&path)
        .map_err(|e| ApiError::Internal(format!("Failed to read plugin config: {e}")))?;
    Ok(Json(json!({
        "config": loaded.config,
        "source": loaded.source,
        "path": path.display().to_string(),
    })))
}

/// Merges `{"config": {...}}` into the plugin's file; the plugin is loaded with the
/// result aside first, and a refusal (422) changes nothing.
async fn post_config(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    _admin: Admin,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    if state.plugins().loaded(LOAD_WAIT).await.slot(&id).is_none() {
        return Err(not_found(&id));
    }
    let obj = super::extract::require_object(&body)?;
    let update = match obj.get("config") {
        Some(Value::Object(m)) => m.clone(),
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
    let handle = state
        .plugins()
        .update_config(&state, &id, &update)
        .await
        .map_err(|e| match e {
            ConfigUpdateError::NotFound(id) => not_found(&id),
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

/// Largest request body passed to a plugin handler.
const MAX_BODY: usize = 2 << 20;

/// The fallback: a plugin route, or the JSON 404/405.
pub async fn dispatch(State(state): State<AppState>, req: Request) -> Response {
    match dispatch_inner(state, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn dispatch_inner(state: AppState, req: Request) -> ApiResult<Response> {
    let (mut parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let set = state.plugins().loaded(LOAD_WAIT).await;
    let m = match set.find_route(method.as_str(), &path) {
        Ok(m) => m,
        Err(true) => {
            return Ok((
                StatusCode::METHOD_NOT_ALLOWED,
                Json(json!({"detail": "Method Not Allowed"})),
            )
                .into_response())
        }
        Err(false) => return Err(ApiError::NotFound("Not Found".into())),
    };
    if !matches!(method, Method::GET | Method::HEAD) {
        Admin::from_request_parts(&mut parts, &state).await?;
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::PayloadTooLarge("Request body too large (limit 2 MiB)".into()))?;
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
        if matches!(result, Err(CallError::Unavailable)) {
            // The instance was swapped out between lookup and call (a reload): retry once
            // on the instance that replaced it.
            let set = state.plugins().current();
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
