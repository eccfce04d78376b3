//! The metrics library (`paths.metrics`): named PromQL series with how to chart them
//! (unit, colours, ranges, thresholds), served by `GET /api/metrics/library` and queried by
//! `GET /api/metrics/data`. Not to be confused with `crate::metrics`, the exposition
//! registry that plugins publish samples through.
//!
//! Loading follows the reference: `paths.metrics` is a folder read **recursively** (every
//! `*.yaml` sorted by path, then every `*.yml`), or one file; a missing path is an empty
//! library. A file is either `metrics: [...]` or one definition (its root has `id`). A YAML
//! error skips its file, an invalid definition is skipped alone, each with a [`Problem`]
//! that names the file (and the item's line where it can be found).

use std::path::Path;

use indexmap::IndexMap;
use serde::Serialize;
use serde_norway::Value;
use utoipa::ToSchema;

use super::files::{self, item_lines, problem, Origin};
use super::yaml::{id_hint, type_name, Fields};
use crate::topology::Problem;

/// How a metric is drawn.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MetricDisplay {
    pub unit: String,
    /// `line` by default.
    pub chart_type: String,
    pub color: Option<String>,
    /// `["1h", "6h", "24h", "7d"]` by default.
    pub time_ranges: Vec<String>,
    /// `24h` by default.
    pub default_range: String,
    /// `avg` by default.
    pub aggregation: String,
    /// Named thresholds (`warn`, `crit`), always floats.
    pub thresholds: Option<IndexMap<String, Option<f64>>>,
    /// Free formatting hints (`decimals`, ...).
    pub format: Option<serde_json::Value>,
}

/// One library metric, in Rackscope's `MetricDefinition` shape and field order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MetricDefinition {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The PromQL text, with `{instance}` / `$instance` style placeholders.
    pub metric: String,
    /// Label matchers to apply, values with placeholders.
    pub labels: IndexMap<String, String>,
    pub display: MetricDisplay,
    pub category: Option<String>,
    pub tags: Vec<String>,
}

/// The loaded library.
#[derive(Debug, Clone, Default)]
pub struct MetricsLibrary {
    /// Every valid definition in load order (duplicates kept; lookups take the first).
    pub metrics: Vec<MetricDefinition>,
    pub origin: Origin,
    pub problems: Vec<Problem>,
}

impl MetricsLibrary {
    /// The first definition with this id.
    pub fn metric(&self, id: &str) -> Option<&MetricDefinition> {
        self.metrics.iter().find(|m| m.id == id)
    }
}

/// Loads `path` (a folder, read recursively, one file, or nothing). Never fails.
pub fn load_metrics(path: &Path) -> MetricsLibrary {
    let mut metrics = Vec::new();
    let (origin, problems) = files::load_each(
        path,
        true,
        "metrics library",
        |file, text, root, problems| load_file(file, text, root, &mut metrics, problems),
    );
    MetricsLibrary {
        metrics,
        origin,
        problems,
    }
}

fn load_file(
    path: &Path,
    text: &str,
    root: &Value,
    out: &mut Vec<MetricDefinition>,
    problems: &mut Vec<Problem>,
) {
    if root.get("metrics").is_some() {
        let items = match root.get("metrics") {
            Some(Value::Sequence(items)) => items,
            Some(Value::Null) => return,
            Some(other) => {
                return problems.push(problem(
                    path,
                    None,
                    format!(
                        "`metrics` must be a list of metrics, not {}",
                        type_name(other)
                    ),
                ))
            }
            None => return,
        };
        let lines = item_lines(text, &["metrics"]).filter(|l| l.len() == items.len());
        for (i, item) in items.iter().enumerate() {
            match parse_metric(item) {
                Ok(m) => out.push(m),
                Err(errors) => problems.push(problem(
                    path,
                    lines.as_ref().map(|l| l[i]),
                    format!(
                        "metric `metrics[{i}]`{} skipped: {}",
                        id_hint(item),
                        errors.join("; ")
                    ),
                )),
            }
        }
    } else if root.get("id").is_some() {
        match parse_metric(root) {
            Ok(m) => out.push(m),
            Err(errors) => problems.push(problem(
                path,
                Some(1),
                format!("metric{} skipped: {}", id_hint(root), errors.join("; ")),
            )),
        }
    } else {
        problems.push(problem(
            path,
            Some(1),
            "file skipped: neither a `metrics:` list nor a single definition with an `id`",
        ));
    }
}

/// One definition from YAML; every error of the item when it is invalid.
pub fn parse_metric(item: &Value) -> Result<MetricDefinition, Vec<String>> {
    let Some(mut f) = Fields::new(item) else {
        return Err(vec![format!(
            "a metric must be a mapping, not {}",
            type_name(item)
        )]);
    };
    let id = f.req_str("id");
    let name = f.req_str("name");
    let description = f.opt_str("description");
    let metric = f.req_str("metric");
    let labels = string_map(&mut f, "labels");
    let display = match f.get("display") {
        None => {
            f.error("`display` is required (at least `unit`)".into());
            None
        }
        Some(d) => match Fields::new(d) {
            None => {
                f.error(format!("`display` must be a mapping, not {}", type_name(d)));
                None
            }
            Some(mut d) => {
                let display = parse_display(&mut d);
                for e in d.errors {
                    f.error(format!("`display`: {e}"));
                }
                Some(display)
            }
        },
    };
    let category = f.opt_str("category");
    let tags = f.str_list("tags");
    match display {
        Some(display) if f.errors.is_empty() => Ok(MetricDefinition {
            id,
            name,
            description,
            metric,
            labels,
            display,
            category,
            tags,
        }),
        _ => Err(f.errors),
    }
}

