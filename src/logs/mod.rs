//! The in-memory log that `GET /api/logs` and its live stream serve: a bounded buffer of
//! recent log records, fed by a `tracing` layer ([`CaptureLayer`]) installed beside the
//! stderr output, so it holds exactly what the log shows (same level filter).
//!
//! Each record is encoded to JSON once when captured; messages are redacted first
//! ([`redact`]). The buffer keeps at most [`MAX_RECORDS`] records and [`MAX_BYTES`] bytes,
//! dropping the oldest; a record's message is cut at [`MAX_RECORD_BYTES`]. `_seq` counts
//! from 1 for the life of the process and never resets, not even when the buffer is
//! cleared. Waiters (live streams) are woken on every new record.
//!
//! Layout: [`layer`] (the tracing layer and the record fields), [`redact`], this file
//! (the buffer and its filters).

pub mod layer;
pub mod redact;

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

pub use layer::CaptureLayer;

/// Most records kept.
pub const MAX_RECORDS: usize = 1000;
/// Most bytes kept (records' JSON and their searchable text).
pub const MAX_BYTES: usize = 4 << 20;
/// A message longer than this is cut.
pub const MAX_RECORD_BYTES: usize = 16 << 10;

/// One captured record: what the filters read, and its JSON.
#[derive(Debug)]
pub struct Entry {
    pub seq: u64,
    pub level: &'static str,
    pub logger: String,
    pub message: String,
    pub json: Bytes,
}

impl Entry {
    fn size(&self) -> usize {
        self.json.len() + self.logger.len() + self.message.len() + 64
    }
}

/// Which records a reader wants.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Case-insensitive exact level name (`WARN` matches nothing: the name is `WARNING`).
    pub level: Option<String>,
    /// Case-insensitive substring of the message or the logger, already lowercased.
    pub search: Option<String>,
}

impl Filter {
    pub fn new(level: Option<&str>, search: Option<&str>) -> Filter {
        Filter {
            level: level.filter(|l| !l.is_empty()).map(str::to_owned),
            search: search.filter(|s| !s.is_empty()).map(str::to_lowercase),
        }
    }

    pub fn matches(&self, e: &Entry) -> bool {
        self.level
            .as_deref()
            .is_none_or(|l| l.eq_ignore_ascii_case(e.level))
            && self.search.as_deref().is_none_or(|s| {
                e.message.to_lowercase().contains(s) || e.logger.to_lowercase().contains(s)
            })
    }
}

struct Inner {
    records: VecDeque<Arc<Entry>>,
    bytes: usize,
    /// The `_seq` of the next record.
    next_seq: u64,
}

/// The buffer. One per process ([`buffer`]).
pub struct LogBuffer {
    /// A short-held lock (push, copy out Arcs): parking_lot, never held across an await,
    /// and nothing logs while holding it (the layer formats before locking).
    inner: Mutex<Inner>,
    /// Wakes live streams when a record arrives.
    pub notify: Notify,
}

/// The process's buffer.
pub fn buffer() -> &'static LogBuffer {
    static BUFFER: OnceLock<LogBuffer> = OnceLock::new();
    BUFFER.get_or_init(LogBuffer::new)
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::new()
    }
}

impl LogBuffer {
    pub fn new() -> LogBuffer {
        LogBuffer {
            inner: Mutex::new(Inner {
                records: VecDeque::new(),
                bytes: 0,
                next_seq: 1,
            }),
            notify: Notify::new(),
        }
    }

    /// Adds a record built by `make` from its `_seq`, drops the oldest over the bounds,
    /// and wakes the streams.
    pub fn push(&self, make: impl FnOnce(u64) -> Entry) {
        {
            let mut inner = self.inner.lock();
            let entry = make(inner.next_seq);
            inner.next_seq += 1;
            inner.bytes += entry.size();
            inner.records.push_back(Arc::new(entry));
            while inner.records.len() > MAX_RECORDS
                || (inner.bytes > MAX_BYTES && inner.records.len() > 1)
            {
                if let Some(old) = inner.records.pop_front() {
                    inner.bytes -= old.size();
                }
            }
        }
        self.notify.notify_waiters();
    }

