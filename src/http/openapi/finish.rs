//! What the core document gets once the routes are collected: what every route shares,
//! each added from the code that decides it, so the annotations on the handlers only say
//! what is particular to them.
//!
//! - operation ids from the method and path (unique by construction);
//! - on every route the auth gate guards ([`is_public`] false), the bearer scheme and its
//!   401;
//! - on every route that reads a body, the 413 and 415 of the body checks and the 422 of
//!   a body that is not JSON; on every route with path parameters, the 400 of one that is
//!   not valid UTF-8;
//! - on every error answer without a body of its own, the error body of its status;
//! - axum's `{*name}` catch-all segments written as OpenAPI parameters (`{name}`);
//! - the config's schemas without secrets (`AppConfigView`) and as an update
//!   (`AppConfigUpdate`), made from `AppConfig`'s.

use serde_json::{json, Map, Value};
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;

use crate::auth::gate::is_public;
use crate::config::SECRET_FIELDS;
use crate::http::shapes::{Detail, PluginError, Unprocessable};

/// `$ref`s to the error bodies.
pub const DETAIL: &str = "#/components/schemas/Detail";
pub const UNPROCESSABLE: &str = "#/components/schemas/Unprocessable";
pub const PLUGIN_ERROR: &str = "#/components/schemas/PluginError";

/// HTTP methods as OpenAPI names them in a path item.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The tags, in the order the page shows them, with what each groups.
const TAGS: [(&str, &str); 12] = [
    (
        "topology",
        "Sites, rooms, racks and devices as loaded from the topology folder",
    ),
    (
        "health",
        "States computed from the checks library through Prometheus, alerts and statistics",
    ),
    (
        "maintenances",
        "Maintenances: what they cover no longer counts as an alert",
    ),
    ("catalog", "Device, rack and rack component templates"),
    ("checks", "The checks library"),
    ("metrics", "The metrics library and metric series"),
    (
        "config",
        "The application config (app.yaml) and the environment",
    ),
    (
        "plugins",
        "The Lua plugins this server runs: their state, menus and config files",
    ),
    ("auth", "Login, the user's credentials and avatar"),
    ("logs", "The server's recent log"),
    ("system", "The server process"),
    ("docs", "This document and its page"),
];

pub fn finish(doc: OpenApi) -> Value {
    // Cannot fail: the document is made of strings, numbers, maps and lists.
    let mut doc = serde_json::to_value(&doc).unwrap_or_default();
    register::<Detail>(&mut doc);
    register::<Unprocessable>(&mut doc);
    register::<PluginError>(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        let old = std::mem::take(paths);
        for (path, mut item) in old {
            let path = path.replace("{*", "{");
            for method in METHODS {
                if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                    complete(method, &path, op);
                }
            }
            paths.insert(path, item);
        }
    }
    doc["components"]["securitySchemes"] = json!({
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A token from `POST /api/auth/login`. Needed while `auth.enabled` is true; \
                with auth off every route answers without one.",
        }
    });
    doc["tags"] = Value::Array(
        TAGS.iter()
            .map(|(name, description)| json!({"name": name, "description": description}))
            .collect(),
    );
    config_schemas(&mut doc);
    doc
}

/// Adds `T`'s schema and those it uses to the document's components.
fn register<T: ToSchema>(doc: &mut Value) {
    let mut all = vec![(T::name().to_string(), T::schema())];
    T::schemas(&mut all);
    for (name, schema) in all {
        doc["components"]["schemas"][name] = serde_json::to_value(schema).unwrap_or_default();
    }
}

/// `get_racks_rack_id_state` for `GET /api/racks/{rack_id}/state`.
pub fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != "api") {
        id.push('_');
        id.extend(part.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        }));
    }
    let collapsed: Vec<&str> = id.split('_').filter(|p| !p.is_empty()).collect();
    collapsed.join("_")
}

/// An error answer with the body of its status.
pub fn error_response(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": schema}}},
    })
}

fn complete(method: &str, path: &str, op: &mut Map<String, Value>) {
    op.insert("operationId".into(), json!(operation_id(method, path)));
    let has_body = op.contains_key("requestBody");
    let has_path_params = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "path"));
    let guarded = !is_public(path);
    if guarded {
        op.insert("security".into(), json!([{"bearer": []}]));
    }
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else { return };
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status)
            .or_insert_with(|| json!({"description": description}));
    };
    if guarded {
        add(
            "401",
            "No valid bearer token while auth is enabled (`Not authenticated`, `Invalid or expired token`)",
        );
    }
    if has_body {
        add(
            "413",
            "The body is larger than 2 MiB or holds more than 100,000 JSON values",
        );
        add(
            "415",
            "A body not sent as JSON (`Content-Type: application/json`)",
        );
        add(
            "422",
            "The body is not valid JSON (`json_invalid`) or nests deeper than 64 levels",
        );
    }
    if has_path_params {
        add("400", "A path parameter is not valid UTF-8");
    }
    for (status, answer) in responses.iter_mut() {
        let is_error = status.parse::<u16>().is_ok_and(|s| s >= 400);
        if is_error && answer.get("content").is_none() {
            let schema = if status == "422" {
                UNPROCESSABLE
            } else {
                DETAIL
            };
            answer["content"] = json!({"application/json": {"schema": {"$ref": schema}}});
        }
    }
    // Statuses in order, as people read them.
    let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(sorted);
}

