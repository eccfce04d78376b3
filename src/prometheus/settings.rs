//! [`PromSettings`]: the Prometheus client's settings, derived from the `telemetry` and
//! `cache` sections of `app.yaml` (docs/architecture.md, compatibility C8).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{AppConfig, Cache, Telemetry};

/// Fixed connect timeout, as in the reference.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Used when `prometheus_timeout_seconds` is not a usable number (validation forbids it).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the Prometheus client needs. Build it with [`PromSettings::from_config`] or
/// [`PromSettings::new`]; `Debug` never prints the basic-auth password.
#[derive(Clone, PartialEq)]
pub struct PromSettings {
    /// Base URL without a trailing `/`, e.g. `http://prometheus:9090`.
    pub base_url: String,
    /// Deadline for a whole request (connect, send, answer and body).
    pub timeout: Duration,
    /// Deadline for establishing the connection (2 s).
    pub connect_timeout: Duration,
    /// `(user, password)`; the password is `""` when only a user is configured.
    pub basic_auth: Option<(String, String)>,
    /// `false` disables certificate verification entirely.
    pub tls_verify: bool,
    /// CA bundle (PEM) to verify against instead of the built-in roots.
    pub tls_ca_file: Option<PathBuf>,
    /// Client certificate (PEM); used only together with [`Self::tls_key_file`].
    pub tls_cert_file: Option<PathBuf>,
    /// Client private key (PEM); used only together with [`Self::tls_cert_file`].
    pub tls_key_file: Option<PathBuf>,
    /// TTL of the generic cache (`cache.ttl_seconds`).
    pub ttl_generic: Duration,
    /// TTL of the health cache (`cache.health_checks_ttl_seconds`).
    pub ttl_health: Duration,
    /// TTL of the metrics cache (`cache.metrics_ttl_seconds`).
    pub ttl_metrics: Duration,
    /// Number of latency samples averaged in the stats (at least 1).
    pub latency_window: usize,
}

impl PromSettings {
    /// Settings for `base_url` with the reference's defaults before any config is applied:
    /// 5 s timeout, no auth, verified TLS with built-in roots, TTLs 60/30/120 s, window 20.
    pub fn new(base_url: &str) -> Self {
        PromSettings {
            base_url: normalize_url(base_url),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
            basic_auth: None,
            tls_verify: true,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            ttl_generic: Duration::from_secs(60),
            ttl_health: Duration::from_secs(30),
            ttl_metrics: Duration::from_secs(120),
            latency_window: 20,
        }
    }

    /// Settings from a validated config. The URL is `telemetry.prometheus_url`, or
    /// `fallback_url` (the previous URL, initially `PROMETHEUS_URL`) when it is unset.
    pub fn from_config(cfg: &AppConfig, fallback_url: &str) -> Self {
        Self::from_sections(&cfg.telemetry, &cfg.cache, fallback_url)
    }

    /// [`Self::from_config`] on the two sections it reads.
    pub fn from_sections(t: &Telemetry, cache: &Cache, fallback_url: &str) -> Self {
        let url = t
            .prometheus_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or(fallback_url);
        let timeout = Duration::try_from_secs_f64(t.prometheus_timeout_seconds)
            .ok()
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_TIMEOUT);
        let basic_auth = non_empty(&t.basic_auth_user).map(|user| {
            let password = t.basic_auth_password.clone().unwrap_or_default();
            (user.to_owned(), password)
        });
        // A client certificate needs both halves; a lone cert or key is ignored (reference).
        let (tls_cert_file, tls_key_file) =
            match (non_empty(&t.tls_cert_file), non_empty(&t.tls_key_file)) {
                (Some(cert), Some(key)) => (Some(PathBuf::from(cert)), Some(PathBuf::from(key))),
                _ => (None, None),
            };
        PromSettings {
            base_url: normalize_url(url),
            timeout,
            connect_timeout: CONNECT_TIMEOUT,
            basic_auth,
            tls_verify: t.tls_verify,
            tls_ca_file: non_empty(&t.tls_ca_file).map(PathBuf::from),
            tls_cert_file,
            tls_key_file,
            ttl_generic: secs(cache.ttl_seconds),
            ttl_health: secs(cache.health_checks_ttl_seconds),
            ttl_metrics: secs(cache.metrics_ttl_seconds),
            latency_window: usize::try_from(t.prometheus_latency_window)
                .unwrap_or(1)
                .max(1),
        }
    }

    /// True when answers obtained with `self` may not be valid under `other`: another
    /// server, or other credentials (which may see other data).
    pub(crate) fn identity_differs(&self, other: &PromSettings) -> bool {
        self.base_url != other.base_url
            || self.basic_auth != other.basic_auth
            || self.tls_cert_file != other.tls_cert_file
            || self.tls_key_file != other.tls_key_file
    }
}

