//! Authentication end to end against the real binary: every `/api/auth/*` endpoint and
//! error code, the gate on core routes and unknown paths, token invalidation after each
//! credential change, forged tokens, the login rate limit per (username, address), the
//! trusted-networks check, the avatar, and secrets kept out of responses and logs.
//!
//! Stored hashes use bcrypt cost 4 to keep the tests fast; the server hashes new
//! passwords with its normal cost.

mod support;

use std::fs;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use support::server::{copy_dir, project_root, Api, ConfigDir, TestServer};

const SECRET: &str = "test-signing-secret-0123456789";
const PASSWORD: &str = "OldPassw0rd-secret";

fn hash4(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

/// A private copy of the demo config, edited as text so its comments survive, with no
/// plugin enabled and the given auth settings.
fn config_dir(enabled: bool, password: Option<&str>) -> ConfigDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&project_root().join("config"), &dir.path().join("config"));
    fs::create_dir_all(dir.path().join("plugins")).unwrap();
    let cd = ConfigDir { dir };
    let mut text = fs::read_to_string(cd.app_yaml()).unwrap();
    let cut = text
        .find("\nplugins:")
        .expect("demo app.yaml has a plugins section");
    text.truncate(cut + 1);
    text.push_str("plugins: {}\n");
    let hash = password.map(hash4).unwrap_or_default();
    let text = text
        .replacen(
            "  enabled: false\n  username: admin\n",
            &format!("  enabled: {enabled}\n  username: admin\n"),
            1,
        )
        .replacen(
            "  password_hash: \"\"",
            &format!("  password_hash: \"{hash}\""),
            1,
        )
        .replacen(
            "  secret_key: \"\"",
            &format!("  secret_key: \"{SECRET}\""),
            1,
        );
    fs::write(cd.app_yaml(), text).unwrap();
    let doc = cd.read_app_yaml();
    assert_eq!(
        doc["auth"]["enabled"],
        json!(enabled),
        "demo auth layout changed"
    );
    assert_eq!(doc["auth"]["password_hash"], json!(hash));
    cd
}

fn start(cd: &ConfigDir) -> (TestServer, Api) {
    let s = TestServer::start(&cd.app_yaml());
    let api = Api::new(&s);
    (s, api)
}

/// An API client whose connections come from `local` (any 127.x.y.z address is loopback).
fn api_from(server: &TestServer, local: &str) -> Api {
    Api {
        client: reqwest::Client::builder()
            .local_address(local.parse::<IpAddr>().unwrap())
            .build()
            .unwrap(),
        base: format!("http://{}", server.addr),
        token: None,
    }
}

async fn login(api: &Api, username: &str, password: &str) -> (u16, Value) {
    api.post(
        "/api/auth/login",
        &json!({"username": username, "password": password}),
    )
    .await
}

/// Logs in as admin with `password` and returns a client that sends the token.
async fn logged_in(server: &TestServer, password: &str) -> Api {
    let mut api = Api::new(server);
    let (status, body) = login(&api, "admin", password).await;
    assert_eq!(status, 200, "{body}");
    api.token = Some(body["access_token"].as_str().unwrap().to_string());
    api
}

