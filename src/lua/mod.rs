//! Embedding Lua for plugins: sandboxed states ([`sandbox`]), per-call instruction
//! budgets ([`budget`]), error helpers that point at the plugin author's line
//! ([`errors`]), host values as Lua values ([`convert`]), what a plugin registers
//! ([`registry`], with route patterns in [`routes`] and route descriptions for the API
//! document in [`route_doc`]), the host a plugin's API is built from ([`host`]), and the
//! `rackscope.*` host API, one module per namespace ([`api`]). Plugins' own Lua tests
//! (`rackscope plugin test`) run on this same embedding, through the plugin runtime.
//!
//! Lua 5.4 (built from source by mlua's `vendored` feature) rather than LuaJIT: the
//! sandbox needs a memory limit and an instruction budget that always fire. mlua cannot
//! cap LuaJIT's allocator, and LuaJIT's count hooks do not fire inside compiled traces, so
//! a runaway loop could escape its budget. `scripts/bench-plugins.sh` measures the cost of
//! a trivial Lua route against a native one: with Lua 5.4 the Lua route serves 73% of the
//! native route's requests per second (42k vs 58k req/s, p99 5.3 ms vs 5.0 ms, 2 cores);
//! the difference goes to the host (thread hop, request table, JSON), not the VM, so
//! LuaJIT's faster VM would not buy a measurable gain where it would cost the sandbox.

pub mod api;
pub mod budget;
pub mod convert;
pub mod errors;
pub mod host;
pub mod registry;
pub mod route_doc;
pub mod routes;
pub mod sandbox;
