//! Rack component metrics for the rack state's `include_metrics` (health.md §3.3,
//! `infra_metrics.components`), measured with the health snapshot like the node metrics:
//! each metric of the metrics library that a rack component template lists, whose rack
//! placeholder sits in a label matcher (`rack_id="$rack_id"` in `metric`, or `labels:
//! {rack_id: "{rack_id}"}`), is queried once per batch of the racks that mount the
//! component, summed by rack as the reference sums a rack's series.
//!
//! The reference sends one query per metric and rack on every request, and a definition
//! without a rack matcher then sums every series in Prometheus (PDU current of all racks
//! shown as one rack's). Here such definitions are left out: a rack shows only what was
//! measured for it.

use std::collections::HashMap;
use std::sync::Arc;

use super::layout::Layout;
use super::node_metrics::template;
use crate::library::MetricsLibrary;
use crate::topology::Catalog;

/// One library metric to measure for some racks.
#[derive(Debug, Clone)]
pub struct RackMetric {
    /// The PromQL, `sum by (<label>) (...)` with [`IDS`](super::node_metrics::IDS) where the batch's rack ids go.
    pub template: String,
    /// The label that names the rack in the answer.
    pub label: String,
    /// The racks that mount a component listing it, sorted by id.
    pub racks: Vec<u32>,
}

/// A component template of a rack and the metrics it lists: (metric id, index in
/// [`RackMetrics::metrics`], None when the definition cannot be measured per rack).
#[derive(Debug, Clone)]
pub struct Component {
    pub id: Arc<str>,
    pub metrics: Vec<(Arc<str>, Option<usize>)>,
}

/// What to measure, and which rack shows what.
#[derive(Debug, Clone, Default)]
pub struct RackMetrics {
    pub metrics: Vec<RackMetric>,
    /// Per rack: the component templates it mounts that list metrics, first mount first
    /// (two mounts of one template are one key, as in the reference).
    pub components: Vec<Vec<Component>>,
}

