//! Tests of one recompute on synthetic answers: results, chassis, virtual nodes,
//! failures and `for:` delays.

use super::*;
use crate::health::check::tests::check;
use crate::health::fixture;
use serde_json::json;

/// One rack `k1` in room `r1`: a twin `d1` (nodes n1, n2), a switch `d2` without
/// instances, an enclosure `d3` (node e1); the rack template runs `power`.
fn inputs(checks: Vec<Check>) -> (tempfile::TempDir, Arc<Inputs>) {
    let files = [
        (
            fixture::rack_file("k1"),
            "id: k1\nname: K1\ntemplate_id: rk\ndevices:\n\
             - {id: d1, name: D1, template_id: twin, u_position: 1, instance: 'n[1-2]'}\n\
             - {id: d2, name: D2, template_id: sw, u_position: 3}\n\
             - {id: d3, name: D3, template_id: encl, u_position: 5, instance: e1}\n",
        ),
        (
            "templates/devices.yaml".into(),
            "templates:\n\
             - {id: twin, name: T, type: server, u_height: 1, checks: [up, temp, psu], layout: {type: grid, rows: 1, cols: 2, matrix: [[1, 2]]}}\n\
             - {id: sw, name: S, type: switch, u_height: 1, checks: [up]}\n\
             - {id: encl, name: E, type: storage, u_height: 4, checks: [drives]}\n",
        ),
        (
            "templates/racks.yaml".into(),
            "rack_templates:\n- {id: rk, name: RK, u_height: 42, checks: [power]}\n",
        ),
    ]
    .map(|(p, t)| (p, t.to_string()));
    let dir = fixture::one_aisle(&["k1"], &files);
    let topology = crate::topology::load_topology(&dir.path().join("topology")).unwrap();
    let (catalog, _) = crate::topology::load_catalog(&dir.path().join("templates"));
    let layout = Layout::build(&topology, &catalog, &checks);
    let cfg: crate::config::AppConfig = crate::config::validate(
        &json!({"paths": {"topology": "t", "templates": "t", "checks": "c"}}),
    )
    .unwrap();
    let inputs = Inputs {
        generation: 1,
        layout: Arc::new(layout),
        checks: Arc::new(checks),
        node_metrics: Vec::new(),
        rack_metrics: Default::default(),
        settings: Settings::from_config(&cfg),
    };
    (dir, Arc::new(inputs))
}

fn plan_of(inputs: &Inputs) -> Vec<Query> {
    query::plan(
        &inputs.checks,
        &inputs.layout,
        &inputs.node_metrics,
        &inputs.rack_metrics.metrics,
        inputs.settings.keys(),
        ".*",
        200,
    )
}

fn library() -> Vec<Check> {
    vec![
        check(
            r#"{id: up, name: Up, scope: node, expr: 'up{instance=~"$instances"}', rules: [{op: '==', value: 0, severity: CRIT}]}"#,
        ),
        check(
            r#"{id: temp, name: Temp, scope: node, for: 10s, expr: 't{instance=~"$instances"}', rules: [{op: '>', value: 80, severity: CRIT}]}"#,
        ),
        check(
            r#"{id: psu, name: PSU, scope: chassis, expr: 'p{chassis_id=~"$chassis"}', rules: [{op: '>=', value: 1, severity: WARN}]}"#,
        ),
        check(
            r#"{id: drives, name: Drives, scope: node, expand_by_label: slot, expand_crit_threshold: 2, expr: 'd{instance=~"$instances"}', rules: [{op: '==', value: 1, severity: CRIT}]}"#,
        ),
        check(
            r#"{id: power, name: Power, scope: rack, expr: 'w{rack_id=~"$racks"}', rules: [{op: '>', value: 9000, severity: WARN}]}"#,
        ),
    ]
}

