//! [`PromClient`]: instant and range queries over Prometheus's HTTP API
//! (`/api/v1/query`, `/api/v1/query_range`), with the TTL caches and merged in-flight
//! requests of [`super::cache`], latency statistics, and live reconfiguration.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use futures::FutureExt;
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::cache::{CacheKind, Lookup, QueryCache};
use super::{PromError, PromSettings};

/// Parameters (query, times, step) longer than this, in bytes, go in a POST body rather
/// than the URL: many servers and proxies refuse URLs of more than 4-8 KiB.
const MAX_GET_PARAMS: usize = 3_000;

/// Longest piece of a non-JSON body quoted in an error message.
const BODY_EXCERPT: usize = 200;

/// A handle on the Prometheus client. Cloning is cheap (one `Arc`); all clones share the
/// HTTP connection pool, caches and statistics.
#[derive(Clone)]
pub struct PromClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// The HTTP client and the settings it was built from, swapped as one by
    /// [`PromClient::reconfigure`]; requests already running keep the old one.
    transport: ArcSwap<Transport>,
    /// Caches and in-flight map. A `parking_lot` mutex: held only for map operations, never
    /// across `.await`.
    cache: Mutex<QueryCache>,
    /// Request counter and latency ring; same kind of lock for the same reason.
    stats: Mutex<Stats>,
}

struct Transport {
    http: reqwest::Client,
    settings: PromSettings,
    /// `base_url` as shown in messages and logs: without any user info.
    display_url: String,
}

impl Transport {
    fn build(settings: PromSettings) -> Result<Self, PromError> {
        let mut url = url::Url::parse(&settings.base_url).map_err(|e| {
            PromError::Config(format!(
                "the Prometheus URL '{}' is not valid: {e}",
                strip_userinfo(&settings.base_url)
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PromError::Config(format!(
                "the Prometheus URL must use http or https, got '{}'",
                url.scheme()
            )));
        }
        // Cannot fail for http(s) URLs, which have a host; the result is ignored anyway.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let display_url = url.as_str().trim_end_matches('/').to_owned();

        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            // One deadline for the whole exchange, body included, so a server that
            // trickles bytes cannot hold a query forever.
            .timeout(settings.timeout)
            .user_agent(concat!("rackscope/", env!("CARGO_PKG_VERSION")));
        if !settings.tls_verify {
            builder = builder.danger_accept_invalid_certs(true);
        } else if let Some(ca_file) = &settings.tls_ca_file {
            let pem = read_file(ca_file, "CA file (telemetry.tls_ca_file)")?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                PromError::Config(format!(
                    "the CA file '{}' is not a PEM certificate bundle: {}",
                    ca_file.display(),
                    root_cause(&e)
                ))
            })?;
            if certs.is_empty() {
                return Err(PromError::Config(format!(
                    "the CA file '{}' contains no certificate",
                    ca_file.display()
                )));
            }
            // As in the reference: a CA bundle replaces the built-in roots.
            builder = builder.tls_built_in_root_certs(false);
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let (Some(cert_file), Some(key_file)) = (&settings.tls_cert_file, &settings.tls_key_file)
        {
            let mut pem = read_file(cert_file, "client certificate (telemetry.tls_cert_file)")?;
            pem.push(b'\n');
            pem.extend(read_file(key_file, "client key (telemetry.tls_key_file)")?);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                PromError::Config(format!(
                    "the client certificate '{}' and key '{}' cannot be used: {}",
                    cert_file.display(),
                    key_file.display(),
                    root_cause(&e)
                ))
            })?;
            builder = builder.identity(identity);
        }
        let http = builder.build().map_err(|e| {
            PromError::Config(format!("cannot build the HTTP client: {}", root_cause(&e)))
        })?;
        Ok(Transport {
            http,
            settings,
            display_url,
        })
    }

    /// Sends `params` to `path` and returns the `data` object of a success answer. Short
    /// queries go as a GET (what proxies and the reference expect); a long one (over
    /// [`MAX_GET_PARAMS`] bytes of parameters) as a form POST, which Prometheus and
    /// Prometheus-compatible engines accept on the same endpoints and which has no URL
    /// length limit.
    async fn get(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, PromError> {
        let (status, body) = self.get_raw(path, params).await?;
        parse_answer(status, &body)
    }

    /// [`Self::get`] without reading the body: the status and the bytes.
    async fn get_raw(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<(reqwest::StatusCode, bytes::Bytes), PromError> {
        let url = format!("{}{path}", self.settings.base_url);
        let size: usize = params.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let mut request = if size > MAX_GET_PARAMS {
            self.http.post(url).form(params)
        } else {
            self.http.get(url).query(params)
        };
        if let Some((user, password)) = &self.settings.basic_auth {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        Ok((status, body))
    }

    fn transport_error(&self, err: reqwest::Error) -> PromError {
        let err = err.without_url();
        // Connect first: a connect timeout is an unreachable server, not a slow answer.
        if err.is_connect() {
            PromError::Unreachable(format!(
                "cannot connect to {}: {}",
                self.display_url,
                root_cause(&err)
            ))
        } else if err.is_timeout() {
            PromError::Timeout(self.settings.timeout)
        } else if err.is_builder() {
            // The settings were checked when the client was built, so this is about the
            // request itself (the query, its parameters), not the configuration.
            PromError::Request(format!("cannot build the request: {}", root_cause(&err)))
        } else {
            PromError::Unreachable(format!(
                "the connection to {} failed: {}",
                self.display_url,
                root_cause(&err)
            ))
        }
    }
}

#[derive(Default)]
struct Stats {
    /// HTTP requests sent to Prometheus (instant and range).
    query_count: u64,
    /// Latest samples in milliseconds, at most `window` of them.
    samples: VecDeque<f64>,
    window: usize,
    last_ms: Option<f64>,
    /// Epoch milliseconds of the latest sample.
    last_ts: Option<u64>,
    /// The latest failed request: its error and epoch milliseconds.
    last_error: Option<(String, u64)>,
}

fn now_ms() -> Option<u64> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_millis()).ok())
}

