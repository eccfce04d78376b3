//! Validation of an untyped config document into [`AppConfig`], reproducing pydantic's
//! coercion rules and error messages (`spec/reference/core.md` §1).
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
//! (gaps listed in `core.md` §9 item 13); and, unless [`Options`] says otherwise,
//! `auth.enabled` without a password hash is refused (§9 item 4, never a lock-out).

use std::fmt;
use std::net::IpAddr;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::model::*;

/// One element of an error location: a key or a list index.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// One validation failure, serialised as a 422 `detail` item.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

// ---------------------------------------------------------------------------------------
// Issues: an error before it gets its location and input.
// ---------------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct Issue {
    kind: &'static str,
    msg: String,
    ctx: Option<Value>,
}

impl Issue {
    fn new(kind: &'static str, msg: &str) -> Issue {
        Issue {
            kind,
            msg: msg.to_string(),
            ctx: None,
        }
    }

    fn with_ctx(kind: &'static str, msg: String, ctx: Value) -> Issue {
        Issue {
            kind,
            msg,
            ctx: Some(ctx),
        }
    }

    fn at(self, loc: Vec<Loc>, input: Value) -> FieldError {
        FieldError {
            kind: self.kind.to_string(),
            loc,
            msg: self.msg,
            input,
            ctx: self.ctx,
        }
    }

    /// A custom validator's failure: pydantic's `ValueError` wrapping.
    fn value_error(text: &str) -> Issue {
        Issue::with_ctx(
            "value_error",
            format!("Value error, {text}"),
            json!({ "error": text }),
        )
    }
}

fn int_type() -> Issue {
    Issue::new("int_type", "Input should be a valid integer")
}

fn int_parsing() -> Issue {
    Issue::new(
        "int_parsing",
        "Input should be a valid integer, unable to parse string as an integer",
    )
}

fn int_from_float() -> Issue {
    Issue::new(
        "int_from_float",
        "Input should be a valid integer, got a number with a fractional part",
    )
}

/// pydantic accepts integers of any size; ours are 64-bit, so larger ones get the error
/// pydantic gives for integers it cannot hold.
fn int_too_big() -> Issue {
    Issue::new(
        "int_parsing_size",
        "Unable to parse input string as an integer, exceeded maximum size",
    )
}

fn finite_number() -> Issue {
    Issue::new("finite_number", "Input should be a finite number")
}

fn bool_parsing() -> Issue {
    Issue::new(
        "bool_parsing",
        "Input should be a valid boolean, unable to interpret input",
    )
}

fn model_type(class_name: &str) -> Issue {
    Issue::with_ctx(
        "model_type",
        format!("Input should be a valid dictionary or instance of {class_name}"),
        json!({ "class_name": class_name }),
    )
}

fn dict_type() -> Issue {
    Issue::new("dict_type", "Input should be a valid dictionary")
}

fn list_type() -> Issue {
    Issue::new("list_type", "Input should be a valid list")
}

// ---------------------------------------------------------------------------------------
// Lax coercions (pydantic v2, Python-mode input).
// ---------------------------------------------------------------------------------------

/// `int`: integers, booleans, floats without a fractional part and integer strings
/// (surrounding whitespace, `_` between digits and a `.000` tail allowed).
fn coerce_int(v: &Value) -> Result<i64, Issue> {
    match v {
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Ok(i),
            (None, Some(_), _) => Err(int_too_big()),
            (None, None, Some(f)) => float_as_int(f),
            (None, None, None) => Err(int_type()),
        },
        Value::String(s) => str_as_int(s),
        _ => Err(int_type()),
    }
}

fn float_as_int(f: f64) -> Result<i64, Issue> {
    if !f.is_finite() {
        Err(finite_number())
    } else if f.fract() != 0.0 {
        Err(int_from_float())
    } else if f > i64::MIN as f64 && f < i64::MAX as f64 {
        // In range and integral, so the cast is exact.
        Ok(f as i64)
    } else {
        Err(int_too_big())
    }
}

fn str_as_int(s: &str) -> Result<i64, Issue> {
    let t = s.trim();
    if t.len() > 4300 {
        return Err(int_too_big());
    }
    let t = strip_underscores(t).unwrap_or_else(|| t.to_string());
    let t = strip_decimal_zeros(&t).unwrap_or(&t);
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(int_parsing());
    }
    t.parse::<i64>().map_err(|_| int_too_big())
}

/// `"10.000"` -> `"10"`, as pydantic does before parsing an integer string.
fn strip_decimal_zeros(s: &str) -> Option<&str> {
    let dot = s.rfind('.')?;
    s[dot + 1..].bytes().all(|b| b == b'0').then(|| &s[..dot])
}

/// `"1_000"` -> `"1000"`: Python allows single underscores between digits.
fn strip_underscores(s: &str) -> Option<String> {
    if !s.contains('_') {
        return None;
    }
    let chars: Vec<char> = s.chars().collect();
    let ok = chars.iter().enumerate().all(|(i, c)| {
        *c != '_'
            || (i > 0
                && chars[i - 1].is_ascii_digit()
                && chars.get(i + 1).is_some_and(char::is_ascii_digit))
    });
    ok.then(|| s.replace('_', ""))
}

/// `float`: numbers, booleans and numeric strings (`"inf"` included).
fn coerce_float(v: &Value) -> Result<f64, Issue> {
    let f = match v {
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| Issue::new("float_type", "Input should be a valid number"))?,
        Value::String(s) => {
            let t = s.trim();
            t.parse::<f64>()
                .ok()
                .or_else(|| strip_underscores(t).and_then(|u| u.parse().ok()))
                .ok_or_else(|| {
                    Issue::new(
                        "float_parsing",
                        "Input should be a valid number, unable to parse string as a number",
                    )
                })?
        }
        _ => return Err(Issue::new("float_type", "Input should be a valid number")),
    };
    if f.is_nan() {
        return Err(finite_number());
    }
    Ok(f)
}

/// `bool`: booleans, 0/1 and the strings yes/no, on/off, true/false, y/n, t/f, 1/0 in any
/// case.
fn coerce_bool(v: &Value) -> Result<bool, Issue> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f == 0.0 {
                Ok(false)
            } else if f == 1.0 {
                Ok(true)
            } else {
                Err(bool_parsing())
            }
        }
        Value::String(s) => {
            let l = s.to_ascii_lowercase();
            match l.as_str() {
                "0" | "f" | "n" | "no" | "off" | "false" => Ok(false),
                "1" | "t" | "y" | "yes" | "on" | "true" => Ok(true),
                _ => Err(bool_parsing()),
            }
        }
        _ => Err(Issue::new("bool_type", "Input should be a valid boolean")),
    }
}

/// `str`: strings only (pydantic does not turn numbers into strings).
fn coerce_str(v: &Value) -> Result<String, Issue> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(Issue::new("string_type", "Input should be a valid string")),
    }
}

fn non_empty(s: String) -> Result<String, Issue> {
    if s.is_empty() {
        Err(Issue::with_ctx(
            "string_too_short",
            "String should have at least 1 character".into(),
            json!({ "min_length": 1 }),
        ))
    } else {
        Ok(s)
    }
}

/// Optional string fields whose `""` means "not set".
fn empty_to_none(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn literal(v: &Value, options: &[&str]) -> Result<String, Issue> {
    match v {
        Value::String(s) if options.contains(&s.as_str()) => Ok(s.clone()),
        _ => {
            let quoted: Vec<String> = options.iter().map(|o| format!("'{o}'")).collect();
            let expected = match quoted.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => quoted.join(""),
            };
            Err(Issue::with_ctx(
                "literal_error",
                format!("Input should be {expected}"),
                json!({ "expected": expected }),
            ))
        }
    }
}

fn nullable<T>(v: &Value, f: impl FnOnce(&Value) -> Result<T, Issue>) -> Result<Option<T>, Issue> {
    if v.is_null() {
        Ok(None)
    } else {
        f(v).map(Some)
    }
}

/// Integer bounds, checked like pydantic: `le` first, then `ge`.
#[derive(Clone, Copy)]
struct IntRange {
    ge: Option<i64>,
    le: Option<i64>,
}

const ANY: IntRange = IntRange { ge: None, le: None };

const fn at_least(ge: i64) -> IntRange {
    IntRange {
        ge: Some(ge),
        le: None,
    }
}

const fn between(ge: i64, le: i64) -> IntRange {
    IntRange {
        ge: Some(ge),
        le: Some(le),
    }
}

impl IntRange {
    fn check(self, i: i64) -> Result<i64, Issue> {
        if let Some(le) = self.le.filter(|le| i > *le) {
            return Err(Issue::with_ctx(
                "less_than_equal",
                format!("Input should be less than or equal to {le}"),
                json!({ "le": le }),
            ));
        }
        if let Some(ge) = self.ge.filter(|ge| i < *ge) {
            return Err(Issue::with_ctx(
                "greater_than_equal",
                format!("Input should be greater than or equal to {ge}"),
                json!({ "ge": ge }),
            ));
        }
        Ok(i)
    }
}

/// Float bounds. pydantic holds float bounds as floats: the message prints them the short
/// way (`60`) and `ctx` carries a float (`60.0`).
#[derive(Clone, Copy)]
struct FloatRange {
    gt: Option<f64>,
    ge: Option<f64>,
    le: Option<f64>,
}

