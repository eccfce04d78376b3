//! `rackscope.spawn(fn)` and `rackscope.single_flight(key, fn)`: background work and
//! shared in-flight calls inside one plugin instance.
//!
//! - `spawn(fn)` runs `fn` as a task of its own on the plugin thread, with its own
//!   instruction budget, and returns at once: a handler can answer with what it has and
//!   leave a refresh running (stale-while-revalidate). An error in `fn` is logged.
//! - `single_flight(key, fn)` calls `fn()` unless a call with the same key is already
//!   running in this instance; then it waits for that call and returns its results (or
//!   raises its error). Concurrent requests on a cold cache thus share one Prometheus
//!   query and one computation. If the running call is cancelled (its client went away,
//!   even while it runs Lua) or runs out of its caller's budget, one of the waiters runs
//!   `fn` itself.
//!
//! Everything here lives on the plugin's single thread (`Rc`, `RefCell`): only one task
//! runs Lua at a time, and waiters park on a [`tokio::sync::Notify`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Table, Value};
use tokio::sync::Notify;

use super::support::arg_string;
use crate::lua::budget::{Budget, Budgeted};
use crate::lua::errors;
use crate::lua::host::HostCtx;

/// What a finished call left for its waiters.
type Outcome = Result<Vec<Value>, mlua::Error>;

/// One running call of `single_flight`.
#[derive(Default)]
struct Flight {
    /// Set once the call finished; `None` while it runs or after it was cancelled.
    outcome: RefCell<Option<Outcome>>,
    /// True when the call was dropped without an outcome: a waiter takes over.
    abandoned: std::cell::Cell<bool>,
    /// The coroutine running `fn`: a call for the same key from inside it would wait for
    /// itself, and raises instead.
    leader: std::cell::Cell<usize>,
    done: Notify,
}

/// Running calls by key (one plugin instance).
type Flights = Rc<RefCell<HashMap<String, Rc<Flight>>>>;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let c = ctx.clone();
    root.set(
        "spawn",
        lua.create_function(move |lua, f: Value| {
            let Value::Function(f) = f else {
                return Err(errors::type_error(
                    lua,
                    "rackscope.spawn",
                    1,
                    "function",
                    &f,
                ));
            };
            spawn(c.clone(), f);
            Ok(())
        })?,
    )?;

    let flights: Flights = Rc::default();
    root.set(
        "single_flight",
        lua.create_async_function(move |lua, (key, f): (Value, Value)| {
            let flights = flights.clone();
            async move {
                const F: &str = "rackscope.single_flight";
                let key = arg_string(&lua, F, 1, &key)?;
                let Value::Function(f) = f else {
                    return Err(errors::type_error(&lua, F, 2, "function", &f));
                };
                single_flight(&lua, &flights, key, f).await
            }
        })?,
    )
}

/// Runs `f` as its own task with its own budget; errors are logged.
fn spawn(ctx: Rc<HostCtx>, f: Function) {
    tokio::task::spawn_local(async move {
        let b = Budget::new(ctx.limits.instructions, "spawned task");
        if let Err(e) = Budgeted::new(b, f.call_async::<MultiValue>(())).await {
            tracing::warn!(plugin = %ctx.plugin_id.borrow(), error = %e, "spawned task failed");
        }
    });
}

/// Marks the flight abandoned if the leading call is dropped before it finished.
struct Lead {
    flights: Flights,
    key: String,
    flight: Rc<Flight>,
}

impl Drop for Lead {
    fn drop(&mut self) {
        let mut map = self.flights.borrow_mut();
        if map
            .get(&self.key)
            .is_some_and(|f| Rc::ptr_eq(f, &self.flight))
        {
            map.remove(&self.key);
        }
        if self.flight.outcome.borrow().is_none() {
            self.flight.abandoned.set(true);
        }
        self.flight.done.notify_waiters();
    }
}

