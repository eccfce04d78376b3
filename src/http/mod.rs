//! The HTTP application: one composition root ([`app`]) that merges each feature's router,
//! plus the middleware every request passes (request id and access log, then the auth gate)
//! and the JSON answers for unknown routes and wrong methods.

pub mod auth_routes;
pub mod config_routes;
pub mod error;
pub mod extract;
pub mod guard;
pub mod plugin_routes;
pub mod system;

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;

pub use crate::app::App;
pub use crate::state::AppState;
pub use error::{ApiError, ApiResult};

pub use crate::auth::gate::AuthUser;

/// The whole application for `state`.
///
/// Middleware, outermost first: the request log (so refused requests are logged and carry
/// an `X-Request-ID` too), then the auth gate. Both are layered over the whole router
/// including its fallbacks, so every route, unknown paths and anything dispatched through
/// the fallback (plugin routes) pass the gate.
pub fn app(app: App) -> Router {
    Router::new()
        .merge(config_routes::router())
        .merge(system::router())
        .merge(auth_routes::router())
        .merge(plugin_routes::router())
        .fallback(plugin_routes::dispatch)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            app.state.clone(),
            crate::auth::gate::gate,
        ))
        .layer(middleware::from_fn(refuse_large_bodies))
        .layer(middleware::from_fn(request_log))
        .with_state(app)
}

/// Largest request body the server reads (core routes and plugin routes alike).
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// Answers 413 at once when `Content-Length` announces more than [`MAX_BODY_BYTES`],
/// before anything reads (or waits for) the body. Bodies without a length are cut at
/// the same size by the extractors.
async fn refuse_large_bodies(req: Request, next: Next) -> Response {
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        let mut response = ApiError::PayloadTooLarge("Request body too large (limit 2 MiB)".into())
            .into_response();
        // The body is never read, so the connection cannot carry another request: say
        // so, or a client that pools connections would send its next request into it.
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            HeaderValue::from_static("close"),
        );
        return response;
    }
    next.run(req).await
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({ "detail": "Method Not Allowed" })),
    )
        .into_response()
}

/// Gives every request an `X-Request-ID` (UUIDv4) and writes one access log line.
async fn request_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // A v4 UUID from the thread-local userspace RNG: `Uuid::new_v4` asks the kernel for
    // randomness on every call, a syscall per request.
    let request_id = uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string();
    let mut response = next.run(req).await;
    let status = response.status().as_u16();
    let duration_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    tracing::info!(
        request_id = %request_id,
        %method,
        %path,
        status,
        duration_ms,
        "{method} {path} - {status}"
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}
