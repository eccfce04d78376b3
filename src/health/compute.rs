//! One recompute (health.md §2.2-2.5 with decision D7's fixes): every query of the plan
//! sent concurrently with a bound and under one deadline, each series turned into a state
//! by its check's rules and keyed by its label, `for:` delays applied, virtual nodes
//! rolled into their instances, chassis results into their devices' nodes, and the
//! result kept as a [`HealthSnapshot`].
//!
//! Nothing is OK unless measured: the targets of a query that failed (Prometheus down,
//! slow, an error answer, a scalar result) get `UNKNOWN` for that check, and a node no
//! check measured gets `planner.unknown_state`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;

use super::check::Check;
use super::layout::Layout;
use super::query::{self, KeyLabels, Purpose, Query};
pub use super::timers::ForTimers;
use super::Severity;
use crate::library::checks::Scope;
use crate::prometheus::vector::{Sample, Vector};
use crate::prometheus::{PromClient, PromError};

/// What came back for one query: its series, or why there are none.
pub type Answer = Result<Vector, String>;

/// The planner's settings (app.yaml `telemetry.*` and `planner.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub identity_label: String,
    pub rack_label: String,
    pub chassis_label: String,
    pub job_regex: String,
    pub unknown_state: Severity,
    pub max_ids_per_query: usize,
    /// How often the snapshot is recomputed (`planner.cache_ttl_seconds`).
    pub ttl: Duration,
    /// Queries in flight at once.
    pub concurrency: usize,
    /// Longest a recompute may take; queries still running then count as failed.
    pub deadline: Duration,
}

impl Settings {
    /// The labels that key the series of each scope.
    pub fn keys(&self) -> KeyLabels<'_> {
        KeyLabels {
            node: &self.identity_label,
            chassis: &self.chassis_label,
            rack: &self.rack_label,
        }
    }

    pub fn from_config(cfg: &crate::config::AppConfig) -> Settings {
        let t = &cfg.telemetry;
        let timeout = Duration::from_secs_f64(t.prometheus_timeout_seconds.clamp(0.1, 600.0));
        Settings {
            identity_label: t.identity_label.clone(),
            rack_label: t.rack_label.clone(),
            chassis_label: t.chassis_label.clone(),
            job_regex: t.job_regex.clone(),
            unknown_state: Severity::parse(&cfg.planner.unknown_state).unwrap_or(Severity::Unknown),
            max_ids_per_query: usize::try_from(cfg.planner.max_ids_per_query.max(1)).unwrap_or(200),
            ttl: Duration::from_secs(cfg.planner.cache_ttl_seconds.clamp(1, 86_400) as u64),
            concurrency: DEFAULT_CONCURRENCY,
            // A slow Prometheus holds a recompute for at most two query timeouts.
            deadline: (timeout * 2).max(Duration::from_secs(5)),
        }
    }
}

/// Queries in flight at once: enough to overlap Prometheus's latency, few enough not to
/// flood it (health.md §5 suggests 8-16).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// What one recompute works from: the layout and the checks of one state generation.
#[derive(Debug)]
pub struct Inputs {
    pub generation: u64,
    pub layout: Arc<Layout>,
    pub checks: Arc<Vec<Check>>,
    /// Temperatures and power to measure with the states (`include_metrics`).
    pub node_metrics: Vec<super::node_metrics::NodeMetric>,
    /// Rack component metrics to measure with the states (`infra_metrics.components`).
    pub rack_metrics: super::rack_metrics::RackMetrics,
    pub settings: Settings,
}

/// A virtual node (`expand_by_label`): `<instance>:<label><value>`.
#[derive(Debug, Clone)]
pub struct VirtualNode {
    pub key: String,
    pub state: Severity,
    pub checks: Vec<(u16, Severity)>,
}

