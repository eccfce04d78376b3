//! The API document, `GET /api/openapi.json` (OpenAPI 3.1), made from the code.
//!
//! Core routes are registered through `utoipa-axum` ([`core_routes`]): each handler's
//! `#[utoipa::path]` gives its method, path, parameters, body and answers, and the same
//! registration adds it to the router and to the document, so neither can have a route
//! the other lacks. Schemas come from the types the answers are made of (`ToSchema`
//! beside `Serialize`) or, for answers built as JSON values, from their shapes
//! (`http::shapes`). [`finish`] then adds what every route shares, from the code that
//! decides it: the bearer token and its 401 on every route the auth gate guards
//! (`auth::gate::is_public`), the body limits (413, 415) on routes that read one, and
//! the error body of each error status.
//!
//! Plugin routes are added from the published [`PluginSet`] ([`plugins`]): the document
//! is encoded once per set, the first time it is asked for, and kept in the set itself,
//! so a request never builds it and the document always matches the routes that serve.

mod finish;
pub mod plugins;

use std::sync::LazyLock;

use bytes::Bytes;
use serde_json::Value;
use utoipa::openapi::{InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder};
use utoipa_axum::router::OpenApiRouter;

use crate::app::App;
use crate::plugin::PluginSet;

pub use finish::{operation_id, DETAIL, PLUGIN_ERROR, UNPROCESSABLE};

/// Every core route, described: what [`super::app`] serves (before the plugin fallback)
/// and what the document lists.
pub fn core_routes() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(base())
        .merge(super::config_routes::router())
        .merge(super::system::router())
        .merge(super::auth_routes::router())
        .merge(super::plugin_routes::router())
        .merge(super::views_routes::router())
        .merge(super::metrics_data::router())
        .merge(super::logs_routes::router())
        .merge(super::health_routes::router())
        .merge(super::maintenance_routes::router())
        .merge(super::docs_routes::router())
}

/// The document of the core routes, built once per process (it depends on the code
/// only).
pub fn core_document() -> &'static Value {
    static CORE: LazyLock<Value> = LazyLock::new(|| finish::finish(core_routes().into_openapi()));
    &CORE
}

/// The whole document for `set`: the core routes and the routes of its plugins, encoded
/// once per set.
pub fn document(set: &PluginSet) -> Bytes {
    set.api_document
        .get_or_init(|| {
            let mut doc = core_document().clone();
            plugins::add(&mut doc, set);
            // Cannot fail: a JSON value always encodes.
            Bytes::from(serde_json::to_vec(&doc).unwrap_or_default())
        })
        .clone()
}

/// What the document says of itself.
fn base() -> OpenApi {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("rackscope")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .license(Some(LicenseBuilder::new().name("MIT").build()))
                .build(),
        )
        .build()
}

const DESCRIPTION: &str = "Datacenter and HPC cluster monitoring: the topology, its health \
computed from Prometheus, and the routes of the Lua plugins this server runs (one tag per plugin). \
Every error answers `{\"detail\": ...}`; request validation errors are 422 with a list of \
`{type, loc, msg, input}`. While `auth.enabled` is true, every route except login, auth status, \
`/healthz` and this document needs `Authorization: Bearer <token>` (from `POST /api/auth/login`). \
State-changing routes also pass the admin check (`auth.trusted_networks` while auth is off).";
