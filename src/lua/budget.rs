//! Instruction budgets: every Lua call the host makes (a route handler, `setup`, a menu
//! function, a timer tick) runs with a budget of VM instructions; a runaway script fails
//! its own call with a clear error instead of stalling its plugin.
//!
//! One global count hook per Lua state fires every [`HOOK_EVERY`] instructions (threads
//! created later, including Lua's own coroutines, inherit it). The hook charges the budget
//! of whichever call is executing right now. A plugin's Lua runs on one OS thread, and a
//! call's Lua code only ever runs while the host polls that call's future, so
//! [`Budgeted`] installs the call's budget in a thread-local for the duration of each poll.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
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
}

impl Budget {
    pub fn new(limit: u64, what: impl Into<Rc<str>>) -> Rc<Budget> {
        Rc::new(Budget {
            limit,
            used: Cell::new(0),
            what: what.into(),
        })
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

/// The message of the error a call gets when it runs out of budget.
pub fn exceeded_message(limit: u64, what: &str) -> String {
    format!("instruction budget exceeded: {what} ran more than {limit} Lua instructions (runaway loop?)")
}

/// Installs the counting hook on `lua`. Call before creating any thread.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        |_lua, _debug| {
            CURRENT.with(|c| match c.borrow().as_ref() {
                Some(b) => {
                    let used = b.used.get() + u64::from(HOOK_EVERY);
                    b.used.set(used);
                    if used > b.limit {
                        Err(mlua::Error::RuntimeError(exceeded_message(
                            b.limit, &b.what,
                        )))
                    } else {
                        Ok(VmState::Continue)
                    }
                }
                None => Ok(VmState::Continue),
            })
        },
    )
}

/// True when the running call has used up its budget: errors caught by `pcall` (and
/// friends) are raised again then, so a runaway loop cannot swallow its own stop.
pub fn exhausted() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(|b| b.used.get() > b.limit))
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
