//! The encoded answers of the catalog, the checks library and the metrics library.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use bytes::Bytes;
use serde_json::json;

use super::topology::encode;
use crate::library::{ChecksLibrary, MetricsLibrary, Origin};
use crate::topology::Catalog;

/// `{"device_templates", "rack_templates", "rack_component_templates"}`, and where each
/// device template lies in it (the first of an id; the catalog keeps ids unique).
pub fn write_catalog(catalog: &Catalog) -> (Vec<u8>, HashMap<String, Range<usize>>) {
    let mut buf = b"{\"device_templates\":[".to_vec();
    let mut ranges = HashMap::with_capacity(catalog.device_templates().len());
    for (i, t) in catalog.device_templates().iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        let start = buf.len();
        buf.extend_from_slice(&encode(t));
        ranges.entry(t.id.clone()).or_insert(start..buf.len());
    }
    buf.extend_from_slice(b"],\"rack_templates\":");
    buf.extend_from_slice(&encode(catalog.rack_templates()));
    buf.extend_from_slice(b",\"rack_component_templates\":");
    buf.extend_from_slice(&encode(catalog.rack_component_templates()));
    buf.push(b'}');
    (buf, ranges)
}

/// `{"checks": [...]}`.
pub fn write_checks(checks: &ChecksLibrary) -> Vec<u8> {
    encode(&json!({ "checks": checks.checks }))
}

/// `{"files": [{name, path, relative}]}`: the files the loader read, in its order.
pub fn write_check_files(checks: &ChecksLibrary) -> Vec<u8> {
    let files: Vec<_> = checks
        .origin
        .files
        .iter()
        .map(|f| json!({"name": f.name, "path": f.path, "relative": f.name}))
        .collect();
    encode(&json!({ "files": files }))
}

/// `{"files": [{name, path}]}`.
fn write_files(origin: &Origin) -> Vec<u8> {
    let files: Vec<_> = origin
        .files
        .iter()
        .map(|f| json!({"name": f.name, "path": f.path}))
        .collect();
    encode(&json!({ "files": files }))
}

/// The metrics library's answers.
pub struct MetricsViews {
    /// `{"count", "metrics"}` without filters.
    all: Bytes,
    /// Each definition encoded, with what the filters read.
    items: Vec<(Bytes, Option<String>, Vec<String>)>,
    /// Id to position in `items`; the first of an id wins.
    ids: HashMap<String, usize>,
    pub files: Bytes,
    pub categories: Bytes,
    pub tags: Bytes,
}

impl MetricsViews {
    pub fn build(lib: &MetricsLibrary) -> MetricsViews {
        let items: Vec<_> = lib
            .metrics
            .iter()
            .map(|m| (Bytes::from(encode(m)), m.category.clone(), m.tags.clone()))
            .collect();
        let mut ids = HashMap::with_capacity(items.len());
        for (i, m) in lib.metrics.iter().enumerate() {
            ids.entry(m.id.clone()).or_insert(i);
        }
        let categories: BTreeSet<&String> = lib
            .metrics
            .iter()
            .filter_map(|m| m.category.as_ref())
            .collect();
        let tags: BTreeSet<&String> = lib.metrics.iter().flat_map(|m| &m.tags).collect();
        let all = list(items.iter().map(|(b, _, _)| b));
        MetricsViews {
            all,
            items,
            ids,
            files: Bytes::from(write_files(&lib.origin)),
            categories: Bytes::from(encode(&json!({ "categories": categories }))),
            tags: Bytes::from(encode(&json!({ "tags": tags }))),
        }
    }

    /// The library, `category` an exact match and `tag` a member; empty filters ignored.
    pub fn library(&self, category: Option<&str>, tag: Option<&str>) -> Bytes {
        let category = category.filter(|c| !c.is_empty());
        let tag = tag.filter(|t| !t.is_empty());
        if category.is_none() && tag.is_none() {
            return self.all.clone();
        }
        list(
            self.items
                .iter()
                .filter(|(_, c, tags)| {
                    category.is_none_or(|want| c.as_deref() == Some(want))
                        && tag.is_none_or(|want| tags.iter().any(|t| t == want))
                })
                .map(|(b, _, _)| b),
        )
    }

    pub fn metric(&self, id: &str) -> Option<Bytes> {
        self.ids.get(id).map(|&i| self.items[i].0.clone())
    }
}

/// `{"count": n, "metrics": [...]}` from encoded items.
fn list<'a>(items: impl Iterator<Item = &'a Bytes>) -> Bytes {
    let items: Vec<&Bytes> = items.collect();
    let mut out = format!("{{\"count\":{},\"metrics\":[", items.len()).into_bytes();
    for (i, b) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b);
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}
