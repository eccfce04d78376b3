//! `/api/auth/*`: status, login, me, change-password, change-username and the avatar
//! (docs/architecture.md, compatibility C4-C7), with the contract's shapes, messages and status codes.
//!
//! Where we differ from the reference, on purpose:
//! - credential changes apply at once and end every older session (see [`crate::auth`]);
//! - while no password is set, change-password sets the first one and change-username
//!   needs no password, but both then pass the admin check (trusted networks) instead of
//!   being open to anyone (the reference refuses the first and allows the second to all);
//! - the login rate limit counts per (username, client address) and a success clears it;
//! - a wrong username costs the same bcrypt work as a wrong password (no timing oracle),
//!   and the attempted username is not logged (people type passwords into it);
//! - avatar writes pass the admin check, and the avatar is served with its real type.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{require_object, JsonBody};
use super::guard::{client_ip, Admin};
use super::shapes::{
    AdminRefused, AuthStatus, Avatar, ChangePassword, ChangeUsername, Login, Me, Ok as OkAnswer,
    Token, UsernameChanged,
};
use super::{AppState, AuthUser};
use crate::app::App;
use crate::auth::avatar::{self, AvatarError};
use crate::auth::gate::{unix_now, NOT_AUTHENTICATED};
use crate::auth::password::{self, PolicyError};
use crate::auth::ratelimit::{LoginLimiter, TOO_MANY_ATTEMPTS};
use crate::auth::{token, write_credential, CredentialField, CredentialWriteError};
use crate::config::{FieldError, Loc};

/// The routes, with a login rate limiter of their own (one per application). The limiter
/// belongs to the login route alone, so it rides on that route's own layer rather than in
/// the state every handler shares.
pub fn router() -> OpenApiRouter<App> {
    let limiter = Arc::new(LoginLimiter::new());
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(login).layer(Extension(limiter)))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(change_username))
        .routes(routes!(get_avatar, put_avatar, delete_avatar))
}

/// Errors of these routes: an [`ApiError`], or a 500 whose message is worth showing (the
/// generic 500 of `ApiError::Internal` hides it).
enum AuthError {
    Api(ApiError),
    /// 500 with this `detail`; the cause is logged.
    Server(&'static str, String),
}

/// Every error of these routes passes here: validation errors lose their `input`, so no
/// auth route ever echoes what it was sent (a password in a list, a bare string or a
/// misnamed field would otherwise come back in the 422).
impl From<ApiError> for AuthError {
    fn from(e: ApiError) -> Self {
        AuthError::Api(match e {
            ApiError::Validation(errors) => ApiError::Validation(
                errors
                    .into_iter()
                    .map(|e| FieldError {
                        input: Value::Null,
                        ..e
                    })
                    .collect(),
            ),
            other => other,
        })
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        match self {
            AuthError::Api(e) => e.into_response(),
            AuthError::Server(detail, cause) => {
                tracing::error!(error = %cause, "{detail}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "detail": detail })),
                )
                    .into_response()
            }
        }
    }
}

type AuthResult<T> = Result<T, AuthError>;

/// The client's address (see `guard::client_ip`; `None` without connect info).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let snapshot = AppState::from_ref(state).snapshot();
        Ok(ClientAddr(client_ip(
            parts,
            &snapshot.config.auth.trusted_proxies,
        )))
    }
}

/// `GET /api/auth/status` (public).
#[utoipa::path(get, path = "/api/auth/status", tag = "auth", summary = "Whether auth is on",
    description = "Served without a token: the login page asks it first.",
    responses((status = 200, description = "Auth settings and the password policy", body = AuthStatus)))]
async fn status(State(state): State<AppState>) -> Json<Value> {
    let snapshot = state.snapshot();
    let auth = &snapshot.config.auth;
    Json(json!({
        "enabled": auth.enabled,
        "configured": !auth.password_hash.is_empty(),
        "username": auth.username,
        "policy": {
            "min_length": auth.policy.min_length,
            "max_length": auth.policy.max_length,
            "require_digit": auth.policy.require_digit,
            "require_symbol": auth.policy.require_symbol,
        },
    }))
}

