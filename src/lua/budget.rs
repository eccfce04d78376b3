//! Instruction budgets: every Lua call the host makes (a route handler, `setup`, a menu
//! function, a timer tick) runs with a budget of VM instructions; a runaway script fails
//! its own call with a clear error instead of stalling its plugin.
//!
//! One global count hook per Lua state fires every [`HOOK_EVERY`] instructions (threads
//! created later, including Lua's own coroutines, inherit it). The hook charges the budget
//! of whichever call is executing right now. A plugin's Lua runs on one OS thread, and a
//! call's Lua code only ever runs while the host polls that call's future, so
//! [`Budgeted`] installs the call's budget in a thread-local for the duration of each poll.
//!
//! The same hook stops a call whose caller has given up: a route call that timed out, or
//! whose client went away, sets the call's [`Cancel`] flag from the server's side, and
//! the next hook (within about a tenth of a millisecond of Lua) raises [`Interrupt`].
//! CPU-bound Lua never yields, so this is the only way to stop it promptly.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use mlua::{HookTriggers, Lua, VmState};

/// Instructions between two hook calls: small enough to stop a loop within a
/// millisecond or so, large enough to keep the hook's cost negligible.
pub const HOOK_EVERY: u32 = 10_000;

/// The budget of one call.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: Cell<u64>,
    /// What is running, for the error message ("GET /api/hello/{name}", "setup").
    what: Rc<str>,
    /// Set from another thread when nobody waits for the call's result any more.
    cancel: Option<Cancel>,
}

/// A flag that stops a running call at its next hook. Cloned to the side that may give up
/// on the call; [`Cancel::on_drop`] sets it when that side drops its guard.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// A guard that cancels the call when dropped: hold it in the future that awaits the
    /// call's result, so a timeout or a gone client (which drop that future) stops it.
    pub fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }
}

/// Cancels its [`Cancel`] when dropped.
#[derive(Debug)]
pub struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Why the hook stopped a call. Raised as a typed error, so the host recognises it by
/// type (never by message text), through `pcall`, callbacks and coroutines alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Interrupt {
    /// The call ran more Lua instructions than its budget.
    #[error("instruction budget exceeded: {what} ran more than {limit} Lua instructions (runaway loop?)")]
    Budget { limit: u64, what: String },
    /// Nobody waits for the call any more (timed out, client gone).
    #[error("cancelled: {what} was stopped because its caller gave up (timeout or client gone)")]
    Cancelled { what: String },
}

impl Budget {
    pub fn new(limit: u64, what: impl Into<Rc<str>>) -> Rc<Budget> {
        Rc::new(Budget {
            limit,
            used: Cell::new(0),
            what: what.into(),
            cancel: None,
        })
    }

    /// A budget that also stops when `cancel` is set.
    pub fn cancellable(limit: u64, what: impl Into<Rc<str>>, cancel: Cancel) -> Rc<Budget> {
        Rc::new(Budget {
            limit,
            used: Cell::new(0),
            what: what.into(),
            cancel: Some(cancel),
        })
    }

    /// Why the call must stop now, if it must.
    fn interrupt(&self) -> Option<Interrupt> {
        if self.used.get() > self.limit {
            return Some(Interrupt::Budget {
                limit: self.limit,
                what: self.what.to_string(),
            });
        }
        if self.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
            return Some(Interrupt::Cancelled {
                what: self.what.to_string(),
            });
        }
        None
    }

    /// Instructions used so far (rounded up to the hook granularity).
    pub fn used(&self) -> u64 {
        self.used.get()
    }
}

thread_local! {
    /// The budget of the call whose Lua code is running on this thread, if any.
    static CURRENT: RefCell<Option<Rc<Budget>>> = const { RefCell::new(None) };
}

/// Installs the counting hook on `lua`. Call before creating any thread.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        |_lua, _debug| {
            CURRENT.with(|c| match c.borrow().as_ref() {
                Some(b) => {
                    b.used.set(b.used.get() + u64::from(HOOK_EVERY));
                    match b.interrupt() {
                        Some(i) => Err(mlua::Error::external(i)),
                        None => Ok(VmState::Continue),
                    }
                }
                None => Ok(VmState::Continue),
            })
        },
    )
}

/// True when the running call must stop (budget spent or cancelled): errors caught by
/// `pcall` (and friends) are raised again then, so a runaway loop cannot swallow its own
/// stop.
pub fn exhausted() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(|b| b.interrupt().is_some()))
}

/// Wraps `pcall`, `xpcall` and `coroutine.resume` so that an error caught after the
/// budget ran out is raised again. Without this, `while true do pcall(f) end` could
/// catch every budget error (the count hook fires at the same point of each cycle).
pub fn guard_protected_calls(lua: &Lua) -> mlua::Result<()> {
    let exhausted = lua.create_function(|_, ()| Ok(exhausted()))?;
    lua.load(
        r#"
        local exhausted, error = ...
        local function check(ok, ...)
          if not ok and exhausted() then error((...), 0) end
          return ok, ...
        end
        local raw_pcall, raw_xpcall = pcall, xpcall
        pcall = function(f, ...) return check(raw_pcall(f, ...)) end
        xpcall = function(f, h, ...) return check(raw_xpcall(f, h, ...)) end
        local raw_resume = coroutine.resume
        coroutine.resume = function(co, ...) return check(raw_resume(co, ...)) end
        "#,
    )
    .set_name("=sandbox")
    .call::<()>((exhausted, lua.globals().get::<mlua::Value>("error")?))
}

/// Runs `f` with `budget` charged for the Lua code it executes (synchronous calls).
pub fn run_with<R>(budget: &Rc<Budget>, f: impl FnOnce() -> R) -> R {
    let prev = CURRENT.with(|c| c.replace(Some(budget.clone())));
    let out = f();
    CURRENT.with(|c| *c.borrow_mut() = prev);
    out
}

/// A future whose Lua code is charged to one budget, poll by poll.
pub struct Budgeted<F> {
    inner: Pin<Box<F>>,
    budget: Rc<Budget>,
}

impl<F: Future> Budgeted<F> {
    pub fn new(budget: Rc<Budget>, inner: F) -> Self {
        Budgeted {
            inner: Box::pin(inner),
            budget,
        }
    }
}

impl<F: Future> Future for Budgeted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let budget = self.budget.clone();
        run_with(&budget, || self.inner.as_mut().poll(cx))
    }
}