/// `AppConfigView`: `AppConfig` whose sections holding a secret point to a copy of their
/// schema without it; `AppConfigUpdate`: the view with every property of every section
/// optional, for `PUT /api/config`.
fn config_schemas(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    let Some(app) = schemas.get("AppConfig").cloned() else {
        return;
    };
    let mut view = app.clone();
    view["description"] = json!(
        "The running config (app.yaml's model, in its order, defaults included), without its secrets."
    );
    for (section, key) in SECRET_FIELDS {
        let Some(name) = ref_name(&app["properties"][section]) else {
            continue;
        };
        let view_name = format!("{name}View");
        // A section with two secrets is copied once and loses both.
        if schemas.get(&view_name).is_none() {
            schemas[&view_name] = schemas[&name].clone();
        }
        let copy = &mut schemas[&view_name];
        if let Some(props) = copy["properties"].as_object_mut() {
            props.shift_remove(key);
        }
        if let Some(required) = copy["required"].as_array_mut() {
            required.retain(|r| r != key);
        }
        retarget(&mut view["properties"][section], &name, &view_name);
    }
    let mut update = inline(&view, schemas, 0);
    strip_required(&mut update);
    // Settings sent for a plugin go to its folder's config file: its name must be safe.
    update["properties"]["plugins"]["propertyNames"] =
        json!({"pattern": crate::config::plugin_file::SAFE_ID_PATTERN});
    update["description"] = json!(
        "Any part of the config: merged over the running config at every depth (null clears a nullable key). \
         Secrets left out or empty keep their stored values."
    );
    schemas["AppConfigView"] = view;
    schemas["AppConfigUpdate"] = update;
}

/// The component a schema refers to (`{"$ref": ...}`, possibly inside `oneOf`).
fn ref_name(schema: &Value) -> Option<String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().map(str::to_string);
    }
    schema
        .get("oneOf")
        .and_then(Value::as_array)?
        .iter()
        .find_map(ref_name)
}

/// Points every `$ref` to `from` inside `schema` to `to`.
fn retarget(schema: &mut Value, from: &str, to: &str) {
    match schema {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                if r.rsplit('/').next() == Some(from) {
                    *r = format!("#/components/schemas/{to}");
                }
            }
            m.values_mut().for_each(|v| retarget(v, from, to));
        }
        Value::Array(a) => a.iter_mut().for_each(|v| retarget(v, from, to)),
        _ => {}
    }
}

/// `schema` with its `$ref`s replaced by the schemas they name (the config has no cycles;
/// `depth` stops one anyway).
fn inline(schema: &Value, schemas: &Value, depth: usize) -> Value {
    match schema {
        Value::Object(m) => {
            if let (Some(r), true) = (m.get("$ref").and_then(Value::as_str), depth < 16) {
                let name = r.rsplit('/').next().unwrap_or_default();
                return inline(&schemas[name], schemas, depth + 1);
            }
            Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), inline(v, schemas, depth)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| inline(v, schemas, depth)).collect()),
        other => other.clone(),
    }
}

/// Removes every `required` list (property names) from a schema tree.
fn strip_required(schema: &mut Value) {
    match schema {
        Value::Object(m) => {
            if m.get("required").is_some_and(Value::is_array) {
                m.shift_remove("required");
            }
            if let Some(Value::Object(props)) = m.get_mut("properties") {
                props.values_mut().for_each(strip_required);
            }
            for key in ["items", "additionalProperties"] {
                if let Some(v) = m.get_mut(key) {
                    strip_required(v);
                }
            }
            for key in ["oneOf", "anyOf", "allOf"] {
                if let Some(Value::Array(list)) = m.get_mut(key) {
                    list.iter_mut().for_each(strip_required);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_required),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_follow_method_and_path() {
        assert_eq!(
            operation_id("get", "/api/racks/{rack_id}/state"),
            "get_racks_rack_id_state"
        );
        assert_eq!(
            operation_id("POST", "/api/auth/change-password"),
            "post_auth_change_password"
        );
        assert_eq!(operation_id("get", "/healthz"), "get_healthz");
        assert_eq!(operation_id("get", "/api/openapi.json"), "get_openapi_json");
    }
}