impl FloatRange {
    fn check(self, f: f64) -> Result<f64, Issue> {
        if let Some(le) = self.le.filter(|le| f > *le) {
            return Err(Issue::with_ctx(
                "less_than_equal",
                format!("Input should be less than or equal to {le}"),
                json!({ "le": le }),
            ));
        }
        if let Some(ge) = self.ge.filter(|ge| f < *ge) {
            return Err(Issue::with_ctx(
                "greater_than_equal",
                format!("Input should be greater than or equal to {ge}"),
                json!({ "ge": ge }),
            ));
        }
        if let Some(gt) = self.gt.filter(|gt| f <= *gt) {
            return Err(Issue::with_ctx(
                "greater_than",
                format!("Input should be greater than {gt}"),
                json!({ "gt": gt }),
            ));
        }
        Ok(f)
    }
}

// ---------------------------------------------------------------------------------------
// prometheus_url and job_regex
// ---------------------------------------------------------------------------------------

/// The SSRF rules of `core.md` §1.5, in their order. `value` is non-empty.
fn check_prometheus_url(value: &str) -> Result<(), String> {
    let scheme = python_scheme(value);
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "prometheus_url must use http or https scheme, got: {}",
            py_repr(&scheme)
        ));
    }
    let url =
        url::Url::parse(value).map_err(|e| format!("prometheus_url is not a valid URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some_and(|p| !p.is_empty()) {
        return Err("prometheus_url must not embed credentials. \
             Use basic_auth_user and basic_auth_password fields instead."
            .into());
    }
    let (host, ip): (String, Option<IpAddr>) = match url.host() {
        Some(url::Host::Domain(d)) => (d.to_lowercase(), None),
        Some(url::Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
        Some(url::Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
        None => (String::new(), None),
    };
    let bare = host.trim_end_matches('.');
    if bare == "metadata.google.internal" || bare == "100.100.100.200" {
        return Err(format!(
            "prometheus_url targets a cloud metadata address: {}",
            py_repr(&host)
        ));
    }
    if let Some(ip) = ip.map(|ip| ip.to_canonical()) {
        let link_local = match ip {
            IpAddr::V4(a) => a.is_link_local(),
            IpAddr::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
        };
        if link_local {
            return Err(format!(
                "prometheus_url targets a link-local address {} \
                 (cloud instance metadata range — SSRF risk)",
                py_repr(&host)
            ));
        }
        if ip.is_unspecified() {
            return Err(format!(
                "prometheus_url targets an unspecified address: {}",
                py_repr(&host)
            ));
        }
    }
    Ok(())
}

/// The scheme as Python's `urlsplit` finds it: the text before the first `:` when it starts
/// with a letter and holds only letters, digits, `+`, `-` and `.`; lower-cased; else "".
fn python_scheme(url: &str) -> String {
    let url: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    match url.find(':') {
        Some(i) if i > 0 => {
            let candidate = &url[..i];
            let starts_with_letter = candidate.starts_with(|c: char| c.is_ascii_alphabetic());
            let valid = candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if starts_with_letter && valid {
                candidate.to_ascii_lowercase()
            } else {
                String::new()
            }
        }
        _ => String::new(),
    }
}

/// Python's `repr()` of a string, as the reference messages quote values.
pub(crate) fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `job_regex` must compile. The regex crate's multi-line report is folded into Python's
/// one-line form: `<reason> at position <n>`.
fn check_job_regex(pattern: &str) -> Result<(), String> {
    match regex::Regex::new(pattern) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "Invalid job_regex: {}",
            one_line_regex_error(&e, !pattern.contains('\n'))
        )),
    }
}

fn one_line_regex_error(e: &regex::Error, single_line: bool) -> String {
    let text = e.to_string();
    let reason = text
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .map(str::to_string);
    // A one-line pattern is shown indented by four spaces with a `^` under the fault.
    let caret = single_line
        .then(|| text.lines())
        .into_iter()
        .flatten()
        .find(|l| l.contains('^') && l.chars().all(|c| matches!(c, ' ' | '^' | '-')))
        .and_then(|l| l.find('^'))
        .and_then(|col| col.checked_sub(4));
    match (reason, caret) {
        (Some(r), Some(pos)) => format!("{r} at position {pos}"),
        (Some(r), None) => r,
        _ => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

// ---------------------------------------------------------------------------------------
// The walk over the model.
// ---------------------------------------------------------------------------------------

/// An object under validation; `None` when absent or of the wrong type, in which case
/// every field takes its default (an invalid section is already reported).
#[derive(Clone, Copy)]
struct Obj<'a>(Option<&'a Map<String, Value>>);

impl<'a> Obj<'a> {
    fn get(self, key: &str) -> Option<&'a Value> {
        self.0.and_then(|m| m.get(key))
    }
}

struct Validator {
    errors: Vec<FieldError>,
    /// Location of the object being walked.
    path: Vec<Loc>,
    options: Options,
}

impl Validator {
    fn report(&mut self, suffix: &[Loc], issue: Issue, input: &Value) {
        let mut loc = self.path.clone();
        loc.extend_from_slice(suffix);
        self.errors.push(issue.at(loc, input.clone()));
    }

    /// Runs `f` with `key` appended to the current location.
    fn nested<T>(&mut self, key: impl Into<Loc>, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(key.into());
        let out = f(self);
        self.path.pop();
        out
    }

    /// Reads `key` with `f`: the default when absent, reported and defaulted when invalid.
    fn field<T>(
        &mut self,
        o: Obj<'_>,
        key: &str,
        default: T,
        f: impl FnOnce(&Value) -> Result<T, Issue>,
    ) -> T {
        match o.get(key) {
            None => default,
            Some(v) => f(v).unwrap_or_else(|issue| {
                self.report(&[key.into()], issue, v);
                default
            }),
        }
    }

    /// A required string of at least one character. An absent key is a `missing` error
    /// whose input is the containing object.
    fn required_str(&mut self, o: Obj<'_>, key: &str) -> String {
        if let Some(map) = o.0.filter(|m| !m.contains_key(key)) {
            let input = Value::Object(map.clone());
            self.report(
                &[key.into()],
                Issue::new("missing", "Field required"),
                &input,
            );
            return String::new();
        }
        self.field(o, key, String::new(), |v| non_empty(coerce_str(v)?))
    }

    fn int(&mut self, o: Obj<'_>, key: &str, default: i64, range: IntRange) -> i64 {
        self.field(o, key, default, |v| range.check(coerce_int(v)?))
    }

    fn opt_int(&mut self, o: Obj<'_>, key: &str, default: Option<i64>, r: IntRange) -> Option<i64> {
        self.field(o, key, default, |v| {
            nullable(v, |v| r.check(coerce_int(v)?))
        })
    }

    fn float(&mut self, o: Obj<'_>, key: &str, default: f64, range: FloatRange) -> f64 {
        self.field(o, key, default, |v| range.check(coerce_float(v)?))
    }

    fn boolean(&mut self, o: Obj<'_>, key: &str, default: bool) -> bool {
        self.field(o, key, default, coerce_bool)
    }

    fn string(&mut self, o: Obj<'_>, key: &str, default: String) -> String {
        self.field(o, key, default, coerce_str)
    }

    fn non_empty_string(&mut self, o: Obj<'_>, key: &str, default: String) -> String {
        self.field(o, key, default, |v| non_empty(coerce_str(v)?))
    }

    fn opt_string(&mut self, o: Obj<'_>, key: &str, default: Option<String>) -> Option<String> {
        self.field(o, key, default, |v| nullable(v, coerce_str))
    }

    fn literal(&mut self, o: Obj<'_>, key: &str, default: String, options: &[&str]) -> String {
        self.field(o, key, default, |v| literal(v, options))
    }

