//! The health-check library (`paths.checks`): what each check queries, on what scope, and
//! which rules turn a sample into a severity. Loaded here, served by `GET /api/checks`,
//! evaluated by the health engine.
//!
//! Loading follows the reference: `paths.checks` is a folder (its top-level `*.yaml`
//! files sorted, then its `*.yml` files sorted; sub-folders are not read) or one file; a
//! missing path is an empty library. A file holds `checks: [...]` and/or
//! `kinds: {<kind>: [...]}`, whose items take `kind: <kind>` unless they set one. A YAML
//! error skips its file; an invalid check is skipped alone; duplicate ids are kept (both
//! run). Every skip is a [`Problem`] naming the file and, where it can be found, the line
//! of the item, so `rackscope check` can print it.

use std::path::Path;

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use serde_norway::Value;
use utoipa::ToSchema;

use super::files::{self, item_lines, problem, Origin};
use super::yaml::{id_hint, type_name, Fields};
use crate::topology::Problem;

/// Which id a check's result is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Node,
    Chassis,
    Rack,
}

/// What the expression returns; informational only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    Bool,
    Numeric,
}

/// A state, ordered by how bad it is for roll-ups: OK < UNKNOWN < WARN < CRIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Ok,
    Unknown,
    Warn,
    Crit,
}

impl Severity {
    /// `OK`, `WARN`, `CRIT` or `UNKNOWN` (exact spelling).
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "OK" => Some(Severity::Ok),
            "UNKNOWN" => Some(Severity::Unknown),
            "WARN" => Some(Severity::Warn),
            "CRIT" => Some(Severity::Crit),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "OK",
            Severity::Unknown => "UNKNOWN",
            Severity::Warn => "WARN",
            Severity::Crit => "CRIT",
        }
    }
}

/// A rule's comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    const ALL: [(&'static str, Op); 6] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        (">", Op::Gt),
        (">=", Op::Ge),
        ("<", Op::Lt),
        ("<=", Op::Le),
    ];

    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.iter().find(|(t, _)| *t == s).map(|(_, op)| *op)
    }

    pub fn as_str(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map(|(t, _)| *t)
            .unwrap_or("==")
    }

    /// Whether `sample <op> threshold` holds (IEEE comparisons: NaN only satisfies `!=`).
    pub fn holds(self, sample: f64, threshold: f64) -> bool {
        match self {
            Op::Eq => sample == threshold,
            Op::Ne => sample != threshold,
            Op::Gt => sample > threshold,
            Op::Ge => sample >= threshold,
            Op::Lt => sample < threshold,
            Op::Le => sample <= threshold,
        }
    }
}

/// In the API document: the comparison as written (`==`, `!=`, `>`, `>=`, `<`, `<=`).
impl utoipa::PartialSchema for Op {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Op::ALL.iter().map(|(text, _)| *text)))
            .into()
    }
}

impl ToSchema for Op {}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A rule's threshold, as written: `0` stays an integer, `0.5` a float, `"up"` a string.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RuleValue {
    Int(i64),
    Float(f64),
    Str(String),
}

/// In the API document: a number or a string (an integer is a number too, so the three
/// forms are not exclusive alternatives).
impl utoipa::PartialSchema for RuleValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Number, Type::String]))
            .description(Some("The threshold as written: a number or a string"))
            .into()
    }
}

impl ToSchema for RuleValue {}

impl RuleValue {
    /// The number to compare samples with; `None` for a string (which never matches).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            RuleValue::Int(i) => Some(*i as f64),
            RuleValue::Float(f) => Some(*f),
            RuleValue::Str(_) => None,
        }
    }
}

/// `{op, value, severity}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Rule {
    pub op: Op,
    pub value: RuleValue,
    pub severity: Severity,
}

impl Rule {
    /// Whether this rule's comparison holds for `sample`.
    pub fn matches(&self, sample: f64) -> bool {
        self.value
            .as_f64()
            .is_some_and(|threshold| self.op.holds(sample, threshold))
    }
}

