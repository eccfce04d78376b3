//! `GET /api/openapi.json` (the API document, see [`super::openapi`]) and `GET /api/docs`,
//! an interactive page for it (Swagger UI) that works without a network: the page is
//! ours, its scripts and styles are Swagger UI's, built into the binary
//! (`utoipa-swagger-ui`, which takes them from crates.io at build time) and served under
//! `/api/docs/`. Both hold no data and are served without a token
//! (`auth::gate::PUBLIC_PATHS`), as Rackscope serves its own.

use std::sync::{Arc, LazyLock};

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult};
use super::extract::PathParam;
use super::plugin_routes::LOAD_WAIT;
use crate::app::App;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .routes(routes!(docs_page))
        .routes(routes!(docs_file))
}

/// The document of the routes this server answers now, plugin routes included; encoded
/// once per published plugin set.
#[utoipa::path(get, path = "/api/openapi.json", tag = "docs", summary = "This document",
    description = "OpenAPI 3.1, made from the code: every core route, and the routes of the plugins running now \
        (rebuilt when a plugin is reloaded, enabled or disabled). Served without a token.",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
async fn openapi_json(State(app): State<App>) -> Response {
    let set = app.plugins.loaded(LOAD_WAIT).await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        super::openapi::document(&set),
    )
        .into_response()
}

/// The page: Swagger UI over `openapi.json`, with relative links so that it also works
/// behind a proxy that serves the API under a prefix. `validatorUrl: null` keeps Swagger
/// UI from asking an outside validator about the document.
const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rackscope API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<style>body { margin: 0; }</style>
</head>
<body>
<div id="api"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#api",
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null,
});
</script>
</body>
</html>
"##;

#[utoipa::path(get, path = "/api/docs", tag = "docs", summary = "An interactive page for this document",
    description = "Swagger UI, served from the binary (no network needed). Served without a token.",
    responses((status = 200, description = "The page", content_type = "text/html", body = String)))]
async fn docs_page() -> Html<&'static str> {
    Html(PAGE)
}

/// Swagger UI's files. The config only shapes its own initializer, which the page does
/// not use.
static SWAGGER: LazyLock<Arc<utoipa_swagger_ui::Config<'static>>> =
    LazyLock::new(|| Arc::new(utoipa_swagger_ui::Config::from("openapi.json")));

#[utoipa::path(get, path = "/api/docs/{file}", tag = "docs", summary = "A file of the page (scripts, styles)",
    params(("file" = String, Path, description = "`swagger-ui.css`, `swagger-ui-bundle.js`, ...")),
    responses(
        (status = 200, description = "The file", content_type = "*/*", body = String),
        (status = 404, description = "No such file"),
    ))]
async fn docs_file(PathParam(file): PathParam<String>) -> ApiResult<Response> {
    let found = utoipa_swagger_ui::serve(&file, SWAGGER.clone())
        .map_err(|e| ApiError::Internal(format!("docs file {file}: {e}")))?;
    // The page is ours; `index.html` and the initializer of Swagger UI's own are not served.
    let found =
        found.filter(|_| !matches!(file.as_str(), "" | "index.html" | "swagger-initializer.js"));
    let Some(f) = found else {
        return Err(ApiError::NotFound("Not Found".into()));
    };
    let kind = HeaderValue::from_str(&f.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        f.bytes.into_owned(),
    )
        .into_response())
}