impl fmt::Debug for PromSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = self
            .basic_auth
            .as_ref()
            .map(|(user, _)| format!("{user}:<redacted>"));
        f.debug_struct("PromSettings")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("basic_auth", &auth)
            .field("tls_verify", &self.tls_verify)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_cert_file", &self.tls_cert_file)
            .field("tls_key_file", &self.tls_key_file)
            .field("ttl_generic", &self.ttl_generic)
            .field("ttl_health", &self.ttl_health)
            .field("ttl_metrics", &self.ttl_metrics)
            .field("latency_window", &self.latency_window)
            .finish()
    }
}

fn normalize_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

fn secs(value: i64) -> Duration {
    Duration::from_secs(u64::try_from(value).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model defaults of the two sections (docs/architecture.md, compatibility C1).
    struct Cfg {
        telemetry: Telemetry,
        cache: Cache,
    }

    fn config() -> Cfg {
        Cfg {
            telemetry: Telemetry::default(),
            cache: Cache::default(),
        }
    }

    fn settings(cfg: &Cfg, fallback: &str) -> PromSettings {
        PromSettings::from_sections(&cfg.telemetry, &cfg.cache, fallback)
    }

    #[test]
    fn from_config_uses_url_or_fallback_and_strips_slash() {
        let mut cfg = config();
        let s = settings(&cfg, "http://fallback:9090/");
        assert_eq!(s.base_url, "http://fallback:9090");
        cfg.telemetry.prometheus_url = Some("https://prom.example:9443/prom/".into());
        let s = settings(&cfg, "http://fallback:9090");
        assert_eq!(s.base_url, "https://prom.example:9443/prom");
        assert_eq!(s.connect_timeout, Duration::from_secs(2));
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!(s.ttl_generic, Duration::from_secs(30));
        assert_eq!(s.ttl_health, Duration::from_secs(30));
        assert_eq!(s.ttl_metrics, Duration::from_secs(120));
        assert_eq!(s.latency_window, 20);
    }

    #[test]
    fn basic_auth_and_client_cert_rules() {
        let mut cfg = config();
        cfg.telemetry.basic_auth_user = Some("admin".into());
        let s = settings(&cfg, "http://p:9090");
        assert_eq!(s.basic_auth, Some(("admin".into(), String::new())));

        cfg.telemetry.basic_auth_password = Some("s3cret-pw".into());
        cfg.telemetry.tls_cert_file = Some("/etc/cert.pem".into());
        let s = settings(&cfg, "http://p:9090");
        assert_eq!(s.basic_auth, Some(("admin".into(), "s3cret-pw".into())));
        assert_eq!(s.tls_cert_file, None, "a cert without a key is ignored");

        cfg.telemetry.tls_key_file = Some("/etc/key.pem".into());
        let s = settings(&cfg, "http://p:9090");
        assert_eq!(s.tls_cert_file, Some(PathBuf::from("/etc/cert.pem")));
        assert_eq!(s.tls_key_file, Some(PathBuf::from("/etc/key.pem")));

        let debug = format!("{s:?}");
        assert!(debug.contains("admin"));
        assert!(!debug.contains("s3cret-pw"), "{debug}");
    }

    #[test]
    fn identity_change_detection() {
        let a = PromSettings::new("http://a:9090");
        let mut b = a.clone();
        b.timeout = Duration::from_secs(9);
        assert!(!a.identity_differs(&b));
        b.basic_auth = Some(("u".into(), "p".into()));
        assert!(a.identity_differs(&b));
        assert!(a.identity_differs(&PromSettings::new("http://b:9090")));
    }
}