/// `POST /api/auth/login` (public): body check, rate limit, then the credentials.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", summary = "Log in",
    description = "Served without a token. Attempts are limited per username and client address; a success clears the count.",
    request_body(content = Login, example = json!({"username": "admin", "password": "secret"})),
    responses(
        (status = 200, description = "A session token", body = Token),
        (status = 400, description = "Authentication is not enabled"),
        (status = 401, description = "Invalid credentials, or no password configured"),
        (status = 422, description = "`username` or `password` missing or not a string"),
        (status = 429, description = "Too many attempts; wait and retry"),
    ))]
async fn login(
    State(state): State<AppState>,
    Extension(limiter): Extension<Arc<LoginLimiter>>,
    ClientAddr(addr): ClientAddr,
    JsonBody(body): JsonBody,
) -> AuthResult<Response> {
    let [username, password] = string_fields(&body, ["username", "password"])?;
    if !limiter.try_attempt(&username, addr, Instant::now()) {
        tracing::warn!(client = ?addr, "login refused: too many attempts");
        return Err(ApiError::TooManyRequests(TOO_MANY_ATTEMPTS.into()).into());
    }
    let snapshot = state.snapshot();
    let auth = &snapshot.config.auth;
    if !auth.enabled {
        return Err(ApiError::BadRequest("Authentication is not enabled".into()).into());
    }
    // Verify before looking at the username, so a wrong name takes as long as a wrong
    // password and timing does not reveal the configured username.
    let password_ok = password::verify_async(password, auth.password_hash.clone()).await;
    if username != auth.username {
        tracing::warn!(client = ?addr, "login failed: unknown username");
        return Err(ApiError::Unauthorized("Invalid credentials".into()).into());
    }
    if auth.password_hash.is_empty() {
        tracing::warn!(client = ?addr, "login failed: no password configured");
        return Err(ApiError::Unauthorized("No password configured".into()).into());
    }
    if !password_ok {
        tracing::warn!(client = ?addr, "login failed: wrong password");
        return Err(ApiError::Unauthorized("Invalid credentials".into()).into());
    }
    limiter.succeeded(&username, addr);
    let issued = token::issue(auth, unix_now());
    tracing::info!(client = ?addr, username = %auth.username, "login succeeded");
    let body = json!({
        "access_token": issued.token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
        "username": auth.username,
    });
    Ok((
        [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    )
        .into_response())
}

/// `GET /api/auth/me`: the user the gate authenticated (none while auth is disabled).
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", summary = "Who is logged in",
    responses(
        (status = 200, description = "The user of the token", body = Me),
        (status = 401, description = "No user: auth is off, or no valid token"),
    ))]
async fn me(user: Option<Extension<AuthUser>>) -> AuthResult<Json<Value>> {
    match user {
        Some(Extension(AuthUser(name))) if !name.is_empty() => {
            Ok(Json(json!({ "username": name })))
        }
        _ => Err(ApiError::Unauthorized(NOT_AUTHENTICATED.into()).into()),
    }
}

/// `POST /api/auth/change-password`. With a password set: the current one must verify.
/// With none set yet: `current_password` is ignored and the caller must pass the admin
/// check; this is how a first password is set over the API.
#[utoipa::path(post, path = "/api/auth/change-password", tag = "auth", summary = "Change the password",
    description = "Checks the current password, writes the new bcrypt hash to app.yaml and applies it at once: \
        tokens issued before stop working. While no password is set, this sets the first one and needs the admin check instead.",
    request_body(content = ChangePassword, example = json!({"current_password": "old-password", "new_password": "new-secure-password"})),
    responses(
        (status = 200, description = "Changed", body = OkAnswer),
        (status = 401, description = "`current_password` does not match"),
        (status = 403, description = "No password is set yet and the client is not allowed to set one (auth.trusted_networks)"),
        (status = 422, description = "A field is missing, or the new password breaks `auth.policy`"),
        (status = 500, description = "The password could not be hashed or app.yaml written"),
    ))]
