//! Editing app.yaml in place: the changes between two configs, applied to the file's own
//! text so that what a client did not change stays exactly as the admin wrote it.
//!
//! [`diff`] turns two config documents into leaf changes (objects recurse; lists and
//! scalars are replaced whole). [`apply`] applies them to a YAML text: first as line edits
//! of the block-style layout people write (a value replaced after its key, a missing key
//! inserted at the end of its section, a removed key's lines dropped), which keeps every
//! comment and the layout; the result is accepted only if it parses to exactly the intended
//! document. Otherwise (flow style, anchors, multi-line scalars) the parsed document with
//! the changes is written back: same keys and values, comments lost. Either way, keys the
//! changes do not name are never added, so nothing appears in the file that was not there.

use serde_json::{Map, Value};

/// One leaf change of a config document.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Set the value at this key path (intermediate maps are created as needed).
    Set(Vec<String>, Value),
    /// Remove the key at this path.
    Remove(Vec<String>),
}

/// Why a document could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("not valid YAML ({0})")]
    Parse(String),
    #[error("the document is not a mapping")]
    NotMapping,
    #[error("`{0}` is not a mapping")]
    NotAMapping(String),
    #[error("cannot serialise the document ({0})")]
    Serialise(String),
}

/// The changes that turn `old` into `new`: maps are compared key by key, anything else is
/// replaced whole when it differs.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    diff_into(&mut Vec::new(), old, new, &mut out);
    out
}

fn diff_into(path: &mut Vec<String>, old: &Value, new: &Value, out: &mut Vec<Change>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, bv) in b {
                path.push(k.clone());
                match a.get(k) {
                    Some(av) => diff_into(path, av, bv, out),
                    None => out.push(Change::Set(path.clone(), bv.clone())),
                }
                path.pop();
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                path.push(k.clone());
                out.push(Change::Remove(path.clone()));
                path.pop();
            }
        }
        _ if old != new => out.push(Change::Set(path.clone(), new.clone())),
        _ => {}
    }
}

/// Merges `patch` into `base` at every depth: a key `patch` leaves out keeps its value in
/// `base`, a map merges into a map, anything else (a list, a scalar, `null`) replaces.
/// This is how `PUT /api/config` treats a body: clients send what they know, and keys
/// they do not know (ours, or ones they never showed) keep their stored values.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, pv) in p {
                match b.get_mut(k) {
                    Some(bv) if bv.is_object() && pv.is_object() => merge(bv, pv),
                    _ => {
                        b.insert(k.clone(), pv.clone());
                    }
                }
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

/// Parses a YAML document as JSON; an empty document is `{}`.
pub fn parse(text: &str) -> Result<Value, EditError> {
    let v: Value = serde_norway::from_str(text).map_err(|e| EditError::Parse(e.to_string()))?;
    Ok(if v.is_null() {
        Value::Object(Map::new())
    } else {
        v
    })
}

/// `text` with `changes` applied, comments kept when the layout allows (see the module).
pub fn apply(text: &str, changes: &[Change]) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    if !doc.is_object() {
        return Err(EditError::NotMapping);
    }
    for c in changes {
        apply_to_doc(&mut doc, c)?;
    }
    if changes.is_empty() {
        return Ok(text.to_string());
    }
    let mut edited = Some(text.to_string());
    for c in changes {
        edited = edited.and_then(|t| line_edit(&t, c));
    }
    if let Some(edited) = edited {
        if parse(&edited).ok().as_ref() == Some(&doc) {
            return Ok(edited);
        }
    }
    let body = serde_norway::to_string(&doc).map_err(|e| EditError::Serialise(e.to_string()))?;
    Ok(format!("{}{body}", super::view::FILE_HEADER))
}

