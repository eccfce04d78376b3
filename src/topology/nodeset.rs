//! The one nodeset expander (D6): `compute[001-100]` and friends.
//!
//! Every component (topology index, simulator targets, Slurm node mapping) expands node
//! names through [`expand`] and [`expand_instance`], so they always agree on edge cases. The
//! grammar is docs/architecture.md, compatibility C10 (the reference's index expander):
//!
//! ```text
//! pattern := prefix "[" start "-" end "]" suffix      start, end := ASCII digits (1 or more)
//! ```
//!
//! * the **first** well-formed `[digits-digits]` group is expanded; the prefix and the suffix
//!   (which may contain more brackets) are kept verbatim;
//! * numbers are zero-padded to the width of `start` (`n[01-100]` gives `n01` .. `n100`);
//! * `end < start` gives no names, more than [`MAX_RANGE`] names is an error;
//! * a string with no well-formed group is one literal name; `""` gives no names.
//!
//! Unlike the reference index, ranges inside list items and slot-map values are expanded
//! too, as the reference health-check planner does.

use super::model::InstanceSpec;

/// The largest number of names one range may produce (exactly this many is allowed).
pub const MAX_RANGE: u64 = 10_000;

/// Why a pattern could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodesetError {
    /// The range would produce more than [`MAX_RANGE`] names.
    #[error("Instance range too large: `{pattern}` gives {count} names (at most {MAX_RANGE})")]
    RangeTooLarge { pattern: String, count: u64 },
    /// A bound has too many digits to be a number.
    #[error("Instance range bound out of range in `{pattern}`")]
    BoundTooLarge { pattern: String },
}

/// The parts of a pattern around its first well-formed `[start-end]` group.
struct Group<'a> {
    prefix: &'a str,
    start: &'a str,
    end: &'a str,
    suffix: &'a str,
}

/// Finds the first `[digits-digits]` group, if any.
fn find_group(pattern: &str) -> Option<Group<'_>> {
    let bytes = pattern.as_bytes();
    let mut from = 0;
    while let Some(rel) = pattern[from..].find('[') {
        let open = from + rel;
        if let Some(group) = group_at(pattern, bytes, open) {
            return Some(group);
        }
        from = open + 1;
    }
    None
}

/// Parses `[digits-digits]` starting at the `[` at byte `open`.
fn group_at<'a>(pattern: &'a str, bytes: &[u8], open: usize) -> Option<Group<'a>> {
    let digits_from = |at: usize| {
        let n = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        (n > 0).then_some(at + n)
    };
    let start_end = digits_from(open + 1)?;
    if bytes.get(start_end) != Some(&b'-') {
        return None;
    }
    let end_end = digits_from(start_end + 1)?;
    if bytes.get(end_end) != Some(&b']') {
        return None;
    }
    // All indices sit on ASCII bytes, so the slices are on char boundaries.
    Some(Group {
        prefix: &pattern[..open],
        start: &pattern[open + 1..start_end],
        end: &pattern[start_end + 1..end_end],
        suffix: &pattern[end_end + 1..],
    })
}

/// The number of names `pattern` expands to, without building them.
pub fn count(pattern: &str) -> Result<u64, NodesetError> {
    if pattern.is_empty() {
        return Ok(0);
    }
    let Some(group) = find_group(pattern) else {
        return Ok(1);
    };
    let (start, end) = bounds(pattern, &group)?;
    let count = if end < start { 0 } else { end - start + 1 };
    if count > MAX_RANGE {
        return Err(NodesetError::RangeTooLarge {
            pattern: pattern.to_owned(),
            count,
        });
    }
    Ok(count)
}

fn bounds(pattern: &str, group: &Group<'_>) -> Result<(u64, u64), NodesetError> {
    let parse = |s: &str| {
        s.parse::<u64>().map_err(|_| NodesetError::BoundTooLarge {
            pattern: pattern.to_owned(),
        })
    };
    Ok((parse(group.start)?, parse(group.end)?))
}

