//! Shared harness for integration tests: the real `rackscope` binary on a free loopback
//! port ([`server`]), a real Prometheus ([`prometheus`]) with a static exposition for it
//! to scrape ([`exposition`]), and a real VictoriaMetrics ([`victoria`]).
#![allow(dead_code)]

pub mod exposition;
pub mod prometheus;
pub mod server;
pub mod victoria;
