//! The stand-ins a test file sets up for the world outside its plugin: the clock and the
//! Prometheus server ([`Fakes`], which implements the host's [`TestHooks`]), shared by the
//! test file's own Lua state and every plugin it loads.
//!
//! **The clock** is tokio's, paused: the runner builds each test file's runtime with
//! `start_paused`, so timers (`rackscope.every`, `rackscope.sleep`, request timeouts,
//! published answers' lifetimes) only move when the test advances time, or when every
//! task is waiting on a timer (tokio then jumps to the next one, which is what a real
//! clock would reach first). `rackscope.now()` is a wall-clock time derived from the same
//! instant, starting at [`EPOCH`]; `set` moves the wall-clock time alone, as an NTP step
//! would.
//!
//! **Prometheus** answers from rules the test adds: an answer (the `data` of a success
//! answer) or an error of a given kind, for one exact query or for the queries a regular
//! expression finds, optionally after a delay on the test clock. The latest rule that
//! matches wins. A query no rule matches fails as `unreachable`, naming the query. Every
//! query is recorded. Rules and records belong to a *scope*: the test (`it`) running when
//! they were made, or the file (scope 0); a test's are dropped when it ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde_json::Value as Json;
use tokio::sync::mpsc;

use crate::lua::host::{PromCall, TestHooks};
use crate::prometheus::PromError;

/// `rackscope.now()` when a test file starts: 2023-11-14 22:13:20 UTC, a round number
/// every test can count from.
pub const EPOCH: f64 = 1_700_000_000.0;

/// Which queries a rule answers.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// This exact query text.
    Exact(String),
    /// Queries in which this regular expression finds a match.
    Pattern(regex::Regex),
}

impl Matcher {
    fn matches(&self, query: &str) -> bool {
        match self {
            Matcher::Exact(q) => q == query,
            Matcher::Pattern(re) => re.is_match(query),
        }
    }
}

/// What a rule answers.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The `data` object of a success answer.
    Data(Arc<Json>),
    /// A failure of this kind (`unreachable`, `timeout`, `http`, `query`, `malformed`)
    /// with this message (None: a message of the kind's own).
    Fail {
        kind: FailKind,
        message: Option<String>,
    },
}

/// The failures a test can set up, as the client reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    Unreachable,
    /// Waits the configured timeout on the test clock, then fails.
    Timeout,
    Http,
    Query,
    Malformed,
}

impl FailKind {
    pub fn parse(s: &str) -> Option<FailKind> {
        Some(match s {
            "unreachable" => FailKind::Unreachable,
            "timeout" => FailKind::Timeout,
            "http" => FailKind::Http,
            "query" => FailKind::Query,
            "malformed" => FailKind::Malformed,
            _ => return None,
        })
    }

    fn error(self, message: Option<String>, call: &PromCall) -> PromError {
        match self {
            FailKind::Unreachable => PromError::Unreachable(message.unwrap_or_else(|| {
                "cannot connect to http://prometheus.test:9090: connection refused".into()
            })),
            FailKind::Timeout => PromError::Timeout(call.timeout),
            FailKind::Http => PromError::Http {
                status: 503,
                message: message.unwrap_or_else(|| "Service Unavailable".into()),
            },
            FailKind::Query => PromError::Query {
                error_type: "bad_data".into(),
                error: message.unwrap_or_else(|| "invalid query".into()),
            },
            FailKind::Malformed => {
                PromError::Malformed(message.unwrap_or_else(|| "expected JSON".into()))
            }
        }
    }
}

/// One canned answer.
#[derive(Debug, Clone)]
pub struct Rule {
    pub matcher: Matcher,
    pub outcome: Outcome,
    /// How long the answer takes, on the test clock.
    pub delay: Duration,
}

/// A query the fake Prometheus received.
#[derive(Debug, Clone)]
pub struct Received {
    pub call: PromCall,
    /// `rackscope.now()` when it came.
    pub at: f64,
    scope: u64,
}

#[derive(Debug, Default)]
struct Prometheus {
    /// `(scope, rule)`, oldest first.
    rules: Vec<(u64, Rule)>,
    received: Vec<Received>,
}

/// The clock and the fake Prometheus of one test file. Shared (`Arc`) by every host
/// context the file creates; all of them run on the file's one thread.
#[derive(Debug)]
pub struct Fakes {
    /// The tokio instant the file started at, and the wall-clock time it stands for.
    /// A `parking_lot` mutex: held only to read or move the pair.
    clock: Mutex<(tokio::time::Instant, f64)>,
    /// Rules and received queries; the same kind of lock, never held across an await.
    prometheus: Mutex<Prometheus>,
    /// The test (`it`) running now, 0 between tests.
    scope: AtomicU64,
    /// Where [`TestHooks::spawn`] sends tasks: the runner spawns them at the top of the
    /// file's `LocalSet`.
    spawner: mpsc::UnboundedSender<BoxFuture<'static, ()>>,
}