fn parse_display(d: &mut Fields<'_>) -> MetricDisplay {
    let unit = d.req_str("unit");
    let or = |v: Option<String>, default: &str| v.unwrap_or_else(|| default.to_string());
    let chart_type = or(d.opt_str("chart_type"), "line");
    let color = d.opt_str("color");
    let time_ranges = if d.get("time_ranges").is_some() {
        d.str_list("time_ranges")
    } else {
        ["1h", "6h", "24h", "7d"].map(String::from).to_vec()
    };
    let default_range = or(d.opt_str("default_range"), "24h");
    let aggregation = or(d.opt_str("aggregation"), "avg");
    let thresholds = match d.get("thresholds") {
        None => None,
        Some(Value::Mapping(m)) => {
            let mut out = IndexMap::new();
            for (k, v) in m {
                let Some(k) = k.as_str() else {
                    d.error("`thresholds`: names must be strings".into());
                    continue;
                };
                match v {
                    Value::Null => {
                        out.insert(k.to_string(), None);
                    }
                    Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => {
                        out.insert(k.to_string(), n.as_f64());
                    }
                    other => d.error(format!(
                        "`thresholds.{k}` must be a number, not {}",
                        type_name(other)
                    )),
                }
            }
            Some(out)
        }
        Some(other) => {
            let t = type_name(other);
            d.error(format!("`thresholds` must be a mapping, not {t}"));
            None
        }
    };
    let format = match d.get("format") {
        None => None,
        Some(v @ Value::Mapping(_)) => match serde_json::to_value(v) {
            Ok(json) => Some(json),
            Err(e) => {
                d.error(format!("`format`: {e}"));
                None
            }
        },
        Some(other) => {
            let t = type_name(other);
            d.error(format!("`format` must be a mapping, not {t}"));
            None
        }
    };
    MetricDisplay {
        unit,
        chart_type,
        color,
        time_ranges,
        default_range,
        aggregation,
        thresholds,
        format,
    }
}

/// A mapping of strings to strings (`{}` when absent).
fn string_map(f: &mut Fields<'_>, key: &str) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    match f.get(key) {
        None => {}
        Some(Value::Mapping(m)) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    (Some(k), Value::String(v)) => {
                        out.insert(k.to_string(), v.clone());
                    }
                    (Some(k), other) => f.error(format!(
                        "`{key}.{k}` must be a string, not {}",
                        type_name(other)
                    )),
                    (None, _) => f.error(format!("`{key}`: names must be strings")),
                }
            }
        }
        Some(other) => {
            let t = type_name(other);
            f.error(format!("`{key}` must be a mapping of strings, not {t}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn single_and_list_files_recursive_with_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("power")).unwrap();
        std::fs::write(
            d.join("temp.yaml"),
            "id: node_temperature\nname: Node temperature\nmetric: node_temperature_celsius\nlabels:\n  instance: \"{instance}\"\ndisplay:\n  unit: \"°C\"\n  color: \"#ef4444\"\n  thresholds: {warn: 38, crit: 45}\ncategory: temperature\ntags: [compute]\n",
        )
        .unwrap();
        std::fs::write(
            d.join("power/list.yml"),
            "metrics:\n- id: pmc\n  name: PMC\n  metric: pmc_watts{rack_id=\"$rack_id\"}\n  display: {unit: W, format: {decimals: 1}}\n- id: broken\n  name: Broken\n  metric: x\n- id: bad_labels\n  name: B\n  metric: y\n  labels: {tray: 1}\n  display: {unit: W}\n",
        )
        .unwrap();
        std::fs::write(d.join("empty.yaml"), "metrics: []\n").unwrap();
        let lib = load_metrics(d);
        let ids: Vec<&str> = lib.metrics.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["node_temperature", "pmc"]);
        let names: Vec<&str> = lib.origin.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["empty.yaml", "temp.yaml", "power/list.yml"]);
        assert_eq!(
            serde_json::to_string(&lib.metrics[0]).unwrap(),
            serde_json::to_string(&json!({"id": "node_temperature", "name": "Node temperature", "description": null,
                "metric": "node_temperature_celsius", "labels": {"instance": "{instance}"},
                "display": {"unit": "°C", "chart_type": "line", "color": "#ef4444",
                    "time_ranges": ["1h", "6h", "24h", "7d"], "default_range": "24h", "aggregation": "avg",
                    "thresholds": {"warn": 38.0, "crit": 45.0}, "format": null},
                "category": "temperature", "tags": ["compute"]})).unwrap()
        );
        assert_eq!(lib.metrics[1].display.format, Some(json!({"decimals": 1})));
        assert_eq!(lib.problems.len(), 2, "{:?}", lib.problems);
        assert_eq!(lib.problems[0].line, Some(6));
        assert!(lib.problems[0].message.contains("`display` is required"));
        assert_eq!(lib.problems[1].line, Some(9));
        assert!(lib.problems[1]
            .message
            .contains("`labels.tray` must be a string"));
        assert_eq!(lib.metric("pmc").unwrap().name, "PMC");
    }
}