/// Sends GET `path` with a raw Authorization header (or none).
async fn get_with_header(api: &Api, path: &str, authorization: Option<&str>) -> (u16, Value) {
    let mut req = api.client.get(format!("{}{}", api.base, path));
    if let Some(h) = authorization {
        req = req.header("authorization", h);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn detail(body: &Value) -> &str {
    body["detail"].as_str().unwrap_or_default()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn decode_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A JWT with any header and claims, signed with HMAC-SHA256 or -SHA512 under `key`.
fn forge(header: &Value, claims: &Value, key: &str, sha512: bool) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = if sha512 {
        let mut m = Hmac::<sha2::Sha512>::new_from_slice(key.as_bytes()).unwrap();
        m.update(input.as_bytes());
        m.finalize().into_bytes().to_vec()
    } else {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        m.update(input.as_bytes());
        m.finalize().into_bytes().to_vec()
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn comment_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| l.trim_start().starts_with('#'))
        .count()
}

/// The file as a document with one auth key removed, to compare "everything else".
fn without(mut doc: Value, key: &str) -> Value {
    doc["auth"].as_object_mut().unwrap().remove(key);
    doc
}

fn jpeg_url(extra: usize) -> String {
    let mut bytes = vec![0xFF, 0xD8, 0xFF];
    bytes.extend(vec![0u8; extra]);
    format!("data:image/jpeg;base64,{}", STANDARD.encode(bytes))
}

#[tokio::test]
async fn status_is_public_and_describes_the_setup() {
    let cd = config_dir(false, None);
    let (_s, api) = start(&cd);
    let (status, body) = api.get("/api/auth/status").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"enabled": false, "configured": false, "username": "admin",
               "policy": {"min_length": 6, "max_length": 128,
                          "require_digit": false, "require_symbol": false}})
    );

    let cd = config_dir(true, Some(PASSWORD));
    let (_s, api) = start(&cd);
    let (status, body) = api.get("/api/auth/status").await;
    assert_eq!(status, 200);
    assert_eq!(body["enabled"], true);
    assert_eq!(body["configured"], true);
    assert!(!body.to_string().contains("$2b$"));
}

#[tokio::test]
async fn login_validates_its_body() {
    let cd = config_dir(true, Some(PASSWORD));
    let (_s, api) = start(&cd);
    let (status, body) = api.post("/api/auth/login", &json!({})).await;
    assert_eq!(status, 422);
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["loc"])
        .collect();
    assert_eq!(
        locs,
        [&json!(["body", "username"]), &json!(["body", "password"])]
    );
    assert_eq!(body["detail"][0]["type"], "missing");
    assert_eq!(body["detail"][0]["msg"], "Field required");

    let (status, body) = api
        .post(
            "/api/auth/login",
            &json!({"username": 7, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "string_type");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "username"]));

    // A missing field echoes the body, but never a password.
    let (status, body) = api
        .post("/api/auth/login", &json!({"password": PASSWORD}))
        .await;
    assert_eq!(status, 422);
    assert!(!body.to_string().contains(PASSWORD));

    let (status, body) = api
        .raw(reqwest::Method::POST, "/api/auth/login", "notjson")
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    let (status, _) = api
        .raw(reqwest::Method::POST, "/api/auth/login", "[1, 2]")
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn login_with_auth_disabled_is_400() {
    let cd = config_dir(false, Some(PASSWORD));
    let (_s, api) = start(&cd);
    let (status, body) = login(&api, "admin", PASSWORD).await;
    assert_eq!(status, 400);
    assert!(detail(&body).to_lowercase().contains("not enabled"));
    // /me has no user while auth is off, whatever the header says.
    let (status, body) = get_with_header(&api, "/api/auth/me", None).await;
    assert_eq!((status, detail(&body)), (401, "Not authenticated"));
    let (status, body) = get_with_header(&api, "/api/auth/me", Some("Bearer fake-token")).await;
    assert_eq!((status, detail(&body)), (401, "Not authenticated"));
}

#[tokio::test]
async fn login_refuses_wrong_credentials_and_issues_a_bound_token() {
    let cd = config_dir(true, Some(PASSWORD));
    let (_s, api) = start(&cd);

    let (status, body) = login(&api, "wronguser", PASSWORD).await;
    assert_eq!(status, 401);
    assert!(detail(&body).contains("credentials"));
    let (status, body) = login(&api, "admin", "wrongpass").await;
    assert_eq!((status, detail(&body)), (401, "Invalid credentials"));
    let (status, body) = login(&api, "Admin", PASSWORD).await;
    assert_eq!((status, detail(&body)), (401, "Invalid credentials"));
    // Over bcrypt's 72 bytes: a plain 401, never a 500.
    let (status, body) = login(&api, "admin", &"p".repeat(100)).await;
    assert_eq!((status, detail(&body)), (401, "Invalid credentials"));

    let resp = api
        .client
        .post(format!("{}/api/auth/login", api.base))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["username"], "admin");
    assert_eq!(body["expires_in"], 86400);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(decode_part(token, 0), json!({"alg": "HS256", "typ": "JWT"}));
    let claims = decode_part(token, 1);
    assert_eq!(claims["sub"], "admin");
    let exp = claims["exp"].as_i64().unwrap();
    assert!((exp - (now() + 86400)).abs() < 60, "exp {exp}");
    assert!(claims["cred"].is_string());
    // Signed with the configured secret: re-signing the same header and claims gives the
    // same token.
    assert_eq!(
        forge(&decode_part(token, 0), &claims, SECRET, false)
            .rsplit('.')
            .next(),
        token.rsplit('.').next()
    );

    let mut authed = Api::new(&_s);
    authed.token = Some(token.to_string());
    let (status, body) = authed.get("/api/auth/me").await;
    assert_eq!((status, body), (200, json!({"username": "admin"})));
}