async fn single_flight(
    lua: &Lua,
    flights: &Flights,
    key: String,
    f: Function,
) -> mlua::Result<MultiValue> {
    loop {
        let running = flights.borrow().get(&key).cloned();
        let Some(flight) = running else {
            break;
        };
        if flight.leader.get() == lua.current_thread().to_pointer() as usize {
            return Err(errors::misuse(
                lua,
                format!(
                    "rackscope.single_flight('{key}') called from inside the function it is \
                     running for that key: it would wait for itself"
                ),
            ));
        }
        // Registered before the check below, so a notification in between is not lost.
        let done = flight.done.notified();
        let ready = flight.outcome.borrow().clone();
        if let Some(outcome) = ready {
            return outcome.map(MultiValue::from_iter);
        }
        if !flight.abandoned.get() {
            done.await;
        }
        let ready = flight.outcome.borrow().clone();
        if let Some(outcome) = ready {
            return outcome.map(MultiValue::from_iter);
        }
        // Abandoned: loop, and the first waiter to get here becomes the leader.
    }
    let flight = Rc::new(Flight::default());
    flights.borrow_mut().insert(key.clone(), flight.clone());
    let lead = Lead {
        flights: flights.clone(),
        key,
        flight: flight.clone(),
    };
    let thread = lua.create_thread(f)?;
    flight.leader.set(thread.to_pointer() as usize);
    let outcome: Outcome = match thread.into_async::<MultiValue>(()) {
        Ok(call) => call.await.map(|v| v.into_iter().collect()),
        Err(e) => Err(e),
    };
    // A leader stopped by its own caller (cancelled, or out of its instruction budget) has
    // no result for the others: the call counts as abandoned, and a waiter runs `fn`
    // itself with its own budget, instead of every waiter failing with the leader's stop.
    let interrupted = outcome
        .as_ref()
        .is_err_and(|e| matches!(errors::classify(e), errors::Failure::Interrupted(_)));
    if !interrupted {
        *flight.outcome.borrow_mut() = Some(outcome.clone());
    }
    drop(lead);
    outcome.map(MultiValue::from_iter)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `body` on a LocalSet with a bare Lua state that has `single_flight`, a `sleep(ms)`
    /// that yields, and a global counter `calls`.
    async fn with_lua<F, Fut>(body: F)
    where
        F: FnOnce(Lua) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let lua = Lua::new();
        let flights: Flights = Rc::default();
        let sf = lua
            .create_async_function(move |lua, (key, f): (Value, Value)| {
                let flights = flights.clone();
                async move {
                    let key = arg_string(&lua, "single_flight", 1, &key)?;
                    let Value::Function(f) = f else {
                        return Err(mlua::Error::runtime("function expected"));
                    };
                    single_flight(&lua, &flights, key, f).await
                }
            })
            .unwrap();
        lua.globals().set("single_flight", sf).unwrap();
        let sleep = lua
            .create_async_function(|_, ms: u64| async move {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                Ok(())
            })
            .unwrap();
        lua.globals().set("sleep", sleep).unwrap();
        lua.load("calls = 0").exec().unwrap();
        tokio::task::LocalSet::new().run_until(body(lua)).await;
    }

    /// Calls the function `src` evaluates to `n` times concurrently.
    async fn run_concurrently(lua: &Lua, src: &str, n: usize) -> Vec<mlua::Result<Value>> {
        let f: Function = lua.load(src).eval().unwrap();
        let futs = (0..n).map(|_| f.call_async::<Value>(()));
        futures::future::join_all(futs).await
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_call() {
        with_lua(|lua| async move {
            let out = run_concurrently(
                &lua,
                "return function() return single_flight('k', function() calls = calls + 1; sleep(20); return calls * 10 end) end",
                5,
            )
            .await;
            for v in out {
                assert_eq!(v.unwrap().as_i64(), Some(10));
            }
            assert_eq!(lua.globals().get::<i64>("calls").unwrap(), 1);
            // Finished: the next call runs again.
            let again: i64 = lua
                .load("return single_flight('k', function() calls = calls + 1; return calls end)")
                .eval_async()
                .await
                .unwrap();
            assert_eq!(again, 2);
        })
        .await;
    }

    #[tokio::test]
    async fn errors_reach_every_waiter_and_keys_are_separate() {
        with_lua(|lua| async move {
            let out = run_concurrently(
                &lua,
                "return function() return single_flight('bad', function() calls = calls + 1; sleep(10); error('boom') end) end",
                3,
            )
            .await;
            for v in out {
                assert!(v.unwrap_err().to_string().contains("boom"));
            }
            assert_eq!(lua.globals().get::<i64>("calls").unwrap(), 1);
            let (a, b): (i64, i64) = lua
                .load("local a = single_flight('a', function() return 1 end); local b = single_flight('b', function() return 2 end); return a, b")
                .eval_async()
                .await
                .unwrap();
            assert_eq!((a, b), (1, 2));
        })
        .await;
    }

    #[tokio::test]
    async fn a_call_for_its_own_key_from_inside_fn_raises_at_once() {
        with_lua(|lua| async move {
            let f: Function = lua
                .load(
                    "function() return single_flight('k', function() \
                       local ok, e = pcall(single_flight, 'k', function() return 1 end) \
                       return ok, tostring(e) end) end",
                )
                .eval()
                .unwrap();
            let call = f.call_async::<(bool, String)>(());
            let (ok, err) = tokio::time::timeout(std::time::Duration::from_secs(5), call)
                .await
                .expect("the nested call raised instead of waiting")
                .unwrap();
            assert!(!ok);
            assert!(err.contains("called from inside the function it is running for that key"), "{err}");
            // Another key inside fn is fine.
            let v: i64 = lua
                .load("return single_flight('a', function() return single_flight('b', function() return 7 end) end)")
                .eval_async()
                .await
                .unwrap();
            assert_eq!(v, 7);
        })
        .await;
    }

    #[tokio::test]
    async fn a_cancelled_leader_hands_over_to_a_waiter() {
        with_lua(|lua| async move {
            let f: Function = lua
                .load("return function(ms) return single_flight('k', function() calls = calls + 1; sleep(ms); return calls end) end")
                .eval()
                .unwrap();
            // The leader is dropped after 10 ms, while its call sleeps for 1 s.
            let leader = f.call_async::<i64>(1000);
            let waiter = f.call_async::<i64>(5);
            let cancelled = tokio::time::timeout(std::time::Duration::from_millis(10), leader);
            let (cancelled, waited) = futures::join!(cancelled, waiter);
            assert!(cancelled.is_err());
            // The waiter ran the function itself (second call), with its own argument.
            assert_eq!(waited.unwrap(), 2);
        })
        .await;
    }

    #[tokio::test]
    async fn a_leader_stopped_by_its_caller_hands_over_too() {
        with_lua(|lua| async move {
            // What the instruction hook raises when the leader's client goes away.
            let stop = lua
                .create_function(|_, ()| -> mlua::Result<()> {
                    Err(mlua::Error::external(crate::lua::budget::Interrupt::Cancelled {
                        what: "GET /api/x".into(),
                    }))
                })
                .unwrap();
            lua.globals().set("stop", stop).unwrap();
            let f: Function = lua
                .load("return function() return single_flight('k', function() calls = calls + 1; sleep(5); if calls == 1 then stop() end; return calls end) end")
                .eval()
                .unwrap();
            let (leader, waiter) = futures::join!(f.call_async::<i64>(()), f.call_async::<i64>(()));
            assert!(leader.unwrap_err().to_string().contains("caller gave up"));
            assert_eq!(waiter.unwrap(), 2, "the waiter ran fn itself");
        })
        .await;
    }
}
