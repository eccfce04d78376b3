//! Starts a real Prometheus for tests.