/// One check. Serialises as Rackscope's `CheckDefinition`, fields in its order, `for`
/// under its YAML name.
#[derive(Debug, Clone, PartialEq, ToSchema)]
pub struct CheckDefinition {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    /// PromQL with `$instances`, `$racks`, `$chassis`, `$jobs` placeholders.
    pub expr: String,
    pub output: Output,
    /// When not empty, `selectors[0]` is the label results are keyed by.
    pub selectors: Vec<String>,
    pub rules: Vec<Rule>,
    /// UI grouping only.
    pub kind: Option<String>,
    pub expand_by_label: Option<String>,
    pub expand_discovery_expr: Option<String>,
    pub expand_absent_state: Option<String>,
    pub expand_crit_threshold: Option<i64>,
    /// `for:` (also read as `for_duration:`), `^\d+[smhdwy]$`.
    #[schema(rename = "for")]
    pub for_duration: Option<String>,
}

impl Serialize for CheckDefinition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("CheckDefinition", 13)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("scope", &self.scope)?;
        st.serialize_field("expr", &self.expr)?;
        st.serialize_field("output", &self.output)?;
        st.serialize_field("selectors", &self.selectors)?;
        st.serialize_field("rules", &self.rules)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("expand_by_label", &self.expand_by_label)?;
        st.serialize_field("expand_discovery_expr", &self.expand_discovery_expr)?;
        st.serialize_field("expand_absent_state", &self.expand_absent_state)?;
        st.serialize_field("expand_crit_threshold", &self.expand_crit_threshold)?;
        st.serialize_field("for", &self.for_duration)?;
        st.end()
    }
}

impl CheckDefinition {
    /// The `for` delay in seconds (`y` = 365 days), `None` without one.
    pub fn for_seconds(&self) -> Option<u64> {
        duration_seconds(self.for_duration.as_deref()?)
    }
}