/// How the queries of a recompute went.
#[derive(Debug, Clone, Default)]
pub struct QueryReport {
    /// Main queries (discovery excluded), as `last_batch.query_count` counts them.
    pub main: usize,
    pub discovery: usize,
    /// Node and rack component metric queries; their failures are not health failures.
    pub metrics: usize,
    pub failed: usize,
    /// The distinct reasons of the failures (at most a few).
    pub errors: Vec<String>,
    /// Time spent waiting for the answers, and turning them into states.
    pub queries_took: Duration,
    pub assemble_took: Duration,
}

/// Every state of one recompute, before maintenances (which the answers apply).
#[derive(Debug)]
pub struct HealthSnapshot {
    pub inputs: Arc<Inputs>,
    pub computed_at: SystemTime,
    pub took: Duration,
    /// Per node: (check index, reported severity), chassis results and virtual-node
    /// roll-ups included.
    pub node_checks: Vec<Vec<(u16, Severity)>>,
    /// Per node: the worst of its checks, `unknown_state` when none measured it.
    pub node_state: Vec<Severity>,
    /// Virtual nodes by parent node.
    pub virtuals: HashMap<u32, Vec<VirtualNode>>,
    /// Per rack: (check index, severity) of its rack checks.
    pub rack_checks: Vec<Vec<(u16, Severity)>>,
    /// Per node: its temperature and power when measured (`include_metrics`).
    pub node_temperature: Vec<Option<f64>>,
    pub node_power: Vec<Option<f64>>,
    /// Per rack metric (`inputs.rack_metrics.metrics`, by index): the summed value of
    /// each rack it was measured for, by rack index.
    pub rack_metric_values: Vec<HashMap<u32, f64>>,
    pub report: QueryReport,
}

impl HealthSnapshot {
    /// A snapshot of `inputs` in which nothing was measured.
    pub fn unmeasured(inputs: Arc<Inputs>) -> HealthSnapshot {
        let layout = &inputs.layout;
        HealthSnapshot {
            computed_at: SystemTime::now(),
            took: Duration::ZERO,
            node_checks: vec![Vec::new(); layout.nodes.len()],
            node_state: vec![inputs.settings.unknown_state; layout.nodes.len()],
            virtuals: HashMap::new(),
            rack_checks: vec![Vec::new(); layout.racks.len()],
            node_temperature: vec![None; layout.nodes.len()],
            node_power: vec![None; layout.nodes.len()],
            rack_metric_values: Vec::new(),
            report: QueryReport::default(),
            inputs,
        }
    }

    /// The worst of a rack's own checks, `unknown_state` when it has none.
    pub fn rack_check_state(&self, rack: u32) -> Severity {
        self.rack_checks[rack as usize]
            .iter()
            .map(|(_, s)| *s)
            .max()
            .unwrap_or(self.inputs.settings.unknown_state)
    }

    /// True when every query failed: nothing in this snapshot was measured.
    pub fn nothing_measured(&self) -> bool {
        self.report.main + self.report.discovery > 0
            && self.report.failed >= self.report.main + self.report.discovery
    }
}

/// Raw results of one recompute, by target, before `for:`.
struct Raw {
    nodes: Vec<Vec<(u16, Severity)>>,
    devices: Vec<Vec<(u16, Severity)>>,
    racks: Vec<Vec<(u16, Severity)>>,
    /// (parent node, suffix) -> (check, severity).
    virtuals: HashMap<(u32, String), Vec<(u16, Severity)>>,
}

fn merge(list: &mut Vec<(u16, Severity)>, check: u16, s: Severity) {
    match list.iter_mut().find(|(c, _)| *c == check) {
        Some(e) => e.1 = e.1.max(s),
        None => list.push((check, s)),
    }
}

