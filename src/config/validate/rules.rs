//! The rules on single values that go beyond types: the SSRF checks of
//! `telemetry.prometheus_url` and the syntax of `telemetry.job_regex`.

use std::net::IpAddr;

/// The SSRF rules (docs/architecture.md, compatibility C3), in their order. `value` is non-empty.
pub(super) fn check_prometheus_url(value: &str) -> Result<(), String> {
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
pub(super) fn python_scheme(url: &str) -> String {
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
pub(super) fn check_job_regex(pattern: &str) -> Result<(), String> {
    match regex::Regex::new(pattern) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "Invalid job_regex: {}",
            one_line_regex_error(&e, !pattern.contains('\n'))
        )),
    }
}

pub(super) fn one_line_regex_error(e: &regex::Error, single_line: bool) -> String {
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
