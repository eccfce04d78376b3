//! [`PromError`]: why a Prometheus query failed, in words a site admin can act on.
//!
//! No message ever contains the basic-auth password: the client never formats its settings
//! into an error, URLs are shown without user info, and transport errors are shown by their
//! causes only (without the request URL, which carries the query string).

use std::time::Duration;

/// A failed Prometheus call. Cheap to clone, so that one failure can be handed to every
/// caller of a merged in-flight query.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromError {
    /// No HTTP answer at all: connection refused, DNS failure, TLS handshake failure...
    #[error("Prometheus is unreachable: {0}")]
    Unreachable(String),
    /// Prometheus did not answer within the configured timeout.
    #[error(
        "Prometheus did not answer within {} (telemetry.prometheus_timeout_seconds)",
        fmt_duration(*.0)
    )]
    Timeout(Duration),
    /// A non-2xx answer; `message` is Prometheus's own `error` text when the body is
    /// Prometheus JSON, otherwise the start of the body or the status reason.
    #[error("Prometheus answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    /// Prometheus refused or could not run the query (`"status": "error"`, e.g. a PromQL
    /// syntax error); `error` is Prometheus's message.
    #[error("Prometheus rejected the query ({error_type}): {error}")]
    Query { error_type: String, error: String },
    /// The answer is not a Prometheus API answer: not JSON, no `data`, wrong shape.
    #[error("Prometheus sent an invalid answer: {0}")]
    Malformed(String),
    /// The client settings cannot be used (unreadable TLS file, bad certificate...).
    #[error("Invalid Prometheus client settings: {0}")]
    Config(String),
    /// This one request could not be built from the query and its parameters; the
    /// settings are fine and other queries work.
    #[error("The Prometheus request could not be built: {0}")]
    Request(String),
}

impl PromError {
    /// A stable short name of the variant: "unreachable", "timeout", "http", "query",
    /// "malformed", "config" or "request". Plugins and logs use it to branch on the cause.
    pub fn kind(&self) -> &'static str {
        match self {
            PromError::Unreachable(_) => "unreachable",
            PromError::Timeout(_) => "timeout",
            PromError::Http { .. } => "http",
            PromError::Query { .. } => "query",
            PromError::Malformed(_) => "malformed",
            PromError::Config(_) => "config",
            PromError::Request(_) => "request",
        }
    }
}

/// `5s`, `1.5s`, `250ms`.
fn fmt_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_kinds() {
        let cases = [
            (
                PromError::Unreachable("http://p:9090: connection refused".into()),
                "unreachable",
                "Prometheus is unreachable: http://p:9090: connection refused",
            ),
            (
                PromError::Timeout(Duration::from_millis(1500)),
                "timeout",
                "Prometheus did not answer within 1.5s (telemetry.prometheus_timeout_seconds)",
            ),
            (
                PromError::Timeout(Duration::from_millis(200)),
                "timeout",
                "Prometheus did not answer within 200ms (telemetry.prometheus_timeout_seconds)",
            ),
            (
                PromError::Http {
                    status: 503,
                    message: "unavailable".into(),
                },
                "http",
                "Prometheus answered HTTP 503: unavailable",
            ),
            (
                PromError::Query {
                    error_type: "bad_data".into(),
                    error: "parse error".into(),
                },
                "query",
                "Prometheus rejected the query (bad_data): parse error",
            ),
            (
                PromError::Malformed("not JSON".into()),
                "malformed",
                "Prometheus sent an invalid answer: not JSON",
            ),
            (
                PromError::Config("x".into()),
                "config",
                "Invalid Prometheus client settings: x",
            ),
        ];
        for (err, kind, msg) in cases {
            assert_eq!(err.kind(), kind);
            assert_eq!(err.to_string(), msg);
        }
    }
}