    fn str_list(&mut self, o: Obj<'_>, key: &str, default: Vec<String>) -> Vec<String> {
        match o.get(key) {
            None => default,
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match coerce_str(item) {
                        Ok(s) => out.push(s),
                        Err(issue) => self.report(&[key.into(), i.into()], issue, item),
                    }
                }
                out
            }
            Some(v) => {
                self.report(&[key.into()], list_type(), v);
                default
            }
        }
    }

    /// The object at `key`, for a nested model named `class_name` in the reference.
    fn object<'a>(&mut self, o: Obj<'a>, key: &str, class_name: &str) -> Obj<'a> {
        match o.get(key) {
            None => Obj(None),
            Some(Value::Object(m)) => Obj(Some(m)),
            Some(v) => {
                self.report(&[key.into()], model_type(class_name), v);
                Obj(None)
            }
        }
    }

    // -- sections, in model field order ---------------------------------------------------

    fn app_config(&mut self, doc: &Value) -> AppConfig {
        let root = match doc {
            Value::Object(m) => Obj(Some(m)),
            other => {
                self.report(&[], model_type("AppConfig"), other);
                Obj(None)
            }
        };
        let app = self.section(root, "app", "AppInfoConfig", Self::app);
        let paths = match (root.0, root.get("paths")) {
            (Some(m), None) => {
                let input = Value::Object(m.clone());
                self.report(
                    &["paths".into()],
                    Issue::new("missing", "Field required"),
                    &input,
                );
                Paths::new("", "", "")
            }
            _ => self.section(root, "paths", "PathsConfig", Self::paths),
        };
        AppConfig {
            app,
            paths,
            refresh: self.section(root, "refresh", "RefreshConfig", Self::refresh),
            cache: self.section(root, "cache", "CacheConfig", Self::cache),
            telemetry: self.section(root, "telemetry", "TelemetryConfig", Self::telemetry),
            planner: self.section(root, "planner", "PlannerConfig", Self::planner),
            features: self.section(root, "features", "FeatureConfig", Self::features),
            auth: self.section(root, "auth", "AuthConfig", Self::auth),
            map: self.section(root, "map", "MapConfig", Self::map),
            playlist: self.section(root, "playlist", "PlaylistConfig", Self::playlist),
            plugins: self.plugins(root),
            simulator: self.legacy(root, "simulator", "SimulatorConfig", Self::simulator),
            slurm: self.legacy(root, "slurm", "SlurmConfig", Self::slurm),
        }
    }

    /// A defaulted nested model: absent means all defaults.
    fn section<T>(
        &mut self,
        o: Obj<'_>,
        key: &str,
        class_name: &str,
        f: impl FnOnce(&mut Self, Obj<'_>) -> T,
    ) -> T {
        let inner = self.object(o, key, class_name);
        self.nested(key, |v| f(v, inner))
    }

    /// A nullable legacy section: absent or null means `None`.
    fn legacy<T>(
        &mut self,
        o: Obj<'_>,
        key: &str,
        class_name: &str,
        f: impl FnOnce(&mut Self, Obj<'_>) -> T,
    ) -> Option<T> {
        match o.get(key) {
            None | Some(Value::Null) => None,
            Some(_) => Some(self.section(o, key, class_name, f)),
        }
    }

    fn app(&mut self, o: Obj<'_>) -> AppSection {
        let d = AppSection::default();
        AppSection {
            name: self.non_empty_string(o, "name", d.name),
            description: self.opt_string(o, "description", d.description),
        }
    }

    fn paths(&mut self, o: Obj<'_>) -> Paths {
        Paths {
            topology: self.required_str(o, "topology"),
            templates: self.required_str(o, "templates"),
            checks: self.required_str(o, "checks"),
            metrics: self.non_empty_string(o, "metrics", Paths::DEFAULT_METRICS.into()),
            plugins: self.non_empty_string(o, "plugins", Paths::DEFAULT_PLUGINS.into()),
        }
    }

    fn refresh(&mut self, o: Obj<'_>) -> Refresh {
        let d = Refresh::default();
        Refresh {
            room_state_seconds: self.int(
                o,
                "room_state_seconds",
                d.room_state_seconds,
                at_least(10),
            ),
            rack_state_seconds: self.int(
                o,
                "rack_state_seconds",
                d.rack_state_seconds,
                at_least(10),
            ),
        }
    }

    fn cache(&mut self, o: Obj<'_>) -> Cache {
        let d = Cache::default();
        Cache {
            ttl_seconds: self.int(o, "ttl_seconds", d.ttl_seconds, at_least(1)),
            health_checks_ttl_seconds: self.int(
                o,
                "health_checks_ttl_seconds",
                d.health_checks_ttl_seconds,
                at_least(1),
            ),
            metrics_ttl_seconds: self.int(
                o,
                "metrics_ttl_seconds",
                d.metrics_ttl_seconds,
                at_least(1),
            ),
            service_ttl_seconds: self.int(
                o,
                "service_ttl_seconds",
                d.service_ttl_seconds,
                at_least(1),
            ),
        }
    }

    fn telemetry(&mut self, o: Obj<'_>) -> Telemetry {
        let d = Telemetry::default();
        let prometheus_url = self.field(o, "prometheus_url", d.prometheus_url, |v| {
            let url = nullable(v, coerce_str)?;
            if let Some(u) = url.as_deref().filter(|u| !u.is_empty()) {
                check_prometheus_url(u).map_err(|e| Issue::value_error(&e))?;
            }
            Ok(empty_to_none(url))
        });
        let timeout = FloatRange {
            gt: Some(0.0),
            ge: None,
            le: Some(60.0),
        };
        let prometheus_timeout_seconds = self.float(
            o,
            "prometheus_timeout_seconds",
            d.prometheus_timeout_seconds,
            timeout,
        );
        let identity_label = self.string(o, "identity_label", d.identity_label);
        let rack_label = self.string(o, "rack_label", d.rack_label);
        let chassis_label = self.string(o, "chassis_label", d.chassis_label);
        let job_regex = self.field(o, "job_regex", d.job_regex, |v| {
            let pattern = coerce_str(v)?;
            check_job_regex(&pattern).map_err(|e| Issue::value_error(&e))?;
            Ok(pattern)
        });
        let prometheus_heartbeat_seconds = self.int(
            o,
            "prometheus_heartbeat_seconds",
            d.prometheus_heartbeat_seconds,
            at_least(10),
        );
        let prometheus_latency_window = self.int(
            o,
            "prometheus_latency_window",
            d.prometheus_latency_window,
            at_least(1),
        );
        let debug_stats = self.boolean(o, "debug_stats", d.debug_stats);
        // Cross-field rules see the earlier field's validated value: None when it was
        // absent, empty or invalid.
        let basic_auth_user = self.field(o, "basic_auth_user", d.basic_auth_user, |v| {
            nullable(v, coerce_str).map(empty_to_none)
        });
        let has_user = basic_auth_user.is_some();
        let basic_auth_password = self.field(o, "basic_auth_password", None, |v| {
            let password = empty_to_none(nullable(v, coerce_str)?);
            if password.is_some() && !has_user {
                return Err(Issue::value_error(
                    "basic_auth_user is required when basic_auth_password is set",
                ));
            }
            Ok(password)
        });
        let tls_verify = self.boolean(o, "tls_verify", d.tls_verify);
        let tls_ca_file = self.field(o, "tls_ca_file", None, |v| {
            nullable(v, coerce_str).map(empty_to_none)
        });
        let tls_cert_file = self.field(o, "tls_cert_file", None, |v| {
            nullable(v, coerce_str).map(empty_to_none)
        });
        let has_cert = tls_cert_file.is_some();
        let tls_key_file = self.field(o, "tls_key_file", None, |v| {
            let key = empty_to_none(nullable(v, coerce_str)?);
            if key.is_some() && !has_cert {
                return Err(Issue::value_error(
                    "tls_cert_file is required when tls_key_file is set",
                ));
            }
            Ok(key)
        });
        Telemetry {
            prometheus_url,
            prometheus_timeout_seconds,
            identity_label,
            rack_label,
            chassis_label,
            job_regex,
            prometheus_heartbeat_seconds,
            prometheus_latency_window,
            debug_stats,
            basic_auth_user,
            basic_auth_password,
            tls_verify,
            tls_ca_file,
            tls_cert_file,
            tls_key_file,
        }
    }

    fn planner(&mut self, o: Obj<'_>) -> Planner {
        let d = Planner::default();
        Planner {
            unknown_state: self.literal(
                o,
                "unknown_state",
                d.unknown_state,
                &["OK", "WARN", "CRIT", "UNKNOWN"],
            ),
            cache_ttl_seconds: self.int(o, "cache_ttl_seconds", d.cache_ttl_seconds, at_least(1)),
            max_ids_per_query: self.int(o, "max_ids_per_query", d.max_ids_per_query, at_least(1)),
        }
    }

    fn features(&mut self, o: Obj<'_>) -> Features {
        let d = Features::default();
        Features {
            notifications: self.boolean(o, "notifications", d.notifications),
            notifications_max_visible: self.int(
                o,
                "notifications_max_visible",
                d.notifications_max_visible,
                at_least(1),
            ),
            playlist: self.boolean(o, "playlist", d.playlist),
            offline: self.boolean(o, "offline", d.offline),
            wizard: self.boolean(o, "wizard", d.wizard),
            worldmap: self.boolean(o, "worldmap", d.worldmap),
            show_logs: self.boolean(o, "show_logs", d.show_logs),
            dev_tools: self.boolean(o, "dev_tools", d.dev_tools),
            maintenances: self.boolean(o, "maintenances", d.maintenances),
        }
    }

    fn auth(&mut self, o: Obj<'_>) -> Auth {
        let d = Auth::default();
        let enabled = self.boolean(o, "enabled", d.enabled);
        let username = self.string(o, "username", d.username);
        let raw_hash = o.get("password_hash");
        let password_hash = self.string(o, "password_hash", d.password_hash);
        // Our rule (never a lock-out). An absent hash counts as "" and stands as the input;
        // a hash of the wrong type is already reported.
        if self.options.require_hash_when_auth_enabled
            && enabled
            && password_hash.is_empty()
            && raw_hash.is_none_or(Value::is_string)
        {
            let input = raw_hash
                .cloned()
                .unwrap_or_else(|| Value::String(String::new()));
            self.report(
                &["password_hash".into()],
                Issue::value_error(AUTH_HASH_REQUIRED),
                &input,
            );
        }
        Auth {
            enabled,
            username,
            password_hash,
            secret_key: self.string(o, "secret_key", d.secret_key),
            session_duration: self.literal(
                o,
                "session_duration",
                d.session_duration,
                &["8h", "24h", "unlimited"],
            ),
            policy: self.section(o, "policy", "PasswordPolicyConfig", Self::policy),
            trusted_networks: self.str_list(o, "trusted_networks", d.trusted_networks),
        }
    }

    fn policy(&mut self, o: Obj<'_>) -> PasswordPolicy {
        let d = PasswordPolicy::default();
        PasswordPolicy {
            min_length: self.int(o, "min_length", d.min_length, between(1, 128)),
            max_length: self.int(o, "max_length", d.max_length, between(6, 512)),
            require_digit: self.boolean(o, "require_digit", d.require_digit),
            require_symbol: self.boolean(o, "require_symbol", d.require_symbol),
        }
    }

    fn map(&mut self, o: Obj<'_>) -> MapConfig {
        let d = MapConfig::default();
        MapConfig {
            default_view: self.field(o, "default_view", d.default_view, |v| {
                nullable(v, |v| {
                    literal(v, &["world", "continent", "country", "city"])
                })
            }),
            default_zoom: self.opt_int(o, "default_zoom", d.default_zoom, between(1, 18)),
            min_zoom: self.int(o, "min_zoom", d.min_zoom, between(1, 18)),
            max_zoom: self.int(o, "max_zoom", d.max_zoom, between(1, 18)),
            zoom_controls: self.boolean(o, "zoom_controls", d.zoom_controls),
            center: self.section(o, "center", "MapCenterConfig", Self::center),
        }
    }

    fn center(&mut self, o: Obj<'_>) -> MapCenter {
        let d = MapCenter::default();
        let range = |limit: f64| FloatRange {
            gt: None,
            ge: Some(-limit),
            le: Some(limit),
        };
        MapCenter {
            lat: self.float(o, "lat", d.lat, range(90.0)),
            lon: self.float(o, "lon", d.lon, range(180.0)),
        }
    }

    fn playlist(&mut self, o: Obj<'_>) -> Playlist {
        let d = Playlist::default();
        Playlist {
            interval_seconds: self.int(o, "interval_seconds", d.interval_seconds, at_least(5)),
            views: self.str_list(o, "views", d.views),
        }
    }

    /// `Dict[str, Dict[str, Any]]`: each value must be an object, kept as it is.
    fn plugins(&mut self, o: Obj<'_>) -> IndexMap<String, Map<String, Value>> {
        let mut out = IndexMap::new();
        match o.get("plugins") {
            None => {}
            Some(Value::Object(m)) => {
                for (id, value) in m {
                    match value {
                        Value::Object(pm) => {
                            out.insert(id.clone(), pm.clone());
                        }
                        other => {
                            self.report(&["plugins".into(), id.as_str().into()], dict_type(), other)
                        }
                    }
                }
            }
            Some(other) => self.report(&["plugins".into()], dict_type(), other),
        }
        out
    }

    fn simulator(&mut self, o: Obj<'_>) -> LegacySimulator {
        let d = LegacySimulator::default();
        LegacySimulator {
            update_interval_seconds: self.int(
                o,
                "update_interval_seconds",
                d.update_interval_seconds,
                at_least(1),
            ),
            seed: self.opt_int(o, "seed", d.seed, ANY),
            overrides_path: self.non_empty_string(o, "overrides_path", d.overrides_path),
            default_ttl_seconds: self.int(
                o,
                "default_ttl_seconds",
                d.default_ttl_seconds,
                at_least(0),
            ),
            metrics_catalog_path: self.non_empty_string(
                o,
                "metrics_catalog_path",
                d.metrics_catalog_path,
            ),
            metrics_catalogs: self.catalogs(o),
        }
    }

    fn catalogs(&mut self, o: Obj<'_>) -> Vec<CatalogRef> {
        let key = "metrics_catalogs";
        match o.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => self.nested(key, |v| {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let entry = match item {
                        Value::Object(m) => Obj(Some(m)),
                        other => {
                            v.report(&[i.into()], model_type("SimulatorMetricsCatalog"), other);
                            continue;
                        }
                    };
                    out.push(v.nested(i, |v| CatalogRef {
                        id: v.required_str(entry, "id"),
                        path: v.required_str(entry, "path"),
                        enabled: v.boolean(entry, "enabled", true),
                    }));
                }
                out
            }),
            Some(other) => {
                self.report(&[key.into()], list_type(), other);
                Vec::new()
            }
        }
    }

    fn slurm(&mut self, o: Obj<'_>) -> LegacySlurm {
        let d = LegacySlurm::default();
        LegacySlurm {
            metric: self.non_empty_string(o, "metric", d.metric),
            label_node: self.non_empty_string(o, "label_node", d.label_node),
            label_status: self.non_empty_string(o, "label_status", d.label_status),
            label_partition: self.non_empty_string(o, "label_partition", d.label_partition),
            status_map: self.section(o, "status_map", "SlurmStatusMap", Self::status_map),
            roles: self.str_list(o, "roles", d.roles),
            include_unlabeled: self.boolean(o, "include_unlabeled", d.include_unlabeled),
            mapping_path: self.opt_string(o, "mapping_path", d.mapping_path),
        }
    }

    fn status_map(&mut self, o: Obj<'_>) -> SlurmStatusMap {
        let d = SlurmStatusMap::default();
        SlurmStatusMap {
            ok: self.str_list(o, "ok", d.ok),
            warn: self.str_list(o, "warn", d.warn),
            crit: self.str_list(o, "crit", d.crit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Value {
        json!({"paths": {"topology": "t", "templates": "tp", "checks": "c"}})
    }

    /// `base()` with `value` at `section.key` (a missing section is created).
    fn with(section: &str, key: &str, value: Value) -> Value {
        let mut doc = base();
        let obj = doc.as_object_mut().unwrap();
        let sec = obj.entry(section).or_insert_with(|| json!({}));
        sec.as_object_mut().unwrap().insert(key.into(), value);
        doc
    }

    fn ok(doc: &Value) -> AppConfig {
        match validate(doc) {
            Ok(cfg) => cfg,
            Err(e) => panic!("expected valid, got {e:#?}"),
        }
    }

    fn errs(doc: &Value) -> Vec<FieldError> {
        validate(doc).expect_err("expected validation errors")
    }

    fn one(doc: &Value) -> FieldError {
        let e = errs(doc);
        assert_eq!(e.len(), 1, "expected one error: {e:#?}");
        e.into_iter().next().unwrap()
    }

    fn loc(parts: &[&str]) -> Vec<Loc> {
        parts
            .iter()
            .map(|p| match p.parse::<usize>() {
                Ok(i) => Loc::Index(i),
                Err(_) => Loc::Key((*p).into()),
            })
            .collect()
    }

    fn assert_err(e: &FieldError, kind: &str, at: &[&str], msg: &str) {
        assert_eq!(e.kind, kind, "{e:#?}");
        assert_eq!(e.loc, loc(at), "{e:#?}");
        assert_eq!(e.msg, msg, "{e:#?}");
    }

    fn value_error(section: &str, key: &str, value: Value) -> String {
        let e = one(&with(section, key, value.clone()));
        assert_eq!(e.kind, "value_error");
        assert_eq!(e.loc, loc(&[section, key]));
        assert_eq!(e.input, value);
        let text = e
            .msg
            .strip_prefix("Value error, ")
            .expect("value error prefix");
        assert_eq!(e.ctx, Some(json!({ "error": text })));
        text.to_string()
    }

    // -- structure -------------------------------------------------------------------------

    #[test]
    fn minimal_doc_gives_all_defaults() {
        assert_eq!(ok(&base()), AppConfig::with_paths("t", "tp", "c"));
    }

    #[test]
    fn empty_body_is_missing_paths_with_the_object_as_input() {
        let e = one(&json!({}));
        assert_err(&e, "missing", &["paths"], "Field required");
        assert_eq!(e.input, json!({}));
        assert_eq!(e.ctx, None);
    }

    #[test]
    fn non_object_document_is_model_type() {
        let e = one(&json!([1]));
        assert_err(
            &e,
            "model_type",
            &[],
            "Input should be a valid dictionary or instance of AppConfig",
        );
        assert_eq!(e.ctx, Some(json!({"class_name": "AppConfig"})));
    }

    #[test]
    fn required_paths_are_each_reported() {
        let e = errs(&json!({"paths": {"metrics": "m"}}));
        assert_eq!(e.len(), 3);
        for (err, key) in e.iter().zip(["topology", "templates", "checks"]) {
            assert_err(err, "missing", &["paths", key], "Field required");
            assert_eq!(err.input, json!({"metrics": "m"}));
        }
    }

    #[test]
    fn paths_strings_must_be_non_empty() {
        let mut doc = base();
        doc["paths"]["topology"] = json!("");
        let e = one(&doc);
        assert_err(
            &e,
            "string_too_short",
            &["paths", "topology"],
            "String should have at least 1 character",
        );
        assert_eq!(e.ctx, Some(json!({"min_length": 1})));
        assert_eq!(e.input, json!(""));
        let e = one(&with("paths", "plugins", json!("")));
        assert_eq!(e.loc, loc(&["paths", "plugins"]));
        let e = one(&with("paths", "metrics", json!("")));
        assert_eq!(e.loc, loc(&["paths", "metrics"]));
    }

    #[test]
    fn paths_plugins_defaults_and_reads() {
        assert_eq!(ok(&base()).paths.plugins, "plugins");
        assert_eq!(ok(&base()).paths.metrics, "config/metrics/library");
        assert_eq!(ok(&with("paths", "plugins", json!("p"))).paths.plugins, "p");
    }

    #[test]
    fn paths_of_wrong_type() {
        let e = one(&json!({"paths": "x"}));
        assert_err(
            &e,
            "model_type",
            &["paths"],
            "Input should be a valid dictionary or instance of PathsConfig",
        );
        let e = one(&json!({"paths": null}));
        assert_eq!(e.kind, "model_type");
        assert_eq!(e.input, Value::Null);
    }

    #[test]
    fn section_of_wrong_type_is_model_type_with_class_name() {
        for (section, class) in [
            ("app", "AppInfoConfig"),
            ("refresh", "RefreshConfig"),
            ("cache", "CacheConfig"),
            ("telemetry", "TelemetryConfig"),
            ("planner", "PlannerConfig"),
            ("features", "FeatureConfig"),
            ("auth", "AuthConfig"),
            ("map", "MapConfig"),
            ("playlist", "PlaylistConfig"),
            ("simulator", "SimulatorConfig"),
            ("slurm", "SlurmConfig"),
        ] {
            let mut doc = base();
            doc[section] = json!("x");
            let e = one(&doc);
            assert_err(
                &e,
                "model_type",
                &[section],
                &format!("Input should be a valid dictionary or instance of {class}"),
            );
            assert_eq!(e.ctx, Some(json!({ "class_name": class })));
            assert_eq!(e.input, json!("x"));
        }
        let e = one(&with("auth", "policy", json!(3)));
        assert_eq!(e.loc, loc(&["auth", "policy"]));
        assert_eq!(e.ctx, Some(json!({"class_name": "PasswordPolicyConfig"})));
        let e = one(&with("map", "center", json!([])));
        assert_eq!(e.ctx, Some(json!({"class_name": "MapCenterConfig"})));
        let e = one(&with("slurm", "status_map", json!("x")));
        assert_eq!(e.loc, loc(&["slurm", "status_map"]));
        assert_eq!(e.ctx, Some(json!({"class_name": "SlurmStatusMap"})));
    }

    #[test]
    fn unknown_keys_are_ignored_at_every_level() {
        let doc = json!({
            "bogus": 1,
            "paths": {"topology": "t", "templates": "tp", "checks": "c", "extra": [1]},
            "telemetry": {"zzz": {"a": 1}},
            "auth": {"policy": {"nope": true}},
            "map": {"center": {"alt": 3}},
            "slurm": {"status_map": {"info": []}, "severity_colors": {}},
            "simulator": {"incident_mode": "custom", "metrics_catalogs": [
                {"id": "a", "path": "p", "x": 1}
            ]}
        });
        let cfg = ok(&doc);
        assert_eq!(cfg.slurm, Some(LegacySlurm::default()));
        assert_eq!(cfg.simulator.unwrap().metrics_catalogs.len(), 1);
    }

    #[test]
    fn every_error_is_reported_in_field_order() {
        // Keys deliberately out of model order in the input.
        let doc = json!({
            "plugins": {"x": 1},
            "telemetry": {"prometheus_url": "file:///etc/passwd", "job_regex": "(("},
            "refresh": {"rack_state_seconds": 1, "room_state_seconds": 5},
        });
        let e = errs(&doc);
        let locs: Vec<Vec<Loc>> = e.iter().map(|e| e.loc.clone()).collect();
        assert_eq!(
            locs,
            vec![
                loc(&["paths"]),
                loc(&["refresh", "room_state_seconds"]),
                loc(&["refresh", "rack_state_seconds"]),
                loc(&["telemetry", "prometheus_url"]),
                loc(&["telemetry", "job_regex"]),
                loc(&["plugins", "x"]),
            ]
        );
    }

    // -- coercions -------------------------------------------------------------------------

    fn ttl(v: Value) -> Result<i64, Box<FieldError>> {
        match validate(&with("cache", "ttl_seconds", v)) {
            Ok(cfg) => Ok(cfg.cache.ttl_seconds),
            Err(mut e) => {
                assert_eq!(e.len(), 1);
                let e = e.remove(0);
                assert_eq!(e.loc, loc(&["cache", "ttl_seconds"]));
                Err(Box::new(e))
            }
        }
    }

    #[test]
    fn int_lax_coercion() {
        assert_eq!(ttl(json!(30)).unwrap(), 30);
        assert_eq!(ttl(json!("30")).unwrap(), 30);
        assert_eq!(ttl(json!(" 30 ")).unwrap(), 30);
        assert_eq!(ttl(json!("+30")).unwrap(), 30);
        assert_eq!(ttl(json!(10.0)).unwrap(), 10);
        assert_eq!(ttl(json!("10.0")).unwrap(), 10);
        assert_eq!(ttl(json!("10.")).unwrap(), 10);
        assert_eq!(ttl(json!("1_000")).unwrap(), 1000);
        assert_eq!(ttl(json!(1e2)).unwrap(), 100);
        assert_eq!(ttl(json!(true)).unwrap(), 1);
    }

    #[test]
    fn int_rejections() {
        let e = ttl(json!(10.5)).unwrap_err();
        assert_eq!(e.kind, "int_from_float");
        assert_eq!(
            e.msg,
            "Input should be a valid integer, got a number with a fractional part"
        );
        assert_eq!(e.input, json!(10.5));
        assert_eq!(e.ctx, None);
        for bad in ["abc", "10.5", "", "1__0", "_1", "1e3", "0x10"] {
            let e = ttl(json!(bad)).unwrap_err();
            assert_eq!(e.kind, "int_parsing", "{bad}");
            assert_eq!(
                e.msg,
                "Input should be a valid integer, unable to parse string as an integer"
            );
            assert_eq!(e.input, json!(bad));
        }
        for bad in [Value::Null, json!([1]), json!({"a": 1})] {
            let e = ttl(bad).unwrap_err();
            assert_eq!(e.kind, "int_type");
            assert_eq!(e.msg, "Input should be a valid integer");
        }
        for big in [json!(u64::MAX), json!(1e30), json!("99999999999999999999")] {
            assert_eq!(ttl(big).unwrap_err().kind, "int_parsing_size");
        }
        // false coerces to 0, which then fails the bound.
        assert_eq!(ttl(json!(false)).unwrap_err().kind, "greater_than_equal");
    }

    fn playlist_flag(v: Value) -> Result<bool, Box<FieldError>> {
        match validate(&with("features", "playlist", v)) {
            Ok(cfg) => Ok(cfg.features.playlist),
            Err(mut e) => {
                assert_eq!(e.len(), 1);
                Err(Box::new(e.remove(0)))
            }
        }
    }

    #[test]
    fn bool_lax_coercion() {
        for t in [
            "yes", "YES", "on", "On", "true", "True", "1", "y", "Y", "t", "T",
        ] {
            assert!(playlist_flag(json!(t)).unwrap(), "{t}");
        }
        for f in ["no", "NO", "off", "false", "FALSE", "0", "n", "f"] {
            assert!(!playlist_flag(json!(f)).unwrap(), "{f}");
        }
        assert!(playlist_flag(json!(true)).unwrap());
        assert!(playlist_flag(json!(1)).unwrap());
        assert!(playlist_flag(json!(1.0)).unwrap());
        assert!(!playlist_flag(json!(0)).unwrap());
        assert!(!playlist_flag(json!(0.0)).unwrap());
    }

    #[test]
    fn bool_rejections() {
        for bad in [
            json!("maybe"),
            json!(2),
            json!(0.5),
            json!(" yes"),
            json!(""),
        ] {
            let e = playlist_flag(bad.clone()).unwrap_err();
            assert_err(
                &e,
                "bool_parsing",
                &["features", "playlist"],
                "Input should be a valid boolean, unable to interpret input",
            );
            assert_eq!(e.input, bad);
        }
        for bad in [Value::Null, json!([]), json!({})] {
            let e = playlist_flag(bad).unwrap_err();
            assert_eq!(e.kind, "bool_type");
            assert_eq!(e.msg, "Input should be a valid boolean");
        }
    }

    fn timeout(v: Value) -> Result<f64, Box<FieldError>> {
        match validate(&with("telemetry", "prometheus_timeout_seconds", v)) {
            Ok(cfg) => Ok(cfg.telemetry.prometheus_timeout_seconds),
            Err(mut e) => {
                assert_eq!(e.len(), 1);
                Err(Box::new(e.remove(0)))
            }
        }
    }

    #[test]
    fn float_coercion_and_bounds() {
        assert_eq!(timeout(json!(2.5)).unwrap(), 2.5);
        assert_eq!(timeout(json!(3)).unwrap(), 3.0);
        assert_eq!(timeout(json!("2.5")).unwrap(), 2.5);
        assert_eq!(timeout(json!(" 1e1 ")).unwrap(), 10.0);
        assert_eq!(timeout(json!(true)).unwrap(), 1.0);
        assert_eq!(timeout(json!(60)).unwrap(), 60.0);

        let e = timeout(json!(0)).unwrap_err();
        assert_err(
            &e,
            "greater_than",
            &["telemetry", "prometheus_timeout_seconds"],
            "Input should be greater than 0",
        );
        assert_eq!(e.ctx, Some(json!({"gt": 0.0})));
        let e = timeout(json!(60.5)).unwrap_err();
        assert_eq!(e.kind, "less_than_equal");
        assert_eq!(e.msg, "Input should be less than or equal to 60");
        assert_eq!(e.ctx, Some(json!({"le": 60.0})));
        assert_eq!(timeout(json!("inf")).unwrap_err().kind, "less_than_equal");

        let e = timeout(json!("abc")).unwrap_err();
        assert_eq!(e.kind, "float_parsing");
        assert_eq!(
            e.msg,
            "Input should be a valid number, unable to parse string as a number"
        );
        let e = timeout(Value::Null).unwrap_err();
        assert_eq!(e.kind, "float_type");
        assert_eq!(e.msg, "Input should be a valid number");
        let e = timeout(json!("nan")).unwrap_err();
        assert_eq!(e.kind, "finite_number");
        assert_eq!(e.msg, "Input should be a finite number");
    }

    #[test]
    fn map_center_bounds_print_like_pydantic() {
        let mut doc = base();
        doc["map"] = json!({"center": {"lat": -91, "lon": 181.5}});
        let e = errs(&doc);
        assert_eq!(e.len(), 2);
        assert_err(
            &e[0],
            "greater_than_equal",
            &["map", "center", "lat"],
            "Input should be greater than or equal to -90",
        );
        assert_eq!(e[0].ctx, Some(json!({"ge": -90.0})));
        assert_err(
            &e[1],
            "less_than_equal",
            &["map", "center", "lon"],
            "Input should be less than or equal to 180",
        );
        let mut doc = base();
        doc["map"] = json!({"center": {"lat": "45.5", "lon": -180}});
        let c = ok(&doc).map.center;
        assert_eq!((c.lat, c.lon), (45.5, -180.0));
    }

    #[test]
    fn strings_are_not_coerced_from_other_types() {
        for (section, key) in [
            ("app", "name"),
            ("app", "description"),
            ("telemetry", "identity_label"),
            ("telemetry", "prometheus_url"),
            ("auth", "username"),
            ("auth", "password_hash"),
        ] {
            let e = one(&with(section, key, json!(123)));
            assert_err(
                &e,
                "string_type",
                &[section, key],
                "Input should be a valid string",
            );
            assert_eq!(e.input, json!(123));
        }
        assert_eq!(
            ok(&with("app", "description", Value::Null)).app.description,
            None
        );
        let e = one(&with("app", "name", json!("")));
        assert_eq!(e.kind, "string_too_short");
    }

    // -- constraints -----------------------------------------------------------------------

    #[test]
    fn refresh_below_minimum() {
        let e = one(&with("refresh", "room_state_seconds", json!(5)));
        assert_err(
            &e,
            "greater_than_equal",
            &["refresh", "room_state_seconds"],
            "Input should be greater than or equal to 10",
        );
        assert_eq!(e.ctx, Some(json!({"ge": 10})));
        assert_eq!(e.input, json!(5));
    }

    #[test]
    fn int_bounds_everywhere() {
        let cases: &[(&str, &str, Value, &str)] = &[
            (
                "refresh",
                "rack_state_seconds",
                json!(9),
                "greater_than_equal",
            ),
            (
                "cache",
                "health_checks_ttl_seconds",
                json!(0),
                "greater_than_equal",
            ),
            (
                "cache",
                "metrics_ttl_seconds",
                json!(0),
                "greater_than_equal",
            ),
            (
                "cache",
                "service_ttl_seconds",
                json!(0),
                "greater_than_equal",
            ),
            (
                "telemetry",
                "prometheus_heartbeat_seconds",
                json!(9),
                "greater_than_equal",
            ),
            (
                "telemetry",
                "prometheus_latency_window",
                json!(0),
                "greater_than_equal",
            ),
            (
                "planner",
                "cache_ttl_seconds",
                json!(0),
                "greater_than_equal",
            ),
            (
                "planner",
                "max_ids_per_query",
                json!(0),
                "greater_than_equal",
            ),
            (
                "features",
                "notifications_max_visible",
                json!(0),
                "greater_than_equal",
            ),
            ("map", "default_zoom", json!(0), "greater_than_equal"),
            ("map", "default_zoom", json!(19), "less_than_equal"),
            ("map", "min_zoom", json!(19), "less_than_equal"),
            ("map", "max_zoom", json!(0), "greater_than_equal"),
            (
                "playlist",
                "interval_seconds",
                json!(4),
                "greater_than_equal",
            ),
        ];
        for (section, key, value, kind) in cases {
            let e = one(&with(section, key, value.clone()));
            assert_eq!(&e.kind, kind, "{section}.{key}");
            assert_eq!(e.loc, loc(&[section, key]));
        }
        let e = one(&with("map", "min_zoom", json!(19)));
        assert_eq!(e.msg, "Input should be less than or equal to 18");
        assert_eq!(e.ctx, Some(json!({"le": 18})));
        assert_eq!(
            ok(&with("map", "default_zoom", Value::Null))
                .map
                .default_zoom,
            None
        );
        assert_eq!(
            ok(&with("map", "default_zoom", json!("4")))
                .map
                .default_zoom,
            Some(4)
        );
    }

    #[test]
    fn password_policy_bounds() {
        let mut doc = base();
        doc["auth"] = json!({"policy": {"max_length": 5}});
        let e = one(&doc);
        assert_err(
            &e,
            "greater_than_equal",
            &["auth", "policy", "max_length"],
            "Input should be greater than or equal to 6",
        );
        doc["auth"] = json!({"policy": {"min_length": 129, "max_length": 513}});
        let e = errs(&doc);
        assert_eq!(e[0].msg, "Input should be less than or equal to 128");
        assert_eq!(e[1].msg, "Input should be less than or equal to 512");
        // No cross-check of min against max.
        doc["auth"] = json!({"policy": {"min_length": 100, "max_length": 6}});
        assert_eq!(ok(&doc).auth.policy.min_length, 100);
    }

    #[test]
    fn literals() {
        let e = one(&with("auth", "session_duration", json!("1h")));
        assert_err(
            &e,
            "literal_error",
            &["auth", "session_duration"],
            "Input should be '8h', '24h' or 'unlimited'",
        );
        assert_eq!(
            e.ctx,
            Some(json!({"expected": "'8h', '24h' or 'unlimited'"}))
        );
        assert_eq!(e.input, json!("1h"));
        for d in ["8h", "24h", "unlimited"] {
            assert_eq!(
                ok(&with("auth", "session_duration", json!(d)))
                    .auth
                    .session_duration,
                d
            );
        }

        let e = one(&with("planner", "unknown_state", json!("ok")));
        assert_eq!(e.msg, "Input should be 'OK', 'WARN', 'CRIT' or 'UNKNOWN'");
        assert_eq!(e.kind, "literal_error");
        let e = one(&with("planner", "unknown_state", Value::Null));
        assert_eq!(e.kind, "literal_error");
        assert_eq!(
            ok(&with("planner", "unknown_state", json!("CRIT")))
                .planner
                .unknown_state,
            "CRIT"
        );

        let e = one(&with("map", "default_view", json!("galaxy")));
        assert_eq!(
            e.msg,
            "Input should be 'world', 'continent', 'country' or 'city'"
        );
        assert_eq!(
            ok(&with("map", "default_view", Value::Null))
                .map
                .default_view,
            None
        );
        assert_eq!(
            ok(&with("map", "default_view", json!("city")))
                .map
                .default_view
                .as_deref(),
            Some("city")
        );
    }

    #[test]
    fn literal_expected_text_for_short_lists() {
        assert_eq!(
            literal(&json!(1), &["a"]).unwrap_err().msg,
            "Input should be 'a'"
        );
        assert_eq!(
            literal(&json!(1), &["a", "b"]).unwrap_err().msg,
            "Input should be 'a' or 'b'"
        );
    }

    #[test]
    fn lists() {
        let e = one(&with("playlist", "views", json!("x")));
        assert_err(
            &e,
            "list_type",
            &["playlist", "views"],
            "Input should be a valid list",
        );
        let e = errs(&with("playlist", "views", json!(["/a", 1, "/b", null])));
        assert_eq!(e.len(), 2);
        assert_err(
            &e[0],
            "string_type",
            &["playlist", "views", "1"],
            "Input should be a valid string",
        );
        assert_eq!(e[0].input, json!(1));
        assert_eq!(e[1].loc, loc(&["playlist", "views", "3"]));
        let cfg = ok(&with(
            "auth",
            "trusted_networks",
            json!(["not-valid-cidr", "10.0.0.0/8"]),
        ));
        assert_eq!(
            cfg.auth.trusted_networks,
            vec!["not-valid-cidr", "10.0.0.0/8"]
        );
        let e = one(&with("auth", "trusted_networks", json!({"a": 1})));
        assert_eq!(e.kind, "list_type");
    }

    // -- plugins and legacy sections -------------------------------------------------------

    #[test]
    fn plugins_must_be_a_map_of_objects() {
        let mut doc = base();
        doc["plugins"] = json!({"x": 1});
        let e = one(&doc);
        assert_err(
            &e,
            "dict_type",
            &["plugins", "x"],
            "Input should be a valid dictionary",
        );
        assert_eq!(e.input, json!(1));
        doc["plugins"] = json!(["simulator"]);
        let e = one(&doc);
        assert_err(
            &e,
            "dict_type",
            &["plugins"],
            "Input should be a valid dictionary",
        );
        doc["plugins"] = json!({"a": null, "b": {"enabled": true}, "c": "on"});
        let e = errs(&doc);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].loc, loc(&["plugins", "a"]));
        assert_eq!(e[1].loc, loc(&["plugins", "c"]));
    }

    #[test]
    fn plugins_are_kept_as_given() {
        let mut doc = base();
        let sim = json!({"enabled": true, "seed": null, "custom": {"a": [1, 2.5]}});
        doc["plugins"] = json!({"simulator": sim, "slurm": {}});
        let cfg = ok(&doc);
        assert_eq!(
            cfg.plugins.keys().collect::<Vec<_>>(),
            ["simulator", "slurm"]
        );
        assert_eq!(Value::Object(cfg.plugins["simulator"].clone()), sim);
    }

    #[test]
    fn legacy_sections() {
        let cfg = ok(&base());
        assert_eq!((cfg.simulator, cfg.slurm), (None, None));
        let mut doc = base();
        doc["simulator"] = Value::Null;
        doc["slurm"] = Value::Null;
        let cfg = ok(&doc);
        assert_eq!((cfg.simulator, cfg.slurm), (None, None));
        doc["simulator"] = json!({});
        doc["slurm"] = json!({});
        let cfg = ok(&doc);
        assert_eq!(cfg.simulator, Some(LegacySimulator::default()));
        assert_eq!(cfg.slurm, Some(LegacySlurm::default()));

        doc["simulator"] = json!({
            "update_interval_seconds": 0,
            "seed": "42",
            "default_ttl_seconds": -1,
            "overrides_path": "",
            "metrics_catalogs": [{"id": "a"}, 1, {"id": "", "path": "p", "enabled": "no"}]
        });
        let e = errs(&doc);
        let got: Vec<(String, Vec<Loc>)> =
            e.iter().map(|e| (e.kind.clone(), e.loc.clone())).collect();
        assert_eq!(
            got,
            vec![
                (
                    "greater_than_equal".into(),
                    loc(&["simulator", "update_interval_seconds"])
                ),
                (
                    "string_too_short".into(),
                    loc(&["simulator", "overrides_path"])
                ),
                (
                    "greater_than_equal".into(),
                    loc(&["simulator", "default_ttl_seconds"])
                ),
                (
                    "missing".into(),
                    loc(&["simulator", "metrics_catalogs", "0", "path"])
                ),
                (
                    "model_type".into(),
                    loc(&["simulator", "metrics_catalogs", "1"])
                ),
                (
                    "string_too_short".into(),
                    loc(&["simulator", "metrics_catalogs", "2", "id"])
                ),
            ]
        );
        assert_eq!(e[3].input, json!({"id": "a"}));
        assert_eq!(
            e[4].msg,
            "Input should be a valid dictionary or instance of SimulatorMetricsCatalog"
        );

        doc["simulator"] =
            json!({"seed": "42", "metrics_catalogs": [{"id": "s", "path": "p", "enabled": "no"}]});
        doc["slurm"] = json!({"metric": "", "roles": "compute", "mapping_path": "m.yaml", "status_map": {"ok": ["idle"]}});
        let e = errs(&doc);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].loc, loc(&["slurm", "metric"]));
        assert_eq!(e[1].loc, loc(&["slurm", "roles"]));
        doc["slurm"] = json!({"mapping_path": "m.yaml", "status_map": {"ok": ["idle"]}});
        let cfg = ok(&doc);
        let sim = cfg.simulator.unwrap();
        assert_eq!(sim.seed, Some(42));
        assert!(!sim.metrics_catalogs[0].enabled);
        let slurm = cfg.slurm.unwrap();
        assert_eq!(slurm.status_map.ok, vec!["idle"]);
        assert_eq!(slurm.status_map.crit, SlurmStatusMap::default().crit);
        assert_eq!(slurm.mapping_path.as_deref(), Some("m.yaml"));
    }

    // -- telemetry rules -------------------------------------------------------------------

    #[test]
    fn prometheus_url_scheme() {
        assert_eq!(
            value_error("telemetry", "prometheus_url", json!("file:///etc/passwd")),
            "prometheus_url must use http or https scheme, got: 'file'"
        );
        assert_eq!(
            value_error("telemetry", "prometheus_url", json!("prometheus:9090")),
            "prometheus_url must use http or https scheme, got: 'prometheus'"
        );
        assert_eq!(
            value_error("telemetry", "prometheus_url", json!("//prometheus:9090")),
            "prometheus_url must use http or https scheme, got: ''"
        );
        assert_eq!(
            value_error("telemetry", "prometheus_url", json!("ftp://x")),
            "prometheus_url must use http or https scheme, got: 'ftp'"
        );
        let url = |u: &str| {
            ok(&with("telemetry", "prometheus_url", json!(u)))
                .telemetry
                .prometheus_url
        };
        assert_eq!(url("HTTP://prom:9090").as_deref(), Some("HTTP://prom:9090"));
    }

    #[test]
    fn prometheus_url_credentials() {
        let msg = "prometheus_url must not embed credentials. \
                   Use basic_auth_user and basic_auth_password fields instead.";
        for u in ["http://user:pw@h:9090", "http://user@h", "https://:pw@h"] {
            assert_eq!(
                value_error("telemetry", "prometheus_url", json!(u)),
                msg,
                "{u}"
            );
        }
    }

    #[test]
    fn prometheus_url_metadata_hosts() {
        for (u, host) in [
            (
                "http://metadata.google.internal",
                "metadata.google.internal",
            ),
            (
                "http://METADATA.google.internal/x",
                "metadata.google.internal",
            ),
            (
                "http://metadata.google.internal.:80",
                "metadata.google.internal.",
            ),
            ("http://100.100.100.200", "100.100.100.200"),
        ] {
            assert_eq!(
                value_error("telemetry", "prometheus_url", json!(u)),
                format!("prometheus_url targets a cloud metadata address: '{host}'")
            );
        }
    }

    #[test]
    fn prometheus_url_link_local_and_unspecified() {
        let link = |h: &str| {
            format!(
                "prometheus_url targets a link-local address '{h}' \
                 (cloud instance metadata range — SSRF risk)"
            )
        };
        let p = |u: &str| value_error("telemetry", "prometheus_url", json!(u));
        assert_eq!(p("http://169.254.169.254/"), link("169.254.169.254"));
        assert_eq!(p("http://169.254.1.2:9090"), link("169.254.1.2"));
        assert_eq!(p("http://[fe80::1]:9090"), link("fe80::1"));
        assert_eq!(p("http://[febf::1]"), link("febf::1"));
        // Gaps of the reference that the url crate closes.
        assert_eq!(p("http://2852039166/"), link("169.254.169.254"));
        assert_eq!(
            p("http://[::ffff:169.254.1.1]/"),
            link("::ffff:169.254.1.1")
        );
        assert_eq!(
            p("http://0.0.0.0:9090"),
            "prometheus_url targets an unspecified address: '0.0.0.0'"
        );
        assert_eq!(
            p("http://[::]:9090"),
            "prometheus_url targets an unspecified address: '::'"
        );
        assert!(p("http://").starts_with("prometheus_url is not a valid URL: "));
    }

    #[test]
    fn prometheus_url_accepted_values() {
        let url = |v: Value| {
            ok(&with("telemetry", "prometheus_url", v))
                .telemetry
                .prometheus_url
        };
        for u in [
            "http://127.0.0.1:9090",
            "http://localhost:9090",
            "http://10.1.2.3:9090",
            "http://192.168.1.1",
            "https://prom.example.com:9443/prefix",
            "http://[::1]:9090",
            "http://[fec0::1]:9090",
            "http://prometheus:9090",
        ] {
            assert_eq!(url(json!(u)).as_deref(), Some(u));
        }
        assert_eq!(url(json!("")), None);
        assert_eq!(url(Value::Null), None);
    }

    #[test]
    fn optional_telemetry_strings_turn_empty_into_null() {
        let mut doc = base();
        doc["telemetry"] = json!({
            "basic_auth_user": "", "basic_auth_password": "",
            "tls_ca_file": "", "tls_cert_file": "", "tls_key_file": ""
        });
        let t = ok(&doc).telemetry;
        assert_eq!(t, Telemetry::default());
    }

    #[test]
    fn basic_auth_password_needs_user() {
        let text = "basic_auth_user is required when basic_auth_password is set";
        assert_eq!(
            value_error("telemetry", "basic_auth_password", json!("pw")),
            text
        );
        let mut doc = base();
        doc["telemetry"] = json!({"basic_auth_password": "pw", "basic_auth_user": ""});
        let e = one(&doc);
        assert_eq!(e.loc, loc(&["telemetry", "basic_auth_password"]));
        assert_eq!(e.input, json!("pw"));
        // The user is checked first whatever the key order of the input.
        doc["telemetry"] = json!({"basic_auth_password": "pw", "basic_auth_user": "u"});
        let t = ok(&doc).telemetry;
        assert_eq!(t.basic_auth_user.as_deref(), Some("u"));
        assert_eq!(t.basic_auth_password.as_deref(), Some("pw"));
        // An invalid user counts as absent.
        doc["telemetry"] = json!({"basic_auth_password": "pw", "basic_auth_user": 5});
        let e = errs(&doc);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].loc, loc(&["telemetry", "basic_auth_user"]));
        assert_eq!(e[1].loc, loc(&["telemetry", "basic_auth_password"]));
    }

    #[test]
    fn tls_key_needs_cert() {
        let text = "tls_cert_file is required when tls_key_file is set";
        assert_eq!(
            value_error("telemetry", "tls_key_file", json!("k.pem")),
            text
        );
        let mut doc = base();
        doc["telemetry"] =
            json!({"tls_key_file": "k.pem", "tls_cert_file": "c.pem", "tls_ca_file": "ca.pem"});
        let t = ok(&doc).telemetry;
        assert_eq!(t.tls_key_file.as_deref(), Some("k.pem"));
        assert_eq!(t.tls_ca_file.as_deref(), Some("ca.pem"));
    }

    #[test]
    fn job_regex_must_compile() {
        let text = value_error("telemetry", "job_regex", json!("(("));
        assert!(text.starts_with("Invalid job_regex: "), "{text}");
        assert_eq!(text, "Invalid job_regex: unclosed group at position 1");
        assert_eq!(
            check_job_regex("a\nb(("),
            Err("Invalid job_regex: unclosed group".to_string())
        );
        let e = one(&with("telemetry", "job_regex", json!("((")));
        assert!(e.msg.starts_with("Value error, Invalid job_regex:"));
        assert_eq!(
            ok(&with(
                "telemetry",
                "job_regex",
                json!("node|rackscope-simulator")
            ))
            .telemetry
            .job_regex,
            "node|rackscope-simulator"
        );
    }

    // -- auth ------------------------------------------------------------------------------

    #[test]
    fn auth_enabled_needs_a_hash() {
        let mut doc = base();
        doc["auth"] = json!({"enabled": true, "password_hash": ""});
        let e = one(&doc);
        assert_err(
            &e,
            "value_error",
            &["auth", "password_hash"],
            &format!("Value error, {AUTH_HASH_REQUIRED}"),
        );
        assert_eq!(e.ctx, Some(json!({ "error": AUTH_HASH_REQUIRED })));
        assert_eq!(e.input, json!(""));

        // Absent counts as empty; "yes" counts as enabled.
        doc["auth"] = json!({"enabled": "yes"});
        let e = one(&doc);
        assert_eq!(e.loc, loc(&["auth", "password_hash"]));

        doc["auth"] = json!({"enabled": true, "password_hash": "$2b$13$abc"});
        assert!(ok(&doc).auth.enabled);
        doc["auth"] = json!({"enabled": false});
        assert!(!ok(&doc).auth.enabled);
    }

    #[test]
    fn auth_hash_rule_can_be_deferred() {
        let mut doc = base();
        doc["auth"] = json!({"enabled": true, "secret_key": "s"});
        let lenient = Options {
            require_hash_when_auth_enabled: false,
        };
        let mut cfg = validate_with(&doc, lenient).expect("lenient accepts");
        let e = auth_hash_error(&cfg).expect("rule applies afterwards");
        assert_eq!(e.loc, loc(&["auth", "password_hash"]));
        assert_eq!(e.kind, "value_error");
        cfg.auth.password_hash = "$2b$13$abc".into();
        assert_eq!(auth_hash_error(&cfg), None);
        assert!(Options::default().require_hash_when_auth_enabled);
    }

    #[test]
    fn auth_fields() {
        let mut doc = base();
        doc["auth"] = json!({
            "enabled": 0, "username": "root", "password_hash": "h", "secret_key": "k",
            "session_duration": "unlimited",
            "policy": {"min_length": "8", "require_digit": "on"}
        });
        let a = ok(&doc).auth;
        assert_eq!(a.username, "root");
        assert_eq!(a.password_hash, "h");
        assert_eq!(a.secret_key, "k");
        assert_eq!(a.policy.min_length, 8);
        assert!(a.policy.require_digit);
        assert_eq!(a.policy.max_length, 128);
    }

    // -- the spec's black-box cases (core.md §8 items 5 and 10) ------------------------------

    #[test]
    fn spec_case_5_each_bad_field_is_rejected() {
        let cases: Vec<(Value, &str, &[&str], &str)> = vec![
            (
                with("refresh", "room_state_seconds", json!(5)),
                "greater_than_equal",
                &["refresh", "room_state_seconds"],
                "greater than or equal to 10",
            ),
            (
                with("telemetry", "prometheus_url", json!("file:///etc/passwd")),
                "value_error",
                &["telemetry", "prometheus_url"],
                "must use http or https scheme, got: 'file'",
            ),
            (
                with(
                    "telemetry",
                    "prometheus_url",
                    json!("http://user:pw@h:9090"),
                ),
                "value_error",
                &["telemetry", "prometheus_url"],
                "must not embed credentials",
            ),
            (
                with(
                    "telemetry",
                    "prometheus_url",
                    json!("http://169.254.169.254/"),
                ),
                "value_error",
                &["telemetry", "prometheus_url"],
                "link-local",
            ),
            (
                with(
                    "telemetry",
                    "prometheus_url",
                    json!("http://[fe80::1]:9090"),
                ),
                "value_error",
                &["telemetry", "prometheus_url"],
                "link-local",
            ),
            (
                with("telemetry", "prometheus_url", json!("http://0.0.0.0:9090")),
                "value_error",
                &["telemetry", "prometheus_url"],
                "unspecified",
            ),
            (
                with("telemetry", "prometheus_url", json!("http://[::]:9090")),
                "value_error",
                &["telemetry", "prometheus_url"],
                "unspecified",
            ),
            (
                with(
                    "telemetry",
                    "prometheus_url",
                    json!("http://metadata.google.internal"),
                ),
                "value_error",
                &["telemetry", "prometheus_url"],
                "cloud metadata",
            ),
            (
                with(
                    "telemetry",
                    "prometheus_url",
                    json!("http://100.100.100.200"),
                ),
                "value_error",
                &["telemetry", "prometheus_url"],
                "cloud metadata",
            ),
            (
                with("telemetry", "basic_auth_password", json!("pw")),
                "value_error",
                &["telemetry", "basic_auth_password"],
                "basic_auth_user is required",
            ),
            (
                with("telemetry", "tls_key_file", json!("k")),
                "value_error",
                &["telemetry", "tls_key_file"],
                "tls_cert_file is required",
            ),
            (
                with("telemetry", "job_regex", json!("((")),
                "value_error",
                &["telemetry", "job_regex"],
                "Value error, Invalid job_regex:",
            ),
            (
                with("auth", "session_duration", json!("1h")),
                "literal_error",
                &["auth", "session_duration"],
                "'8h', '24h' or 'unlimited'",
            ),
            (
                with("planner", "unknown_state", json!("ok")),
                "literal_error",
                &["planner", "unknown_state"],
                "'OK', 'WARN', 'CRIT' or 'UNKNOWN'",
            ),
            (
                json!({"paths": {"topology": "t", "templates": "tp", "checks": "c"}, "plugins": {"x": 1}}),
                "dict_type",
                &["plugins", "x"],
                "valid dictionary",
            ),
        ];
        let mut policy = base();
        policy["auth"] = json!({"policy": {"max_length": 5}});
        let mut cases = cases;
        cases.push((
            policy,
            "greater_than_equal",
            &["auth", "policy", "max_length"],
            "greater than or equal to 6",
        ));
        for (doc, kind, at, fragment) in cases {
            let e = one(&doc);
            assert_eq!(e.kind, kind, "{doc}");
            assert_eq!(e.loc, loc(at), "{doc}");
            assert!(e.msg.contains(fragment), "{} lacks {fragment}", e.msg);
            let body = serde_json::to_value(e.with_loc_prefix("body")).unwrap();
            assert_eq!(body["loc"][0], "body");
        }
        let url = |u: &str| {
            ok(&with("telemetry", "prometheus_url", json!(u)))
                .telemetry
                .prometheus_url
        };
        assert_eq!(
            url("http://127.0.0.1:9090").as_deref(),
            Some("http://127.0.0.1:9090")
        );
        assert_eq!(url(""), None);
    }

    #[test]
    fn spec_case_10_bool_coercion_and_unknown_keys() {
        let mut doc = with("features", "playlist", json!("yes"));
        doc["features"]["not_a_feature"] = json!(1);
        doc["whatever"] = json!({"a": 1});
        assert!(ok(&doc).features.playlist);
        let e = one(&with("features", "playlist", json!("maybe")));
        assert_eq!(e.kind, "bool_parsing");
        assert_eq!(e.loc, loc(&["features", "playlist"]));
    }

    // -- error item shape ------------------------------------------------------------------

    #[test]
    fn field_error_serialises_as_a_422_item() {
        let e = one(&with("refresh", "room_state_seconds", json!(5))).with_loc_prefix("body");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"greater_than_equal","loc":["body","refresh","room_state_seconds"],"msg":"Input should be greater than or equal to 10","input":5,"ctx":{"ge":10}}"#
        );
        let e = one(&json!({}));
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"type": "missing", "loc": ["paths"], "msg": "Field required", "input": {}})
        );
        let e = one(&with("playlist", "views", json!([1])));
        assert_eq!(
            serde_json::to_value(&e).unwrap()["loc"],
            json!(["playlist", "views", 0])
        );
        assert_eq!(
            e.to_string(),
            "playlist.views.0: Input should be a valid string"
        );
    }

    #[test]
    fn python_repr_quoting() {
        assert_eq!(py_repr("abc"), "'abc'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_repr("a\\b\n"), "'a\\\\b\\n'");
        assert_eq!(py_repr(""), "''");
    }

    #[test]
    fn python_scheme_detection() {
        assert_eq!(python_scheme("HTTP://x"), "http");
        assert_eq!(python_scheme("  http://x"), "http");
        assert_eq!(python_scheme("prometheus:9090"), "prometheus");
        assert_eq!(python_scheme("1http://x"), "");
        assert_eq!(python_scheme("a_b://x"), "");
        assert_eq!(python_scheme(":x"), "");
        assert_eq!(python_scheme("svn+ssh://x"), "svn+ssh");
    }
}
