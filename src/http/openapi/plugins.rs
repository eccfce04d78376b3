//! Plugin routes in the API document: every route of every instance that serves in a
//! [`PluginSet`] (a running plugin, or the fallback of one that cannot load), tagged with
//! the plugin's id.
//!
//! The method, path and path parameters come from the registration; summary, parameter
//! schemas, query parameters, body and answers from the route's description
//! ([`crate::lua::route_doc`]) when the plugin gave one. Every route also gets the
//! answers the host itself may give on any plugin route: 401 (the auth gate), 403 for
//! state-changing methods (the admin check), 404, 413 and 415 (the body checks), 422,
//! 500, 503 and 504 (see `http::plugin_routes::dispatch`).

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::finish::{error_response, operation_id, PLUGIN_ERROR};
use crate::auth::gate::is_public;
use crate::lua::registry::RouteDef;
use crate::plugin::PluginSet;

/// Adds the routes of `set`'s plugins to `doc` (the core document), one tag per plugin.
pub fn add(doc: &mut Value, set: &PluginSet) {
    let mut tags = Vec::new();
    for slot in &set.slots {
        let Some(h) = slot.serving() else { continue };
        if h.routes.is_empty() {
            continue;
        }
        let id = h.meta.id.as_str();
        let mut about = h
            .meta
            .description
            .clone()
            .unwrap_or_else(|| h.meta.name.clone());
        if slot.handle.is_none() {
            let why = slot
                .error
                .as_deref()
                .and_then(|e| e.lines().next())
                .unwrap_or("");
            about = format!("{about} (not running: {why}; what it serves meanwhile)");
        }
        tags.push(json!({
            "name": id,
            "description": format!("Plugin `{id}` ({}, version {}): {about}", h.meta.name, h.meta.version),
        }));
        for route in &h.routes {
            let method = route.method.to_ascii_lowercase();
            let path = route.pattern.as_str();
            doc["paths"][path][&method] = operation(id, route);
        }
    }
    if let Some(list) = doc["tags"].as_array_mut() {
        list.extend(tags);
    }
}

/// The operation of one plugin route.
fn operation(plugin: &str, route: &RouteDef) -> Value {
    let path = route.pattern.as_str();
    let doc = route.doc.as_deref();
    let mut op = Map::new();
    op.insert("tags".into(), json!([plugin]));
    op.insert(
        "operationId".into(),
        json!(operation_id(&route.method, path)),
    );
    if let Some(s) = doc.and_then(|d| d.summary.as_ref()) {
        op.insert("summary".into(), json!(s));
    }
    let description = match doc {
        None => Some(format!(
            "A route of plugin `{plugin}`, which does not describe it."
        )),
        Some(d) => d.description.clone(),
    };
    if let Some(d) = description {
        op.insert("description".into(), json!(d));
    }

    let mut parameters = Vec::new();
    for name in route.pattern.params() {
        let schema = doc
            .and_then(|d| d.params.get(name).cloned())
            .unwrap_or_else(|| json!({"type": "string"}));
        parameters.push(parameter(name, "path", true, schema));
    }
    for (name, q) in doc.iter().flat_map(|d| &d.query) {
        parameters.push(parameter(name, "query", q.required, q.schema.clone()));
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = doc.and_then(|d| d.body.clone()) {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": body}}}),
        );
    }

    let mut responses = Map::new();
    for (status, answer) in doc.iter().flat_map(|d| &d.responses) {
        let description = answer
            .description
            .clone()
            .unwrap_or_else(|| reason(*status).to_string());
        let value = match &answer.schema {
            Some(schema) => json!({
                "description": description,
                "content": {"application/json": {"schema": schema}},
            }),
            None if *status >= 400 => error_response(&description, PLUGIN_ERROR),
            None => json!({"description": description}),
        };
        responses.insert(status.to_string(), value);
    }
    if !responses.keys().any(|s| s.starts_with('2')) {
        responses.insert(
            "200".into(),
            json!({"description": "The plugin's answer", "content": {"application/json": {"schema": {}}}}),
        );
    }
    let mut host = |status: &str, description: &str| {
        responses
            .entry(status)
            .or_insert_with(|| error_response(description, PLUGIN_ERROR));
    };
    if !is_public(path) {
        op.insert("security".into(), json!([{"bearer": []}]));
        host(
            "401",
            "No valid bearer token while auth is enabled (`Not authenticated`, `Invalid or expired token`)",
        );
    }
    if route.method != "GET" {
        host(
            "403",
            "Not allowed to change the server (auth.trusted_networks; the admin check of every state-changing route)",
        );
    }
    host(
        "404",
        "Not found: the plugin does not run here, or what the request names does not exist",
    );
    host(
        "413",
        "The body is larger than 2 MiB or holds more than 100,000 JSON values",
    );
    host(
        "415",
        "A body not sent as JSON (`Content-Type: application/json`)",
    );
    host(
        "422",
        "The body is not valid JSON, or the plugin refused the request",
    );
    host(
        "500",
        "The plugin failed to handle the request (details in the server log)",
    );
    host(
        "503",
        "The plugin is reloading or stopped, or something it needs is unavailable",
    );
    host("504", "The plugin did not answer in time");
    let mut sorted: Vec<(String, Value)> = responses.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    op.insert(
        "responses".into(),
        Value::Object(sorted.into_iter().collect()),
    );
    Value::Object(op)
}

/// A parameter; the schema's `description` describes the parameter too.
fn parameter(name: &str, place: &str, required: bool, schema: Value) -> Value {
    let description = schema.get("description").cloned();
    let mut p = json!({"name": name, "in": place, "required": required, "schema": schema});
    if let Some(d) = description {
        p["description"] = d;
    }
    p
}

fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Answer")
}
