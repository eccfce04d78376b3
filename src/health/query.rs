//! From checks to PromQL: the placeholders of health.md §1.4 (`$jobs`, `$instances`,
//! `$racks`, `$chassis`) and the batches of `planner.max_ids_per_query` ids.
//!
//! Ids become one regex alternation per batch, `cn0001|cn0002|...`, each id escaped for
//! the regex and then for the PromQL string it sits in (a `.` in an id is `\\.` in the
//! query text). PromQL anchors regex matchers at both ends, so no `^...$` is added; an
//! alternation of plain literals is also what Prometheus and VictoriaMetrics match
//! fastest (a set lookup instead of a regex scan), which the reference's factored trie
//! (`cn000[1-3]`) defeats. Only the placeholder of a check's own scope gets ids; the
//! others become `.*`. Identical query texts (two checks with one expression and different
//! rules) are sent once.

use std::collections::HashMap;

use super::check::Check;
use super::layout::Layout;
use super::node_metrics::{NodeMetric, IDS};
use super::rack_metrics::RackMetric;
use crate::library::checks::Scope;

/// What a query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The check's expression: its series give states.
    Main,
    /// `expand_discovery_expr`: the label values that must exist.
    Discovery,
    /// A node metric (`node_metrics`, by index): temperatures or power, not states.
    Metric,
    /// A rack component metric (`rack_metrics`, by index): values, not states.
    RackMetric,
}

impl Purpose {
    /// Whether the answer gives measured values rather than states.
    pub fn is_metric(self) -> bool {
        matches!(self, Purpose::Metric | Purpose::RackMetric)
    }
}

/// One use of a query's answer: which check (or node metric, for [`Purpose::Metric`])
/// reads it, and for which targets (indexes in the layout's nodes, devices or racks, by
/// the check's scope) it stands.
#[derive(Debug, Clone)]
pub struct Use {
    pub check: usize,
    pub purpose: Purpose,
    pub ids: Vec<u32>,
}

/// A query to send and everything that reads its answer.
#[derive(Debug, Clone)]
pub struct Query {
    pub text: String,
    pub uses: Vec<Use>,
    /// The labels its readers need of each series (keys, expanded labels), in order.
    pub labels: Vec<String>,
}

/// The labels that key a check's series by scope (`telemetry.identity_label`,
/// `chassis_label`, `rack_label`).
#[derive(Debug, Clone, Copy)]
pub struct KeyLabels<'a> {
    pub node: &'a str,
    pub chassis: &'a str,
    pub rack: &'a str,
}

impl KeyLabels<'_> {
    /// The label a check's series are keyed by: `selectors[0]`, else its scope's.
    pub fn of<'c>(&'c self, check: &'c Check) -> &'c str {
        check.key_label.as_deref().unwrap_or(match check.scope() {
            Scope::Node => self.node,
            Scope::Chassis => self.chassis,
            Scope::Rack => self.rack,
        })
    }
}

/// Names per node metric query (at least; `planner.max_ids_per_query` when larger).
pub const METRIC_BATCH: usize = 2_000;

