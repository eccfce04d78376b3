//! The health engine: one background loop recomputes the snapshot every
//! `planner.cache_ttl_seconds` (and at once when the state changes), and the answers of
//! the latest snapshot are served to every request without waiting (D8).
//!
//! - One computation at a time, whatever the number of clients: only the loop computes,
//!   requests read what it published. Before the first snapshot exists, requests wait for
//!   it (bounded by the caller).
//! - A recompute in which every query failed (Prometheus down, hanging, answering
//!   garbage) does not replace a measured snapshot younger than [`stale_limit`]: that one
//!   keeps serving, marked stale with the reason. Without one, the failed snapshot is
//!   served: everything `UNKNOWN`, with the reason. After a failure the next try comes
//!   sooner ([`RETRY_AFTER_FAILURE`]), so service resumes quickly once Prometheus is back.
//! - Maintenances are applied when the answers are built: a change through the API
//!   rebuilds them at once, a change of the file or a start or expiry within a second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use serde_json::{json, Value};

use super::answers::{HealthView, Staleness};
use super::compute::{self, ForTimers, HealthSnapshot, Inputs};
use super::maintenance::MaintenanceStore;
use crate::prometheus::PromClient;

/// How soon the loop tries again after a recompute in which every query failed.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// How long a measured snapshot keeps serving (marked stale) while recomputes fail:
/// five snapshot lifetimes, at least five minutes. Older than that, states are `UNKNOWN`.
pub fn stale_limit(ttl: Duration) -> Duration {
    (ttl * 5).max(Duration::from_secs(300))
}

/// The health engine; cheap to clone.
#[derive(Clone)]
pub struct HealthEngine {
    inner: Arc<Inner>,
}

struct Inner {
    view: ArcSwapOption<HealthView>,
    /// The last snapshot in which something was measured (what a failed recompute falls
    /// back to).
    measured: ArcSwapOption<HealthSnapshot>,
    maintenances: MaintenanceStore,
    /// Serialises answer rebuilds (the loop's and maintenance changes'). Held only while
    /// building, never across an await.
    rebuild: parking_lot::Mutex<()>,
    /// Wakes the loop: the state changed.
    wake: tokio::sync::Notify,
    /// Signalled when the first answers are published.
    first: tokio::sync::Notify,
    /// Unix milliseconds of the last check of the maintenances file.
    maintenance_checked: AtomicU64,
    report: parking_lot::Mutex<Report>,
    /// The answers for inputs not measured yet, and the inputs they are for.
    placeholder: parking_lot::Mutex<Option<(Arc<Inputs>, Arc<HealthView>)>>,
}

/// What the loop did last, for `/api/stats/telemetry` and `/api/stats/prometheus`.
#[derive(Debug, Clone, Default)]
struct Report {
    recomputes: u64,
    last_at: Option<SystemTime>,
    last_took: Option<Duration>,
    last_main: usize,
    last_discovery: usize,
    last_metrics: usize,
    last_failed: usize,
    total_ids: usize,
    max_ids: usize,
    errors: Vec<String>,
    queries_ms: f64,
    assemble_ms: f64,
    answers_ms: f64,
}

fn unix_ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0)
        .unwrap_or(0.0)
}

impl HealthEngine {
    /// An engine whose maintenances live beside `app_yaml`. Nothing runs until [`run`].
    pub fn new(app_yaml: &std::path::Path) -> HealthEngine {
        HealthEngine {
            inner: Arc::new(Inner {
                view: ArcSwapOption::empty(),
                measured: ArcSwapOption::empty(),
                maintenances: MaintenanceStore::beside(app_yaml),
                rebuild: parking_lot::Mutex::new(()),
                wake: tokio::sync::Notify::new(),
                first: tokio::sync::Notify::new(),
                maintenance_checked: AtomicU64::new(0),
                report: Default::default(),
                placeholder: Default::default(),
            }),
        }
    }

    pub fn maintenances(&self) -> &MaintenanceStore {
        &self.inner.maintenances
    }

