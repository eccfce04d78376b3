//! Topology model types. Serialised shapes match Rackscope's JSON API.

use serde::Serialize;

/// A whole topology: the ordered list of sites.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Topology {
    pub sites: Vec<Site>,
}

/// A site (placeholder until the loader lands).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Site {}
