//! Bulk series for large metric families: label tables and blocks.
//!
//! A plugin that publishes hundreds of thousands of series (the simulator: ~50 families
//! over every node of the topology) would pay, with one `series(labels)` call per series,
//! one Lua table, one call and one rendered `name{labels}` string per series: seconds of
//! setup and hundreds of MB. Instead:
//!
//! - a [`LabelTable`] holds the label values of many rows once, column by column, each
//!   column interned (a rack id shared by 160 nodes is stored once), already escaped for
//!   the exposition format; it is built once and shared by every family that uses it;
//! - a [`Block`] is one family's series over every row of a table, plus constant extra
//!   labels (`mode="idle"`): its memory is one `f64` and one presence flag per row, its
//!   text is assembled at scrape time, and a plugin updates it with flat arrays indexed by
//!   row.
//!
//! Rows of a table are unique (checked when it is built), and two blocks of a family can
//! never yield the same series (checked when a block is added), so a scrape never holds a
//! duplicate sample.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::{escape_label, push_value, valid_name, MetricsError};

/// One column of a [`LabelTable`].
#[derive(Debug)]
enum Column {
    /// The same (escaped) value on every row.
    Const(Box<str>),
    /// Interned escaped values and, per row, the index of its value.
    Rows { pool: Vec<Box<str>>, ids: Vec<u32> },
}

impl Column {
    fn get(&self, row: usize) -> &str {
        match self {
            Column::Const(v) => v,
            Column::Rows { pool, ids } => &pool[ids[row] as usize],
        }
    }
}

/// What a plugin passes for one column: a value per row, or one value for all rows.
#[derive(Debug, Clone)]
pub enum ColumnInput {
    Const(String),
    Rows(Vec<String>),
    /// A value per row, already interned: distinct values, and each row's index in them.
    Interned {
        pool: Vec<String>,
        ids: Vec<u32>,
    },
}

impl ColumnInput {
    fn rows(&self) -> Option<usize> {
        match self {
            ColumnInput::Const(_) => None,
            ColumnInput::Rows(v) => Some(v.len()),
            ColumnInput::Interned { ids, .. } => Some(ids.len()),
        }
    }
}

/// The label values of `len` rows, by label name. Rows are unique.
#[derive(Debug)]
pub struct LabelTable {
    /// Label names, sorted (the table's canonical column order).
    names: Vec<String>,
    columns: Vec<Column>,
    len: usize,
    /// (hash of the row's values, row), sorted: row lookup by label values.
    index: Vec<(u64, u32)>,
}

fn row_hash<'a>(values: impl Iterator<Item = &'a str>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for v in values {
        v.hash(&mut h);
    }
    h.finish()
}

impl LabelTable {
    /// Builds a table from `(label name, column)` pairs. Every per-row column must have
    /// the same length (the row count); at least one column must be per-row.
    pub fn new(columns: Vec<(String, ColumnInput)>) -> Result<LabelTable, MetricsError> {
        let mut columns = columns;
        columns.sort_by(|a, b| a.0.cmp(&b.0));
        for w in columns.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(MetricsError(format!("label '{}' is given twice", w[0].0)));
            }
        }
        if let Some((bad, _)) = columns
            .iter()
            .find(|(n, _)| !valid_name(n, false) || n.starts_with("__"))
        {
            return Err(MetricsError(format!("invalid label name '{bad}'")));
        }
        let mut len = None;
        for (name, c) in &columns {
            if let Some(rows) = c.rows() {
                match len {
                    None => len = Some(rows),
                    Some(n) if n != rows => {
                        return Err(MetricsError(format!(
                            "column '{name}' has {rows} values, other columns have {n}"
                        )))
                    }
                    Some(_) => {}
                }
            }
        }
        let len = len.ok_or("at least one column must be a list of values (one per row)")?;
        if len > u32::MAX as usize {
            return Err("too many rows".into());
        }
        let mut names = Vec::with_capacity(columns.len());
        let mut cols = Vec::with_capacity(columns.len());
        for (name, c) in columns {
            names.push(name);
            cols.push(match c {
                ColumnInput::Const(v) => Column::Const(escape_label(&v).into_boxed_str()),
                ColumnInput::Rows(values) => {
                    let mut seen: HashMap<String, u32> = HashMap::new();
                    let mut pool = Vec::new();
                    let mut ids = Vec::with_capacity(values.len());
                    for v in values {
                        let id = *seen.entry(v).or_insert_with_key(|v| {
                            pool.push(escape_label(v).into_boxed_str());
                            (pool.len() - 1) as u32
                        });
                        ids.push(id);
                    }
                    Column::Rows { pool, ids }
                }
                ColumnInput::Interned { pool, ids } => {
                    if ids.iter().any(|&i| i as usize >= pool.len()) {
                        return Err("a column has a bad interned index".into());
                    }
                    Column::Rows {
                        pool: pool
                            .iter()
                            .map(|v| escape_label(v).into_boxed_str())
                            .collect(),
                        ids,
                    }
                }
            });
        }
        let mut t = LabelTable {
            names,
            columns: cols,
            len,
            index: Vec::with_capacity(len),
        };
        let mut index: Vec<(u64, u32)> = (0..len).map(|r| (row_hash(t.row(r)), r as u32)).collect();
        index.sort_unstable();
        for w in index.windows(2) {
            if w[0].0 == w[1].0 && t.row(w[0].1 as usize).eq(t.row(w[1].1 as usize)) {
                let (a, b) = (w[0].1.min(w[1].1) + 1, w[0].1.max(w[1].1) + 1);
                return Err(MetricsError(format!(
                    "rows {a} and {b} have the same label values"
                )));
            }
        }
        t.index = index;
        Ok(t)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Label names, sorted.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The escaped values of row `r`, in [`names`](Self::names) order.
    fn row(&self, r: usize) -> impl Iterator<Item = &str> + '_ {
        self.columns.iter().map(move |c| c.get(r))
    }

    /// The row whose escaped values (in [`names`](Self::names) order) are `values`.
    fn find(&self, values: &[&str]) -> Option<usize> {
        let h = row_hash(values.iter().copied());
        let start = self.index.partition_point(|(x, _)| *x < h);
        self.index[start..]
            .iter()
            .take_while(|(x, _)| *x == h)
            .map(|(_, r)| *r as usize)
            .find(|&r| self.row(r).eq(values.iter().copied()))
    }
}