/// Expands one pattern into node names, appending them to `out`.
pub fn expand_into(pattern: &str, out: &mut Vec<String>) -> Result<(), NodesetError> {
    if pattern.is_empty() {
        return Ok(());
    }
    let Some(group) = find_group(pattern) else {
        out.push(pattern.to_owned());
        return Ok(());
    };
    let (start, end) = bounds(pattern, &group)?;
    if end < start {
        return Ok(());
    }
    let count = end - start + 1;
    if count > MAX_RANGE {
        return Err(NodesetError::RangeTooLarge {
            pattern: pattern.to_owned(),
            count,
        });
    }
    let width = group.start.len();
    out.reserve(count as usize);
    for n in start..=end {
        out.push(format!("{}{n:0width$}{}", group.prefix, group.suffix));
    }
    Ok(())
}

/// Expands one pattern into node names (see the module docs for the grammar).
pub fn expand(pattern: &str) -> Result<Vec<String>, NodesetError> {
    let mut out = Vec::new();
    expand_into(pattern, &mut out)?;
    Ok(out)
}

/// Expands a device's `instance` into `(slot, name)` pairs, in order.
///
/// A single pattern or a list is numbered 1..n in expansion order; a slot map keeps its
/// keys (every name a map value expands to gets that value's key).
pub fn expand_instance(spec: &InstanceSpec) -> Result<Vec<(u32, String)>, NodesetError> {
    let mut names = Vec::new();
    match spec {
        InstanceSpec::Single(pattern) => {
            expand_into(pattern, &mut names)?;
            Ok(number(names))
        }
        InstanceSpec::List(items) => {
            for item in items {
                expand_into(item, &mut names)?;
            }
            Ok(number(names))
        }
        InstanceSpec::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (slot, pattern) in entries {
                names.clear();
                expand_into(pattern, &mut names)?;
                out.extend(names.drain(..).map(|name| (*slot, name)));
            }
            Ok(out)
        }
    }
}

/// The number of names [`expand_instance`] gives, without building them.
pub fn count_instance(spec: &InstanceSpec) -> Result<u64, NodesetError> {
    match spec {
        InstanceSpec::Single(pattern) => count(pattern),
        InstanceSpec::List(items) => items.iter().map(|p| count(p)).sum(),
        InstanceSpec::Map(entries) => entries.iter().map(|(_, p)| count(p)).sum(),
    }
}

