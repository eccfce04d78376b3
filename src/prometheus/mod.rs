//! Prometheus HTTP API client: instant and range queries, TTL caches, merged in-flight
//! queries and typed errors. The primitive plugins query Prometheus through.
// TEMPORARY STUB (replaced by the h-prom branch).
use crate::config::AppConfig;
#[derive(Debug, Clone)]
pub struct PromSettings;
impl PromSettings {
    pub fn from_config(_c: &AppConfig, _f: &str) -> Self {
        PromSettings
    }
}
#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub struct PromError;
#[derive(Debug, Clone)]
pub struct PromClient;
impl PromClient {
    pub fn new(_s: PromSettings) -> Result<Self, PromError> {
        Ok(PromClient)
    }
    pub fn reconfigure(&self, _s: PromSettings) -> Result<(), PromError> {
        Ok(())
    }
}
