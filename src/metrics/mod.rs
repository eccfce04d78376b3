//! A metrics registry per plugin, served in the Prometheus text exposition format on a
//! listener the plugin asks for (`rackscope.metrics.serve("127.0.0.1:9000")`), which a
//! real Prometheus scrapes. The simulator plugin publishes its samples this way.
//!
//! Built for large registries (hundreds of thousands of series, updated every tick):
//! each series renders its `name{labels}` prefix once, when it is created, and a plugin
//! can take a numeric handle per series and update a whole family in one call
//! (`set_many`), instead of one Lua call and one label lookup per sample. Larger still,
//! a family can hold blocks of series over a shared label table
//! ([`block`]), rendered at scrape time after its single series.
//!
//! The registry is shared between the plugin thread (writes) and the scrape listener on
//! the main runtime (reads), behind a `parking_lot::RwLock`: never held across an
//! `.await`, and a scrape only blocks writers for the time it takes to render.

use std::fmt::Write as _;
use std::sync::Arc;

use indexmap::IndexMap;
use parking_lot::RwLock;

pub mod block;

/// A misuse of the registry (a bad name, a wrong number of labels, an unknown family):
/// the message is meant for the plugin author, who gets it at their line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MetricsError(pub String);

impl From<&str> for MetricsError {
    fn from(msg: &str) -> Self {
        MetricsError(msg.to_string())
    }
}

use block::{Block, LabelTable};

/// `gauge` or `counter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

#[derive(Debug)]
struct Family {
    kind: Kind,
    help: String,
    labels: Vec<String>,
    /// `name{label="value",...}` (escaped, ready to print) -> value. The rendered prefix
    /// is also the lookup key, so label values are stored once. A series' position is
    /// its handle; a removed series keeps its slot (None) until the family is cleared,
    /// so other handles stay valid.
    series: IndexMap<Box<str>, Option<f64>>,
    /// Bulk series ([`block`]), rendered after `series`.
    blocks: Vec<Block>,
}

impl Family {
    fn check_arity<S: AsRef<str>>(&self, name: &str, values: &[S]) -> Result<(), MetricsError> {
        if values.len() != self.labels.len() {
            return Err(MetricsError(format!(
                "metric '{name}' expects {} label values, got {}",
                self.labels.len(),
                values.len()
            )));
        }
        Ok(())
    }

    /// The block and row that hold the series with these label values, if any.
    fn in_block<S: AsRef<str>>(&self, values: &[S]) -> Option<(usize, usize)> {
        if self.blocks.is_empty() {
            return None;
        }
        self.blocks
            .iter()
            .enumerate()
            .find_map(|(b, blk)| blk.find(values).map(|r| (b, r)))
    }

    fn slot<S: AsRef<str>>(&mut self, name: &str, values: &[S]) -> Result<usize, MetricsError> {
        self.check_arity(name, values)?;
        if self.in_block(values).is_some() {
            return Err(MetricsError(format!(
                "this series of metric '{name}' belongs to a block: update it through the block"
            )));
        }
        let prefix = render_prefix(name, &self.labels, values);
        let entry = self.series.entry(prefix);
        let i = entry.index();
        entry.or_insert(None).get_or_insert(0.0);
        Ok(i)
    }

    fn live(&self) -> usize {
        self.series.values().filter(|v| v.is_some()).count()
            + self.blocks.iter().map(Block::live).sum::<usize>()
    }

    /// Series slots: the single series, then every block's rows.
    fn len(&self) -> usize {
        self.series.len() + self.blocks.iter().map(Block::len).sum::<usize>()
    }

    /// Renders the slots `range` (see [`Family::len`]).
    fn render_range(&self, name: &str, range: std::ops::Range<usize>, out: &mut String) {
        let m = self.series.len();
        if let Some(slice) = self.series.get_range(range.start.min(m)..range.end.min(m)) {
            for (prefix, value) in slice {
                if let Some(v) = value {
                    out.push_str(prefix);
                    out.push(' ');
                    push_value(out, *v);
                    out.push('\n');
                }
            }
        }
        let mut base = m;
        for b in &self.blocks {
            let end = base + b.len();
            if range.end > base && range.start < end {
                b.render(
                    name,
                    range.start.saturating_sub(base)..range.end.min(end) - base,
                    out,
                );
            }
            base = end;
        }
    }
}