#[tokio::test]
async fn session_duration_sets_the_token_lifetime() {
    let cd = config_dir(true, Some(PASSWORD));
    let (s, _) = start(&cd);
    let api = logged_in(&s, PASSWORD).await;
    for (duration, expected) in [("8h", json!(28800)), ("unlimited", Value::Null)] {
        let (_, mut cfg) = api.get("/api/config").await;
        cfg["auth"]["session_duration"] = json!(duration);
        let (status, body) = api.put("/api/config", &cfg).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = login(&api, "admin", PASSWORD).await;
        assert_eq!(status, 200);
        assert_eq!(body["expires_in"], expected);
        let claims = decode_part(body["access_token"].as_str().unwrap(), 1);
        match duration {
            "8h" => assert!((claims["exp"].as_i64().unwrap() - (now() + 28800)).abs() < 60),
            _ => assert!(claims.get("exp").is_none()),
        }
    }
}

#[tokio::test]
async fn the_gate_guards_every_route_but_login_status_and_health() {
    let cd = config_dir(true, Some(PASSWORD));
    let (s, api) = start(&cd);

    for path in [
        "/api/config",
        "/api/system/status",
        "/api/env",
        "/api/auth/me",
        "/api/auth/avatar",
        "/api/nonexistent",
        "/api/slurm/summary",
        "/",
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(body, json!({"detail": "Not authenticated"}), "{path}");
    }
    let (status, _) = api.put("/api/config", &json!({})).await;
    assert_eq!(status, 401, "writes are gated before validation");
    let (status, _) = api.post("/api/system/restart", &json!({})).await;
    assert_eq!(status, 401);
    let (status, _) = api
        .request(reqwest::Method::OPTIONS, "/api/config", None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = api.delete("/api/system/status").await;
    assert_eq!(status, 401, "wrong methods are gated too");
    // An anonymous oversized body is refused by the gate: the server never spends time
    // reading (draining) a body for a client it does not know.
    {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(&s.addr).unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        write!(
            conn,
            "PUT /api/config HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{{}}"
        )
        .unwrap();
        let mut buf = [0u8; 512];
        let n = conn.read(&mut buf).expect("an answer without the body");
        let head = String::from_utf8_lossy(&buf[..n]);
        // 401, not the size check's 413: the gate runs first.
        assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    }

    let resp = api
        .client
        .get(format!("{}/api/config", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert!(resp.headers().contains_key("x-request-id"));

    let (status, body) = api.get("/healthz").await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, _) = api.get("/api/auth/status").await;
    assert_eq!(status, 200);

    // Header shapes: only the exact "Bearer " prefix is read.
    let authed = logged_in(&s, PASSWORD).await;
    let token = authed.token.clone().unwrap();
    for header in [
        format!("bearer {token}"),
        format!("Basic {token}"),
        token.clone(),
    ] {
        let (status, body) = get_with_header(&api, "/api/config", Some(&header)).await;
        assert_eq!((status, detail(&body)), (401, "Not authenticated"));
    }
    let (status, body) = get_with_header(&api, "/api/config", Some("Bearer fake-token")).await;
    assert_eq!((status, detail(&body)), (401, "Invalid or expired token"));
    // HTTP drops trailing whitespace from header values: "Bearer " arrives as "Bearer".
    let (status, body) = get_with_header(&api, "/api/config", Some("Bearer ")).await;
    assert_eq!((status, detail(&body)), (401, "Not authenticated"));

    // With the token: everything answers as usual, admin writes included.
    for path in [
        "/api/config",
        "/api/system/status",
        "/api/env",
        "/api/auth/avatar",
    ] {
        let (status, _) = authed.get(path).await;
        assert_eq!(status, 200, "{path}");
    }
    let (status, body) = authed.get("/api/nonexistent").await;
    assert_eq!((status, body), (404, json!({"detail": "Not Found"})));
    let (_, cfg) = authed.get("/api/config").await;
    let (status, body) = authed.put("/api/config", &cfg).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = authed.post("/api/system/restart", &json!({})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused() {
    let cd = config_dir(true, Some(PASSWORD));
    let (s, api) = start(&cd);
    let authed = logged_in(&s, PASSWORD).await;
    let token = authed.token.clone().unwrap();
    let header = decode_part(&token, 0);
    let claims = decode_part(&token, 1);
    // The same claims re-signed with the secret still work: the forging helper is right.
    let (status, _) = get_with_header(
        &api,
        "/api/auth/me",
        Some(&format!(
            "Bearer {}",
            forge(&header, &claims, SECRET, false)
        )),
    )
    .await;
    assert_eq!(status, 200);

    let mut other_sub = claims.clone();
    other_sub["sub"] = json!("mallory");
    let mut expired = claims.clone();
    expired["exp"] = json!(now() - 10);
    let reference_shaped = json!({"sub": "admin", "exp": now() + 3600});
    let none_token = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let cases = [
        ("other sub", forge(&header, &other_sub, SECRET, false)),
        ("expired", forge(&header, &expired, SECRET, false)),
        (
            "no credential claim",
            forge(&header, &reference_shaped, SECRET, false),
        ),
        (
            "wrong secret",
            forge(&header, &claims, "another-secret", false),
        ),
        ("alg none", none_token),
        (
            "HS512",
            forge(
                &json!({"alg": "HS512", "typ": "JWT"}),
                &claims,
                SECRET,
                true,
            ),
        ),
        (
            "HS512 header, HS256 signature",
            forge(
                &json!({"alg": "HS512", "typ": "JWT"}),
                &claims,
                SECRET,
                false,
            ),
        ),
    ];
    for (name, forged) in cases {
        let (status, body) =
            get_with_header(&api, "/api/auth/me", Some(&format!("Bearer {forged}"))).await;
        assert_eq!(
            (status, detail(&body)),
            (401, "Invalid or expired token"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn change_password_applies_at_once_and_ends_old_sessions() {
    let cd = config_dir(true, Some(PASSWORD));
    let before_text = fs::read_to_string(cd.app_yaml()).unwrap();
    let before = cd.read_app_yaml();
    let (s, anon) = start(&cd);
    let api = logged_in(&s, PASSWORD).await;
    let path = "/api/auth/change-password";

    let (status, _) = anon
        .post(
            path,
            &json!({"current_password": PASSWORD, "new_password": "x1234567"}),
        )
        .await;
    assert_eq!(status, 401, "gated");
    let (status, body) = api.post(path, &json!({})).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"].as_array().unwrap().len(), 2);
    let (status, body) = api
        .post(
            path,
            &json!({"current_password": "wrongpass", "new_password": "newpass123"}),
        )
        .await;
    assert_eq!(
        (status, detail(&body)),
        (401, "Current password is incorrect")
    );
    let (status, body) = api
        .post(
            path,
            &json!({"current_password": PASSWORD, "new_password": "abc"}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            422,
            json!({"detail": "Password must be at least 6 characters"})
        )
    );
    let (status, body) = api
        .post(
            path,
            &json!({"current_password": PASSWORD, "new_password": "é".repeat(40)}),
        )
        .await;
    assert_eq!(
        (status, detail(&body)),
        (422, "Password must be at most 72 bytes (bcrypt limit)")
    );
    assert_eq!(fs::read_to_string(cd.app_yaml()).unwrap(), before_text);

    let new_password = "N3w-passw0rd!";
    let (status, body) = api
        .post(
            path,
            &json!({"current_password": PASSWORD, "new_password": new_password}),
        )
        .await;
    assert_eq!((status, body), (200, json!({"ok": true})));

    // On disk: a cost-13 hash, every other key and every comment kept.
    let after_text = fs::read_to_string(cd.app_yaml()).unwrap();
    let after = cd.read_app_yaml();
    let hash = after["auth"]["password_hash"].as_str().unwrap().to_string();
    assert!(hash.starts_with("$2b$13$"), "{hash}");
    assert!(bcrypt::verify(new_password, &hash).unwrap());
    assert_eq!(
        without(after.clone(), "password_hash"),
        without(before, "password_hash")
    );
    assert_eq!(comment_lines(&after_text), comment_lines(&before_text));
    assert_eq!(after_text.lines().count(), before_text.lines().count());

    // In memory, at once: the old token and the old password are refused.
    let (status, body) = api.get("/api/config").await;
    assert_eq!((status, detail(&body)), (401, "Invalid or expired token"));
    let (status, _) = login(&anon, "admin", PASSWORD).await;
    assert_eq!(status, 401);
    let fresh = logged_in(&s, new_password).await;
    let (status, cfg) = fresh.get("/api/config").await;
    assert_eq!(status, 200);
    assert!(!cfg.to_string().contains(&hash));
    assert!(!s.log().contains(&hash), "the new hash was logged");
    // The server's own write is not taken for a hand edit: a hand edit made after it is
    // the first edit the watcher applies, and its state directly follows the one the
    // credential write published. (Had the watcher seen both writes as one event, this
    // holds too: the check can miss the fault then, never report a wrong one.)
    let written = last_published_generation(&s.log());
    let mut text = fs::read_to_string(cd.app_yaml()).unwrap();
    text.push_str("\n# a hand edit after the password change\n");
    fs::write(cd.app_yaml(), text).unwrap();
    support::wait::eventually("the hand edit applied", 10, || async {
        s.log().contains("app.yaml edit applied")
    })
    .await;
    let log = s.log();
    assert_eq!(
        log.matches("app.yaml edit applied").count(),
        1,
        "the credential write was reloaded as an edit:\n{log}"
    );
    assert_eq!(last_published_generation(&log), written + 1, "{log}");
}

/// The generation of the last state the server published, from its log.
fn last_published_generation(log: &str) -> u64 {
    let line = log
        .lines()
        .rfind(|l| l.contains("state published"))
        .expect("a state was published");
    let at = line.find("generation=").expect("the generation is logged") + "generation=".len();
    line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

#[tokio::test]
async fn change_username_applies_at_once_and_ends_old_sessions() {
    let cd = config_dir(true, Some(PASSWORD));
    let before_text = fs::read_to_string(cd.app_yaml()).unwrap();
    let before = cd.read_app_yaml();
    let (s, anon) = start(&cd);
    let api = logged_in(&s, PASSWORD).await;
    let path = "/api/auth/change-username";

    let (status, body) = api.post(path, &json!({})).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["body", "new_username"]));
    let (status, body) = api
        .post(
            path,
            &json!({"new_username": "root", "password": "wrongpass"}),
        )
        .await;
    assert_eq!((status, detail(&body)), (401, "Password is incorrect"));
    let (status, body) = api
        .post(path, &json!({"new_username": "   ", "password": PASSWORD}))
        .await;
    assert_eq!(
        (status, body),
        (422, json!({"detail": "Username cannot be empty"}))
    );
    assert_eq!(fs::read_to_string(cd.app_yaml()).unwrap(), before_text);

    let (status, body) = api
        .post(
            path,
            &json!({"new_username": "  root  ", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"ok": true, "username": "root"}))
    );
    let after_text = fs::read_to_string(cd.app_yaml()).unwrap();
    let after = cd.read_app_yaml();
    assert_eq!(after["auth"]["username"], "root");
    assert_eq!(without(after, "username"), without(before, "username"));
    assert_eq!(comment_lines(&after_text), comment_lines(&before_text));

    let (status, body) = api.get("/api/auth/me").await;
    assert_eq!((status, detail(&body)), (401, "Invalid or expired token"));
    let (status, _) = login(&anon, "admin", PASSWORD).await;
    assert_eq!(status, 401);
    let (status, body) = login(&anon, "root", PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(body["username"], "root");
    let mut root = Api::new(&s);
    root.token = Some(body["access_token"].as_str().unwrap().into());
    let (status, body) = root.get("/api/auth/me").await;
    assert_eq!((status, body), (200, json!({"username": "root"})));
    let (_, status_body) = anon.get("/api/auth/status").await;
    assert_eq!(status_body["username"], "root");
}

#[tokio::test]
async fn password_policy_from_the_config() {
    let cd = config_dir(false, Some(PASSWORD));
    cd.edit_app_yaml(|d| {
        d["auth"]["policy"] =
            json!({"min_length": 8, "max_length": 30, "require_digit": true, "require_symbol": true})
    });
    let (_s, api) = start(&cd);
    let path = "/api/auth/change-password";
    for (candidate, expected) in [
        ("short", "Password must be at least 8 characters"),
        (
            "a".repeat(31).as_str(),
            "Password must be at most 30 characters",
        ),
        (
            "Password!",
            "Password must contain at least one digit (0–9)",
        ),
        (
            "Password1",
            "Password must contain at least one symbol (!@#$…)",
        ),
    ] {
        let (status, body) = api
            .post(
                path,
                &json!({"current_password": PASSWORD, "new_password": candidate}),
            )
            .await;
        assert_eq!((status, detail(&body)), (422, expected), "{candidate}");
    }
    let (status, _) = api
        .post(
            path,
            &json!({"current_password": PASSWORD, "new_password": "Pass123!word"}),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn first_password_is_set_over_the_api_then_auth_can_be_enabled() {
    let cd = config_dir(false, None);
    let (s, api) = start(&cd);

    // Enabling auth with no password hash is refused, and changes nothing.
    let (_, mut cfg) = api.get("/api/config").await;
    cfg["auth"]["enabled"] = json!(true);
    let (status, body) = api.put("/api/config", &cfg).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"][1], "auth");
    assert_eq!(cd.read_app_yaml()["auth"]["enabled"], false);

    // With no hash, change-username needs no password (auth off, no trusted networks).
    let (status, _) = api
        .post(
            "/api/auth/change-username",
            &json!({"new_username": "operator", "password": ""}),
        )
        .await;
    assert_eq!(status, 200);

    let first = "First-passw0rd";
    let (status, body) = api
        .post(
            "/api/auth/change-password",
            &json!({"current_password": "", "new_password": first}),
        )
        .await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    let (_, st) = api.get("/api/auth/status").await;
    assert_eq!(st["configured"], true);
    assert_eq!(st["username"], "operator");

    let (_, mut cfg) = api.get("/api/config").await;
    assert_eq!(cfg["auth"]["username"], "operator");
    cfg["auth"]["enabled"] = json!(true);
    let (status, body) = api.put("/api/config", &cfg).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = api.get("/api/config").await;
    assert_eq!(status, 401, "auth is on at once");
    let (status, body) = login(&api, "operator", first).await;
    assert_eq!(status, 200, "{body}");
    assert!(!s.log().contains(first));
}

#[tokio::test]
async fn trusted_networks_guard_admin_writes_while_auth_is_off() {
    let cd = config_dir(false, None);
    cd.edit_app_yaml(|d| d["auth"]["trusted_networks"] = json!(["192.168.0.0/16"]));
    let (_s, api) = start(&cd);
    let (status, body) = api.put("/api/config", &json!({})).await;
    assert_eq!(status, 403, "the guard runs before validation");
    assert!(detail(&body).contains("trusted"));
    // Setting the first password is an admin write too.
    let (status, body) = api
        .post(
            "/api/auth/change-password",
            &json!({"current_password": "", "new_password": "whatever123"}),
        )
        .await;
    assert_eq!(status, 403);
    assert!(detail(&body).contains("trusted"));
    let (status, _) = api
        .post(
            "/api/auth/change-username",
            &json!({"new_username": "x", "password": ""}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = api
        .put("/api/auth/avatar", &json!({"avatar": jpeg_url(10)}))
        .await;
    assert_eq!(status, 403);
    let (status, _) = api.delete("/api/auth/avatar").await;
    assert_eq!(status, 403);
    // Reads stay open.
    for path in ["/api/config", "/api/auth/status", "/api/auth/avatar"] {
        let (status, _) = api.get(path).await;
        assert_eq!(status, 200, "{path}");
    }
    assert_eq!(cd.read_app_yaml()["auth"]["password_hash"], "");

    // A trusted client passes the guard (then meets body validation).
    let cd = config_dir(false, None);
    cd.edit_app_yaml(|d| d["auth"]["trusted_networks"] = json!(["not-a-cidr", "127.0.0.0/8"]));
    let (_s, api) = start(&cd);
    let (status, _) = api
        .put(
            "/api/config",
            &json!({"refresh": {"room_state_seconds": 1}}),
        )
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn a_known_password_changes_without_the_trusted_network_check() {
    let cd = config_dir(false, Some(PASSWORD));
    cd.edit_app_yaml(|d| d["auth"]["trusted_networks"] = json!(["192.168.0.0/16"]));
    let (_s, api) = start(&cd);
    let (status, _) = api
        .post(
            "/api/auth/change-password",
            &json!({"current_password": PASSWORD, "new_password": "another-pass1"}),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn avatar_round_trip_and_refusals() {
    let cd = config_dir(false, None);
    let (_s, api) = start(&cd);
    let stored = cd.app_yaml().parent().unwrap().join("avatar.jpeg");
    let (status, body) = api.get("/api/auth/avatar").await;
    assert_eq!((status, body), (200, json!({"avatar": null})));

    let jpeg = jpeg_url(10);
    let (status, body) = api.put("/api/auth/avatar", &json!({"avatar": jpeg})).await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert!(stored.exists());
    let (_, body) = api.get("/api/auth/avatar").await;
    assert_eq!(body["avatar"], jpeg);

    let refusals = [
        ("data:image/svg+xml;base64,PHN2Zy8+".to_string(), "svg"),
        (
            "data:text/html;base64,PGI+aGk8L2I+".to_string(),
            "text/html",
        ),
        ("not-a-data-url".to_string(), "expected data URL"),
        ("data:image/jpeg;base64,@@@".to_string(), "base64"),
        (
            format!(
                "data:image/jpeg;base64,{}",
                STANDARD.encode(b"PK\x03\x04zip")
            ),
            "magic",
        ),
        (jpeg_url(512 * 1024), "large"),
    ];
    for (url, needle) in refusals {
        let (status, body) = api.put("/api/auth/avatar", &json!({"avatar": url})).await;
        assert_eq!(status, 400, "{needle}");
        assert!(detail(&body).contains(needle), "{body}");
        let (_, now) = api.get("/api/auth/avatar").await;
        assert_eq!(now["avatar"], jpeg, "a refused upload wrote something");
    }
    let (status, body) = api.put("/api/auth/avatar", &json!({"avatar": 5})).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "string_type");

    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    png.extend([3u8; 32]);
    let png_url = format!("data:image/png;base64,{}", STANDARD.encode(&png));
    let (status, _) = api
        .put("/api/auth/avatar", &json!({"avatar": png_url}))
        .await;
    assert_eq!(status, 200);
    let (_, body) = api.get("/api/auth/avatar").await;
    assert_eq!(body["avatar"], png_url, "served with its real type");

    let (status, body) = api.delete("/api/auth/avatar").await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert!(!stored.exists());
    let (status, _) = api.delete("/api/auth/avatar").await;
    assert_eq!(status, 200, "deleting nothing is fine");

    for clear in [json!({"avatar": null}), json!({"avatar": ""}), json!({})] {
        api.put("/api/auth/avatar", &json!({"avatar": jpeg})).await;
        assert!(stored.exists());
        let (status, _) = api.put("/api/auth/avatar", &clear).await;
        assert_eq!(status, 200);
        assert!(!stored.exists(), "{clear}");
    }
}

#[tokio::test]
async fn login_rate_limit_per_username_and_address() {
    let cd = config_dir(true, Some(PASSWORD));
    let (s, _) = start(&cd);
    let a = api_from(&s, "127.0.0.1");
    for _ in 0..10 {
        let (status, _) = login(&a, "admin", "wrong").await;
        assert_eq!(status, 401);
    }
    let (status, body) = login(&a, "admin", "wrong").await;
    assert_eq!(
        (status, detail(&body)),
        (429, "Too many login attempts. Try again in 15 minutes.")
    );
    // Even the right password waits now, from this address.
    let (status, _) = login(&a, "admin", PASSWORD).await;
    assert_eq!(status, 429);
    // Another username from the same address is counted apart.
    let (status, _) = login(&a, "bob", "wrong").await;
    assert_eq!(status, 401);
    // The real admin elsewhere is not locked out.
    let b = api_from(&s, "127.0.0.2");
    let (status, _) = login(&b, "admin", PASSWORD).await;
    assert_eq!(status, 200);

    // A success clears the pair's count.
    let c = api_from(&s, "127.0.0.3");
    for _ in 0..9 {
        assert_eq!(login(&c, "admin", "wrong").await.0, 401);
    }
    assert_eq!(login(&c, "admin", PASSWORD).await.0, 200);
    for _ in 0..10 {
        assert_eq!(login(&c, "admin", "wrong").await.0, 401);
    }
    assert_eq!(login(&c, "admin", "wrong").await.0, 429);
}

#[tokio::test]
async fn login_attempts_count_even_with_auth_disabled() {
    let cd = config_dir(false, Some(PASSWORD));
    let (_s, api) = start(&cd);
    for _ in 0..10 {
        assert_eq!(login(&api, "admin", "x").await.0, 400);
    }
    assert_eq!(login(&api, "admin", "x").await.0, 429);
}

#[tokio::test]
async fn secrets_never_reach_responses_or_the_log() {
    let cd = config_dir(true, Some(PASSWORD));
    let (s, anon) = start(&cd);
    let stored_hash = cd.read_app_yaml()["auth"]["password_hash"]
        .as_str()
        .unwrap()
        .to_string();
    let typed_as_username = "Oops-this-was-my-Passw0rd";
    let new_password = "Brand-new-Passw0rd";

    let mut seen = String::new();
    seen += &login(&anon, typed_as_username, PASSWORD)
        .await
        .1
        .to_string();
    seen += &login(&anon, "admin", "not-the-Passw0rd")
        .await
        .1
        .to_string();
    let api = logged_in(&s, PASSWORD).await;
    let token = api.token.clone().unwrap();
    seen += &api.get("/api/config").await.1.to_string();
    seen += &api.get("/api/auth/status").await.1.to_string();
    seen += &api
        .post(
            "/api/auth/change-password",
            &json!({"current_password": "bad-Current-pw", "new_password": new_password}),
        )
        .await
        .1
        .to_string();
    seen += &api
        .post(
            "/api/auth/change-password",
            &json!({"current_password": PASSWORD, "new_password": new_password}),
        )
        .await
        .1
        .to_string();
    let fresh = logged_in(&s, new_password).await;
    seen += &fresh
        .post(
            "/api/auth/change-username",
            &json!({"new_username": "ops", "password": new_password}),
        )
        .await
        .1
        .to_string();
    let new_hash = cd.read_app_yaml()["auth"]["password_hash"]
        .as_str()
        .unwrap()
        .to_string();

    let log = s.log();
    assert!(log.contains("login failed"), "failures are logged");
    for secret in [
        PASSWORD,
        new_password,
        typed_as_username,
        "not-the-Passw0rd",
        "bad-Current-pw",
        stored_hash.as_str(),
        new_hash.as_str(),
        SECRET,
        token.as_str(),
        fresh.token.as_deref().unwrap(),
    ] {
        assert!(!log.contains(secret), "logged: {secret}");
        assert!(!seen.contains(secret), "answered: {secret}");
    }
}