async fn change_password(
    State(state): State<AppState>,
    admin: Result<Admin, ApiError>,
    JsonBody(body): JsonBody,
) -> AuthResult<Json<Value>> {
    let [current, new] = string_fields(&body, ["current_password", "new_password"])?;
    let snapshot = state.snapshot();
    let stored = snapshot.config.auth.password_hash.clone();
    const WRONG: &str = "Current password is incorrect";
    if stored.is_empty() {
        admin?;
    } else if !password::verify_async(current, stored.clone()).await {
        tracing::warn!("password change refused: wrong current password");
        return Err(ApiError::Unauthorized(WRONG.into()).into());
    }
    password::check_new(&new, &snapshot.config.auth.policy)
        .map_err(|e: PolicyError| ApiError::Unprocessable(e.to_string()))?;
    drop(snapshot);
    let hash = password::hash_async(new)
        .await
        .map_err(|e| AuthError::Server("Could not hash the password", e.to_string()))?;
    write_credential(&state, &stored, CredentialField::PasswordHash, hash)
        .await
        .map_err(|e| credential_error(e, WRONG))?;
    Ok(Json(json!({ "ok": true })))
}

/// `POST /api/auth/change-username`. The password must verify when one is set; when none
/// is, the caller must pass the admin check instead.
#[utoipa::path(post, path = "/api/auth/change-username", tag = "auth", summary = "Change the username",
    description = "Checks the password, writes the new username to app.yaml and applies it at once: tokens issued before stop working.",
    request_body(content = ChangeUsername, example = json!({"new_username": "newname", "password": "current-password"})),
    responses(
        (status = 200, description = "Changed", body = UsernameChanged),
        (status = 401, description = "`password` does not match"),
        (status = 403, description = "No password is set and the client is not allowed to change the server (auth.trusted_networks)"),
        (status = 422, description = "A field is missing, or the username is empty or has control characters"),
        (status = 500, description = "app.yaml could not be written"),
    ))]
async fn change_username(
    State(state): State<AppState>,
    admin: Result<Admin, ApiError>,
    JsonBody(body): JsonBody,
) -> AuthResult<Json<Value>> {
    let [new_username, password] = string_fields(&body, ["new_username", "password"])?;
    let stored = state.snapshot().config.auth.password_hash.clone();
    const WRONG: &str = "Password is incorrect";
    if stored.is_empty() {
        admin?;
    } else if !password::verify_async(password, stored.clone()).await {
        tracing::warn!("username change refused: wrong password");
        return Err(ApiError::Unauthorized(WRONG.into()).into());
    }
    let name = new_username.trim();
    if name.is_empty() {
        return Err(ApiError::Unprocessable("Username cannot be empty".into()).into());
    }
    if name.chars().any(char::is_control) {
        return Err(
            ApiError::Unprocessable("Username cannot contain control characters".into()).into(),
        );
    }
    write_credential(&state, &stored, CredentialField::Username, name.to_string())
        .await
        .map_err(|e| credential_error(e, WRONG))?;
    Ok(Json(json!({ "ok": true, "username": name })))
}

fn credential_error(e: CredentialWriteError, wrong_password: &str) -> AuthError {
    match e {
        // The hash the caller proved knowledge of was replaced meanwhile.
        CredentialWriteError::Changed => ApiError::Unauthorized(wrong_password.into()).into(),
        CredentialWriteError::NotFound => AuthError::Server("Config file not found", e.to_string()),
        other => AuthError::Server("Could not update the config file", other.to_string()),
    }
}

/// `GET /api/auth/avatar`: `{"avatar": <data URL or null>}`.
#[utoipa::path(get, path = "/api/auth/avatar", tag = "auth", summary = "The user's avatar",
    responses((status = 200, description = "A data URL, or null", body = Avatar)))]
async fn get_avatar(State(state): State<AppState>) -> Json<Value> {
    let path = avatar::avatar_path(state.config_path());
    let url = match tokio::fs::read(&path).await {
        Ok(bytes) => avatar::encode_data_url(&bytes),
        Err(_) => None,
    };
    Json(json!({ "avatar": url }))
}

/// `PUT /api/auth/avatar` with `{"avatar": "<data URL>"}`; null, "" or no key deletes it.
#[utoipa::path(put, path = "/api/auth/avatar", tag = "auth", summary = "Set the avatar",
    description = "A `data:` URL of a JPEG, PNG or WebP image of at most 512 KiB; null, `\"\"` or no `avatar` removes it.",
    request_body(content = Avatar, example = json!({"avatar": null})),
    responses(
        (status = 200, description = "Saved (or removed)", body = OkAnswer),
        (status = 400, description = "Not a data URL of a supported image, or too large"),
        AdminRefused,
        (status = 422, description = "The body is not an object, or `avatar` is not a string"),
        (status = 500, description = "The file could not be written"),
    ))]
