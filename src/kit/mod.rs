//! The kit for plugin authors: `rackscope plugin test`, which runs a plugin's Lua tests on
//! the real plugin runtime with no server and no network, and `rackscope plugin new`,
//! which writes a plugin folder that loads and passes its own test at once.
//!
//! Layout, lowest first:
//!
//! - [`fakes`]: the test's clock (tokio's, paused) and fake Prometheus, as the host's
//!   `TestHooks`;
//! - [`logs`]: what the plugins log during a test, kept for the report;
//! - [`bench`]: one plugin under test in a config folder of its own, loaded by the
//!   server's own plugin manager, behind the server's own HTTP application;
//! - [`api`]: the host functions of a test file's `testing` table;
//! - [`runner`]: test files, each on a runtime, clock and Lua state of its own;
//! - [`report`]: the report for people, and TAP;
//! - [`scaffold`]: `plugin new`.
//!
//! The test API itself (`describe`, `it`, `assert`, `testing`) is Lua, in `prelude.lua`;
//! editors know it from `plugins/_meta/testing.lua`. Why the fakes are what they are:
//! docs/architecture.md, "The plugin test kit".

pub mod api;
pub mod bench;
pub mod fakes;
pub mod logs;
pub mod report;
pub mod runner;
pub mod scaffold;