/// Runs one recompute of `inputs` against `prom` with `timers`, and hands them back. The
/// answers are read on the blocking pool: turning tens of thousands of series into
/// states is CPU work that must not hold an async worker.
pub async fn compute(
    inputs: Arc<Inputs>,
    prom: &PromClient,
    mut timers: ForTimers,
) -> (HealthSnapshot, ForTimers) {
    let started = Instant::now();
    let computed_at = SystemTime::now();
    let s = &inputs.settings;
    let plan = query::plan(
        &inputs.checks,
        &inputs.layout,
        &inputs.node_metrics,
        &inputs.rack_metrics.metrics,
        s.keys(),
        &s.job_regex,
        s.max_ids_per_query,
    );
    let answers = run(&plan, prom, s.concurrency, started + s.deadline).await;
    let queried = Instant::now();
    let fallback = inputs.clone();
    let read = tokio::task::spawn_blocking(move || {
        let s = assemble(inputs, &plan, &answers, &mut timers, queried);
        (s, timers)
    })
    .await;
    let (mut snapshot, timers) = match read {
        Ok(done) => done,
        Err(e) => {
            // A panic while reading the answers: a bug, reported as an unmeasured snapshot.
            tracing::error!(error = %e, "reading the health answers failed");
            (HealthSnapshot::unmeasured(fallback), ForTimers::default())
        }
    };
    snapshot.computed_at = computed_at;
    snapshot.took = started.elapsed();
    snapshot.report.queries_took = queried - started;
    snapshot.report.assemble_took = queried.elapsed();
    (snapshot, timers)
}

/// The snapshot of `inputs` from the `answers` to its `plan` (one per query, in order),
/// with `for:` delays judged at `now`.
pub fn assemble(
    inputs: Arc<Inputs>,
    plan: &[Query],
    answers: &[Answer],
    timers: &mut ForTimers,
    now: Instant,
) -> HealthSnapshot {
    let layout = &inputs.layout;
    let checks = &inputs.checks;
    let s = &inputs.settings;

    let mut raw = Raw {
        nodes: vec![Vec::new(); layout.nodes.len()],
        devices: vec![Vec::new(); layout.devices.len()],
        racks: vec![Vec::new(); layout.racks.len()],
        virtuals: HashMap::new(),
    };
    let masks = target_masks(checks, layout);
    let mut report = QueryReport::default();
    // Discovery first, so that main results overwrite what it set.
    for pass in [Purpose::Discovery, Purpose::Main] {
        for (q, answer) in plan.iter().zip(answers) {
            let uses: Vec<_> = q.uses.iter().filter(|u| u.purpose == pass).collect();
            if uses.is_empty() {
                continue;
            }
            match pass {
                Purpose::Main => report.main += 1,
                Purpose::Discovery | Purpose::Metric | Purpose::RackMetric => report.discovery += 1,
            }
            let series = match answer {
                Ok(data) => vector(data),
                Err(e) => Err(e.clone()),
            };
            match series {
                Ok(series) => {
                    for u in uses {
                        let check = &checks[u.check];
                        read_series(
                            check,
                            u.check,
                            pass,
                            series,
                            &q.labels,
                            layout,
                            s,
                            &masks[u.check],
                            &mut raw,
                        );
                    }
                }
                Err(e) => {
                    report.failed += 1;
                    if report.errors.len() < 5 && !report.errors.contains(&e) {
                        report.errors.push(e);
                    }
                    if pass == Purpose::Main {
                        for u in uses {
                            mark_unknown(&checks[u.check], u.check, &u.ids, &mut raw);
                        }
                    }
                }
            }
        }
    }

    timers.prune(now);
    let mut node_checks: Vec<Vec<(u16, Severity)>> = vec![Vec::new(); layout.nodes.len()];
    for (n, list) in raw.nodes.iter().enumerate() {
        for &(c, sev) in list {
            let shown = timers.apply(&checks[c as usize], &layout.nodes[n].name, sev, now);
            node_checks[n].push((c, shown));
        }
    }
    // Chassis results count on every node of the device (D7: the reference computes them
    // and never shows them).
    for (d, list) in raw.devices.iter().enumerate() {
        let device = &layout.devices[d];
        for &(c, sev) in list {
            let shown = timers.apply(&checks[c as usize], &device.id, sev, now);
            for &n in &device.nodes {
                merge(&mut node_checks[n as usize], c, shown);
            }
        }
    }
    // Virtual nodes: each its own state; their instance gets, per check, CRIT if any is
    // CRIT (WARN below `expand_crit_threshold`), else WARN if any is WARN, else the best
    // seen. Unlike the reference, the instance lists the check, so a failed drive shows
    // in the alerts.
    let mut virtuals: HashMap<u32, Vec<VirtualNode>> = HashMap::new();
    let mut per_parent: HashMap<(u32, u16), Vec<Severity>> = HashMap::new();
    let mut keys: Vec<_> = raw.virtuals.into_iter().collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    for ((parent, suffix), list) in keys {
        let key = format!("{}:{}", layout.nodes[parent as usize].name, suffix);
        let mut vchecks = Vec::with_capacity(list.len());
        for (c, sev) in list {
            let shown = timers.apply(&checks[c as usize], &key, sev, now);
            vchecks.push((c, shown));
            per_parent.entry((parent, c)).or_default().push(shown);
        }
        let state = vchecks
            .iter()
            .map(|(_, s)| *s)
            .max()
            .unwrap_or(s.unknown_state);
        virtuals.entry(parent).or_default().push(VirtualNode {
            key,
            state,
            checks: vchecks,
        });
    }
    for ((parent, c), states) in per_parent {
        let crit = states.iter().filter(|s| **s == Severity::Crit).count();
        let threshold = checks[c as usize]
            .expand
            .as_ref()
            .and_then(|e| e.crit_threshold);
        let rolled = if crit > 0 {
            match threshold {
                Some(t) if (crit as u64) < t => Severity::Warn,
                _ => Severity::Crit,
            }
        } else if states.contains(&Severity::Warn) {
            Severity::Warn
        } else {
            states.iter().copied().max().unwrap_or(Severity::Unknown)
        };
        merge(&mut node_checks[parent as usize], c, rolled);
    }
    let node_state: Vec<Severity> = node_checks
        .iter()
        .map(|l| l.iter().map(|(_, s)| *s).max().unwrap_or(s.unknown_state))
        .collect();
    let mut rack_checks: Vec<Vec<(u16, Severity)>> = vec![Vec::new(); layout.racks.len()];
    for (k, list) in raw.racks.iter().enumerate() {
        for &(c, sev) in list {
            let shown = timers.apply(&checks[c as usize], &layout.racks[k].id, sev, now);
            rack_checks[k].push((c, shown));
        }
    }
    for list in node_checks.iter_mut().chain(rack_checks.iter_mut()) {
        list.sort_by_key(|(c, _)| *c);
    }
    let (node_temperature, node_power) = read_node_metrics(&inputs, plan, answers);
    let rack_metric_values = read_rack_metrics(&inputs, plan, answers);
    report.metrics = plan
        .iter()
        .filter(|q| q.uses.iter().all(|u| u.purpose.is_metric()))
        .count();
    HealthSnapshot {
        inputs: inputs.clone(),
        computed_at: SystemTime::now(),
        took: Duration::ZERO,
        node_checks,
        node_state,
        virtuals,
        rack_checks,
        node_temperature,
        node_power,
        rack_metric_values,
        report,
    }
}

