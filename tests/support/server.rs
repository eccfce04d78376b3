//! Starts the real rackscope binary for tests.
