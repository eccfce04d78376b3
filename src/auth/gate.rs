//! The global auth gate (docs/architecture.md, compatibility C4): while `auth.enabled` is true, every request needs
//! `Authorization: Bearer <token>` with a valid token, whatever its path or method (core
//! routes, plugin routes reached through the fallback, unknown paths, OPTIONS), except
//! the paths in [`PUBLIC_PATHS`] and the docs page's assets ([`is_public`]).
//!
//! A valid token puts [`AuthUser`] in the request's extensions, which `/api/auth/me` and the
//! admin check read. With auth disabled the gate passes everything and sets no user.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::token;
use crate::state::AppState;

/// The authenticated user, placed in the request's extensions by the gate.
#[derive(Debug, Clone)]
pub struct AuthUser(pub String);

/// Paths served without a token: logging in, the login page's status probe, the health
/// check that supervisors and container runtimes poll, and the API description and its
/// page, which hold no data (as Rackscope serves its own).
pub const PUBLIC_PATHS: [&str; 5] = [
    "/api/auth/login",
    "/api/auth/status",
    "/healthz",
    "/api/openapi.json",
    "/api/docs",
];

/// The docs page's assets (scripts, styles), public like the page.
pub const PUBLIC_PREFIX: &str = "/api/docs/";

/// Whether `path` is served without a token (see [`PUBLIC_PATHS`]).
pub fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path) || path.starts_with(PUBLIC_PREFIX)
}

/// 401 for a missing header or one that does not start with `Bearer ` (case-sensitive).
pub const NOT_AUTHENTICATED: &str = "Not authenticated";
/// 401 for a token that does not verify, has expired, or predates a credential change.
pub const INVALID_TOKEN: &str = "Invalid or expired token";

/// The gate, as an axum middleware (`middleware::from_fn_with_state`).
pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let snapshot = state.snapshot();
    let auth = &snapshot.config.auth;
    if !auth.enabled || is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let Some(token) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return unauthorized(NOT_AUTHENTICATED);
    };
    match token::verify(token, auth, unix_now()) {
        Ok(user) => {
            drop(snapshot);
            req.extensions_mut().insert(AuthUser(user));
            next.run(req).await
        }
        Err(reason) => {
            tracing::debug!(path = %req.uri().path(), %reason, "token refused");
            unauthorized(INVALID_TOKEN)
        }
    }
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unauthorized(detail: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
        Json(json!({ "detail": detail })),
    )
        .into_response()
}
