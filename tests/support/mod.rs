//! Shared harness for integration tests: the real `rackscope` binary on a free loopback
//! port ([`server`]), a real Prometheus ([`prometheus`]) with a static exposition for it
//! to scrape ([`exposition`]), a real VictoriaMetrics ([`victoria`]), config folders with
//! names unlike the demo's ([`topo`]), a fault-injecting proxy for Prometheus ([`faults`]),
//! the API document's schemas and tools ([`openapi`]) and waiting on a condition ([`wait`]).
#![allow(dead_code)]

pub mod exposition;
pub mod faults;
pub mod openapi;
pub mod prometheus;
pub mod server;
pub mod topo;
pub mod victoria;
pub mod wait;
