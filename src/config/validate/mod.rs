//! Validation of an untyped config document into [`AppConfig`], reproducing pydantic's
//! coercion rules and error messages (docs/architecture.md, compatibility C1).
//!
//! The reference validates `app.yaml` and `PUT /api/config` bodies with pydantic v2 in lax
//! mode, and its clients read the resulting error items. This module is a hand-written
//! walk over the model in field order that gives the same items: every error is reported,
//! each with its `loc` from the document root, the `type`, `msg` and `ctx` pydantic would
//! give and the offending `input`. Unknown keys are ignored at every level.
//!
//! Deliberate differences from the reference, all stricter: a NaN float is refused
//! (`finite_number`); a `prometheus_url` that the `url` crate cannot parse (such as
//! `http://`) is refused; the SSRF checks also see WHATWG IPv4 forms
//! (`http://2852039166/`), IPv4-mapped IPv6 and a trailing dot on the metadata host name
//! (gaps in the reference's checks, compatibility C3); and, unless [`Options`] says otherwise,
//! `auth.enabled` without a password hash is refused (never a lock-out).

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::model::*;

/// One element of an error location: a key or a list index.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Loc {
    Key(String),
    Index(usize),
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Key(k) => f.write_str(k),
            Loc::Index(i) => write!(f, "{i}"),
        }
    }
}

impl From<&str> for Loc {
    fn from(key: &str) -> Loc {
        Loc::Key(key.to_string())
    }
}

impl From<usize> for Loc {
    fn from(index: usize) -> Loc {
        Loc::Index(index)
    }
}

/// One validation failure, serialised as a 422 `detail` item: its kind (pydantic's error
/// type, e.g. `missing`, `int_parsing`), where (`["body", "auth", "enabled"]`), a
/// message, the value refused, and sometimes the rule's parameters (`ctx`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = ValidationError)]
pub struct FieldError {
    #[serde(rename = "type")]
    pub kind: String,
    pub loc: Vec<Loc>,
    pub msg: String,
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

impl FieldError {
    /// The same error with `prefix` in front of its location (`"body"` for requests).
    pub fn with_loc_prefix(mut self, prefix: &str) -> FieldError {
        self.loc.insert(0, Loc::Key(prefix.to_string()));
        self
    }
}

/// `telemetry.prometheus_url: Value error, ...`, the form used in logs and load errors.
impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc: Vec<String> = self.loc.iter().map(Loc::to_string).collect();
        write!(f, "{}: {}", loc.join("."), self.msg)
    }
}

/// Rules that callers may relax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Refuse `auth.enabled: true` with an empty `auth.password_hash` (our rule, so that a
    /// config can never lock every user out). `PUT /api/config` turns it off, restores the
    /// stored secrets, then applies [`auth_hash_error`] to the result.
    pub require_hash_when_auth_enabled: bool,
}

/// The default is the strict set, the one [`validate`] uses.
impl Default for Options {
    fn default() -> Options {
        Options {
            require_hash_when_auth_enabled: true,
        }
    }
}

/// The text of the error for `auth.enabled` without a password hash.
pub const AUTH_HASH_REQUIRED: &str = "auth.enabled requires a password hash: set one with \
     `rackscope hash-password` or POST /api/auth/change-password before enabling auth";

/// Validates `doc` (the parsed file or request body) with every rule on. Every failure is
/// reported; `loc` starts at the document root (callers prefix `"body"` for requests).
pub fn validate(doc: &Value) -> Result<AppConfig, Vec<FieldError>> {
    validate_with(doc, Options::default())
}

/// [`validate`] with some rules relaxed.
pub fn validate_with(doc: &Value, options: Options) -> Result<AppConfig, Vec<FieldError>> {
    let mut v = Validator {
        errors: Vec::new(),
        path: Vec::new(),
        options,
    };
    let cfg = v.app_config(doc);
    if v.errors.is_empty() {
        Ok(cfg)
    } else {
        Err(v.errors)
    }
}

/// The "auth enabled without a password hash" rule on its own, for a config whose secrets
/// were filled in after validation. `None` when the config is acceptable.
pub fn auth_hash_error(cfg: &AppConfig) -> Option<FieldError> {
    (cfg.auth.enabled && cfg.auth.password_hash.is_empty()).then(|| {
        Issue::value_error(AUTH_HASH_REQUIRED).at(
            vec!["auth".into(), "password_hash".into()],
            Value::String(String::new()),
        )
    })
}

mod coerce;
mod issue;
mod rules;
mod walk;

use issue::Issue;
use walk::Validator;

#[cfg(test)]
mod tests;
