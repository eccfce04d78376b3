//! Authentication and access control: one user (`auth.username` + a bcrypt
//! `auth.password_hash` in app.yaml), HS256 session tokens, and the gate that every request
//! passes when `auth.enabled` is true.
//!
//! - [`token`]: signing and checking tokens, bound to the current credentials.
//! - [`password`]: the password policy, bcrypt's 72-byte limit, hashing off the runtime.
//! - [`ratelimit`]: the login rate limit per (username, client address).
//! - [`gate`]: the middleware that demands a token on every route but three.
//! - [`avatar`]: the user's avatar image, validated and stored next to app.yaml.
//!
//! Credential changes go through [`write_credential`]: it edits only the one key in
//! app.yaml (keeping every other key, and the comments when it safely can), writes the file
//! atomically and publishes the new config at once, so old tokens stop working in the
//! same instant the new password or username starts working.
//!
//! Secrets (passwords, the hash, `secret_key`, tokens) are never logged and never sent.

pub mod avatar;
pub mod gate;
pub mod password;
pub mod ratelimit;
pub mod token;

use std::io;

use crate::config::edit::{self, Change, EditError};
use crate::fsutil;
use crate::state::AppState;

/// The credential keys of `auth` that the API may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialField {
    PasswordHash,
    Username,
}

impl CredentialField {
    /// The key under `auth:` in app.yaml.
    pub fn key(self) -> &'static str {
        match self {
            CredentialField::PasswordHash => "password_hash",
            CredentialField::Username => "username",
        }
    }
}

/// Why a credential change was not made. Nothing was written or published in any case.
/// No variant's message contains the new value.
#[derive(Debug, thiserror::Error)]
pub enum CredentialWriteError {
    /// The password hash changed between the caller's check and the write.
    #[error("the credentials changed while the request was checked")]
    Changed,
    #[error("Config file not found")]
    NotFound,
    #[error("Cannot read config file: {0}")]
    Read(io::Error),
    /// The file on disk is not a YAML mapping with a mapping (or nothing) under `auth`.
    #[error("Cannot edit config file: {0}")]
    Edit(#[from] EditError),
    #[error("Failed to write config: {0}")]
    Write(io::Error),
}

/// Sets `auth.<field>` to `value` in app.yaml and in the running config, under the state's
/// write lock. `expected_hash` is the password hash the caller verified against: if it is
/// no longer the current one, nothing happens ([`CredentialWriteError::Changed`]).
///
/// The file is written first (atomically); only then is a snapshot with the new config
/// published, sharing the running topology, so a failed write changes nothing.
pub async fn write_credential(
    state: &AppState,
    expected_hash: &str,
    field: CredentialField,
    value: String,
) -> Result<(), CredentialWriteError> {
    let _guard = state.write_lock().lock().await;
    let current = state.snapshot();
    if current.config.auth.password_hash != expected_hash {
        return Err(CredentialWriteError::Changed);
    }
    let path = state.config_path().to_path_buf();
    let file_value = value.clone();
    blocking(move || {
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => CredentialWriteError::NotFound,
            _ => CredentialWriteError::Read(e),
        })?;
        let edited = edit_auth_key(&text, field.key(), &file_value)?;
        fsutil::write_atomic(&path, edited.as_bytes()).map_err(CredentialWriteError::Write)
    })
    .await?;
    state.note_app_yaml_written();

    let mut cfg = (*current.config).clone();
    match field {
        CredentialField::PasswordHash => cfg.auth.password_hash = value,
        CredentialField::Username => cfg.auth.username = value,
    }
    // The watcher sees the write, finds the hash it was told about and leaves the file
    // alone; an edit made by hand meanwhile changes the hash and is reloaded as usual.
    state.publish(current.with_config(cfg));
    tracing::info!(key = field.key(), "auth credentials updated");
    Ok(())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CredentialWriteError> + Send + 'static,
) -> Result<T, CredentialWriteError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CredentialWriteError::Write(io::Error::other(e.to_string())))?
}

