//! A check of the checks library (`library::checks`) as the planner runs it: the label
//! that keys its series, its `for:` delay as a duration, its `expand_by_label` settings
//! parsed, and the evaluation of one sample against its rules. Compiled once per state
//! generation.

use std::time::Duration;

use super::Severity;
use crate::library::checks::{CheckDefinition, Scope};

/// `expand_by_label`: one virtual node per (instance, label value), keyed
/// `<instance>:<label><value>` (`st01:slot3`), rolled up into the instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Expand {
    pub label: String,
    /// PromQL listing every value beforehand; values it finds that the main query does not
    /// return get `absent_state`.
    pub discovery: Option<String>,
    /// State of discovered values missing from the main query (default:
    /// `planner.unknown_state`).
    pub absent_state: Option<Severity>,
    /// The instance is CRIT only when at least this many of its virtual nodes are CRIT
    /// (else WARN).
    pub crit_threshold: Option<u64>,
}

/// A compiled check.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub def: CheckDefinition,
    /// `selectors[0]`: the label that keys the series instead of the scope's label.
    pub key_label: Option<String>,
    /// `for:`: a WARN or CRIT result counts only once it has lasted this long.
    pub for_duration: Option<Duration>,
    pub expand: Option<Expand>,
}

impl Check {
    pub fn compile(def: &CheckDefinition) -> Check {
        Check {
            key_label: def.selectors.first().filter(|s| !s.is_empty()).cloned(),
            for_duration: def.for_seconds().map(Duration::from_secs),
            expand: def.expand_by_label.as_ref().map(|label| Expand {
                label: label.clone(),
                discovery: def.expand_discovery_expr.clone(),
                absent_state: def.expand_absent_state.as_deref().and_then(Severity::parse),
                crit_threshold: def
                    .expand_crit_threshold
                    .and_then(|t| u64::try_from(t).ok()),
            }),
            def: def.clone(),
        }
    }

    pub fn id(&self) -> &str {
        &self.def.id
    }

    pub fn scope(&self) -> Scope {
        self.def.scope
    }

    /// The name answers show: the check's name, or its id when it has none.
    pub fn name(&self) -> &str {
        if self.def.name.is_empty() {
            &self.def.id
        } else {
            &self.def.name
        }
    }

    /// The state of one sample (`value` as Prometheus wrote it): the worst severity among
    /// the rules that hold, `OK` when none does, `UNKNOWN` when the value is not a number.
    /// NaN only satisfies `!=`; a rule whose value is text never matches.
    pub fn evaluate(&self, value: Option<&str>) -> Severity {
        let Some(v) = value.and_then(parse_sample) else {
            return Severity::Unknown;
        };
        self.def
            .rules
            .iter()
            .filter(|r| r.matches(v))
            .map(|r| r.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }
}

/// A sample value as Prometheus writes it: a decimal, `NaN`, `+Inf`, `-Inf`.
pub fn parse_sample(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.trim().parse::<f64>().ok(),
    }
}

/// WARN or CRIT: what raises an alert.
pub fn is_alert(s: Severity) -> bool {
    matches!(s, Severity::Warn | Severity::Crit)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::library::checks::parse_check;

    /// A compiled check from YAML.
    pub fn check(yaml: &str) -> Check {
        let v: serde_norway::Value = serde_norway::from_str(yaml).unwrap();
        Check::compile(&parse_check(&v, None).unwrap())
    }

    #[test]
    fn the_worst_rule_that_holds_wins_in_any_order() {
        let c = check(
            "{id: t, name: T, scope: node, expr: x, rules: [{op: '>', value: 85, severity: CRIT}, {op: '>', value: 70, severity: WARN}]}",
        );
        assert_eq!(c.evaluate(Some("90")), Severity::Crit);
        assert_eq!(c.evaluate(Some("75.5")), Severity::Warn);
        assert_eq!(c.evaluate(Some("20")), Severity::Ok);
        assert_eq!(c.evaluate(Some("junk")), Severity::Unknown);
        assert_eq!(c.evaluate(None), Severity::Unknown);
        assert_eq!(c.evaluate(Some("+Inf")), Severity::Crit);
    }

    #[test]
    fn nan_only_satisfies_not_equal_and_text_values_never_match() {
        let c = check(
            "{id: t, name: T, scope: node, expr: x, rules: [{op: '!=', value: 1, severity: WARN}, {op: '==', value: 0, severity: CRIT}, {op: '==', value: 'x', severity: CRIT}]}",
        );
        assert_eq!(c.evaluate(Some("NaN")), Severity::Warn);
        assert_eq!(c.evaluate(Some("0")), Severity::Crit);
        assert_eq!(c.evaluate(Some("1")), Severity::Ok);
    }

    #[test]
    fn compiled_settings() {
        let c = check(
            "{id: d, name: D, scope: node, expr: x, selectors: [tray], for: 5m, expand_by_label: slot, expand_absent_state: CRIT, expand_crit_threshold: 2}",
        );
        assert_eq!(c.key_label.as_deref(), Some("tray"));
        assert_eq!(c.for_duration, Some(Duration::from_secs(300)));
        let e = c.expand.unwrap();
        assert_eq!(
            (e.label.as_str(), e.absent_state, e.crit_threshold),
            ("slot", Some(Severity::Crit), Some(2))
        );
    }
}