impl Stats {
    fn record(&mut self, started: Instant) {
        let ms = (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
        self.samples.push_back(ms);
        self.trim();
        self.last_ms = Some(ms);
        self.last_ts = now_ms();
    }

    fn fail(&mut self, e: &PromError) {
        self.last_error = Some((e.to_string(), now_ms().unwrap_or(0)));
    }

    fn trim(&mut self) {
        while self.samples.len() > self.window.max(1) {
            self.samples.pop_front();
        }
    }

    fn avg_ms(&self) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let avg = self.samples.iter().sum::<f64>() / self.samples.len() as f64;
        Some((avg * 100.0).round() / 100.0)
    }
}

impl PromClient {
    /// Builds a client. Fails with [`PromError::Config`] when the URL is not an http(s)
    /// URL or a TLS file cannot be read or used. Sends no request.
    pub fn new(settings: PromSettings) -> Result<Self, PromError> {
        let window = settings.latency_window;
        let transport = Transport::build(settings)?;
        Ok(PromClient {
            inner: Arc::new(Inner {
                transport: ArcSwap::from_pointee(transport),
                cache: Mutex::new(QueryCache::new(Instant::now())),
                stats: Mutex::new(Stats {
                    window,
                    ..Stats::default()
                }),
            }),
        })
    }

    /// Applies new settings. A new HTTP client is built aside and swapped in atomically;
    /// on error the old one stays in use. The caches are cleared when the URL or the
    /// credentials changed (the reference keeps serving the old server's answers).
    /// Latency samples are kept and trimmed to the new window.
    pub fn reconfigure(&self, settings: PromSettings) -> Result<(), PromError> {
        let window = settings.latency_window;
        let transport = Transport::build(settings)?;
        let display_url = transport.display_url.clone();
        let old = self.inner.transport.swap(Arc::new(transport));
        let current = self.inner.transport.load();
        if old.settings.identity_differs(&current.settings) {
            self.inner.cache.lock().clear();
            tracing::info!(url = %display_url, "Prometheus target changed; query caches cleared");
        }
        let mut stats = self.inner.stats.lock();
        stats.window = window;
        stats.trim();
        Ok(())
    }

    /// The configured base URL (no trailing `/`).
    pub fn base_url(&self) -> String {
        self.inner.transport.load().settings.base_url.clone()
    }

    /// A copy of the settings in use.
    pub fn settings(&self) -> PromSettings {
        self.inner.transport.load().settings.clone()
    }