/// Where a family label's value comes from in a block.
#[derive(Debug)]
enum Source {
    Column(usize),
    Extra(Box<str>),
}

/// One family's series over every row of a label table, plus constant extra labels.
#[derive(Debug)]
pub struct Block {
    table: Arc<LabelTable>,
    /// The extra labels, by name (escaped values), for equality checks.
    extras: Vec<(String, Box<str>)>,
    /// Per family label, in the family's order: `label="` (with a leading comma after
    /// the first) and where its value comes from.
    plan: Vec<(Box<str>, Source)>,
    values: Vec<f64>,
    present: Vec<bool>,
    live: usize,
}

impl Block {
    /// A block of a family with `labels` over `table`; the table's columns and the extras
    /// must together give exactly the family's labels.
    pub fn new(
        family: &str,
        labels: &[String],
        table: Arc<LabelTable>,
        extras: Vec<(String, String)>,
    ) -> Result<Block, MetricsError> {
        let mut extras: Vec<(String, Box<str>)> = extras
            .into_iter()
            .map(|(k, v)| (k, escape_label(&v).into_boxed_str()))
            .collect();
        extras.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, _) in &extras {
            if table.names.iter().any(|n| n == k) {
                return Err(MetricsError(format!(
                    "label '{k}' is both a column of the label table and an extra label"
                )));
            }
            if !labels.contains(k) {
                return Err(MetricsError(format!(
                    "metric '{family}' has no label '{k}'"
                )));
            }
        }
        if let Some(n) = table.names.iter().find(|n| !labels.contains(n)) {
            return Err(MetricsError(format!(
                "metric '{family}' has no label '{n}' (a column of the label table)"
            )));
        }
        let mut plan = Vec::with_capacity(labels.len());
        for (i, l) in labels.iter().enumerate() {
            let source = if let Some(c) = table.names.iter().position(|n| n == l) {
                Source::Column(c)
            } else if let Some((_, v)) = extras.iter().find(|(k, _)| k == l) {
                Source::Extra(v.clone())
            } else {
                return Err(MetricsError(format!(
                    "label '{l}' of metric '{family}' is neither a column of the label table nor an extra label"
                )));
            };
            let sep = if i == 0 { "" } else { "," };
            plan.push((format!("{sep}{l}=\"").into_boxed_str(), source));
        }
        let n = table.len();
        Ok(Block {
            table,
            extras,
            plan,
            values: vec![0.0; n],
            present: vec![false; n],
            live: 0,
        })
    }

    /// Rows in the block (present or not).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Rows that currently have a value.
    pub fn live(&self) -> usize {
        self.live
    }

    /// True when this block was made from the same table and extras.
    pub fn same_as(&self, table: &Arc<LabelTable>, extras: &[(String, String)]) -> bool {
        Arc::ptr_eq(&self.table, table)
            && extras.len() == self.extras.len()
            && extras.iter().all(|(k, v)| {
                self.extras
                    .iter()
                    .any(|(k2, v2)| k == k2 && *escape_label(v) == **v2)
            })
    }

    /// Whether some series of `self` and `other` (blocks of one family) have the same
    /// labels.
    pub fn overlaps(&self, other: &Block) -> bool {
        // A label that is constant in both with different values separates them at once.
        for (k, v) in &self.extras {
            if let Some((_, v2)) = other.extras.iter().find(|(k2, _)| k2 == k) {
                if v != v2 {
                    return false;
                }
            }
        }
        if self.is_empty() || other.is_empty() {
            return false;
        }
        if Arc::ptr_eq(&self.table, &other.table) {
            return true;
        }
        // General case: look every row of `self` up in `other`.
        (0..self.len()).any(|r| other.find_escaped(&|l| self.value_of(r, l)).is_some())
    }

    /// The escaped value of family label `label` on row `r` (by plan position).
    fn value_of(&self, r: usize, label: usize) -> &str {
        match &self.plan[label].1 {
            Source::Column(c) => self.table.columns[*c].get(r),
            Source::Extra(v) => v,
        }
    }

    /// The row holding the series whose escaped label values (by family label position)
    /// `value` gives, if this block has it.
    fn find_escaped<'v>(&self, value: &dyn Fn(usize) -> &'v str) -> Option<usize> {
        let mut cols: Vec<&str> = vec![""; self.table.names.len()];
        for (i, (_, src)) in self.plan.iter().enumerate() {
            match src {
                Source::Column(c) => cols[*c] = value(i),
                Source::Extra(v) => {
                    if **v != *value(i) {
                        return None;
                    }
                }
            }
        }
        self.table.find(&cols)
    }

    /// The row holding the series with these (unescaped) label values, in the family's
    /// label order.
    pub fn find<S: AsRef<str>>(&self, values: &[S]) -> Option<usize> {
        let escaped: Vec<String> = values.iter().map(|v| escape_label(v.as_ref())).collect();
        self.find_escaped(&|i| escaped[i].as_str())
    }

    /// Sets row `r` (making it present), or removes it with `None`. False if out of range.
    pub fn set(&mut self, r: usize, v: Option<f64>) -> bool {
        let (Some(slot), Some(p)) = (self.values.get_mut(r), self.present.get_mut(r)) else {
            return false;
        };
        match v {
            Some(v) => {
                *slot = v;
                if !*p {
                    *p = true;
                    self.live += 1;
                }
            }
            None => {
                if *p {
                    *p = false;
                    self.live -= 1;
                }
            }
        }
        true
    }

    /// Adds `by` to row `r`, making it present (from 0) if needed.
    pub fn add(&mut self, r: usize, by: f64) -> bool {
        let cur = match (self.present.get(r), self.values.get(r)) {
            (Some(true), Some(v)) => *v,
            (Some(false), _) => 0.0,
            _ => return false,
        };
        self.set(r, Some(cur + by))
    }

    /// Sets every row to `v` (making them all present), or removes them all with `None`.
    pub fn fill(&mut self, v: Option<f64>) {
        match v {
            Some(v) => {
                self.values.iter_mut().for_each(|x| *x = v);
                self.present.iter_mut().for_each(|p| *p = true);
                self.live = self.values.len();
            }
            None => self.clear(),
        }
    }

    /// Removes every row.
    pub fn clear(&mut self) {
        self.present.iter_mut().for_each(|p| *p = false);
        self.live = 0;
    }

    /// Appends the present rows of `range` to `out` in the text format.
    pub fn render(&self, name: &str, range: std::ops::Range<usize>, out: &mut String) {
        let range = range.start.min(self.len())..range.end.min(self.len());
        for r in range {
            if !self.present[r] {
                continue;
            }
            out.push_str(name);
            if !self.plan.is_empty() {
                out.push('{');
                for (i, (head, _)) in self.plan.iter().enumerate() {
                    out.push_str(head);
                    out.push_str(self.value_of(r, i));
                    out.push('"');
                }
                out.push('}');
            }
            out.push(' ');
            push_value(out, self.values[r]);
            out.push('\n');
        }
    }

    /// `name{labels}` of row `r`, as [`super::metrics`] renders a single series' prefix.
    pub fn prefix(&self, name: &str, r: usize) -> String {
        let mut p = String::with_capacity(name.len() + 16 * self.plan.len());
        p.push_str(name);
        if !self.plan.is_empty() {
            p.push('{');
            for (i, (head, _)) in self.plan.iter().enumerate() {
                let _ = write!(p, "{head}{}\"", self.value_of(r, i));
            }
            p.push('}');
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[&str]) -> ColumnInput {
        ColumnInput::Rows(v.iter().map(|s| s.to_string()).collect())
    }

    fn table(cols: Vec<(&str, ColumnInput)>) -> Result<LabelTable, String> {
        LabelTable::new(cols.into_iter().map(|(n, c)| (n.to_string(), c)).collect())
            .map_err(|e| e.0)
    }

    #[test]
    fn tables_check_their_input() {
        let t = table(vec![
            ("node", rows(&["a", "b", "c"])),
            ("rack", rows(&["r1", "r1", "r2"])),
            ("job", ColumnInput::Const("node".into())),
        ])
        .unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.names(), ["job", "node", "rack"]);
        assert_eq!(t.find(&["node", "b", "r1"]), Some(1));
        assert_eq!(t.find(&["node", "b", "r2"]), None);
        let dup = table(vec![
            ("node", rows(&["a", "b", "a"])),
            ("rack", rows(&["r1", "r1", "r1"])),
        ]);
        assert_eq!(dup.unwrap_err(), "rows 1 and 3 have the same label values");
        assert!(
            table(vec![("node", rows(&["a"])), ("rack", rows(&["r", "s"]))])
                .unwrap_err()
                .contains("has 2 values")
        );
        assert!(table(vec![("job", ColumnInput::Const("x".into()))])
            .unwrap_err()
            .contains("at least one column"));
        assert!(table(vec![("__x", rows(&["a"]))])
            .unwrap_err()
            .contains("invalid label name"));
        assert!(table(vec![("x", rows(&[]))]).unwrap().is_empty());
    }

    #[test]
    fn blocks_render_in_family_label_order() {
        let t = Arc::new(
            table(vec![
                ("node", rows(&["a", "b\"q"])),
                ("rack", rows(&["r1", "r1"])),
            ])
            .unwrap(),
        );
        let labels: Vec<String> = ["rack", "mode", "node"].map(String::from).to_vec();
        let mut b = Block::new(
            "m",
            &labels,
            t.clone(),
            vec![("mode".into(), "idle".into())],
        )
        .unwrap();
        let mut out = String::new();
        b.render("m", 0..2, &mut out);
        assert_eq!(out, "", "rows are absent until set");
        assert!(b.set(0, Some(1.5)));
        assert!(b.set(1, Some(2.0)));
        assert!(!b.set(2, Some(1.0)));
        b.render("m", 0..2, &mut out);
        assert_eq!(
            out,
            "m{rack=\"r1\",mode=\"idle\",node=\"a\"} 1.5\nm{rack=\"r1\",mode=\"idle\",node=\"b\\\"q\"} 2\n"
        );
        assert_eq!(
            b.prefix("m", 1),
            "m{rack=\"r1\",mode=\"idle\",node=\"b\\\"q\"}"
        );
        assert_eq!(b.live(), 2);
        b.set(0, None);
        assert_eq!(b.live(), 1);
        assert!(b.add(0, 2.0));
        assert!(b.add(0, 2.0));
        assert_eq!(b.values[0], 4.0);
        let vals = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(b.find(&vals(&["r1", "idle", "b\"q"])), Some(1));
        assert_eq!(b.find(&vals(&["r1", "busy", "b\"q"])), None);
        // Wrong label sets are refused.
        assert!(Block::new("m", &labels, t.clone(), vec![]).is_err());
        assert!(Block::new(
            "m",
            &labels,
            t.clone(),
            vec![("mode".into(), "x".into()), ("other".into(), "y".into())]
        )
        .is_err());
        assert!(Block::new("m", &labels, t.clone(), vec![("node".into(), "x".into())]).is_err());
    }

    #[test]
    fn overlap_detection() {
        let labels: Vec<String> = ["node", "status"].map(String::from).to_vec();
        let t1 = Arc::new(table(vec![("node", rows(&["a", "b"]))]).unwrap());
        let t2 = Arc::new(table(vec![("node", rows(&["c", "b"]))]).unwrap());
        let t3 = Arc::new(table(vec![("node", rows(&["c", "d"]))]).unwrap());
        let ex = |s: &str| vec![("status".to_string(), s.to_string())];
        let a = Block::new("m", &labels, t1.clone(), ex("up")).unwrap();
        let b = Block::new("m", &labels, t1.clone(), ex("down")).unwrap();
        let c = Block::new("m", &labels, t2.clone(), ex("up")).unwrap();
        let d = Block::new("m", &labels, t3.clone(), ex("up")).unwrap();
        assert!(!a.overlaps(&b), "different constant status");
        assert!(a.overlaps(&a));
        assert!(a.overlaps(&c), "row b is in both");
        assert!(!a.overlaps(&d));
        assert!(a.same_as(&t1, &ex("up")));
        assert!(!a.same_as(&t1, &ex("down")));
        assert!(!a.same_as(&t2, &ex("up")));
    }
}
