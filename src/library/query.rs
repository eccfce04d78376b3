//! The PromQL that `GET /api/metrics/data` sends for one library metric and one target,
//! and the parsing of its time range and step.
//!
//! What the query is (unlike the reference, which only swaps `{instance}`-style
//! placeholders in `metric` and ignores `labels` and `aggregation`):
//!
//! 1. Placeholders, in both forms the libraries use (`{instance}` and `$instance`), are
//!    replaced: `instance`, `rack_id` and `chassis_id` by the target id; `pduid` and
//!    `inletid` by the request's `pduid` / `inletid` when given. In `metric`, a missing
//!    `pduid` falls back to the target id and a missing `inletid` to `I1`, as the
//!    reference does. Values are escaped for a PromQL double-quoted string.
//! 2. `labels` are added as `name="value"` matchers when `metric` is a plain selector
//!    (`name` or `name{...}`) that does not already match that label; a label whose
//!    value names `pduid` or `inletid` without a value in the request is left out, so
//!    the chart covers every PDU or inlet of the target. An expression that is more than
//!    a selector (functions, operators) is sent as written, without label matchers.
//! 3. The aggregation (the request's, else `display.aggregation`) wraps the query as
//!    `<op> by (<key>) (<query>)`, where the key is the target's label: the first of
//!    `instance`, `chassis_id`, `rack_id` that the definition fills from the target (no
//!    `by` when none does). `avg`, `sum`, `min`, `max` and `count` are applied; `none`
//!    (or a library value outside these) sends the series unaggregated.

use super::metrics::MetricDefinition;

/// What the placeholders are filled with.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub id: &'a str,
    pub pduid: Option<&'a str>,
    pub inletid: Option<&'a str>,
}

/// The aggregations `/api/metrics/data` applies.
pub const AGGREGATIONS: [&str; 6] = ["avg", "sum", "min", "max", "count", "none"];

const TARGET_KEYS: [&str; 3] = ["instance", "chassis_id", "rack_id"];
const NAMES: [&str; 5] = ["instance", "rack_id", "chassis_id", "pduid", "inletid"];

/// Seconds of a `time_range`: `<int><m|h|d|w>` or plain seconds; `None` when invalid or 0.
pub fn parse_range(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, mult) = match t.chars().last()? {
        'm' => (&t[..t.len() - 1], 60),
        'h' => (&t[..t.len() - 1], 3_600),
        'd' => (&t[..t.len() - 1], 86_400),
        'w' => (&t[..t.len() - 1], 604_800),
        c if c.is_ascii_digit() => (t, 1),
        _ => return None,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<u64>()
        .ok()?
        .checked_mul(mult)
        .filter(|s| *s > 0 && *s <= 10 * 365 * 86_400)
}

/// The step for a range when the request gives none: up to 1 h, 1m; 6 h, 5m; 24 h, 15m;
/// 7 d, 1h; beyond, 6h (the reference's table).
pub fn auto_step(range_seconds: u64) -> &'static str {
    match range_seconds {
        0..=3_600 => "1m",
        3_601..=21_600 => "5m",
        21_601..=86_400 => "15m",
        86_401..=604_800 => "1h",
        _ => "6h",
    }
}

/// Seconds of an explicit `step`: `<int><s|m|h|d|w>` or plain seconds, at least 1.
pub fn parse_step(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_suffix('s') {
        Some(secs) if !secs.is_empty() && secs.bytes().all(|b| b.is_ascii_digit()) => {
            secs.parse::<u64>().ok().filter(|s| *s > 0)
        }
        _ => parse_range(t),
    }
}

