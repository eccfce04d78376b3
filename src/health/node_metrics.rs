//! Node temperature and power for the rack state's `include_metrics` (health.md §3.3),
//! measured with the health snapshot instead of per request: each metric of the metrics
//! library that a device template lists, and whose name says temperature or power, is
//! queried once per batch of the nodes that list it, like a check.
//!
//! The reference queries each device's metrics one after another on every request (84
//! queries for one rack at 14,000 nodes). Here a library definition is batched when its
//! instance placeholder sits in a label matcher: `labels: {instance: "{instance}"}`, or
//! `instance="{instance}"` (or `$instance`) inside `metric`; the matcher becomes a regex of
//! the batch's names. Definitions written any other way are left out. A node's temperature
//! is the first of `temperature`, `node_temperature_celsius`, `ipmi_temperature_celsius`
//! that it has (power: `power`, `node_power_watts`, `ipmi_power_watts`), as in the
//! reference.

use std::collections::HashMap;

use super::layout::Layout;
use crate::library::{MetricDefinition, MetricsLibrary};
use crate::topology::Catalog;

/// Which value a metric gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Temperature,
    Power,
}

const TEMPERATURE: [&str; 3] = [
    "temperature",
    "node_temperature_celsius",
    "ipmi_temperature_celsius",
];
const POWER: [&str; 3] = ["power", "node_power_watts", "ipmi_power_watts"];

/// Marks where a batch's regex goes in [`NodeMetric::template`].
pub const IDS: &str = "\u{1}ids\u{1}";

/// One library metric to measure for some nodes.
#[derive(Debug, Clone)]
pub struct NodeMetric {
    pub kind: Kind,
    /// Rank among the names of its kind (0 first): a node takes its best-ranked value.
    pub rank: usize,
    /// The PromQL, with [`IDS`] where the batch's names go.
    pub template: String,
    /// The label that names the node in the answer.
    pub label: String,
    /// The nodes whose device template lists it, sorted by name.
    pub nodes: Vec<u32>,
}

fn kind_of(def: &MetricDefinition) -> Option<(Kind, usize)> {
    let name = def
        .metric
        .split(['{', '[', '('])
        .next()
        .unwrap_or("")
        .trim();
    if let Some(r) = TEMPERATURE.iter().position(|n| *n == name) {
        return Some((Kind::Temperature, r));
    }
    POWER
        .iter()
        .position(|n| *n == name)
        .map(|r| (Kind::Power, r))
}

fn is_placeholder(v: &str, name: &str) -> bool {
    let v = v.trim();
    v.strip_prefix('$') == Some(name)
        || v.strip_prefix('{').and_then(|v| v.strip_suffix('}')) == Some(name)
}

