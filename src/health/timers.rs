//! `for:` delays (decision D7): per (check, key), since when a result has been WARN or
//! CRIT without a break, and what showed before. Kept across recomputes and reloads by the
//! engine's loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::check::{is_alert, Check};
use super::Severity;

/// `for:` timers, kept across recomputes and state generations (a reload does not reset
/// them), keyed by (check id, result key).
#[derive(Debug, Default)]
pub struct ForTimers {
    map: HashMap<(Arc<str>, Arc<str>), Timer>,
}

#[derive(Debug, Clone, Copy)]
struct Timer {
    /// Since when the result is WARN or CRIT without a break; None while it is not.
    bad_since: Option<Instant>,
    /// What showed before it turned bad: shown again while the delay runs.
    before: Severity,
    /// What showed last.
    shown: Severity,
    touched: Instant,
}

impl ForTimers {
    /// The severity to show for `raw`, the state a check's rules give `key` now (D7): a
    /// WARN or CRIT result shows once it has lasted the check's `for:`, and then for as
    /// long as it lasts, escalating or easing at once; while the delay runs, what showed
    /// before it turned bad shows (OK for a key never seen).
    pub fn apply(&mut self, check: &Check, key: &str, raw: Severity, now: Instant) -> Severity {
        let Some(delay) = check.for_duration else {
            return raw;
        };
        let t = self
            .map
            .entry((Arc::from(check.id()), Arc::from(key)))
            .or_insert(Timer {
                bad_since: None,
                before: Severity::Ok,
                shown: Severity::Ok,
                touched: now,
            });
        t.touched = now;
        if !is_alert(raw) {
            t.bad_since = None;
            t.shown = raw;
            return raw;
        }
        let since = *t.bad_since.get_or_insert_with(|| {
            t.before = t.shown;
            now
        });
        t.shown = if now.duration_since(since) >= delay {
            raw
        } else {
            t.before
        };
        t.shown
    }

    /// Forgets keys not seen for a day (removed nodes, renamed checks).
    pub fn prune(&mut self, now: Instant) {
        self.map
            .retain(|_, t| now.duration_since(t.touched) < Duration::from_secs(86_400));
    }
}