fn number(names: Vec<String>) -> Vec<(u32, String)> {
    // Slots are 1-based; a device never has more than u32::MAX names (each pattern is
    // capped at MAX_RANGE), but saturate rather than wrap to be safe.
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| (u32::try_from(i + 1).unwrap_or(u32::MAX), name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(p: &str) -> Vec<String> {
        expand(p).unwrap()
    }

    #[test]
    fn single_names_and_empty() {
        assert_eq!(ex("tor-sw-01"), ["tor-sw-01"]);
        assert!(ex("").is_empty());
        assert_eq!(count("").unwrap(), 0);
        assert_eq!(count("x").unwrap(), 1);
    }

    #[test]
    fn simple_range_keeps_width_of_start() {
        assert_eq!(
            ex("compute[001-003]"),
            ["compute001", "compute002", "compute003"]
        );
        assert_eq!(ex("n[1-3]"), ["n1", "n2", "n3"]);
        let v = ex("n[1-10]");
        assert_eq!(v.first().unwrap(), "n1");
        assert_eq!(v.last().unwrap(), "n10");
        let v = ex("n[01-100]");
        assert_eq!(v.len(), 100);
        assert_eq!(v[0], "n01");
        assert_eq!(v[98], "n99");
        assert_eq!(v[99], "n100");
        assert_eq!(ex("x[001-3]"), ["x001", "x002", "x003"]);
        assert_eq!(ex("x[1-003]"), ["x1", "x2", "x3"]);
    }

    #[test]
    fn suffix_is_kept() {
        assert_eq!(ex("rack[01-02]-pdu"), ["rack01-pdu", "rack02-pdu"]);
    }

    #[test]
    fn only_first_group_is_expanded() {
        assert_eq!(ex("a[1-2]b[3-4]"), ["a1b[3-4]", "a2b[3-4]"]);
        // A malformed bracket before a good one is part of the prefix.
        assert_eq!(ex("x[a-b][1-2]"), ["x[a-b]1", "x[a-b]2"]);
        assert_eq!(ex("x[1-2"), ["x[1-2"]);
        assert_eq!(ex("x[[1-2]]"), ["x[1]", "x[2]"]);
    }

    #[test]
    fn empty_prefix_expands() {
        assert_eq!(ex("[1-3]"), ["1", "2", "3"]);
    }

    #[test]
    fn reversed_range_is_empty() {
        assert!(ex("n[3-1]").is_empty());
        assert_eq!(count("n[3-1]").unwrap(), 0);
    }

    #[test]
    fn malformed_groups_are_literal() {
        for p in [
            "n[01,03]", "n[a-c]", "n[ 1-2]", "n[-1-2]", "n[1-]", "n[-2]", "n[]", "n[1 -2]",
        ] {
            assert_eq!(ex(p), [p], "{p}");
        }
    }

    #[test]
    fn non_ascii_digits_are_not_digits() {
        assert_eq!(ex("n[١-٣]"), ["n[١-٣]"]);
        assert_eq!(ex("nœud[1-2]é"), ["nœud1é", "nœud2é"]);
    }

    #[test]
    fn cap_is_ten_thousand() {
        assert_eq!(ex("n[1-10000]").len(), 10_000);
        assert_eq!(count("n[0-9999]").unwrap(), 10_000);
        let err = expand("n[0-10000]").unwrap_err();
        assert_eq!(
            err,
            NodesetError::RangeTooLarge {
                pattern: "n[0-10000]".into(),
                count: 10_001
            }
        );
        assert!(count("n[0-10000]").is_err());
        assert!(err.to_string().contains("Instance range too large"));
    }

    #[test]
    fn huge_bounds_are_an_error() {
        assert!(matches!(
            expand("n[1-99999999999999999999999]"),
            Err(NodesetError::BoundTooLarge { .. })
        ));
    }

    #[test]
    fn instance_single_and_list_are_numbered() {
        let spec = InstanceSpec::Single("c[1-2]".into());
        assert_eq!(
            expand_instance(&spec).unwrap(),
            [(1, "c1".to_string()), (2, "c2".to_string())]
        );
        let spec = InstanceSpec::List(vec!["a".into(), "b[1-2]".into(), "".into(), "c".into()]);
        let got = expand_instance(&spec).unwrap();
        assert_eq!(
            got,
            [
                (1, "a".to_string()),
                (2, "b1".to_string()),
                (3, "b2".to_string()),
                (4, "c".to_string())
            ]
        );
        assert_eq!(count_instance(&spec).unwrap(), 4);
    }

    #[test]
    fn instance_map_keeps_keys_and_order() {
        let spec = InstanceSpec::Map(vec![(3, "z".into()), (1, "a".into()), (2, "m[1-2]".into())]);
        assert_eq!(
            expand_instance(&spec).unwrap(),
            [
                (3, "z".to_string()),
                (1, "a".to_string()),
                (2, "m1".to_string()),
                (2, "m2".to_string())
            ]
        );
    }

    #[test]
    fn instance_empty_forms() {
        assert!(expand_instance(&InstanceSpec::default())
            .unwrap()
            .is_empty());
        assert!(expand_instance(&InstanceSpec::Single(String::new()))
            .unwrap()
            .is_empty());
        assert!(expand_instance(&InstanceSpec::List(vec![]))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn instance_errors_propagate() {
        let spec = InstanceSpec::List(vec!["ok".into(), "n[1-20000]".into()]);
        assert!(expand_instance(&spec).is_err());
        assert!(count_instance(&spec).is_err());
    }
}
