//! Value rules: the prometheus_url SSRF checks, job_regex, and the Python-style texts.

use serde_json::{json, Value};

use super::*;

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