    /// Answers for `inputs` with nothing measured yet (every state `UNKNOWN`, saying the
    /// first computation has not finished): what requests get before the first snapshot,
    /// and for a room or rack the topology has but the snapshot does not yet. Built once
    /// per inputs.
    pub fn placeholder(&self, inputs: Arc<Inputs>) -> Arc<HealthView> {
        let mut cached = self.inner.placeholder.lock();
        if let Some((for_inputs, view)) = cached.as_ref() {
            if Arc::ptr_eq(for_inputs, &inputs) {
                return view.clone();
            }
        }
        let snapshot = Arc::new(HealthSnapshot::unmeasured(inputs.clone()));
        let view = Arc::new(HealthView::build(
            snapshot,
            &self.inner.maintenances.current(),
            Some(Staleness {
                reason: "the first health computation has not finished yet".into(),
            }),
        ));
        *cached = Some((inputs, view.clone()));
        view
    }

    /// The state changed: recompute now rather than at the end of the current period.
    pub fn poke(&self) {
        self.inner.wake.notify_one();
    }

    /// The current answers, or None before the first snapshot. Maintenances that started,
    /// ended or changed on disk are applied within a second: at most once a second, a
    /// request checks them, and a change rebuilds the answers off the request (on the
    /// blocking pool), while this request gets the answers in force.
    pub fn view(&self) -> Option<Arc<HealthView>> {
        let view = self.inner.view.load_full()?;
        let now_ms = unix_ms(SystemTime::now()) as u64;
        let checked = self.inner.maintenance_checked.load(Ordering::Relaxed);
        if now_ms.saturating_sub(checked) >= 1000
            && self
                .inner
                .maintenance_checked
                .compare_exchange(checked, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let me = self.clone();
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn_blocking(move || me.rebuild_if_due(false));
                }
                Err(_) => me.rebuild_if_due(false),
            }
        }
        Some(view)
    }

    /// Rebuilds the answers when the maintenances changed (through the API, on disk, or a
    /// start or expiry passed), or always with `force`. Blocking: the build walks every
    /// node.
    fn rebuild_if_due(&self, force: bool) {
        let Some(view) = self.inner.view.load_full() else {
            return;
        };
        let current = self.inner.maintenances.current();
        let now = chrono::Utc::now();
        let due = force
            || current.revision != view.maintenance_revision
            || view
                .maintenances
                .iter()
                .any(|m| m.status(&now) != super::maintenance::Status::Active)
            || current.active.len() != view.maintenances.len();
        if !due {
            return;
        }
        // Builds are serialised; a build that waited uses the latest snapshot.
        let _guard = self.inner.rebuild.lock();
        let Some(view) = self.inner.view.load_full() else {
            return;
        };
        let current = self.inner.maintenances.current();
        let fresh = HealthView::build(view.snapshot.clone(), &current, view.stale.clone());
        self.inner.view.store(Some(Arc::new(fresh)));
    }

    /// After a change through the API: the answers are rebuilt (on the blocking pool)
    /// before it returns, so the next request shows the change.
    pub async fn maintenances_changed(&self) {
        let me = self.clone();
        let _ = tokio::task::spawn_blocking(move || me.rebuild_if_due(true)).await;
    }

    /// Waits at most `limit` for the first answers.
    pub async fn first_view(&self, limit: Duration) -> Option<Arc<HealthView>> {
        if let Some(v) = self.view() {
            return Some(v);
        }
        let wait = async {
            loop {
                let signal = self.inner.first.notified();
                if let Some(v) = self.view() {
                    return v;
                }
                signal.await;
            }
        };
        tokio::time::timeout(limit, wait).await.ok()
    }

    /// The loop: recomputes from `inputs()` (the current state's) against `prom`, forever.
    /// Spawn it; abort it to stop.
    pub async fn run(self, inputs: impl Fn() -> Arc<Inputs>, prom: PromClient) {
        let mut timers = ForTimers::default();
        loop {
            let current = inputs();
            let ttl = current.settings.ttl;
            let (snapshot, kept) = compute::compute(current, &prom, timers).await;
            timers = kept;
            let failed = snapshot.nothing_measured();
            // Building every answer walks every node: off the async workers.
            let me = self.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || me.publish(snapshot)).await {
                tracing::error!(error = %e, "building the health answers failed");
            }
            let pause = if failed {
                RETRY_AFTER_FAILURE.min(ttl)
            } else {
                ttl
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.inner.wake.notified() => {}
            }
        }
    }

    /// Publishes the answers of a new snapshot (or, when nothing was measured in it, of
    /// the last measured one while it is recent).
    pub fn publish(&self, snapshot: HealthSnapshot) {
        let snapshot = Arc::new(snapshot);
        let ttl = snapshot.inputs.settings.ttl;
        {
            let mut r = self.inner.report.lock();
            r.recomputes += 1;
            r.last_at = Some(snapshot.computed_at);
            r.last_took = Some(snapshot.took);
            r.last_main = snapshot.report.main;
            r.last_discovery = snapshot.report.discovery;
            r.last_metrics = snapshot.report.metrics;
            r.last_failed = snapshot.report.failed;
            r.errors = snapshot.report.errors.clone();
            r.queries_ms = snapshot.report.queries_took.as_secs_f64() * 1000.0;
            r.assemble_ms = snapshot.report.assemble_took.as_secs_f64() * 1000.0;
            r.total_ids = snapshot.inputs.layout.total_target_ids();
            r.max_ids = snapshot.inputs.settings.max_ids_per_query;
        }
        let reason = |s: &HealthSnapshot| {
            format!(
                "{} of {} Prometheus queries failed: {}",
                s.report.failed,
                s.report.main + s.report.discovery,
                s.report.errors.join("; ")
            )
        };
        let (chosen, stale) = if snapshot.nothing_measured() {
            tracing::warn!(errors = ?snapshot.report.errors, "health recompute failed: no query answered");
            match self.inner.measured.load_full() {
                Some(prev) if prev.computed_at.elapsed().unwrap_or_default() < stale_limit(ttl) => {
                    (
                        prev,
                        Some(Staleness {
                            reason: reason(&snapshot),
                        }),
                    )
                }
                _ => {
                    let why = reason(&snapshot);
                    (snapshot, Some(Staleness { reason: why }))
                }
            }
        } else {
            if snapshot.report.failed > 0 {
                tracing::warn!(failed = snapshot.report.failed, errors = ?snapshot.report.errors, "health recompute: some queries failed; their targets are UNKNOWN");
            }
            self.inner.measured.store(Some(snapshot.clone()));
            (snapshot, None)
        };
        tracing::debug!(
            took_ms = chosen.took.as_millis() as u64,
            queries = chosen.report.main + chosen.report.discovery,
            stale = stale.is_some(),
            "health snapshot published"
        );
        let _guard = self.inner.rebuild.lock();
        let current = self.inner.maintenances.current();
        let building = std::time::Instant::now();
        let view = HealthView::build(chosen, &current, stale);
        self.inner.report.lock().answers_ms = building.elapsed().as_secs_f64() * 1000.0;
        let first = self.inner.view.load().is_none();
        self.inner.view.store(Some(Arc::new(view)));
        if first {
            self.inner.first.notify_waiters();
        }
    }

    /// The planner part of `/api/stats/telemetry`: the last batch, and this server's
    /// additions (how long the last recompute took, failures).
    pub fn telemetry(&self) -> Value {
        let r = self.inner.report.lock().clone();
        json!({
            "last_batch": {
                "total_ids": r.total_ids,
                "query_count": r.last_main,
                "max_ids_per_query": r.max_ids,
                "ts": r.last_at.map(unix_ms),
            },
            "planner": {
                "recomputes": r.recomputes,
                "last_took_ms": r.last_took.map(|d| (d.as_secs_f64() * 100_000.0).round() / 100.0),
                "last_queries_ms": r.queries_ms,
                "last_assemble_ms": r.assemble_ms,
                "last_answers_ms": r.answers_ms,
                "discovery_queries": r.last_discovery,
                "metric_queries": r.last_metrics,
                "failed_queries": r.last_failed,
                "errors": r.errors,
                "stale": self.inner.view.load().as_ref().is_some_and(|v| v.stale.is_some()),
            },
        })
    }
}