/// Every query of one recompute: the checks' in check order, then the node metrics', then
/// the rack component metrics'.
pub fn plan(
    checks: &[Check],
    layout: &Layout,
    metrics: &[NodeMetric],
    rack_metrics: &[RackMetric],
    keys: KeyLabels<'_>,
    job_regex: &str,
    max_ids: usize,
) -> Vec<Query> {
    let jobs = format!("^(?:{})$", job_regex);
    let max_ids = max_ids.max(1);
    let mut out: Vec<Query> = Vec::new();
    let mut by_text: HashMap<String, usize> = HashMap::new();
    let mut push = |text: String, u: Use, labels: &[&str]| {
        let i = match by_text.get(&text) {
            Some(&i) => i,
            None => {
                by_text.insert(text.clone(), out.len());
                out.push(Query {
                    text,
                    uses: Vec::new(),
                    labels: Vec::new(),
                });
                out.len() - 1
            }
        };
        out[i].uses.push(u);
        for l in labels {
            if !out[i].labels.iter().any(|x| x == l) {
                out[i].labels.push(l.to_string());
            }
        }
    };
    for (ci, check) in checks.iter().enumerate() {
        let t = &layout.targets[ci];
        let (ids, placeholder): (&[u32], &str) = match check.scope() {
            Scope::Node => (&t.nodes, "$instances"),
            Scope::Chassis => (&t.devices, "$chassis"),
            Scope::Rack => (&t.racks, "$racks"),
        };
        if ids.is_empty() {
            continue;
        }
        let name = |i: u32| -> &str {
            match check.scope() {
                Scope::Node => &layout.nodes[i as usize].name,
                Scope::Chassis => &layout.devices[i as usize].id,
                Scope::Rack => &layout.racks[i as usize].id,
            }
        };
        let key = keys.of(check);
        let wanted: Vec<&str> = std::iter::once(key)
            .chain(check.expand.as_ref().map(|e| e.label.as_str()))
            .collect();
        let mut exprs = vec![(check.def.expr.as_str(), Purpose::Main)];
        if let Some(d) = check.expand.as_ref().and_then(|e| e.discovery.as_deref()) {
            exprs.push((d, Purpose::Discovery));
        }
        for (expr, purpose) in exprs {
            if !expr.contains(placeholder) {
                // The ids do not reach the query: one query stands for all of them.
                push(
                    fill(expr, &jobs, placeholder, ".*"),
                    Use {
                        check: ci,
                        purpose,
                        ids: ids.to_vec(),
                    },
                    &wanted,
                );
                continue;
            }
            for chunk in ids.chunks(max_ids) {
                let regex = alternation(chunk.iter().map(|&i| name(i)));
                push(
                    fill(expr, &jobs, placeholder, &regex),
                    Use {
                        check: ci,
                        purpose,
                        ids: chunk.to_vec(),
                    },
                    &wanted,
                );
            }
        }
    }
    // Node and rack component metrics are plain selectors, one series per node or rack
    // whatever the batch: larger batches (sent as POSTs) cost Prometheus the same work
    // in far fewer queries. Where checks already read the same selector (as the CPU and
    // GPU temperature checks read `node_temperature_celsius`), the metric takes their
    // batches for the targets they cover: the texts are then equal, and each is sent once
    // for both.
    let metric_batch = max_ids.max(METRIC_BATCH);
    let measured = metrics
        .iter()
        .enumerate()
        .map(|(mi, m)| (mi, Purpose::Metric, &m.template, &m.label, &m.nodes))
        .chain(
            rack_metrics
                .iter()
                .enumerate()
                .map(|(mi, m)| (mi, Purpose::RackMetric, &m.template, &m.label, &m.racks)),
        );
    for (mi, purpose, template, label, ids) in measured {
        let (scope, placeholder) = match purpose {
            Purpose::RackMetric => (Scope::Rack, "$racks"),
            _ => (Scope::Node, "$instances"),
        };
        // Each check reading the same selector lends its batches: the metric reads, in
        // each, the targets that want it and no earlier batch covered. The rest get
        // batches of their own. (query text from these ids, ids the metric reads)
        let mut left: std::collections::HashSet<u32> = ids.iter().copied().collect();
        let mut batches: Vec<(&[u32], Vec<u32>)> = Vec::new();
        for (c, t) in checks.iter().zip(&layout.targets) {
            let targets = if scope == Scope::Rack {
                &t.racks
            } else {
                &t.nodes
            };
            if c.scope() == scope
                && c.expand.is_none()
                && keys.of(c) == label
                && fill(&c.def.expr, &jobs, placeholder, IDS) == *template
            {
                for chunk in targets.chunks(max_ids) {
                    let read: Vec<u32> = chunk.iter().copied().filter(|i| left.remove(i)).collect();
                    if !read.is_empty() {
                        batches.push((chunk, read));
                    }
                }
            }
        }
        let rest: Vec<u32> = ids.iter().copied().filter(|i| left.contains(i)).collect();
        batches.extend(rest.chunks(metric_batch).map(|c| (c, c.to_vec())));
        for (chunk, read) in batches {
            let regex = alternation(chunk.iter().map(|&i| match purpose {
                Purpose::RackMetric => &*layout.racks[i as usize].id,
                _ => &*layout.nodes[i as usize].name,
            }));
            push(
                template.replace(IDS, &regex),
                Use {
                    check: mi,
                    purpose,
                    ids: read,
                },
                &[label.as_str()],
            );
        }
    }
    out
}

/// `expr` with `$jobs`, then every id placeholder: `placeholder` gets `ids`, the others
/// `.*`.
fn fill(expr: &str, jobs: &str, placeholder: &str, ids: &str) -> String {
    let mut s = expr.replace("$jobs", &promql_string(jobs));
    for p in ["$instances", "$racks", "$chassis"] {
        if s.contains(p) {
            s = s.replace(p, if p == placeholder { ids } else { ".*" });
        }
    }
    s
}

/// `a|b|c` for ids, escaped for a regex, then for a double-quoted PromQL string.
pub fn alternation<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, id) in ids.enumerate() {
        if i > 0 {
            out.push('|');
        }
        out.push_str(&promql_string(&regex_escape(id)));
    }
    out
}