    /// Instant query (`GET /api/v1/query?query=…`, no `time`). Returns the `data` object of
    /// the answer, `{"resultType": …, "result": …}`.
    ///
    /// A fresh answer in the `cache` kind's cache is returned without a request; identical
    /// queries running at the same time (whatever their kind) share one request. Only
    /// successful answers are cached. Must run inside a Tokio runtime: the request runs in
    /// a spawned task, so it completes and fills the cache even if the caller goes away.
    pub async fn query(&self, promql: &str, cache: CacheKind) -> Result<Arc<Value>, PromError> {
        let shared = {
            let settings = &self.inner.transport.load().settings;
            let mut caches = self.inner.cache.lock();
            match caches.lookup(promql, cache, settings, Instant::now()) {
                Lookup::Hit(value) => return Ok(value),
                Lookup::Join(shared) => shared,
                Lookup::Lead { id, epoch } => {
                    // The request runs in its own task so that it completes (and fills the
                    // cache) even if every caller goes away. The task's `finish` needs the
                    // lock held here, so it cannot run before `register` below.
                    let this = self.clone();
                    let query = promql.to_owned();
                    let task = tokio::spawn(async move {
                        let result = this.fetch_instant(&query).await;
                        this.inner
                            .cache
                            .lock()
                            .finish(&query, id, epoch, &result, Instant::now());
                        result
                    });
                    let shared = async move {
                        task.await.unwrap_or_else(|e| {
                            Err(PromError::Unreachable(format!(
                                "the query was interrupted: {e}"
                            )))
                        })
                    }
                    .boxed()
                    .shared();
                    caches.register(promql.to_owned(), id, cache, shared.clone());
                    shared
                }
            }
        };
        shared.await
    }

    /// Range query (`GET /api/v1/query_range`); `start` and `end` are unix seconds, `step`
    /// a Prometheus duration ("1m") or seconds. Never cached nor merged. Returns `data`.
    pub async fn query_range(
        &self,
        promql: &str,
        start: f64,
        end: f64,
        step: &str,
    ) -> Result<Arc<Value>, PromError> {
        let transport = self.inner.transport.load_full();
        let (start, end) = (fmt_unix(start), fmt_unix(end));
        let params = [
            ("query", promql),
            ("start", start.as_str()),
            ("end", end.as_str()),
            ("step", step),
        ];
        let started = Instant::now();
        let result = transport.get("/api/v1/query_range", &params).await;
        self.account(started, &result, "Prometheus range query failed");
        result.map(Arc::new)
    }

    /// Heartbeat: the uncached query `vector(1)`.
    pub async fn ping(&self) -> Result<(), PromError> {
        self.query("vector(1)", CacheKind::None).await.map(|_| ())
    }

    /// `{query_count, cache_hits, cache_misses, in_flight, last_ms, avg_ms, last_ts}`; the
    /// latency fields are `null` before the first request. `avg_ms` is over the last
    /// `latency_window` samples.
    pub fn stats(&self) -> Value {
        let (hits, misses, in_flight) = {
            let c = self.inner.cache.lock();
            (c.hits, c.misses, c.in_flight())
        };
        let s = self.inner.stats.lock();
        json!({
            "query_count": s.query_count,
            "cache_hits": hits,
            "cache_misses": misses,
            "in_flight": in_flight,
            "last_ms": s.last_ms,
            "avg_ms": s.avg_ms(),
            "last_ts": s.last_ts,
        })
    }

    /// Instant query read as a vector keeping only `labels` of each series (see
    /// [`super::vector`]): no cache, no merging, counted in the statistics like
    /// [`Self::query`]. An error answer is the same [`PromError`] as `query` gives.
    pub async fn query_vector(
        &self,
        promql: &str,
        labels: &[&str],
    ) -> Result<super::vector::Vector, PromError> {
        let transport = self.inner.transport.load_full();
        let started = Instant::now();
        let result = transport
            .get_raw("/api/v1/query", &[("query", promql)])
            .await
            .and_then(|(status, body)| {
                if status.is_success() {
                    if let Some(v) = super::vector::parse(&body, labels) {
                        return Ok(v);
                    }
                }
                // An error, or an answer the fast path leaves to the full parse.
                parse_answer(status, &body).map(|data| super::vector::from_value(&data, labels))
            });
        self.account(started, &result, "Prometheus query failed");
        result
    }

    /// Counts a request that started at `started`: its latency when it was answered (as
    /// in the reference, a failed request says nothing of how fast Prometheus answers, and
    /// must not look like a recent contact), else the failure, logged at debug as `what`.
    fn account<T>(&self, started: Instant, result: &Result<T, PromError>, what: &str) {
        {
            let mut stats = self.inner.stats.lock();
            stats.query_count += 1;
            match result {
                Ok(_) => stats.record(started),
                Err(e) => stats.fail(e),
            }
        }
        if let Err(e) = result {
            tracing::debug!(error = %e, kind = e.kind(), "{what}");
        }
    }