    /// The `_seq` of the newest record kept, 0 when empty.
    pub fn last_seq(&self) -> u64 {
        self.inner.lock().records.back().map_or(0, |e| e.seq)
    }

    /// Matching records with `_seq > since`, oldest first: the last `n` of them when `n`
    /// is given. Also returns the newest `_seq` kept (whatever the filter).
    pub fn query(&self, filter: &Filter, since: u64, n: Option<usize>) -> (Vec<Arc<Entry>>, u64) {
        let inner = self.inner.lock();
        let last = inner.records.back().map_or(0, |e| e.seq);
        let mut out: Vec<Arc<Entry>> = inner
            .records
            .iter()
            .filter(|e| e.seq > since && filter.matches(e))
            .cloned()
            .collect();
        drop(inner);
        if let Some(n) = n {
            if out.len() > n {
                out.drain(..out.len() - n);
            }
        }
        (out, last)
    }

    /// Empties the buffer; `_seq` goes on.
    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.records.clear();
        inner.bytes = 0;
    }
}

/// `[r1,r2,...]` from encoded records.
pub fn json_list(entries: &[Arc<Entry>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.json.len() + 1).sum::<usize>() + 2);
    out.push(b'[');
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&e.json);
    }
    out.push(b']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, level: &'static str, message: &str) -> Entry {
        Entry {
            seq,
            level,
            logger: "rackscope.test".into(),
            message: message.into(),
            json: Bytes::from(format!("{{\"_seq\":{seq}}}")),
        }
    }

    #[test]
    fn bounded_by_count_and_bytes_seq_never_resets() {
        let b = LogBuffer::new();
        for i in 0..1500 {
            b.push(|seq| entry(seq, "INFO", &format!("m{i}")));
        }
        let (all, last) = b.query(&Filter::default(), 0, None);
        assert_eq!(all.len(), MAX_RECORDS);
        assert_eq!((all[0].seq, last), (501, 1500));
        b.clear();
        assert_eq!(b.last_seq(), 0);
        b.push(|seq| entry(seq, "INFO", "after"));
        assert_eq!(b.last_seq(), 1501);
        let big = "x".repeat(MAX_RECORD_BYTES);
        for _ in 0..600 {
            b.push(|seq| entry(seq, "INFO", &big));
        }
        let (kept, _) = b.query(&Filter::default(), 0, None);
        assert!(kept.len() < 600 && kept.iter().map(|e| e.size()).sum::<usize>() <= MAX_BYTES);
    }

    #[test]
    fn filters_then_last_n() {
        let b = LogBuffer::new();
        b.push(|s| entry(s, "INFO", "GET /api/racks - 200"));
        b.push(|s| entry(s, "WARNING", "Prometheus slow"));
        b.push(|s| entry(s, "INFO", "GET /api/rooms - 200"));
        b.push(|s| entry(s, "ERROR", "boom"));
        let f = Filter::new(Some("info"), None);
        let (r, last) = b.query(&f, 0, Some(1));
        assert_eq!((r.len(), r[0].seq, last), (1, 3, 4));
        assert!(b
            .query(&Filter::new(Some("WARN"), None), 0, None)
            .0
            .is_empty());
        let (r, _) = b.query(&Filter::new(None, Some("PROMETHEUS")), 0, None);
        assert_eq!(r[0].seq, 2);
        let (r, _) = b.query(&Filter::new(None, Some("rackscope.TEST")), 2, None);
        assert_eq!(r.len(), 2);
        assert_eq!(json_list(&r), b"[{\"_seq\":3},{\"_seq\":4}]");
    }
}