async fn put_avatar(
    State(state): State<AppState>,
    _admin: Admin,
    JsonBody(body): JsonBody,
) -> AuthResult<Json<Value>> {
    let obj = require_object(&body)?;
    let url = match obj.get("avatar") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => {
            return Err(ApiError::field(
                &["body", "avatar"],
                "string_type",
                "Input should be a valid string",
                other.clone(),
            )
            .into())
        }
    };
    let path = avatar::avatar_path(state.config_path());
    let Some(url) = url else {
        remove_avatar(&path).await;
        return Ok(Json(json!({ "ok": true })));
    };
    let (kind, bytes) = avatar::decode_data_url(url)
        .map_err(|e: AvatarError| ApiError::BadRequest(e.to_string()))?;
    let size = bytes.len();
    let target = path.clone();
    tokio::task::spawn_blocking(move || crate::fsutil::write_atomic(&target, &bytes))
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r)
        .map_err(|e| {
            AuthError::Server("Could not save avatar", format!("{}: {e}", path.display()))
        })?;
    tracing::info!(mime = kind.mime(), size, "avatar saved");
    Ok(Json(json!({ "ok": true })))
}

/// `DELETE /api/auth/avatar`: always `{"ok": true}`.
#[utoipa::path(delete, path = "/api/auth/avatar", tag = "auth", summary = "Remove the avatar",
    responses(
        (status = 200, description = "Removed (or there was none)", body = OkAnswer),
        AdminRefused,
    ))]
async fn delete_avatar(State(state): State<AppState>, _admin: Admin) -> Json<Value> {
    remove_avatar(&avatar::avatar_path(state.config_path())).await;
    Json(json!({ "ok": true }))
}

async fn remove_avatar(path: &std::path::Path) {
    match tokio::fs::remove_file(path).await {
        Ok(()) => tracing::info!("avatar removed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot remove avatar"),
    }
}

/// Reads required string fields from a JSON object body, reporting every problem at once
/// in the pydantic shape (`missing` / `string_type` at `["body", <field>]`). The `input`
/// of each error is dropped on the way out ([`AuthError`]'s `From`).
fn string_fields<const N: usize>(body: &Value, names: [&str; N]) -> Result<[String; N], ApiError> {
    let obj = require_object(body)?;
    let mut errors = Vec::new();
    let values = names.map(|name| match obj.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            errors.push(FieldError {
                kind: "string_type".into(),
                loc: vec![Loc::Key("body".into()), Loc::Key(name.into())],
                msg: "Input should be a valid string".into(),
                input: Value::Null,
                ctx: None,
            });
            String::new()
        }
        None => {
            errors.push(FieldError {
                kind: "missing".into(),
                loc: vec![Loc::Key("body".into()), Loc::Key(name.into())],
                msg: "Field required".into(),
                input: Value::Null,
                ctx: None,
            });
            String::new()
        }
    });
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_fields_reports_every_problem_without_echoing_secrets() {
        let body = json!({"password": 5, "extra": "kept"});
        let Err(ApiError::Validation(errs)) = string_fields(&body, ["username", "password"]) else {
            panic!("expected a validation error");
        };
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].kind, "missing");
        assert_eq!(
            serde_json::to_value(&errs[0].loc).unwrap(),
            json!(["body", "username"])
        );
        assert_eq!(errs[0].input, Value::Null);
        assert_eq!(errs[1].kind, "string_type");
        assert_eq!(errs[1].input, Value::Null);
        let Err(AuthError::Api(ApiError::Validation(errs))) =
            string_fields(&json!(["admin", "MySecretPw1"]), ["username"]).map_err(AuthError::from)
        else {
            panic!("expected a validation error");
        };
        assert_eq!(errs[0].input, Value::Null, "a list body is not echoed");

        let ok = string_fields(
            &json!({"username": "a", "password": "b"}),
            ["username", "password"],
        );
        assert_eq!(ok.unwrap(), ["a".to_string(), "b".to_string()]);
        assert!(string_fields(&json!([1]), ["username"]).is_err());
    }
}