impl Fakes {
    /// The fakes of a new test file, and the receiving end of its spawner. Call inside
    /// the file's (paused) runtime.
    pub fn new() -> (Arc<Fakes>, mpsc::UnboundedReceiver<BoxFuture<'static, ()>>) {
        let (spawner, rx) = mpsc::unbounded_channel();
        let fakes = Fakes {
            clock: Mutex::new((tokio::time::Instant::now(), EPOCH)),
            prometheus: Mutex::new(Prometheus::default()),
            scope: AtomicU64::new(0),
            spawner,
        };
        (Arc::new(fakes), rx)
    }

    /// The scope rules and records are made in now.
    pub fn scope(&self) -> u64 {
        self.scope.load(Ordering::SeqCst)
    }

    /// A test starts (`scope` > 0) or ends (0).
    pub fn enter(&self, scope: u64) {
        self.scope.store(scope, Ordering::SeqCst);
    }

    /// Drops the rules and records of `scope`.
    pub fn forget(&self, scope: u64) {
        let mut p = self.prometheus.lock();
        p.rules.retain(|(s, _)| *s != scope);
        p.received.retain(|r| r.scope != scope);
    }

    /// Sets the wall-clock time (`rackscope.now()`) to `t`; timers are not moved.
    pub fn set_time(&self, t: f64) {
        let mut c = self.clock.lock();
        let elapsed = c.0.elapsed().as_secs_f64();
        c.1 = t - elapsed;
    }

    /// Adds a rule in the current scope.
    pub fn add_rule(&self, rule: Rule) {
        let scope = self.scope();
        self.prometheus.lock().rules.push((scope, rule));
    }

    /// Removes the rules and records of the current scope.
    pub fn reset(&self) {
        self.forget(self.scope());
    }

    /// The queries received in the current scope, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let scope = self.scope();
        self.prometheus
            .lock()
            .received
            .iter()
            .filter(|r| r.scope == scope)
            .cloned()
            .collect()
    }
}

impl TestHooks for Fakes {
    fn now(&self) -> f64 {
        let c = self.clock.lock();
        c.1 + c.0.elapsed().as_secs_f64()
    }

    fn prometheus(&self, call: PromCall) -> BoxFuture<'static, Result<Arc<Json>, PromError>> {
        let at = self.now();
        let scope = self.scope();
        let rule = {
            let mut p = self.prometheus.lock();
            p.received.push(Received {
                call: call.clone(),
                at,
                scope,
            });
            p.rules
                .iter()
                .rev()
                .find(|(_, r)| r.matcher.matches(&call.query))
                .map(|(_, r)| r.clone())
        };
        Box::pin(async move {
            let Some(rule) = rule else {
                return Err(PromError::Unreachable(format!(
                    "no answer for this query in the test (see testing.prometheus.answer): {}",
                    call.query
                )));
            };
            let wait = match &rule.outcome {
                Outcome::Fail {
                    kind: FailKind::Timeout,
                    ..
                } => rule.delay + call.timeout,
                _ => rule.delay,
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            match rule.outcome {
                Outcome::Data(d) => Ok(d),
                Outcome::Fail { kind, message } => Err(kind.error(message, &call)),
            }
        })
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        // The receiver lives as long as the test file; after it, nothing is left to run.
        let _ = self.spawner.send(task);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prometheus::CacheKind;

    fn call(q: &str) -> PromCall {
        PromCall {
            query: q.into(),
            range: None,
            cache: CacheKind::Generic,
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_latest_matching_rule_answers_and_scopes_forget_theirs() {
        let (f, _rx) = Fakes::new();
        f.add_rule(Rule {
            matcher: Matcher::Pattern(regex::Regex::new("^up").unwrap()),
            outcome: Outcome::Data(Arc::new(serde_json::json!({"n": 1}))),
            delay: Duration::ZERO,
        });
        f.enter(7);
        f.add_rule(Rule {
            matcher: Matcher::Exact("up".into()),
            outcome: Outcome::Fail {
                kind: FailKind::Timeout,
                message: None,
            },
            delay: Duration::ZERO,
        });
        let started = tokio::time::Instant::now();
        let err = f.prometheus(call("up")).await.unwrap_err();
        assert_eq!(err.kind(), "timeout");
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(5),
            "on the test clock"
        );
        assert_eq!(f.prometheus(call("up{a}")).await.unwrap()["n"], 1);
        assert_eq!(f.received().len(), 2);
        f.forget(7);
        f.enter(0);
        assert_eq!(f.prometheus(call("up")).await.unwrap()["n"], 1);
        let none = f.prometheus(call("down")).await.unwrap_err();
        assert!(
            none.to_string().contains("no answer for this query"),
            "{none}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn now_follows_the_paused_clock_and_set_moves_it_alone() {
        let (f, _rx) = Fakes::new();
        assert_eq!(f.now(), EPOCH);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(f.now(), EPOCH + 30.0);
        f.set_time(100.0);
        assert_eq!(f.now(), 100.0);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(f.now(), 101.0);
    }
}