    /// The latest failed request, `(error, epoch ms)`, when it is more recent than the
    /// latest answer: Prometheus is failing now.
    pub fn failing(&self) -> Option<(String, u64)> {
        let s = self.inner.stats.lock();
        let (error, at) = s.last_error.clone()?;
        (s.last_ts.is_none_or(|ok| at >= ok)).then_some((error, at))
    }

    async fn fetch_instant(&self, promql: &str) -> Result<Arc<Value>, PromError> {
        let transport = self.inner.transport.load_full();
        let started = Instant::now();
        let result = transport.get("/api/v1/query", &[("query", promql)]).await;
        self.account(started, &result, "Prometheus query failed");
        result.map(Arc::new)
    }
}

impl std::fmt::Debug for PromClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromClient")
            .field("settings", &self.inner.transport.load().settings)
            .finish_non_exhaustive()
    }
}

/// Turns an HTTP answer into the `data` object or a typed error.
fn parse_answer(status: reqwest::StatusCode, body: &[u8]) -> Result<Value, PromError> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let prom_error = json.as_ref().and_then(prometheus_error);
    if !status.is_success() {
        return Err(match prom_error {
            // Prometheus answers 400 for a bad query and 422 for one it cannot run.
            Some((error_type, error))
                if status == reqwest::StatusCode::BAD_REQUEST
                    || status == reqwest::StatusCode::UNPROCESSABLE_ENTITY =>
            {
                PromError::Query { error_type, error }
            }
            Some((_, error)) => PromError::Http {
                status: status.as_u16(),
                message: error,
            },
            None => PromError::Http {
                status: status.as_u16(),
                message: http_message(status, body),
            },
        });
    }
    if let Some((error_type, error)) = prom_error {
        return Err(PromError::Query { error_type, error });
    }
    let Some(json) = json else {
        return Err(PromError::Malformed(if body.is_empty() {
            "the body is empty".into()
        } else {
            format!("the body is not JSON: {}", excerpt(body))
        }));
    };
    match json.get("status").and_then(Value::as_str) {
        Some("success") => {}
        Some(other) => {
            return Err(PromError::Malformed(format!(
                "unexpected \"status\": \"{}\"",
                excerpt(other.as_bytes())
            )))
        }
        None => {
            return Err(PromError::Malformed(
                "the JSON has no \"status\" field (is this URL really Prometheus?)".into(),
            ))
        }
    }
    let Some(Value::Object(data)) = json.get("data") else {
        return Err(PromError::Malformed(
            "the success answer has no \"data\" object".into(),
        ));
    };
    if !data.get("resultType").is_some_and(Value::is_string) || !data.contains_key("result") {
        return Err(PromError::Malformed(
            "\"data\" lacks \"resultType\" or \"result\"".into(),
        ));
    }
    let mut data = data.clone();
    // A clustered engine (VictoriaMetrics, Thanos, Mimir) with a storage node down answers
    // what it has and says so; so does Prometheus with `warnings`. Keep both beside the
    // result, so a partial cluster is never shown as if it were whole.
    if json.get("isPartial").and_then(Value::as_bool) == Some(true) {
        tracing::warn!("Prometheus answered a partial result (a storage node is missing)");
        data.insert("partial".into(), Value::Bool(true));
    }
    if let Some(Value::Array(warnings)) = json.get("warnings") {
        if !warnings.is_empty() {
            let warnings = Value::Array(warnings.clone());
            tracing::warn!(%warnings, "Prometheus answered with warnings");
            data.insert("warnings".into(), warnings);
        }
    }
    Ok(Value::Object(data))
}

/// `(errorType, error)` when `json` is a Prometheus error answer.
fn prometheus_error(json: &Value) -> Option<(String, String)> {
    if json.get("status").and_then(Value::as_str) != Some("error") {
        return None;
    }
    let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_owned);
    Some((
        text("errorType").unwrap_or_else(|| "error".into()),
        text("error").unwrap_or_else(|| "no error message given".into()),
    ))
}

/// The message of a non-2xx answer that is not Prometheus JSON.
fn http_message(status: reqwest::StatusCode, body: &[u8]) -> String {
    let reason = status.canonical_reason().unwrap_or("error");
    let hint = match status.as_u16() {
        401 | 403 => {
            " (check telemetry.basic_auth_user and basic_auth_password, or the proxy in front of Prometheus)"
        }
        404 => " (check telemetry.prometheus_url: it must point at the Prometheus server root)",
        _ => "",
    };
    let excerpt = excerpt(body);
    if excerpt.is_empty() {
        format!("{reason}{hint}")
    } else {
        format!("{reason}{hint}: {excerpt}")
    }
}

