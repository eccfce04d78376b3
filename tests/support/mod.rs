//! Shared harness for integration tests: the real `rackscope` binary on a free loopback
//! port ([`server`]) and a real Prometheus ([`prometheus`]).
#![allow(dead_code)]

pub mod prometheus;
pub mod server;