/// All metric families of one plugin instance.
#[derive(Debug, Default)]
pub struct MetricsRegistry {
    families: RwLock<IndexMap<String, Family>>,
}

/// Checks a metric or label name against Prometheus's grammar.
pub fn valid_name(name: &str, allow_colon: bool) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || (allow_colon && c == ':') => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (allow_colon && c == ':'))
}

impl MetricsRegistry {
    /// Declares a family (idempotent when the declaration is the same).
    pub fn declare(
        &self,
        name: &str,
        kind: Kind,
        help: &str,
        labels: Vec<String>,
    ) -> Result<(), MetricsError> {
        if !valid_name(name, true) {
            return Err(MetricsError(format!("invalid metric name '{name}'")));
        }
        if let Some(bad) = labels
            .iter()
            .find(|l| !valid_name(l, false) || l.starts_with("__"))
        {
            return Err(MetricsError(format!("invalid label name '{bad}'")));
        }
        let mut fams = self.families.write();
        if let Some(f) = fams.get(name) {
            if f.kind != kind || f.labels != labels {
                return Err(MetricsError(format!(
                    "metric '{name}' is already declared with other labels or type"
                )));
            }
            return Ok(());
        }
        fams.insert(
            name.to_string(),
            Family {
                kind,
                help: help.to_string(),
                labels,
                series: IndexMap::new(),
                blocks: Vec::new(),
            },
        );
        Ok(())
    }

    /// Sets (or, with `add`, increments) one series, creating it if needed.
    pub fn set<S: AsRef<str>>(
        &self,
        name: &str,
        values: &[S],
        v: f64,
        add: bool,
    ) -> Result<(), MetricsError> {
        let mut fams = self.families.write();
        let f = fams
            .get_mut(name)
            .ok_or_else(|| MetricsError(format!("unknown metric '{name}'")))?;
        f.check_arity(name, values)?;
        if let Some((b, r)) = f.in_block(values) {
            let blk = &mut f.blocks[b];
            if add {
                blk.add(r, v);
            } else {
                blk.set(r, Some(v));
            }
            return Ok(());
        }
        let i = f.slot(name, values)?;
        if let Some((_, Some(cur))) = f.series.get_index_mut(i) {
            *cur = if add { *cur + v } else { v };
        }
        Ok(())
    }

    /// The handle (0-based slot) of a series, creating it (value 0) if needed.
    pub fn handle<S: AsRef<str>>(&self, name: &str, values: &[S]) -> Result<usize, MetricsError> {
        let mut fams = self.families.write();
        let f = fams
            .get_mut(name)
            .ok_or_else(|| MetricsError(format!("unknown metric '{name}'")))?;
        f.slot(name, values)
    }