/// The start of `body` on one line, for messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(BODY_EXCERPT) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// The innermost cause of an error: "Connection refused (os error 111)" rather than
/// reqwest's "error sending request".
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

fn read_file(path: &std::path::Path, what: &str) -> Result<Vec<u8>, PromError> {
    std::fs::read(path).map_err(|e| {
        PromError::Config(format!(
            "cannot read the TLS {what} '{}': {e}",
            path.display()
        ))
    })
}

/// Drops `user:password@` from a URL-looking string that failed to parse.
fn strip_userinfo(raw: &str) -> String {
    let (scheme, rest) = raw.split_once("://").unwrap_or(("", raw));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if scheme.is_empty() => rest[at + 1..].to_owned(),
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => raw.to_owned(),
    }
}

/// Unix seconds as Prometheus parameters, the way the reference sends them ("1700000000.0").
fn fmt_unix(ts: f64) -> String {
    if ts.fract() == 0.0 && ts.abs() < 1e15 {
        format!("{ts:.1}")
    } else {
        ts.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn success_answer_gives_data() {
        let body = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}"#;
        let data = parse_answer(StatusCode::OK, body).unwrap();
        assert_eq!(data, json!({"resultType":"scalar","result":[1,"1"]}));
    }

    #[test]
    fn error_answers_are_typed() {
        let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        assert_eq!(
            parse_answer(StatusCode::BAD_REQUEST, bad),
            Err(PromError::Query {
                error_type: "bad_data".into(),
                error: "parse error at char 3".into()
            })
        );
        assert_eq!(
            parse_answer(StatusCode::SERVICE_UNAVAILABLE, bad),
            Err(PromError::Http {
                status: 503,
                message: "parse error at char 3".into()
            })
        );
        assert_eq!(
            parse_answer(StatusCode::INTERNAL_SERVER_ERROR, b"boom\n  here"),
            Err(PromError::Http {
                status: 500,
                message: "Internal Server Error: boom here".into()
            })
        );
        let unauthorized = parse_answer(StatusCode::UNAUTHORIZED, b"").unwrap_err();
        assert!(unauthorized.to_string().contains("basic_auth_user"));
        for garbage in [
            &b"<html>hi</html>"[..],
            b"",
            br#"{"foo":1}"#,
            br#"{"status":"success"}"#,
            br#"{"status":"success","data":[1]}"#,
            br#"{"status":"success","data":{"result":[]}}"#,
            br#"{"status":"weird"}"#,
        ] {
            let err = parse_answer(StatusCode::OK, garbage).unwrap_err();
            assert_eq!(err.kind(), "malformed", "{err}");
        }
    }

    #[test]
    fn excerpt_is_bounded() {
        let long = "x".repeat(1000);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), BODY_EXCERPT + 1);
    }

    #[test]
    fn unix_and_url_formatting() {
        assert_eq!(fmt_unix(1_700_000_000.0), "1700000000.0");
        assert_eq!(fmt_unix(1_700_000_000.5), "1700000000.5");
        assert_eq!(strip_userinfo("http://u:pw@host:9/x"), "http://host:9/x");
        assert_eq!(strip_userinfo("u:pw@host"), "host");
        assert_eq!(strip_userinfo("http://host"), "http://host");
    }

    #[test]
    fn bad_settings_are_config_errors() {
        let err = PromClient::new(PromSettings::new("prometheus:9090")).unwrap_err();
        assert_eq!(err.kind(), "config", "{err}");
        let err = PromClient::new(PromSettings::new("http://u:hunter22@[bad")).unwrap_err();
        assert_eq!(err.kind(), "config");
        assert!(!err.to_string().contains("hunter22"), "{err}");
        let mut s = PromSettings::new("https://p:9090");
        s.tls_ca_file = Some("/nonexistent/ca.pem".into());
        let err = PromClient::new(s).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[tokio::test]
    async fn reconfigure_trims_latency_window() {
        let client = PromClient::new(PromSettings::new("http://127.0.0.1:9")).unwrap();
        {
            let mut s = client.inner.stats.lock();
            for _ in 0..10 {
                s.record(Instant::now());
            }
        }
        let mut settings = client.settings();
        settings.latency_window = 3;
        client.reconfigure(settings).unwrap();
        assert_eq!(client.inner.stats.lock().samples.len(), 3);
    }
}
