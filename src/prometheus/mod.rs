//! Prometheus HTTP API client: instant and range queries, TTL caches, merged in-flight
//! queries and typed errors. The primitive plugins query Prometheus through.