/// `s` with every regex metacharacter escaped.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` as the inside of a double-quoted PromQL string: `\` and `"` escaped.
pub fn promql_string(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::check::tests::check;

    #[test]
    fn ids_are_escaped_for_the_regex_and_the_string() {
        assert_eq!(
            alternation(["cn01", "a.b", "x\"y"].into_iter()),
            r#"cn01|a\\.b|x\"y"#
        );
        assert_eq!(
            fill(
                r#"up{job=~"$jobs",instance=~"$instances",rack_id=~"$racks"}"#,
                "^(?:node)$",
                "$instances",
                "a|b"
            ),
            r#"up{job=~"^(?:node)$",instance=~"a|b",rack_id=~".*"}"#
        );
    }

    #[test]
    fn batches_of_max_ids_and_one_query_per_text() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let topo = crate::topology::load_topology(&root.join("config/topology")).unwrap();
        let (catalog, _) = crate::topology::load_catalog(&root.join("config/templates"));
        // Two node checks with one expression, one rack check, a check nobody lists.
        let checks = vec![
            check(r#"{id: a, name: A, scope: node, expr: 'up{instance=~"$instances"}'}"#),
            check(r#"{id: b, name: B, scope: node, expr: 'up{instance=~"$instances"}'}"#),
            check(
                r#"{id: r, name: R, scope: rack, expr: 'sum by (rack_id) (x{rack_id=~"$racks"})'}"#,
            ),
            check("{id: nobody, name: N, scope: node, expr: up}"),
        ];
        let mut layout = Layout::build(&topo, &catalog, &checks);
        // List every node under a and b, every rack under r, by hand.
        let all_nodes: Vec<u32> = (0..layout.nodes.len() as u32).collect();
        layout.targets[0].nodes = all_nodes.clone();
        layout.targets[1].nodes = all_nodes;
        layout.targets[2].racks = (0..layout.racks.len() as u32).collect();
        layout.targets[3] = Default::default();
        let keys = KeyLabels {
            node: "instance",
            chassis: "chassis_id",
            rack: "rack_id",
        };
        let q = plan(&checks, &layout, &[], &[], keys, ".*", 100);
        assert_eq!(q[0].labels, ["instance"]);
        let node_batches = layout.nodes.len().div_ceil(100);
        assert_eq!(q.len(), node_batches + 1, "a and b share their queries");
        assert!(q[..node_batches].iter().all(|q| q.uses.len() == 2));
        assert_eq!(q[0].uses[0].ids.len(), 100);
        assert!(q[node_batches]
            .text
            .starts_with("sum by (rack_id) (x{rack_id=~\""));

        // A node metric with check a's selector on a's nodes rides on a's queries; one on
        // other nodes gets batches of its own.
        let mut by_name = layout.targets[0].nodes.clone();
        by_name.sort_by(|x, y| {
            layout.nodes[*x as usize]
                .name
                .cmp(&layout.nodes[*y as usize].name)
        });
        layout.targets[0].nodes = by_name;
        layout.targets[1].nodes = layout.targets[0].nodes.clone();
        let metric = |nodes: Vec<u32>| NodeMetric {
            kind: crate::health::node_metrics::Kind::Temperature,
            rank: 0,
            template: format!("up{{instance=~\"{IDS}\"}}"),
            label: "instance".into(),
            nodes,
        };
        let same = metric(layout.targets[0].nodes.clone());
        let q = plan(&checks, &layout, &[same], &[], keys, ".*", 100);
        assert_eq!(q.len(), node_batches + 1, "no query of its own");
        assert!(q[..node_batches].iter().all(|q| q.uses.len() == 3
            && q.uses[2].purpose == Purpose::Metric
            && q.uses[2].ids == q.uses[0].ids));
        // On fewer nodes than the check: the check's batches still, reading only its own
        // nodes in them.
        let fewer = metric(layout.targets[0].nodes[1..].to_vec());
        let q = plan(&checks, &layout, &[fewer], &[], keys, ".*", 100);
        assert_eq!(q.len(), node_batches + 1);
        assert_eq!(q[0].uses[2].ids, layout.targets[0].nodes[1..100]);
        assert_eq!(q[1].uses[2].ids, q[1].uses[0].ids);
        // On more nodes (the check's and others): the check's batches, then its own for
        // the others.
        let mut checked = layout.targets[0].nodes.clone();
        let others = checked.split_off(checked.len() - 5);
        layout.targets[0].nodes = checked.clone();
        layout.targets[1].nodes = checked.clone();
        let more = metric(
            layout.targets[0]
                .nodes
                .iter()
                .chain(&others)
                .copied()
                .collect(),
        );
        let q = plan(
            &checks,
            &layout,
            std::slice::from_ref(&more),
            &[],
            keys,
            ".*",
            100,
        );
        let batches = checked.len().div_ceil(100);
        assert_eq!(q.len(), batches + 1 + 1);
        assert!(q[..batches].iter().all(|q| q.uses.len() == 3));
        assert_eq!(q.last().unwrap().uses[0].ids, others);
        // Two checks with that selector on parts of its nodes (as the CPU and GPU
        // temperature checks): their batches cover it, and it has none of its own.
        layout.targets[1].nodes = others.clone();
        let q = plan(&checks, &layout, &[more], &[], keys, ".*", 100);
        assert_eq!(q.len(), batches + 1 + 1);
        let metric_ids: Vec<u32> = q
            .iter()
            .flat_map(|q| &q.uses)
            .filter(|u| u.purpose == Purpose::Metric)
            .flat_map(|u| u.ids.clone())
            .collect();
        assert_eq!(
            metric_ids,
            checked.iter().chain(&others).copied().collect::<Vec<_>>()
        );
    }
}