/// Calls `f(metric, ids, key, value)` for every finite sample of the answered queries of
/// `purpose` (a metric kind): `ids` are the targets the metric reads in that query
/// (sorted by name; a check's query it shares may hold others), `key` the series' value
/// of `label(metric)`. Failed queries are skipped: a metric query says nothing of health.
fn for_each_value<'a>(
    plan: &'a [Query],
    answers: &'a [Answer],
    purpose: Purpose,
    label: impl Fn(usize) -> &'a str,
    mut f: impl FnMut(usize, &'a [u32], &'a str, f64),
) {
    for (q, answer) in plan.iter().zip(answers) {
        let Ok(data) = answer else { continue };
        let Ok(series) = vector(data) else { continue };
        for u in q.uses.iter().filter(|u| u.purpose == purpose) {
            let Some(li) = q.labels.iter().position(|l| l == label(u.check)) else {
                continue;
            };
            for item in series {
                let key = item.labels[li].as_deref();
                let value = item
                    .value
                    .as_deref()
                    .and_then(super::check::parse_sample)
                    .filter(|v| v.is_finite());
                if let (Some(key), Some(v)) = (key, value) {
                    f(u.check, &u.ids, key, v);
                }
            }
        }
    }
}

/// Each rack's value of each rack component metric it was measured for: the sum of its
/// series (one, as queried by rack).
fn read_rack_metrics(
    inputs: &Inputs,
    plan: &[Query],
    answers: &[Answer],
) -> Vec<HashMap<u32, f64>> {
    let layout = &inputs.layout;
    let metrics = &inputs.rack_metrics.metrics;
    let mut out: Vec<HashMap<u32, f64>> = vec![HashMap::new(); metrics.len()];
    let label = |i: usize| metrics[i].label.as_str();
    for_each_value(
        plan,
        answers,
        Purpose::RackMetric,
        label,
        |m, ids, id, v| {
            let read = ids
                .binary_search_by(|k| (*layout.racks[*k as usize].id).cmp(id))
                .is_ok();
            if let Some(rack) = layout.rack(id).filter(|_| read) {
                *out[m].entry(rack).or_insert(0.0) += v;
            }
        },
    );
    out
}