/// Seconds of a `^\d+[smhdwy]$` duration.
pub fn duration_seconds(text: &str) -> Option<u64> {
    let unit = text.chars().last()?;
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        'y' => 31_536_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// The loaded library.
#[derive(Debug, Clone, Default)]
pub struct ChecksLibrary {
    /// Every valid check, files in load order, items in file order; duplicates kept.
    pub checks: Vec<CheckDefinition>,
    /// Where they came from, and which files were read.
    pub origin: Origin,
    /// Skipped files and items.
    pub problems: Vec<Problem>,
}

impl ChecksLibrary {
    /// The first check with this id.
    pub fn check(&self, id: &str) -> Option<&CheckDefinition> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// Loads `path` (a folder, one file, or nothing). Never fails; problems are returned in
/// the library and logged.
pub fn load_checks(path: &Path) -> ChecksLibrary {
    let mut checks = Vec::new();
    let (origin, problems) = files::load_each(
        path,
        false,
        "checks library",
        |file, text, root, problems| load_file(file, text, root, &mut checks, problems),
    );
    ChecksLibrary {
        checks,
        origin,
        problems,
    }
}

fn load_file(
    path: &Path,
    text: &str,
    root: &Value,
    out: &mut Vec<CheckDefinition>,
    problems: &mut Vec<Problem>,
) {
    if !root.is_mapping() {
        return problems.push(problem(
            path,
            Some(1),
            format!(
                "file skipped: the top level must be a mapping, not {}",
                type_name(root)
            ),
        ));
    }
    if let Some(list) = root.get("checks") {
        read_list(path, text, &["checks"], list, None, out, problems);
    }
    match root.get("kinds") {
        None | Some(Value::Null) => {}
        Some(Value::Mapping(kinds)) => {
            for (kind, list) in kinds {
                let Some(kind) = kind.as_str() else {
                    problems.push(problem(path, None, "`kinds`: a kind name must be a string"));
                    continue;
                };
                read_list(
                    path,
                    text,
                    &["kinds", kind],
                    list,
                    Some(kind),
                    out,
                    problems,
                );
            }
        }
        Some(other) => problems.push(problem(
            path,
            None,
            format!(
                "`kinds` must be a mapping of kind to list of checks, not {}",
                type_name(other)
            ),
        )),
    }
}

fn read_list(
    path: &Path,
    text: &str,
    keys: &[&str],
    list: &Value,
    kind: Option<&str>,
    out: &mut Vec<CheckDefinition>,
    problems: &mut Vec<Problem>,
) {
    let what = keys.join(".");
    let items = match list {
        Value::Null => return,
        Value::Sequence(items) => items,
        other => {
            return problems.push(problem(
                path,
                None,
                format!(
                    "`{what}` must be a list of checks, not {}",
                    type_name(other)
                ),
            ))
        }
    };
    let lines = item_lines(text, keys).filter(|l| l.len() == items.len());
    for (i, item) in items.iter().enumerate() {
        match parse_check(item, kind) {
            Ok(check) => out.push(check),
            Err(errors) => problems.push(problem(
                path,
                lines.as_ref().map(|l| l[i]),
                format!(
                    "check `{what}[{i}]`{} skipped: {}",
                    id_hint(item),
                    errors.join("; ")
                ),
            )),
        }
    }
}

/// One check from its YAML item; every error of the item when it is invalid.
pub fn parse_check(item: &Value, group_kind: Option<&str>) -> Result<CheckDefinition, Vec<String>> {
    let Some(mut f) = Fields::new(item) else {
        return Err(vec![format!(
            "a check must be a mapping, not {}",
            type_name(item)
        )]);
    };
    let id = f.req_str("id");
    let name = f.req_str("name");
    let scope = match f.choice("scope", &["node", "chassis", "rack"], None) {
        "chassis" => Scope::Chassis,
        "rack" => Scope::Rack,
        _ => Scope::Node,
    };
    let expr = f.req_str("expr");
    let output = match f.choice("output", &["bool", "numeric"], Some("bool")) {
        "numeric" => Output::Numeric,
        _ => Output::Bool,
    };
    let selectors = f.str_list("selectors");
    let rules = parse_rules(&mut f);
    let kind = f.opt_str("kind").or_else(|| group_kind.map(str::to_owned));
    let expand_by_label = f.opt_str("expand_by_label");
    let expand_discovery_expr = f.opt_str("expand_discovery_expr");
    let expand_absent_state = f.opt_str("expand_absent_state");
    let expand_crit_threshold = f.opt_int("expand_crit_threshold");
    let key = if f.has("for") { "for" } else { "for_duration" };
    let for_duration = f.opt_str(key);
    if let Some(d) = &for_duration {
        if duration_seconds(d).is_none() {
            f.error(format!(
                "`{key}` must be a number and a unit among s, m, h, d, w, y (like `5m`), got `{d}`"
            ));
        }
    }
    if !f.errors.is_empty() {
        return Err(f.errors);
    }
    Ok(CheckDefinition {
        id,
        name,
        scope,
        expr,
        output,
        selectors,
        rules,
        kind,
        expand_by_label,
        expand_discovery_expr,
        expand_absent_state,
        expand_crit_threshold,
        for_duration,
    })
}

fn parse_rules(f: &mut Fields<'_>) -> Vec<Rule> {
    let items = match f.get("rules") {
        None => return Vec::new(),
        Some(Value::Sequence(items)) => items,
        Some(other) => {
            let t = type_name(other);
            f.error(format!("`rules` must be a list, not {t}"));
            return Vec::new();
        }
    };
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(mut r) = Fields::new(item) else {
            f.error(format!(
                "`rules[{i}]` must be a mapping, not {}",
                type_name(item)
            ));
            continue;
        };
        let op = r.choice("op", &["==", "!=", ">", ">=", "<", "<="], None);
        let severity = r.choice("severity", &["OK", "WARN", "CRIT", "UNKNOWN"], None);
        let value = match r.get("value") {
            Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Some(RuleValue::Int(i)),
                (None, Some(x)) if x.is_finite() => Some(RuleValue::Float(x)),
                _ => None,
            },
            Some(Value::String(s)) => Some(RuleValue::Str(s.clone())),
            _ => None,
        };
        if value.is_none() {
            let got = r.get("value").map(type_name).unwrap_or("nothing");
            r.error(format!(
                "`value` must be a finite number or a string, not {got}"
            ));
        }
        for e in r.errors {
            f.error(format!("`rules[{i}]`: {e}"));
        }
        if let (Some(op), Some(severity), Some(value)) =
            (Op::parse(op), Severity::parse(severity), value)
        {
            rules.push(Rule {
                op,
                value,
                severity,
            });
        }
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn loads_checks_and_kinds_with_problems_on_their_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(
            d,
            "b.yaml",
            "checks:\n  - id: node_up\n    name: Node up\n    scope: node\n    expr: up{instance=~\"$instances\"}\n    for: 5m\n    rules:\n      - {op: \"==\", value: 0, severity: CRIT}\n      - {op: \">\", value: 0.5, severity: WARN}\n      - {op: \"!=\", value: \"x\", severity: OK}\n  - id: bad\n    name: Bad\n    scope: planet\n    expr: x\n    for: 5 minutes\n  - id: node_up\n    name: Duplicate\n    scope: rack\n    expr: y\n    for_duration: 1h\nkinds:\n  ipmi:\n    - {id: fan, name: Fan, scope: chassis, expr: f, output: numeric, expand_crit_threshold: 2}\n    - {id: psu, name: PSU, scope: node, expr: p, kind: power}\n",
        );
        write(d, "a.yaml", "checks: [\n");
        write(d, "c.yml", "checks:\n- {id: r, name: R, scope: rack, expr: z, rules: [{op: \"=~\", value: 1, severity: BAD}]}\n");
        write(d, "notes.md", "not read");
        let lib = load_checks(d);
        let ids: Vec<&str> = lib.checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["node_up", "node_up", "fan", "psu"]);
        assert_eq!(lib.check("node_up").unwrap().name, "Node up");
        assert_eq!(lib.checks[1].for_duration.as_deref(), Some("1h"));
        assert_eq!(lib.checks[2].kind.as_deref(), Some("ipmi"));
        assert_eq!(lib.checks[3].kind.as_deref(), Some("power"));
        assert_eq!(lib.checks[0].for_seconds(), Some(300));
        let names: Vec<&str> = lib.origin.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.yaml", "b.yaml", "c.yml"]);
        assert_eq!(lib.problems.len(), 3, "{:?}", lib.problems);
        let shown: Vec<String> = lib.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            shown[0].contains("a.yaml:") && shown[0].contains("file skipped"),
            "{shown:?}"
        );
        let bad = &lib.problems[1];
        assert_eq!(bad.line, Some(11), "{bad}");
        assert!(
            bad.message.contains("(id `bad`)")
                && bad.message.contains("`scope`")
                && bad.message.contains("`for`"),
            "{bad}"
        );
        let r = &lib.problems[2];
        assert_eq!(r.line, Some(2), "{r}");
        assert!(
            r.message.contains("rules[0]")
                && r.message.contains("`op`")
                && r.message.contains("`severity`"),
            "{r}"
        );
        let json = serde_json::to_value(&lib.checks[0]).unwrap();
        assert_eq!(
            json,
            json!({"id": "node_up", "name": "Node up", "scope": "node", "expr": "up{instance=~\"$instances\"}",
                   "output": "bool", "selectors": [], "rules": [
                       {"op": "==", "value": 0, "severity": "CRIT"},
                       {"op": ">", "value": 0.5, "severity": "WARN"},
                       {"op": "!=", "value": "x", "severity": "OK"}],
                   "kind": null, "expand_by_label": null, "expand_discovery_expr": null,
                   "expand_absent_state": null, "expand_crit_threshold": null, "for": "5m"})
        );
        let keys: Vec<String> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.last().map(String::as_str), Some("for"));
    }

    #[test]
    fn one_file_and_missing_paths() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "one.yaml",
            "checks:\n  - {id: a, name: A, scope: node, expr: up}\n",
        );
        let lib = load_checks(&tmp.path().join("one.yaml"));
        assert_eq!(lib.checks.len(), 1);
        assert_eq!(lib.checks[0].output, Output::Bool);
        let none = load_checks(&tmp.path().join("nope"));
        assert!(none.checks.is_empty() && none.problems.is_empty());
    }

    #[test]
    fn rules_and_severities() {
        assert!(Severity::Ok < Severity::Unknown && Severity::Unknown < Severity::Warn);
        assert!(Severity::Warn < Severity::Crit);
        let r = Rule {
            op: Op::Gt,
            value: RuleValue::Int(70),
            severity: Severity::Warn,
        };
        assert!(r.matches(71.0) && !r.matches(70.0) && !r.matches(f64::NAN));
        let ne = Rule {
            op: Op::Ne,
            value: RuleValue::Float(1.0),
            severity: Severity::Crit,
        };
        assert!(ne.matches(f64::NAN));
        let s = Rule {
            op: Op::Eq,
            value: RuleValue::Str("1".into()),
            severity: Severity::Crit,
        };
        assert!(!s.matches(1.0));
        for (text, secs) in [
            ("30s", Some(30)),
            ("5m", Some(300)),
            ("2h", Some(7200)),
            ("1y", Some(31_536_000)),
            ("5", None),
            ("m", None),
            ("-1m", None),
            ("1.5m", None),
        ] {
            assert_eq!(duration_seconds(text), secs, "{text}");
        }
    }
}