type Spec = Result<Vec<(Vec<(&'static str, &'static str)>, &'static str)>, String>;

fn vector(series: &[(&[(&'static str, &'static str)], &'static str)]) -> Spec {
    Ok(series.iter().map(|(l, v)| (l.to_vec(), *v)).collect())
}

/// Answers per check id, with the labels each query asks for.
fn answers(plan: &[Query], checks: &[Check], by_check: &dyn Fn(&str) -> Spec) -> Vec<Answer> {
    plan.iter()
        .map(|q| {
            by_check(checks[q.uses[0].check].id()).map(|list| {
                Vector::Series(
                    list.into_iter()
                        .map(|(labels, v)| Sample {
                            labels: q
                                .labels
                                .iter()
                                .map(|want| {
                                    labels
                                        .iter()
                                        .find(|(k, _)| k == want)
                                        .map(|(_, v)| v.to_string())
                                })
                                .collect(),
                            value: Some(v.to_string()),
                        })
                        .collect(),
                )
            })
        })
        .collect()
}

fn state_of(s: &HealthSnapshot, name: &str) -> Severity {
    s.node_state[s.inputs.layout.node(name).unwrap() as usize]
}

fn check_of(s: &HealthSnapshot, name: &str, check: &str) -> Option<Severity> {
    let n = s.inputs.layout.node(name).unwrap() as usize;
    s.node_checks[n]
        .iter()
        .find(|(c, _)| s.inputs.checks[*c as usize].id() == check)
        .map(|(_, sev)| *sev)
}

#[test]
fn results_chassis_virtual_nodes_and_failures() {
    let (_dir, inputs) = inputs(library());
    let plan = plan_of(&inputs);
    let good = |id: &str| match id {
        "up" => vector(&[
            (&[("instance", "n1")], "1"),
            (&[("instance", "n2")], "0"),
            (&[("instance", "d2")], "1"),
            (&[("instance", "e1")], "1"),
            // Not a target of the check, and not in the topology: ignored.
            (&[("instance", "elsewhere")], "0"),
        ]),
        "temp" => Err("Prometheus answered HTTP 503: down".into()),
        "psu" => vector(&[(&[("chassis_id", "d1")], "1")]),
        "drives" => vector(&[
            (&[("instance", "e1"), ("slot", "1")], "1"),
            (&[("instance", "e1"), ("slot", "2")], "0"),
        ]),
        "power" => vector(&[(&[("rack_id", "k1")], "100")]),
        _ => unreachable!(),
    };
    let mut timers = ForTimers::default();
    let s = assemble(
        inputs.clone(),
        &plan,
        &answers(&plan, &inputs.checks, &good),
        &mut timers,
        Instant::now(),
    );
    // A failed query leaves its targets UNKNOWN for that check, never OK.
    assert_eq!(check_of(&s, "n1", "temp"), Some(Severity::Unknown));
    assert_eq!(
        state_of(&s, "n1"),
        Severity::Warn,
        "chassis PSU WARN counts on the device's nodes"
    );
    assert_eq!(check_of(&s, "n1", "psu"), Some(Severity::Warn));
    assert_eq!(state_of(&s, "n2"), Severity::Crit);
    // The device without instances is a node of its own.
    assert_eq!(state_of(&s, "d2"), Severity::Ok);
    assert_eq!(s.inputs.layout.racks[0].nodes.len(), 4);
    // Virtual nodes: the failed drive CRIT on its slot, WARN on the enclosure (below
    // the threshold of 2), and listed on the enclosure so it reaches the alerts.
    let v = &s.virtuals[&s.inputs.layout.node("e1").unwrap()];
    assert_eq!(
        v.iter()
            .map(|v| (v.key.as_str(), v.state))
            .collect::<Vec<_>>(),
        [("e1:slot1", Severity::Crit), ("e1:slot2", Severity::Ok)]
    );
    assert_eq!(check_of(&s, "e1", "drives"), Some(Severity::Warn));
    assert_eq!(state_of(&s, "e1"), Severity::Warn);
    assert_eq!(s.rack_check_state(0), Severity::Ok);
    assert_eq!((s.report.main, s.report.failed), (5, 1));
    assert!(!s.nothing_measured());
}

#[test]
fn for_delays_hold_a_state_and_never_flip_back_while_it_lasts() {
    let (_dir, inputs) = inputs(library());
    let plan = plan_of(&inputs);
    let mut timers = ForTimers::default();
    let t0 = Instant::now();
    let run = |timers: &mut ForTimers, temp: &'static str, at: u64| {
        let by = move |id: &str| match id {
            "temp" => vector(&[(&[("instance", "n1")], temp)]),
            _ => vector(&[]),
        };
        let s = assemble(
            inputs.clone(),
            &plan,
            &answers(&plan, &inputs.checks, &by),
            timers,
            t0 + Duration::from_secs(at),
        );
        check_of(&s, "n1", "temp").unwrap()
    };
    assert_eq!(run(&mut timers, "20", 0), Severity::Ok);
    // Hot: pending for 10 s, the previous state shows.
    assert_eq!(run(&mut timers, "90", 1), Severity::Ok);
    assert_eq!(run(&mut timers, "90", 6), Severity::Ok);
    assert_eq!(run(&mut timers, "90", 11), Severity::Crit);
    // Fired: it stays while the condition holds.
    assert_eq!(run(&mut timers, "95", 30), Severity::Crit);
    assert_eq!(run(&mut timers, "90", 60), Severity::Crit);
    // Cleared at once; a new excursion waits again.
    assert_eq!(run(&mut timers, "20", 61), Severity::Ok);
    assert_eq!(run(&mut timers, "90", 62), Severity::Ok);
    assert_eq!(run(&mut timers, "90", 73), Severity::Crit);
}

#[test]
fn nothing_measured_when_every_query_fails() {
    let (_dir, inputs) = inputs(library());
    let plan = plan_of(&inputs);
    let all_fail: Vec<_> = plan.iter().map(|_| Err("refused".to_string())).collect();
    let s = assemble(
        inputs.clone(),
        &plan,
        &all_fail,
        &mut ForTimers::default(),
        Instant::now(),
    );
    assert!(s.nothing_measured());
    for n in ["n1", "n2", "d2", "e1"] {
        assert_eq!(state_of(&s, n), Severity::Unknown, "{n}");
    }
    // A scalar answer is a failure of that query, not a crash.
    let scalar: Answer = Ok(Vector::Other("scalar".into()));
    let s = assemble(
        inputs.clone(),
        &plan,
        &plan.iter().map(|_| scalar.clone()).collect::<Vec<_>>(),
        &mut ForTimers::default(),
        Instant::now(),
    );
    assert!(
        s.report.errors[0].contains("scalar"),
        "{:?}",
        s.report.errors
    );
}

#[test]
fn a_metric_read_by_a_check_shares_its_query_and_reads_only_its_nodes() {
    // `temp` runs on n1 and n2; the temperature metric is listed for n1 only, with the
    // same selector: one query for both, and n2 gets no temperature from it.
    let (_dir, base) = inputs(library());
    let mut i = Arc::try_unwrap(base).unwrap();
    let n1 = i.layout.node("n1").unwrap();
    i.node_metrics = vec![crate::health::node_metrics::NodeMetric {
        kind: crate::health::node_metrics::Kind::Temperature,
        rank: 0,
        template: format!("t{{instance=~\"{}\"}}", crate::health::node_metrics::IDS),
        label: "instance".into(),
        nodes: vec![n1],
    }];
    let inputs = Arc::new(i);
    let plan = plan_of(&inputs);
    assert!(
        plan.iter()
            .all(|q| q.uses.iter().any(|u| u.purpose != Purpose::Metric)),
        "no query of the metric's own: {plan:?}"
    );
    let by_check = |id: &str| match id {
        "temp" => vector(&[(&[("instance", "n1")], "50"), (&[("instance", "n2")], "60")]),
        _ => vector(&[]),
    };
    let s = assemble(
        inputs.clone(),
        &plan,
        &answers(&plan, &inputs.checks, &by_check),
        &mut ForTimers::default(),
        Instant::now(),
    );
    let n2 = inputs.layout.node("n2").unwrap();
    assert_eq!(s.node_temperature[n1 as usize], Some(50.0));
    assert_eq!(s.node_temperature[n2 as usize], None);
}