/// The rack component metrics of `layout`'s racks, from their rack templates' components.
pub fn plan(layout: &Layout, catalog: &Catalog, library: &MetricsLibrary) -> RackMetrics {
    let mut out = RackMetrics {
        metrics: Vec::new(),
        components: vec![Vec::new(); layout.racks.len()],
    };
    // Metric id -> its index (None: not measurable per rack).
    let mut by_id: HashMap<&str, Option<usize>> = HashMap::new();
    for (k, rack) in layout.racks.iter().enumerate() {
        let Some(rt) = rack
            .template_id
            .as_deref()
            .and_then(|t| catalog.rack_template(t))
        else {
            continue;
        };
        for mount in &rt.infrastructure.rack_components {
            let Some(ct) = catalog.rack_component_template(&mount.template_id) else {
                continue;
            };
            if ct.metrics.is_empty() || out.components[k].iter().any(|c| *c.id == *ct.id) {
                continue;
            }
            let mut metrics = Vec::with_capacity(ct.metrics.len());
            for id in &ct.metrics {
                let index = *by_id.entry(id.as_str()).or_insert_with(|| {
                    let (t, label) = template(library.metric(id)?, "rack_id")?;
                    out.metrics.push(RackMetric {
                        template: format!("sum by ({label}) ({t})"),
                        label,
                        racks: Vec::new(),
                    });
                    Some(out.metrics.len() - 1)
                });
                if let Some(i) = index {
                    out.metrics[i].racks.push(k as u32);
                }
                metrics.push((Arc::from(id.as_str()), index));
            }
            out.components[k].push(Component {
                id: Arc::from(ct.id.as_str()),
                metrics,
            });
        }
    }
    for m in &mut out.metrics {
        m.racks.sort_by(|a, b| {
            layout.racks[*a as usize]
                .id
                .cmp(&layout.racks[*b as usize].id)
        });
        m.racks
            .dedup_by(|a, b| layout.racks[*a as usize].id == layout.racks[*b as usize].id);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::fixture;
    use crate::health::layout::Layout;

    #[test]
    fn racks_measure_what_their_components_list() {
        let mut files: Vec<(String, String)> = [("k1", "rk"), ("k2", "rk"), ("k3", "bare")]
            .iter()
            .map(|(id, template)| {
                (
                    fixture::rack_file(id),
                    format!("id: {id}\nname: {id}\ntemplate_id: {template}\ndevices: []\n"),
                )
            })
            .collect();
        for (path, text) in [
            (
                "templates/racks.yaml",
                "rack_templates:\n\
                 - id: rk\n  name: RK\n  infrastructure:\n    rack_components:\n\
                 \x20     - {template_id: pdu, side: left}\n\
                 \x20     - {template_id: pdu, side: right}\n\
                 \x20     - {template_id: hmc}\n\
                 \x20     - {template_id: plain}\n\
                 - {id: bare, name: Bare}\n",
            ),
            (
                "templates/components.yaml",
                "rack_component_templates:\n\
                 - {id: pdu, name: PDU, u_height: 1, metrics: [load, everywhere, missing]}\n\
                 - {id: hmc, name: HMC, u_height: 1, metrics: [load, coolant]}\n\
                 - {id: plain, name: Plain, u_height: 1}\n",
            ),
            (
                "metrics/lib.yaml",
                "metrics:\n\
                 - {id: load, name: L, metric: 'pdu_load_watts{rack_id=\"$rack_id\"}', display: {unit: W}}\n\
                 - {id: coolant, name: C, metric: hmc_temp, labels: {rack: '{rack_id}', side: a}, display: {unit: C}}\n\
                 - {id: everywhere, name: E, metric: pdu_current_total, display: {unit: A}}\n",
            ),
        ] {
            files.push((path.into(), text.into()));
        }
        // Listed out of order: plans sort by id.
        let dir = fixture::one_aisle(&["k2", "k1", "k3"], &files);
        let topology = crate::topology::load_topology(&dir.path().join("topology")).unwrap();
        let (catalog, errors) = crate::topology::load_catalog(&dir.path().join("templates"));
        assert!(errors.is_empty(), "{errors:?}");
        let library = crate::library::metrics::load_metrics(&dir.path().join("metrics"));
        let layout = Layout::build(&topology, &catalog, &[]);
        let plan = plan(&layout, &catalog, &library);

        // Two definitions measurable per rack; the one without a rack matcher and the
        // unknown id are listed but never measured.
        assert_eq!(plan.metrics.len(), 2);
        let load = &plan.metrics[0];
        assert_eq!(
            load.template,
            format!(
                "sum by (rack_id) (pdu_load_watts{{rack_id=~\"{}\"}})",
                node_metrics_ids()
            )
        );
        let ids: Vec<&str> = load
            .racks
            .iter()
            .map(|&k| &*layout.racks[k as usize].id)
            .collect();
        assert_eq!(ids, ["k1", "k2"], "sorted by id, the bare rack left out");
        assert_eq!(
            plan.metrics[1].template,
            format!(
                "sum by (rack) (hmc_temp{{side=\"a\",rack=~\"{}\"}})",
                node_metrics_ids()
            )
        );
        assert_eq!(plan.metrics[1].label, "rack");

        let k1 = layout.rack("k1").unwrap() as usize;
        let comps: Vec<String> = plan.components[k1]
            .iter()
            .map(|c| format!("{} {:?}", c.id, c.metrics))
            .collect();
        assert_eq!(
            comps,
            [
                r#"pdu [("load", Some(0)), ("everywhere", None), ("missing", None)]"#,
                r#"hmc [("load", Some(0)), ("coolant", Some(1))]"#,
            ],
            "one key per template, components without metrics left out"
        );
        let k3 = layout.rack("k3").unwrap() as usize;
        assert!(plan.components[k3].is_empty());
    }

    fn node_metrics_ids() -> &'static str {
        crate::health::node_metrics::IDS
    }
}