/// Each node's temperature and power from the node metric queries: the best-ranked
/// metric of each kind that answered for it.
fn read_node_metrics(
    inputs: &Inputs,
    plan: &[Query],
    answers: &[Answer],
) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    use super::node_metrics::Kind;
    let layout = &inputs.layout;
    let n = layout.nodes.len();
    let mut best: [Vec<Option<(usize, f64)>>; 2] = [vec![None; n], vec![None; n]];
    let label = |i: usize| inputs.node_metrics[i].label.as_str();
    for_each_value(plan, answers, Purpose::Metric, label, |mi, ids, name, v| {
        let m = &inputs.node_metrics[mi];
        let Ok(at) = ids.binary_search_by(|k| (*layout.nodes[*k as usize].name).cmp(name)) else {
            return;
        };
        let node = ids[at];
        let cur = &mut best[usize::from(m.kind == Kind::Power)][node as usize];
        // The best rank wins; a zero gives way to any other value ("first truthy").
        if cur.is_none_or(|(r, old)| m.rank < r || (old == 0.0 && v != 0.0)) {
            *cur = Some((m.rank, v));
        }
    });
    let [t, p] = best;
    (
        t.into_iter().map(|x| x.map(|(_, v)| v)).collect(),
        p.into_iter().map(|x| x.map(|(_, v)| v)).collect(),
    )
}

/// Sends every query, at most `concurrency` at once; those without an answer at
/// `deadline` fail. Answers come back in plan order.
async fn run(
    plan: &[Query],
    prom: &PromClient,
    concurrency: usize,
    deadline: Instant,
) -> Vec<Answer> {
    let mut answers: Vec<Answer> =
        vec![Err("the recompute's deadline passed before this query answered".into()); plan.len()];
    // Owned texts and client: the stream's futures must not borrow from the caller (they
    // run inside the engine's spawned loop).
    let texts: Vec<(String, Vec<String>)> = plan
        .iter()
        .map(|q| (q.text.clone(), q.labels.clone()))
        .collect();
    let prom = prom.clone();
    let mut stream = futures::stream::iter(texts.into_iter().enumerate())
        .map(move |(i, (text, labels))| {
            let prom = prom.clone();
            async move {
                let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
                (i, prom.query_vector(&text, &labels).await)
            }
        })
        .buffer_unordered(concurrency.max(1));
    let deadline = tokio::time::Instant::from_std(deadline);
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some((i, result))) => {
                answers[i] = result.map_err(|e: PromError| e.to_string());
            }
            Ok(None) => break,
            Err(_) => {
                tracing::warn!(
                    "health recompute deadline passed; unanswered queries count as failed"
                );
                break;
            }
        }
    }
    answers
}

/// The series of an instant-vector answer; a scalar, a string or a range vector is an
/// error naming what came back.
fn vector(v: &Vector) -> Result<&[Sample], String> {
    match v {
        Vector::Series(s) => Ok(s),
        Vector::Other(kind) => Err(format!(
            "the check's expression returned a {kind}, not an instant vector"
        )),
    }
}

