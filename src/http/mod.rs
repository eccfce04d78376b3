//! The HTTP application: one composition root ([`app`]) that merges each feature's router
//! (through [`openapi::core_routes`], which describes every route in the API document as
//! it registers it), plus the middleware every request passes (request id and access log,
//! the auth gate, then the body size check) and the JSON answers for unknown routes and
//! wrong methods.

pub mod auth_routes;
pub mod config_routes;
pub mod docs_routes;
pub mod encoded;
pub mod error;
pub mod extract;
pub mod guard;
pub mod health_routes;
pub mod logs_routes;
pub mod maintenance_routes;
pub mod metrics_data;
pub mod openapi;
pub mod plugin_routes;
pub mod query;
pub mod shapes;
pub mod system;
pub mod views_routes;

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

/// The request id header, set on every request (unless the client sent one) and answer.
const X_REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

pub use crate::app::App;
pub use crate::auth::gate::AuthUser;
pub use crate::state::AppState;
pub use error::{ApiError, ApiResult};

/// The whole application for `app`.
///
/// Middleware, outermost first: the request id and access log (tower-http's layers, so
/// refused requests are logged and carry an `X-Request-ID` too), the auth gate, then the
/// body size check (so an anonymous client never makes the server drain a body). Both are layered over the whole router
/// including its fallbacks, so every route, unknown paths and anything dispatched through
/// the fallback (plugin routes) pass the gate.
pub fn app(app: App) -> Router {
    let (core, _) = openapi::core_routes().split_for_parts();
    let router = core
        .fallback(plugin_routes::dispatch)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(refuse_large_bodies))
        .layer(middleware::from_fn_with_state(
            app.state.clone(),
            crate::auth::gate::gate,
        ))
        // Answers are gzipped for clients that accept it, except those that set their
        // own Content-Encoding (the precomputed `/api/sites`), event streams, and large
        // published answers sent plain while their gzip is being made.
        .layer(CompressionLayer::new().compress_when(encoded::compress_when()));
    access_log(router).with_state(app)
}

/// Largest request body the server reads (core routes and plugin routes alike).
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// Bodies up to this size are read and discarded before a 413 is sent, so that a client
/// still writing its (oversized) body reads the answer instead of a broken connection.
const DRAIN_AT_MOST: u64 = 8 << 20;

/// How long a 413 waits for the rest of an oversized body (a client may announce more
/// than it ever sends).
const DRAIN_FOR: Duration = Duration::from_secs(1);

/// Answers 413 when `Content-Length` announces more than [`MAX_BODY_BYTES`], before any
/// handler reads (or waits for) the body. What the client sends meanwhile is read and
/// thrown away, for at most [`DRAIN_FOR`] and [`DRAIN_AT_MOST`] bytes, so the client
/// reads the 413; the connection is then closed. Bodies without a length are cut at the
/// same size by the extractors.
async fn refuse_large_bodies(req: Request, next: Next) -> Response {
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(announced) = announced.filter(|n| *n > MAX_BODY_BYTES as u64) else {
        return next.run(req).await;
    };
    if announced <= DRAIN_AT_MOST {
        let mut body = req.into_body().into_data_stream();
        let drain = async { while let Some(Ok(_)) = futures::StreamExt::next(&mut body).await {} };
        let _ = tokio::time::timeout(DRAIN_FOR, drain).await;
    }
    let mut response =
        ApiError::PayloadTooLarge("Request body too large (limit 2 MiB)".into()).into_response();
    // The connection cannot carry another request (its body may be unread): say so, or a
    // client that pools connections would send its next request into it.
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        HeaderValue::from_static("close"),
    );
    response
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({ "detail": "Method Not Allowed" })),
    )
        .into_response()
}

/// Request ids: a UUIDv4 from the thread-local userspace RNG (`Uuid::new_v4` asks the
/// kernel for randomness on every call, a syscall per request).
#[derive(Clone, Copy, Default)]
struct FastUuid;

impl MakeRequestId for FastUuid {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random())
            .into_uuid()
            .to_string();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// The access log: one span per request with its id, method and path, and one line when
/// the response is ready, with its status and duration.
fn access_log<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
            let id = req
                .headers()
                .get(X_REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
        })
        .on_request(())
        .on_response(
            |res: &Response, latency: Duration, _span: &tracing::Span| {
                let duration_ms = (latency.as_secs_f64() * 100_000.0).round() / 100.0;
                tracing::info!(status = res.status().as_u16(), duration_ms, "response");
            },
        )
        .on_failure(());
    // Outermost first: the id is set, then the request is traced, then the id is copied
    // onto the response.
    router
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(X_REQUEST_ID, FastUuid))
}