/// Returns `text` (an app.yaml document) with `auth.<key>` set to the string `value` and
/// everything else unchanged, comments included when the layout allows
/// ([`crate::config::edit`]).
pub fn edit_auth_key(text: &str, key: &str, value: &str) -> Result<String, EditError> {
    let change = Change::Set(
        vec!["auth".to_string(), key.to_string()],
        serde_json::Value::String(value.to_string()),
    );
    edit::apply(text, &[change])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_norway::Value;

    const DOC: &str = "\
# Top comment
app:
  name: Demo   # the name
auth:
  enabled: false
  username: admin
  password_hash: \"\"         # secret: never shown by the API
  secret_key: ''            # secret
  policy:
    min_length: 6
  trusted_networks: []
# after
map:
  min_zoom: 2
";

    fn parse(s: &str) -> Value {
        serde_norway::from_str(s).unwrap()
    }

    #[test]
    fn replaces_one_value_and_keeps_comments() {
        let hash = "$2b$13$abc/def.ghi";
        let out = edit_auth_key(DOC, "password_hash", hash).unwrap();
        assert!(out.contains(
            "  password_hash: \"$2b$13$abc/def.ghi\"         # secret: never shown by the API\n"
        ));
        assert!(out.contains("# Top comment\n"));
        assert!(out.contains("  name: Demo   # the name\n"));
        let v = parse(&out);
        assert_eq!(v["auth"]["password_hash"], Value::String(hash.into()));
        assert_eq!(v["auth"]["username"], Value::String("admin".into()));
        assert_eq!(v["map"]["min_zoom"], parse("2"));
        assert_eq!(out.lines().count(), DOC.lines().count());

        let out = edit_auth_key(&out, "username", "root \"quoted\" é").unwrap();
        assert_eq!(
            parse(&out)["auth"]["username"],
            Value::String("root \"quoted\" é".into())
        );
        assert_eq!(
            parse(&out)["auth"]["password_hash"],
            Value::String(hash.into())
        );
    }

    #[test]
    fn single_quoted_and_plain_values() {
        let out = edit_auth_key(DOC, "secret_key", "k").unwrap();
        assert!(out.contains("  secret_key: \"k\"            # secret\n"));
        let doc = "auth:\n  username: 'it''s me' # c\n  enabled: true\n";
        let out = edit_auth_key(doc, "username", "x").unwrap();
        assert_eq!(out, "auth:\n  username: \"x\" # c\n  enabled: true\n");
        let doc = "auth:\n    username: plain value\n";
        let out = edit_auth_key(doc, "username", "y").unwrap();
        assert_eq!(out, "auth:\n    username: \"y\"\n");
    }

    #[test]
    fn inserts_the_key_or_the_block() {
        let doc = "paths:\n  topology: t\nauth:\n  enabled: false\n";
        let out = edit_auth_key(doc, "password_hash", "h").unwrap();
        assert_eq!(
            out,
            "paths:\n  topology: t\nauth:\n  enabled: false\n  password_hash: \"h\"\n"
        );
        let doc = "paths:\n  topology: t\n";
        let out = edit_auth_key(doc, "username", "u").unwrap();
        assert_eq!(out, "paths:\n  topology: t\nauth:\n  username: \"u\"\n");
        let doc = "paths:\n  topology: t\nauth:\nmap: {}\n";
        let out = edit_auth_key(doc, "username", "u").unwrap();
        assert_eq!(parse(&out)["auth"]["username"], Value::String("u".into()));
        assert!(parse(&out)["map"].is_mapping());
    }

    #[test]
    fn unusual_layouts_fall_back_to_a_full_dump() {
        let doc = "# c\npaths: {topology: t}\nauth: {enabled: false, username: admin}\n";
        let out = edit_auth_key(doc, "username", "root").unwrap();
        let v = parse(&out);
        assert_eq!(v["auth"]["username"], Value::String("root".into()));
        assert_eq!(v["auth"]["enabled"], Value::Bool(false));
        assert_eq!(v["paths"]["topology"], Value::String("t".into()));

        let doc = "auth:\n  username: |\n    multi\n  enabled: true\n";
        let out = edit_auth_key(doc, "username", "root").unwrap();
        let v = parse(&out);
        assert_eq!(v["auth"]["username"], Value::String("root".into()));
        assert_eq!(v["auth"]["enabled"], Value::Bool(true));
    }

    #[test]
    fn refuses_documents_it_cannot_edit() {
        assert!(matches!(
            edit_auth_key("- a\n- b\n", "username", "x"),
            Err(EditError::NotMapping)
        ));
        assert!(matches!(
            edit_auth_key("auth: 3\n", "username", "x"),
            Err(EditError::NotAMapping(_))
        ));
        assert!(matches!(
            edit_auth_key("auth: [\n", "username", "x"),
            Err(EditError::Parse(_))
        ));
    }

    #[test]
    fn the_demo_config_keeps_every_comment() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/app.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        let out = edit_auth_key(&text, "password_hash", "$2b$13$x").unwrap();
        assert_eq!(out.lines().count(), text.lines().count());
        let comments = |s: &str| s.lines().filter(|l| l.contains('#')).count();
        assert_eq!(comments(&out), comments(&text));
        let mut expected = parse(&text);
        expected["auth"]["password_hash"] = Value::String("$2b$13$x".into());
        assert_eq!(parse(&out), expected);
    }
}