    /// Sets many series by handle in one lock. Unknown or removed handles are skipped;
    /// returns how many were set.
    pub fn set_many(
        &self,
        name: &str,
        updates: impl IntoIterator<Item = (usize, f64)>,
    ) -> Result<usize, MetricsError> {
        let mut fams = self.families.write();
        let f = fams
            .get_mut(name)
            .ok_or_else(|| MetricsError(format!("unknown metric '{name}'")))?;
        let mut n = 0;
        for (i, v) in updates {
            if let Some((_, Some(cur))) = f.series.get_index_mut(i) {
                *cur = v;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Adds a block of series over `table` to family `name` (see [`block`])
    /// and returns its index. The same table and extras again return the same block; a
    /// block that would repeat a series of the family is refused.
    pub fn add_block(
        &self,
        name: &str,
        table: Arc<LabelTable>,
        extras: Vec<(String, String)>,
    ) -> Result<usize, MetricsError> {
        let mut fams = self.families.write();
        let f = fams
            .get_mut(name)
            .ok_or_else(|| MetricsError(format!("unknown metric '{name}'")))?;
        if let Some(i) = f.blocks.iter().position(|b| b.same_as(&table, &extras)) {
            return Ok(i);
        }
        let block = Block::new(name, &f.labels, table, extras)?;
        if f.blocks.iter().any(|b| b.overlaps(&block)) {
            return Err(MetricsError(format!(
                "this block would repeat series that another block of metric '{name}' already has"
            )));
        }
        if !f.series.is_empty()
            && (0..block.len()).any(|r| f.series.contains_key(block.prefix(name, r).as_str()))
        {
            return Err(MetricsError(format!(
                "this block would repeat series of metric '{name}' set one by one"
            )));
        }
        f.blocks.push(block);
        Ok(f.blocks.len() - 1)
    }

    /// Applies `(row, value)` updates to block `block` of family `name` in one lock: a
    /// value sets the row (making it present), `None` removes it. Rows out of range are
    /// skipped; returns how many were applied.
    pub fn block_update(
        &self,
        name: &str,
        block: usize,
        updates: impl IntoIterator<Item = (usize, Option<f64>)>,
    ) -> usize {
        let mut fams = self.families.write();
        let Some(b) = fams.get_mut(name).and_then(|f| f.blocks.get_mut(block)) else {
            return 0;
        };
        updates.into_iter().filter(|(r, v)| b.set(*r, *v)).count()
    }

    /// Sets every row of a block to `v`, or removes them all with `None`.
    pub fn block_fill(&self, name: &str, block: usize, v: Option<f64>) {
        let mut fams = self.families.write();
        if let Some(b) = fams.get_mut(name).and_then(|f| f.blocks.get_mut(block)) {
            b.fill(v);
        }
    }

    /// Rows and present rows of a block.
    pub fn block_size(&self, name: &str, block: usize) -> (usize, usize) {
        let fams = self.families.read();
        fams.get(name)
            .and_then(|f| f.blocks.get(block))
            .map(|b| (b.len(), b.live()))
            .unwrap_or((0, 0))
    }

    /// Removes one series; true if it existed. Its handle stays unused.
    pub fn remove<S: AsRef<str>>(&self, name: &str, values: &[S]) -> bool {
        let mut fams = self.families.write();
        let Some(f) = fams.get_mut(name) else {
            return false;
        };
        if values.len() != f.labels.len() {
            return false;
        }
        if let Some((b, r)) = f.in_block(values) {
            let blk = &mut f.blocks[b];
            let was = blk.live();
            blk.set(r, None);
            return blk.live() < was;
        }
        let prefix = render_prefix(name, &f.labels, values);
        f.series.get_mut(&prefix).and_then(Option::take).is_some()
    }

    /// Drops every series of a family (or of all families when `name` is None); handles
    /// taken before are invalid afterwards.
    pub fn clear(&self, name: Option<&str>) {
        let mut fams = self.families.write();
        let clear = |f: &mut Family| {
            f.series.clear();
            f.blocks.iter_mut().for_each(Block::clear);
        };
        match name {
            Some(n) => {
                if let Some(f) = fams.get_mut(n) {
                    clear(f);
                }
            }
            None => fams.values_mut().for_each(clear),
        }
    }

    /// Number of live series across all families.
    pub fn series_count(&self) -> usize {
        self.families.read().values().map(Family::live).sum()
    }

    /// The text exposition format, every family with `# HELP` and `# TYPE`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut cursor = Cursor::default();
        while self.render_chunk(&mut cursor, usize::MAX, &mut out) {}
        out
    }

    /// Renders up to `max_series` samples from `cursor` into `out`, under the read lock,
    /// and advances the cursor; false once everything has been rendered. A scrape
    /// streams the registry chunk by chunk, so neither its memory nor its hold on the
    /// lock grows with the registry (writers wait at most one chunk).
    pub fn render_chunk(&self, cursor: &mut Cursor, max_series: usize, out: &mut String) -> bool {
        let fams = self.families.read();
        let mut budget = max_series;
        while let Some((name, f)) = fams.get_index(cursor.family) {
            if cursor.offset == 0 {
                let kind = match f.kind {
                    Kind::Gauge => "gauge",
                    Kind::Counter => "counter",
                };
                let _ = writeln!(out, "# HELP {name} {}", escape_help(&f.help));
                let _ = writeln!(out, "# TYPE {name} {kind}");
            }
            // A family cleared between two chunks simply ends early.
            let len = f.len();
            let end = len.min(cursor.offset.saturating_add(budget));
            f.render_range(name, cursor.offset..end, out);
            budget -= end.saturating_sub(cursor.offset);
            if end < len {
                cursor.offset = end;
                return true;
            }
            cursor.family += 1;
            cursor.offset = 0;
            if budget == 0 {
                return cursor.family < fams.len();
            }
        }
        false
    }
}

/// Where a chunked render goes on: family position and series offset in it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cursor {
    family: usize,
    offset: usize,
}

fn render_prefix<S: AsRef<str>>(name: &str, labels: &[String], values: &[S]) -> Box<str> {
    let len = name.len()
        + 2
        + labels
            .iter()
            .zip(values)
            .map(|(l, v)| l.len() + v.as_ref().len() + 4)
            .sum::<usize>();
    let mut p = String::with_capacity(len);
    p.push_str(name);
    if !labels.is_empty() {
        p.push('{');
        for (i, (l, v)) in labels.iter().zip(values).enumerate() {
            if i > 0 {
                p.push(',');
            }
            p.push_str(l);
            p.push_str("=\"");
            push_escaped_label(&mut p, v.as_ref());
            p.push('"');
        }
        p.push('}');
    }
    p.into_boxed_str()
}

/// Appends a label value, escaped for the exposition format.
fn push_escaped_label(out: &mut String, s: &str) {
    if !s.contains(['\\', '"', '\n']) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

pub(crate) fn push_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

pub(crate) fn escape_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped_label(&mut out, s);
    out
}

/// Samples per chunk of a streamed scrape (about 1-2 MiB of text).
const CHUNK_SERIES: usize = 16_384;

/// The registry as a stream of text chunks, each rendered off the async runtime.
fn chunks(
    reg: Arc<MetricsRegistry>,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send {
    futures::stream::unfold(Some((reg, Cursor::default())), |state| async move {
        let (reg, mut cursor) = state?;
        let rendered = tokio::task::spawn_blocking(move || {
            let mut out = String::with_capacity(2 << 20);
            let more = reg.render_chunk(&mut cursor, CHUNK_SERIES, &mut out);
            (reg, cursor, out, more)
        })
        .await;
        match rendered {
            Ok((reg, cursor, out, more)) => {
                let next = more.then_some((reg, cursor));
                Some((Ok(bytes::Bytes::from(out)), next))
            }
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    })
}

/// Where a scrape listener finds the registry to serve: asked at each scrape, so a
/// reload's new registry is served from the moment it is swapped in.
pub type CurrentRegistry = Arc<dyn Fn() -> Option<Arc<MetricsRegistry>> + Send + Sync>;

/// Serves `/metrics` for whatever registry `current` returns at scrape time, until the
/// future is dropped (the task running it aborted).
pub async fn serve(listener: tokio::net::TcpListener, current: CurrentRegistry) {
    use axum::http::header;
    use axum::response::IntoResponse;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let current = current.clone();
            async move {
                let body = match current() {
                    Some(reg) => axum::body::Body::from_stream(chunks(reg)),
                    None => axum::body::Body::empty(),
                };
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    body,
                )
                    .into_response()
            }
        }),
    );
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!(error = %e, "metrics listener stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_exposition_format() {
        let r = MetricsRegistry::default();
        r.declare(
            "node_up",
            Kind::Gauge,
            "Node is up",
            vec!["instance".into()],
        )
        .unwrap();
        r.set("node_up", &["n\"1"], 1.0, false).unwrap();
        r.declare("x_total", Kind::Counter, "X", vec![]).unwrap();
        r.set("x_total", &[] as &[&str], 2.5, true).unwrap();
        r.set("x_total", &[] as &[&str], 2.5, true).unwrap();
        let text = r.render();
        assert_eq!(
            text,
            "# HELP node_up Node is up\n# TYPE node_up gauge\nnode_up{instance=\"n\\\"1\"} 1\n# HELP x_total X\n# TYPE x_total counter\nx_total 5\n"
        );
        assert!(r.set("node_up", &[] as &[&str], 1.0, false).is_err());
        assert!(r.declare("bad name", Kind::Gauge, "", vec![]).is_err());
        assert!(r
            .declare("node_up", Kind::Counter, "", vec!["instance".into()])
            .is_err());
        assert!(r.remove("node_up", &["n\"1"]));
        assert_eq!(r.series_count(), 1);
    }

    #[test]
    fn chunked_render_equals_the_whole() {
        let r = MetricsRegistry::default();
        for f in 0..5 {
            let name = format!("f{f}");
            r.declare(&name, Kind::Gauge, "F", vec!["i".into()])
                .unwrap();
            for i in 0..(f * 7) {
                r.set(&name, &[i.to_string()], i as f64, false).unwrap();
            }
        }
        // A family mixing single series and two blocks (one with an absent row).
        use super::block::ColumnInput;
        r.declare("b", Kind::Gauge, "B", vec!["i".into(), "k".into()])
            .unwrap();
        r.set("b", &["x", "single"], 1.0, false).unwrap();
        let t = Arc::new(
            LabelTable::new(vec![(
                "i".into(),
                ColumnInput::Rows((0..9).map(|i| i.to_string()).collect()),
            )])
            .unwrap(),
        );
        for (k, blk) in [("one", 0usize), ("two", 1)] {
            let b = r
                .add_block("b", t.clone(), vec![("k".into(), k.into())])
                .unwrap();
            assert_eq!(b, blk);
            r.block_update("b", b, (0..9).map(|i| (i, (i != 4).then_some(i as f64))));
        }
        assert_eq!(r.series_count(), 70 + 1 + 16);
        let whole = r.render();
        assert_eq!(whole.matches("b{").count(), 17);
        assert!(whole.contains("b{i=\"8\",k=\"two\"} 8\n"));
        for chunk in [1, 3, 7, 100] {
            let mut out = String::new();
            let mut c = Cursor::default();
            let mut calls = 0;
            while r.render_chunk(&mut c, chunk, &mut out) {
                calls += 1;
                assert!(calls < 1000);
            }
            assert_eq!(out, whole, "chunk size {chunk}");
        }
    }

    #[test]
    fn handles_and_bulk_updates() {
        let r = MetricsRegistry::default();
        r.declare("t", Kind::Gauge, "T", vec!["n".into()]).unwrap();
        let a = r.handle("t", &["a"]).unwrap();
        let b = r.handle("t", &["b"]).unwrap();
        assert_eq!(r.handle("t", &["a"]).unwrap(), a);
        assert_eq!(r.set_many("t", [(a, 1.5), (b, 2.0), (99, 3.0)]).unwrap(), 2);
        assert!(r.render().ends_with("t{n=\"a\"} 1.5\nt{n=\"b\"} 2\n"));
        assert!(r.remove("t", &["a"]));
        assert_eq!(
            r.set_many("t", [(a, 7.0), (b, 8.0)]).unwrap(),
            1,
            "removed handles are skipped"
        );
        assert!(!r.render().contains("n=\"a\""));
        assert_eq!(
            r.handle("t", &["a"]).unwrap(),
            a,
            "re-adding keeps the handle"
        );
        assert!(r.render().contains("t{n=\"a\"} 0\n"));
        r.remove("t", &["a"]);
        r.clear(Some("t"));
        assert_eq!(r.series_count(), 0);
        assert_eq!(r.render(), "# HELP t T\n# TYPE t gauge\n");
    }
}