/// A value inside a PromQL double-quoted string.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `text` holds the placeholder `name` in either form (`$name` not followed by
/// an identifier character, so `$instances` is not `$instance`).
fn has_placeholder(text: &str, name: &str) -> bool {
    text.contains(&format!("{{{name}}}"))
        || text.match_indices(&format!("${name}")).any(|(i, m)| {
            !text[i + m.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Replaces every placeholder `name` (both forms) by `value`.
fn replace(text: &str, name: &str, value: &str) -> String {
    let braced = text.replace(&format!("{{{name}}}"), value);
    let dollar = format!("${name}");
    let mut out = String::with_capacity(braced.len());
    let mut rest = braced.as_str();
    while let Some(i) = rest.find(&dollar) {
        let after = &rest[i + dollar.len()..];
        let ident = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..i]);
        out.push_str(if ident { &dollar } else { value });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The value of each placeholder for `target` (`None`: not given).
fn values<'a>(target: &Target<'a>) -> [(&'static str, Option<&'a str>); 5] {
    [
        ("instance", Some(target.id)),
        ("rack_id", Some(target.id)),
        ("chassis_id", Some(target.id)),
        ("pduid", target.pduid),
        ("inletid", target.inletid),
    ]
}

/// `metric` with its placeholders filled (reference fallbacks for `pduid`, `inletid`).
fn fill_metric(metric: &str, target: &Target<'_>) -> String {
    let mut out = metric.to_string();
    for (name, value) in values(target) {
        let value = value.unwrap_or(match name {
            "inletid" => "I1",
            _ => target.id,
        });
        out = replace(&out, name, &escape(value));
    }
    out
}

/// A label value filled, or `None` when it needs a value the request did not give.
fn fill_label(value: &str, target: &Target<'_>) -> Option<String> {
    let mut out = value.to_string();
    for (name, v) in values(target) {
        if has_placeholder(&out, name) {
            out = replace(&out, name, v?);
        }
    }
    Some(out)
}

/// Splits a plain selector `name` / `name{matchers}` into its name and matchers.
fn selector(text: &str) -> Option<(&str, &str)> {
    let t = text.trim();
    let name_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(t.len());
    let (name, rest) = t.split_at(name_end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let rest = rest.trim();
    if rest.is_empty() {
        return Some((name, ""));
    }
    let inner = rest.strip_prefix('{')?.strip_suffix('}')?;
    // The matchers must not close the braces early (outside quoted strings).
    let mut quoted = false;
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '{' | '}' if !quoted => return None,
            _ => {}
        }
    }
    Some((name, inner.trim()))
}

/// Whether the matchers already match `label` (`label=`, `label!=`, `label=~`, `label!~`).
fn matches_label(matchers: &str, label: &str) -> bool {
    matchers.split(',').any(|m| {
        let m = m.trim_start();
        m.strip_prefix(label)
            .is_some_and(|rest| rest.trim_start().starts_with(['=', '!']))
    })
}

/// The final PromQL (see the module documentation for the rules).
pub fn build_query(def: &MetricDefinition, target: &Target<'_>, aggregation: &str) -> String {
    let mut query = fill_metric(&def.metric, target);
    if let Some((name, matchers)) = selector(&query) {
        let mut all: Vec<String> = if matchers.is_empty() {
            Vec::new()
        } else {
            vec![matchers.trim_end_matches(',').to_string()]
        };
        for (label, value) in &def.labels {
            if matches_label(matchers, label) {
                continue;
            }
            if let Some(v) = fill_label(value, target) {
                all.push(format!("{label}=\"{}\"", escape(&v)));
            }
        }
        query = if all.is_empty() {
            name.to_string()
        } else {
            format!("{name}{{{}}}", all.join(","))
        };
    }
    if !AGGREGATIONS[..5].contains(&aggregation) {
        return query;
    }
    let referenced = |key: &str| {
        has_placeholder(&def.metric, key) || def.labels.values().any(|v| has_placeholder(v, key))
    };
    match TARGET_KEYS.iter().find(|k| referenced(k)) {
        Some(key) => format!("{aggregation} by ({key}) ({query})"),
        None => format!("{aggregation}({query})"),
    }
}

/// Every placeholder name the definition uses (for documentation and tests).
pub fn placeholders(def: &MetricDefinition) -> Vec<&'static str> {
    NAMES
        .into_iter()
        .filter(|n| {
            has_placeholder(&def.metric, n) || def.labels.values().any(|v| has_placeholder(v, n))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::metrics::parse_metric;

    fn def(yaml: &str) -> MetricDefinition {
        parse_metric(&serde_norway::from_str(yaml).unwrap()).unwrap()
    }

    const T: Target<'static> = Target {
        id: "cn0001",
        pduid: None,
        inletid: None,
    };

    #[test]
    fn labels_placeholders_and_aggregation() {
        let d = def("{id: t, name: T, metric: node_temperature_celsius, labels: {instance: '{instance}'}, display: {unit: C}}");
        assert_eq!(
            build_query(&d, &T, "avg"),
            r#"avg by (instance) (node_temperature_celsius{instance="cn0001"})"#
        );
        assert_eq!(
            build_query(&d, &T, "none"),
            r#"node_temperature_celsius{instance="cn0001"}"#
        );
        assert_eq!(
            build_query(&d, &T, "p99"),
            r#"node_temperature_celsius{instance="cn0001"}"#
        );
        // $x form, a label already matched in the selector is not added twice.
        let d = def("{id: t, name: T, metric: 'ipmi_temperature_celsius{instance=\"$instance\",name=~\"CPU.*\"}', labels: {instance: '$instance'}, display: {unit: C}}");
        assert_eq!(
            build_query(&d, &T, "max"),
            r#"max by (instance) (ipmi_temperature_celsius{instance="cn0001",name=~"CPU.*"})"#
        );
        // PDU labels without pduid/inletid in the request: left out.
        let d = def("{id: p, name: P, metric: 'raritan_pdu_activepower_watt{rack_id=\"{rack_id}\",inletid!=\"\"}', labels: {rack_id: '{rack_id}', pduid: '{pduid}', inletid: '{inletid}'}, display: {unit: W}}");
        let rack = Target {
            id: "r1",
            pduid: None,
            inletid: None,
        };
        assert_eq!(
            build_query(&d, &rack, "sum"),
            r#"sum by (rack_id) (raritan_pdu_activepower_watt{rack_id="r1",inletid!=""})"#
        );
        let with = Target {
            id: "r1",
            pduid: Some("2"),
            inletid: Some("I2"),
        };
        assert_eq!(
            build_query(&d, &with, "none"),
            r#"raritan_pdu_activepower_watt{rack_id="r1",inletid!="",pduid="2"}"#
        );
        // An expression is sent as written, placeholders filled and escaped.
        let d = def("{id: e, name: E, metric: 'sum(rate(x{chassis_id=\"{chassis_id}\"}[5m]))', labels: {chassis_id: '{chassis_id}'}, display: {unit: x}}");
        let evil = Target {
            id: "a\"b",
            pduid: None,
            inletid: None,
        };
        assert_eq!(
            build_query(&d, &evil, "avg"),
            r#"avg by (chassis_id) (sum(rate(x{chassis_id="a\"b"}[5m])))"#
        );
        // No target placeholder: no `by`; `$instances` is not `$instance`.
        let d = def("{id: u, name: U, metric: 'up{instance=~\"$instances\"}', display: {unit: x}}");
        assert_eq!(
            build_query(&d, &T, "count"),
            r#"count(up{instance=~"$instances"})"#
        );
        assert_eq!(placeholders(&d), Vec::<&str>::new());
    }

    #[test]
    fn ranges_and_steps() {
        assert_eq!(parse_range("1h"), Some(3600));
        assert_eq!(parse_range("30d"), Some(30 * 86400));
        assert_eq!(parse_range("2w"), Some(2 * 604800));
        assert_eq!(parse_range("900"), Some(900));
        for bad in [
            "",
            "1s",
            "h",
            "0",
            "0h",
            "-1h",
            "1.5h",
            "abc",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
        assert_eq!(auto_step(3600), "1m");
        assert_eq!(auto_step(6 * 3600), "5m");
        assert_eq!(auto_step(24 * 3600), "15m");
        assert_eq!(auto_step(7 * 86400), "1h");
        assert_eq!(auto_step(30 * 86400), "6h");
        assert_eq!(parse_step("15s"), Some(15));
        assert_eq!(parse_step("1m"), Some(60));
        assert_eq!(parse_step("30"), Some(30));
        assert_eq!(parse_step("0s"), None);
        assert_eq!(parse_step("x"), None);
    }
}
