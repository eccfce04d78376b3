//! Shared harness for integration tests: the real `rackscope` binary on a free loopback
//! port ([`server`]), a real Prometheus ([`prometheus`]) and a static exposition for it to
//! scrape ([`exposition`]).
#![allow(dead_code)]

pub mod exposition;
pub mod prometheus;
pub mod server;
