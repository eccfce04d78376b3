//! The instant-query caches and the in-flight map, kept together in one [`QueryCache`]
//! so that "look in the cache, else join the running request, else start one" and
//! "store the answer and retire the request" are each one atomic step.
//!
//! There are three caches (generic, health, metrics), each keyed by the exact query
//! string and with its own TTL. The in-flight map is shared by all kinds: a health query
//! and a metrics query with the same text share one HTTP request, and its answer is stored
//! in every cache that asked for it. Errors are never stored.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, Shared};
use serde_json::Value;

use super::{PromError, PromSettings};

/// How often expired entries are swept out, piggybacked on lookups. Entries are checked
/// against their TTL on every lookup anyway; the sweep only bounds memory.
const EVICT_EVERY: Duration = Duration::from_secs(60);

/// Which cache an instant query may be answered from (and stored into).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKind {
    /// Always ask Prometheus (identical concurrent queries are still merged).
    None,
    /// TTL `cache.ttl_seconds`.
    Generic,
    /// TTL `cache.health_checks_ttl_seconds`; used by health checks.
    Health,
    /// TTL `cache.metrics_ttl_seconds`; used by metric charts.
    Metrics,
}

impl CacheKind {
    /// Parses the names plugins use: "generic", "health", "metrics", "none" (or "").
    pub fn parse(name: &str) -> Option<CacheKind> {
        match name {
            "" | "none" => Some(CacheKind::None),
            "generic" => Some(CacheKind::Generic),
            "health" => Some(CacheKind::Health),
            "metrics" => Some(CacheKind::Metrics),
            _ => None,
        }
    }

    /// This kind's TTL under `settings`; `None` for [`CacheKind::None`].
    pub fn ttl(self, settings: &PromSettings) -> Option<Duration> {
        match self {
            CacheKind::None => None,
            CacheKind::Generic => Some(settings.ttl_generic),
            CacheKind::Health => Some(settings.ttl_health),
            CacheKind::Metrics => Some(settings.ttl_metrics),
        }
    }

    fn slot(self) -> Option<usize> {
        match self {
            CacheKind::None => None,
            CacheKind::Generic => Some(0),
            CacheKind::Health => Some(1),
            CacheKind::Metrics => Some(2),
        }
    }
}

const KINDS: [CacheKind; 3] = [CacheKind::Generic, CacheKind::Health, CacheKind::Metrics];

/// The result every caller of one merged request receives.
pub(crate) type SharedFetch = Shared<BoxFuture<'static, Result<Arc<Value>, PromError>>>;

struct Entry {
    stored: Instant,
    value: Arc<Value>,
}

struct Flight {
    /// Tells this request apart from a later one for the same query (after a clear).
    id: u64,
    /// The caches to store the answer in, by slot.
    store_in: [bool; 3],
    fut: SharedFetch,
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// A fresh cached answer.
    Hit(Arc<Value>),
    /// A request for the same query is running: await this.
    Join(SharedFetch),
    /// Nothing: the caller must start the request and [`QueryCache::register`] it under
    /// `id`, then report its result with `id` and `epoch` to [`QueryCache::finish`].
    Lead { id: u64, epoch: u64 },
}

/// Caches, in-flight map and hit counters. Lives behind one `parking_lot::Mutex` in the
/// client; every method is short and synchronous, so the lock is never held across `.await`.
pub(crate) struct QueryCache {
    entries: [HashMap<String, Entry>; 3],
    inflight: HashMap<String, Flight>,
    /// Bumped by [`QueryCache::clear`]; answers of requests started before are not stored.
    epoch: u64,
    next_id: u64,
    last_sweep: Instant,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
}

impl QueryCache {
    pub(crate) fn new(now: Instant) -> Self {
        QueryCache {
            entries: Default::default(),
            inflight: HashMap::new(),
            epoch: 0,
            next_id: 0,
            last_sweep: now,
            hits: 0,
            misses: 0,
        }
    }

    /// Looks `query` up in the `kind` cache, then in the in-flight map. Counts a hit or a
    /// miss for cached kinds.
    pub(crate) fn lookup(
        &mut self,
        query: &str,
        kind: CacheKind,
        settings: &PromSettings,
        now: Instant,
    ) -> Lookup {
        if now.duration_since(self.last_sweep) >= EVICT_EVERY {
            self.sweep(settings, now);
        }
        if let (Some(slot), Some(ttl)) = (kind.slot(), kind.ttl(settings)) {
            if let Some(entry) = self.entries[slot].get(query) {
                if now.duration_since(entry.stored) < ttl {
                    self.hits += 1;
                    return Lookup::Hit(entry.value.clone());
                }
            }
            self.misses += 1;
        }
        if let Some(flight) = self.inflight.get_mut(query) {
            if let Some(slot) = kind.slot() {
                flight.store_in[slot] = true;
            }
            return Lookup::Join(flight.fut.clone());
        }
        self.next_id += 1;
        Lookup::Lead {
            id: self.next_id,
            epoch: self.epoch,
        }
    }

    /// Records the request started after [`Lookup::Lead`].
    pub(crate) fn register(&mut self, query: String, id: u64, kind: CacheKind, fut: SharedFetch) {
        let mut store_in = [false; 3];
        if let Some(slot) = kind.slot() {
            store_in[slot] = true;
        }
        self.inflight.insert(query, Flight { id, store_in, fut });
    }