/// Per check, which targets of its scope it runs on (results for other ids are dropped).
fn target_masks(checks: &[Check], layout: &Layout) -> Vec<Vec<bool>> {
    checks
        .iter()
        .zip(&layout.targets)
        .map(|(c, t)| {
            let (len, ids) = match c.scope() {
                Scope::Node => (layout.nodes.len(), &t.nodes),
                Scope::Chassis => (layout.devices.len(), &t.devices),
                Scope::Rack => (layout.racks.len(), &t.racks),
            };
            let mut mask = vec![false; len];
            for &i in ids {
                mask[i as usize] = true;
            }
            mask
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn read_series(
    check: &Check,
    ci: usize,
    pass: Purpose,
    series: &[Sample],
    labels: &[String],
    layout: &Layout,
    s: &Settings,
    mask: &[bool],
    raw: &mut Raw,
) {
    let c = u16::try_from(ci).unwrap_or(u16::MAX);
    let keys = s.keys();
    let index = |name: &str| labels.iter().position(|l| l == name);
    let Some(key_at) = index(keys.of(check)) else {
        return;
    };
    let expand_at = check.expand.as_ref().and_then(|e| index(&e.label));
    for item in series {
        let Some(key) = item.labels[key_at].as_deref() else {
            // A series without the key label counts for nothing (health.md §2.3).
            continue;
        };
        let sev = match pass {
            Purpose::Main => check.evaluate(item.value.as_deref()),
            Purpose::Discovery | Purpose::Metric | Purpose::RackMetric => check
                .expand
                .as_ref()
                .and_then(|e| e.absent_state)
                .unwrap_or(s.unknown_state),
        };
        match check.scope() {
            Scope::Node => {
                let Some(n) = layout.node(key).filter(|n| mask[*n as usize]) else {
                    continue;
                };
                let suffix = check.expand.as_ref().zip(expand_at).and_then(|(e, at)| {
                    item.labels[at]
                        .as_deref()
                        .map(|v| format!("{}{v}", e.label))
                });
                match suffix {
                    Some(suffix) => {
                        let list = raw.virtuals.entry((n, suffix)).or_default();
                        match (pass, list.iter_mut().find(|(x, _)| *x == c)) {
                            // A main result replaces what discovery assumed.
                            (Purpose::Main, Some(e)) if e.1 == discovery_state(check, s) => {
                                e.1 = sev
                            }
                            (_, Some(e)) => e.1 = e.1.max(sev),
                            (_, None) => list.push((c, sev)),
                        }
                    }
                    None if pass == Purpose::Main => merge(&mut raw.nodes[n as usize], c, sev),
                    None => {}
                }
            }
            Scope::Chassis => {
                if let Some(d) = layout.device_by_id(key).filter(|d| mask[*d as usize]) {
                    merge(&mut raw.devices[d as usize], c, sev);
                }
            }
            Scope::Rack => {
                if let Some(k) = layout.rack(key).filter(|k| mask[*k as usize]) {
                    merge(&mut raw.racks[k as usize], c, sev);
                }
            }
        }
    }
}

fn discovery_state(check: &Check, s: &Settings) -> Severity {
    check
        .expand
        .as_ref()
        .and_then(|e| e.absent_state)
        .unwrap_or(s.unknown_state)
}

/// The targets of a failed query get UNKNOWN for its check: not measured, never OK.
fn mark_unknown(check: &Check, ci: usize, ids: &[u32], raw: &mut Raw) {
    let c = u16::try_from(ci).unwrap_or(u16::MAX);
    let lists = match check.scope() {
        Scope::Node => &mut raw.nodes,
        Scope::Chassis => &mut raw.devices,
        Scope::Rack => &mut raw.racks,
    };
    for &i in ids {
        merge(&mut lists[i as usize], c, Severity::Unknown);
    }
}

#[cfg(test)]
#[path = "compute_tests.rs"]
mod tests;