fn apply_to_doc(doc: &mut Value, change: &Change) -> Result<(), EditError> {
    let (path, value) = match change {
        Change::Set(p, v) => (p, Some(v)),
        Change::Remove(p) => (p, None),
    };
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut node = doc;
    for (i, k) in parents.iter().enumerate() {
        let Value::Object(m) = node else {
            return Err(EditError::NotAMapping(parents[..i].join(".")));
        };
        if value.is_none() && !m.contains_key(k) {
            return Ok(());
        }
        let child = m.entry(k.clone()).or_insert(Value::Null);
        if child.is_null() {
            *child = Value::Object(Map::new());
        }
        node = child;
    }
    let Value::Object(m) = node else {
        return Err(EditError::NotAMapping(parents.join(".")));
    };
    match value {
        Some(v) => {
            m.insert(last.clone(), v.clone());
        }
        None => {
            m.shift_remove(last);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Line edits of block-style YAML.
// ---------------------------------------------------------------------------------------

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A line that holds YAML content (not blank, not only a comment).
fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// True when `line` is `<indent spaces><key>:` followed by a space, the end or a comment.
fn is_key_line(line: &str, indent: usize, key: &str) -> bool {
    indent_of(line) == indent
        && line[indent..]
            .strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\n', '\r']))
}

/// The lines after key line `at` (of indentation `indent`) that belong to its value: up to
/// the last content line that is indented deeper, or a `- ` item at the same indentation.
/// Returns the exclusive end, so trailing comments stay with what follows.
fn value_block_end(lines: &[&str], at: usize, indent: usize) -> usize {
    let mut end = at + 1;
    let mut i = at + 1;
    while i < lines.len() {
        let l = lines[i];
        if !is_content(l) {
            i += 1;
            continue;
        }
        let ind = indent_of(l);
        if ind > indent || (ind == indent && l[ind..].starts_with("- ")) {
            i += 1;
            end = i;
        } else {
            break;
        }
    }
    end
}

/// A value as one line of YAML: scalars in JSON form (a JSON string is a valid YAML
/// double-quoted scalar), lists and maps in JSON flow form.
fn render(v: &Value) -> String {
    v.to_string()
}

/// Applies one change to the text as a line edit; `None` when the layout is not one this
/// understands.
fn line_edit(text: &str, change: &Change) -> Option<String> {
    let (path, value) = match change {
        Change::Set(p, v) => (p, Some(v)),
        Change::Remove(p) => (p, None),
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (mut lo, mut hi) = (0, lines.len());
    let mut parent_indent: Option<usize> = None;
    for (depth, key) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        let child_indent = lines[lo..hi]
            .iter()
            .find(|l| is_content(l))
            .map(|l| indent_of(l));
        if let (Some(ci), Some(pi)) = (child_indent, parent_indent) {
            if ci <= pi {
                return None;
            }
        }
        let found = child_indent.and_then(|ci| {
            (lo..hi)
                .find(|&i| is_key_line(lines[i], ci, key))
                .map(|i| (i, ci))
        });
        match found {
            Some((i, ci)) => {
                let end = value_block_end(&lines, i, ci);
                let after = &lines[i][ci + key.len() + 1..];
                if !last {
                    // A section: nothing but a comment may follow its key.
                    let t = after.trim();
                    if !(t.is_empty() || t.starts_with('#')) {
                        return None;
                    }
                    (lo, hi, parent_indent) = (i + 1, end, Some(ci));
                    continue;
                }
                let mut out: Vec<String> = lines[..i].iter().map(|s| s.to_string()).collect();
                if let Some(v) = value {
                    let t = after.trim();
                    let trailing = if t.is_empty() || t.starts_with('#') {
                        after
                    } else if end == i + 1 {
                        trailing_after_value(after)?
                    } else {
                        return None;
                    };
                    out.push(format!("{}{key}: {}{trailing}", " ".repeat(ci), render(v)));
                }
                out.extend(lines[end..].iter().map(|s| s.to_string()));
                return Some(out.concat());
            }
            None => {
                let value = value?;
                if child_indent.is_none() && parent_indent.is_some() && lo < hi {
                    // The section has only comments or blank lines: unknown layout.
                    return None;
                }
                let ci = child_indent.unwrap_or_else(|| parent_indent.map_or(0, |p| p + 2));
                let at = if parent_indent.is_none() {
                    hi
                } else {
                    (lo..hi)
                        .rev()
                        .find(|&i| is_content(lines[i]))
                        .map_or(lo, |i| i + 1)
                };
                let mut inserted = String::new();
                let mut pad = ci;
                for (j, k) in path[depth..].iter().enumerate() {
                    if depth + j + 1 == path.len() {
                        inserted.push_str(&format!("{}{k}: {}\n", " ".repeat(pad), render(value)));
                    } else {
                        inserted.push_str(&format!("{}{k}:\n", " ".repeat(pad)));
                        pad += 2;
                    }
                }
                let mut out: String = lines[..at].concat();
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&inserted);
                out.push_str(&lines[at..].concat());
                return Some(out);
            }
        }
    }
    None
}

/// Given the text after `key:` on its line, returns what follows a one-line value (the
/// spacing, comment and line ending). `None` if the value is not on one line (block
/// scalars, anchors, tags, unbalanced flow collections).
pub fn trailing_after_value(after_key: &str) -> Option<&str> {
    let body_end = after_key.trim_end_matches(['\n', '\r']).len();
    let body = &after_key[..body_end];
    let lead = body.len() - body.trim_start().len();
    let v = &body[lead..];
    let value_len = if let Some(rest) = v.strip_prefix('"') {
        double_quoted_len(rest)? + 1
    } else if let Some(rest) = v.strip_prefix('\'') {
        single_quoted_len(rest)? + 1
    } else if v.starts_with(['[', '{']) {
        flow_len(v)?
    } else {
        if v.is_empty() || v.starts_with(['|', '>', '&', '*', '!']) {
            return None;
        }
        let end = v.find(" #").or_else(|| v.find("\t#")).unwrap_or(v.len());
        v[..end].trim_end().len()
    };
    let t = body[lead + value_len..].trim_start();
    if !(t.is_empty() || t.starts_with('#')) {
        return None;
    }
    Some(&after_key[lead + value_len..])
}

/// Length of a double-quoted scalar's body plus its closing quote.
fn double_quoted_len(rest: &str) -> Option<usize> {
    let mut escaped = false;
    let close = rest.char_indices().find(|&(_, c)| {
        if escaped {
            escaped = false;
            false
        } else if c == '\\' {
            escaped = true;
            false
        } else {
            c == '"'
        }
    })?;
    Some(close.0 + 1)
}

/// Length of a single-quoted scalar's body plus its closing quote (`''` is a quote).
fn single_quoted_len(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    let mut i = 0;
    loop {
        match bytes.get(i) {
            None => return None,
            Some(b'\'') if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            Some(b'\'') => return Some(i + 1),
            Some(_) => i += 1,
        }
    }
}

/// Length of a one-line flow collection (`[...]`, `{...}`) with its quotes honoured.
fn flow_len(v: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    let b = v.as_bytes();
    while i < b.len() {
        match b[i] {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'"' => i += double_quoted_len(&v[i + 1..])?,
            b'\'' => i += single_quoted_len(&v[i + 1..])?,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOC: &str = "\
# Top comment
app:
  name: Demo   # the name
paths:
  topology: topology
  plugins: ../plugins   # code folder
features:
  wizard: false
  playlist: true
auth:
  enabled: false
  trusted_networks: []   # CIDRs
  policy:
    min_length: 6
# Map section
map:
  min_zoom: 2
  center:
    lat: 1.5
";

    fn set(path: &[&str], v: Value) -> Change {
        Change::Set(path.iter().map(|s| s.to_string()).collect(), v)
    }

    fn comments(s: &str) -> usize {
        s.lines().filter(|l| l.contains('#')).count()
    }

    #[test]
    fn diff_finds_leaf_changes_and_removals() {
        let old = json!({"a": {"x": 1, "y": [1]}, "b": 2, "gone": true});
        let new = json!({"a": {"x": 1, "y": [1, 2], "z": null}, "b": 3});
        assert_eq!(
            diff(&old, &new),
            vec![
                set(&["a", "y"], json!([1, 2])),
                set(&["a", "z"], Value::Null),
                set(&["b"], json!(3)),
                Change::Remove(vec!["gone".into()]),
            ]
        );
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn merge_keeps_what_the_patch_leaves_out() {
        let mut base = json!({"paths": {"topology": "t", "plugins": "../plugins"},
                              "features": {"wizard": false, "playlist": true},
                              "views": ["a", "b"], "n": 1});
        merge(
            &mut base,
            &json!({"paths": {"topology": "t2"}, "features": {"playlist": false},
                    "views": ["c"], "n": null, "new": {"x": 1}}),
        );
        assert_eq!(
            base,
            json!({"paths": {"topology": "t2", "plugins": "../plugins"},
                   "features": {"wizard": false, "playlist": false},
                   "views": ["c"], "n": null, "new": {"x": 1}})
        );
    }

    #[test]
    fn no_change_leaves_the_text_as_is() {
        assert_eq!(apply(DOC, &[]).unwrap(), DOC);
    }

    #[test]
    fn line_edits_keep_every_comment_and_add_nothing_else() {
        let changes = [
            set(&["app", "name"], json!("Kestrel")),
            set(&["features", "wizard"], json!(true)),
            set(&["auth", "trusted_networks"], json!(["10.0.0.0/8"])),
            set(&["auth", "policy", "require_digit"], json!(true)),
            set(&["map", "center", "lat"], json!(56.8)),
            set(&["map", "max_zoom"], json!(7)),
            set(&["refresh", "room_state_seconds"], json!(60)),
            Change::Remove(vec!["features".into(), "playlist".into()]),
        ];
        let out = apply(DOC, &changes).unwrap();
        assert_eq!(comments(&out), comments(DOC), "{out}");
        assert!(out.contains("  name: \"Kestrel\"   # the name\n"), "{out}");
        assert!(
            out.contains("  trusted_networks: [\"10.0.0.0/8\"]   # CIDRs\n"),
            "{out}"
        );
        assert!(out.contains("  plugins: ../plugins   # code folder\n"));
        assert!(!out.contains("playlist"));
        let mut want = parse(DOC).unwrap();
        for c in &changes {
            apply_to_doc(&mut want, c).unwrap();
        }
        assert_eq!(parse(&out).unwrap(), want);
        assert!(!out.starts_with(crate::config::view::FILE_HEADER));
    }

    #[test]
    fn unusual_layouts_fall_back_to_the_parsed_document() {
        let doc = "# c\npaths: {topology: t}\nauth:\n  username: |\n    multi\n  enabled: true\n";
        let out = apply(
            doc,
            &[
                set(&["auth", "username"], json!("root")),
                set(&["paths", "templates"], json!("tp")),
            ],
        )
        .unwrap();
        assert!(out.starts_with(crate::config::view::FILE_HEADER));
        assert_eq!(
            parse(&out).unwrap(),
            json!({"paths": {"topology": "t", "templates": "tp"}, "auth": {"username": "root", "enabled": true}})
        );
    }

    #[test]
    fn refuses_documents_it_cannot_edit() {
        let c = [set(&["auth", "username"], json!("x"))];
        assert!(matches!(apply("- a\n", &c), Err(EditError::NotMapping)));
        assert!(matches!(
            apply("auth: 3\n", &c),
            Err(EditError::NotAMapping(_))
        ));
        assert!(matches!(apply("auth: [\n", &c), Err(EditError::Parse(_))));
    }

    #[test]
    fn the_demo_config_keeps_every_comment() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/app.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        let changes = [
            set(&["auth", "password_hash"], json!("$2b$13$x")),
            set(&["features", "wizard"], json!(true)),
            set(&["telemetry", "prometheus_url"], json!("http://prom:9090")),
            set(&["map", "center", "lat"], json!(50.0)),
            set(&["auth", "trusted_networks"], json!(["127.0.0.1"])),
        ];
        let out = apply(&text, &changes).unwrap();
        assert_eq!(out.lines().count(), text.lines().count());
        assert_eq!(comments(&out), comments(&text));
        let mut expected = parse(&text).unwrap();
        for c in &changes {
            apply_to_doc(&mut expected, c).unwrap();
        }
        assert_eq!(parse(&out).unwrap(), expected);
    }
}