    /// Retires request `id` and stores a successful answer in the caches that asked for
    /// it, unless the caches were cleared since the request started.
    pub(crate) fn finish(
        &mut self,
        query: &str,
        id: u64,
        epoch: u64,
        result: &Result<Arc<Value>, PromError>,
        now: Instant,
    ) {
        let Some(flight) = self.inflight.get(query) else {
            return;
        };
        if flight.id != id {
            return;
        }
        let store_in = flight.store_in;
        self.inflight.remove(query);
        let Ok(value) = result else { return };
        if epoch != self.epoch {
            return;
        }
        for (slot, wanted) in store_in.iter().enumerate() {
            if *wanted {
                self.entries[slot].insert(
                    query.to_owned(),
                    Entry {
                        stored: now,
                        value: value.clone(),
                    },
                );
            }
        }
    }

    /// Forgets every cached answer and every running request (their callers still get
    /// their answers, which are then not stored).
    pub(crate) fn clear(&mut self) {
        for map in &mut self.entries {
            map.clear();
        }
        self.inflight.clear();
        self.epoch += 1;
    }

    /// Number of distinct queries currently being fetched.
    pub(crate) fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Number of cached answers, all kinds together (expired ones included until swept).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.iter().map(HashMap::len).sum()
    }

    fn sweep(&mut self, settings: &PromSettings, now: Instant) {
        self.last_sweep = now;
        for kind in KINDS {
            let (Some(slot), Some(ttl)) = (kind.slot(), kind.ttl(settings)) else {
                continue;
            };
            self.entries[slot].retain(|_, e| now.duration_since(e.stored) < ttl);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use serde_json::json;

    fn ready(v: Value) -> SharedFetch {
        futures::future::ready(Ok(Arc::new(v))).boxed().shared()
    }

    fn lead(
        cache: &mut QueryCache,
        q: &str,
        kind: CacheKind,
        s: &PromSettings,
        now: Instant,
    ) -> (u64, u64) {
        match cache.lookup(q, kind, s, now) {
            Lookup::Lead { id, epoch } => {
                cache.register(q.to_owned(), id, kind, ready(json!(null)));
                (id, epoch)
            }
            _ => panic!("expected a lead"),
        }
    }

    #[test]
    fn hit_until_ttl_then_miss() {
        let s = PromSettings::new("http://p");
        let t0 = Instant::now();
        let mut c = QueryCache::new(t0);
        let (id, epoch) = lead(&mut c, "up", CacheKind::Health, &s, t0);
        assert!(matches!(
            c.lookup("up", CacheKind::Health, &s, t0),
            Lookup::Join(_)
        ));
        c.finish("up", id, epoch, &Ok(Arc::new(json!(1))), t0);
        assert_eq!(c.in_flight(), 0);
        assert!(matches!(
            c.lookup("up", CacheKind::Health, &s, t0 + Duration::from_secs(29)),
            Lookup::Hit(_)
        ));
        assert!(matches!(
            c.lookup("up", CacheKind::Health, &s, t0 + Duration::from_secs(30)),
            Lookup::Lead { .. }
        ));
        // Not stored in a kind that did not ask.
        assert!(matches!(
            c.lookup("up", CacheKind::Metrics, &s, t0),
            Lookup::Lead { .. }
        ));
        assert_eq!((c.hits, c.misses), (1, 4));
    }

    #[test]
    fn joiners_of_other_kinds_get_the_answer_stored() {
        let s = PromSettings::new("http://p");
        let t0 = Instant::now();
        let mut c = QueryCache::new(t0);
        let (id, epoch) = lead(&mut c, "up", CacheKind::None, &s, t0);
        assert!(matches!(
            c.lookup("up", CacheKind::Metrics, &s, t0),
            Lookup::Join(_)
        ));
        c.finish("up", id, epoch, &Ok(Arc::new(json!(1))), t0);
        assert!(matches!(
            c.lookup("up", CacheKind::Metrics, &s, t0),
            Lookup::Hit(_)
        ));
        assert!(matches!(
            c.lookup("up", CacheKind::Generic, &s, t0),
            Lookup::Lead { .. }
        ));
    }

    #[test]
    fn errors_are_not_stored_and_clear_discards_late_answers() {
        let s = PromSettings::new("http://p");
        let t0 = Instant::now();
        let mut c = QueryCache::new(t0);
        let (id, epoch) = lead(&mut c, "up", CacheKind::Generic, &s, t0);
        c.finish("up", id, epoch, &Err(PromError::Malformed("x".into())), t0);
        let (id, epoch) = lead(&mut c, "up", CacheKind::Generic, &s, t0);
        c.clear();
        assert_eq!(c.in_flight(), 0);
        c.finish("up", id, epoch, &Ok(Arc::new(json!(1))), t0);
        assert_eq!(c.len(), 0, "an answer from before the clear is not stored");
    }

    #[test]
    fn sweep_drops_expired_entries() {
        let s = PromSettings::new("http://p");
        let t0 = Instant::now();
        let mut c = QueryCache::new(t0);
        let (id, epoch) = lead(&mut c, "a", CacheKind::Health, &s, t0);
        c.finish("a", id, epoch, &Ok(Arc::new(json!(1))), t0);
        let (id, epoch) = lead(&mut c, "b", CacheKind::Metrics, &s, t0);
        c.finish("b", id, epoch, &Ok(Arc::new(json!(1))), t0);
        assert_eq!(c.len(), 2);
        let later = t0 + Duration::from_secs(61);
        let _ = c.lookup("other", CacheKind::None, &s, later);
        assert_eq!(c.len(), 1, "health (30 s) swept, metrics (120 s) kept");
    }

    #[test]
    fn parse_names() {
        assert_eq!(CacheKind::parse("health"), Some(CacheKind::Health));
        assert_eq!(CacheKind::parse(""), Some(CacheKind::None));
        assert_eq!(CacheKind::parse("bogus"), None);
    }
}