/// The batched form of `def` for the placeholder `name` (`instance`, `rack_id`): (template
/// with [`IDS`], label), or None when that placeholder is not in a label matcher.
pub(super) fn template(def: &MetricDefinition, name: &str) -> Option<(String, String)> {
    let metric = def.metric.trim();
    let (braced, dollar) = (format!("{{{name}}}"), format!("${name}"));
    for open in [format!("=\"{braced}\""), format!("=\"{dollar}\"")] {
        if let Some(at) = metric.find(&open) {
            // `<label>="{name}"` inside the selector: the label is the word before.
            let label: String = metric[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let t = format!("{}=~\"{IDS}\"{}", &metric[..at], &metric[at + open.len()..]);
            if label.is_empty() || t.contains(&braced) || t.contains(&dollar) {
                return None;
            }
            return Some((t, label));
        }
    }
    if metric.contains(&braced) || metric.contains(&dollar) {
        return None;
    }
    // A plain selector with the placeholder in `labels`.
    let (label, _) = def.labels.iter().find(|(_, v)| is_placeholder(v, name))?;
    let (metric_name, inner) = match metric.find('{') {
        Some(i) if metric.ends_with('}') => (&metric[..i], Some(&metric[i + 1..metric.len() - 1])),
        None if metric
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') =>
        {
            (metric, None)
        }
        _ => return None,
    };
    let mut matchers: Vec<String> = inner
        .map(|i| i.trim())
        .filter(|i| !i.is_empty())
        .map(|i| vec![i.to_string()])
        .unwrap_or_default();
    for (k, v) in &def.labels {
        if k == label {
            continue;
        }
        if v.contains('{') || v.contains('$') {
            // Another placeholder (pduid, ...): its series are all taken.
            continue;
        }
        matchers.push(format!("{k}=\"{}\"", super::query::promql_string(v)));
    }
    matchers.push(format!("{label}=~\"{IDS}\""));
    Some((
        format!("{metric_name}{{{}}}", matchers.join(",")),
        label.clone(),
    ))
}

/// The node metrics to measure: for each library metric of temperature or power that a
/// device template lists, the nodes of the devices of that template.
pub fn plan(layout: &Layout, catalog: &Catalog, library: &MetricsLibrary) -> Vec<NodeMetric> {
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<NodeMetric> = Vec::new();
    for device in &layout.devices {
        let Some(t) = catalog.device_template(&device.template_id) else {
            continue;
        };
        for id in &t.metrics {
            let i = match by_id.get(id.as_str()) {
                Some(&i) => i,
                None => {
                    let Some(def) = library.metric(id) else {
                        continue;
                    };
                    let (Some((kind, rank)), Some((template, label))) =
                        (kind_of(def), template(def, "instance"))
                    else {
                        continue;
                    };
                    by_id.insert(id.as_str(), out.len());
                    out.push(NodeMetric {
                        kind,
                        rank,
                        template,
                        label,
                        nodes: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            out[i].nodes.extend_from_slice(&device.nodes);
        }
    }
    for m in &mut out {
        m.nodes.sort_by(|a, b| {
            layout.nodes[*a as usize]
                .name
                .cmp(&layout.nodes[*b as usize].name)
        });
        m.nodes.dedup();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(metric: &str, labels: &[(&str, &str)]) -> MetricDefinition {
        let v: serde_norway::Value = serde_norway::from_str(&format!(
            "{{id: m, name: M, metric: '{metric}', display: {{unit: x}}}}"
        ))
        .unwrap();
        let mut d = crate::library::metrics::parse_metric(&v).unwrap();
        for (k, val) in labels {
            d.labels.insert(k.to_string(), val.to_string());
        }
        d
    }

    #[test]
    fn batched_forms() {
        assert_eq!(
            template(
                &def("node_temperature_celsius", &[("instance", "{instance}")]),
                "instance"
            ),
            Some((
                format!("node_temperature_celsius{{instance=~\"{IDS}\"}}"),
                "instance".into()
            ))
        );
        assert_eq!(
            template(
                &def(r#"node_power_watts{job="node",instance="$instance"}"#, &[]),
                "instance"
            ),
            Some((
                format!(r#"node_power_watts{{job="node",instance=~"{IDS}"}}"#),
                "instance".into()
            ))
        );
        assert_eq!(
            template(
                &def(
                    "ipmi_power_watts{site=\"a\"}",
                    &[("instance", "$instance"), ("pduid", "{pduid}")]
                ),
                "instance"
            ),
            Some((
                format!("ipmi_power_watts{{site=\"a\",instance=~\"{IDS}\"}}"),
                "instance".into()
            ))
        );
        // The placeholder outside a matcher: not batched.
        assert_eq!(
            template(&def("avg(rate(x[5m])) / {instance}", &[]), "instance"),
            None
        );
        // Another placeholder name.
        assert_eq!(
            template(
                &def("pdu_total_load_watts{rack_id=\"$rack_id\"}", &[]),
                "rack_id"
            ),
            Some((
                format!("pdu_total_load_watts{{rack_id=~\"{IDS}\"}}"),
                "rack_id".into()
            ))
        );
        assert_eq!(
            template(
                &def(
                    "raritan_pdu_activepower_watt{inletid!=\"\"}",
                    &[("rack_id", "{rack_id}"), ("pduid", "{pduid}")]
                ),
                "rack_id"
            ),
            Some((
                format!("raritan_pdu_activepower_watt{{inletid!=\"\",rack_id=~\"{IDS}\"}}"),
                "rack_id".into()
            ))
        );
        assert_eq!(
            template(&def("x{instance=\"$instance\"}", &[]), "rack_id"),
            None
        );
        assert_eq!(
            kind_of(&def("node_temperature_celsius", &[])),
            Some((Kind::Temperature, 1))
        );
        assert_eq!(kind_of(&def("node_load_percent", &[])), None);
    }
}
