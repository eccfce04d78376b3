//! The physical topology: sites, rooms, aisles, racks and devices as Rackscope stores them
//! on disk (`spec/reference/topology.md`), the device/rack template catalog, the one nodeset
//! expander every component shares (D6), and the index from node instance to placement.
//!
//! Layout: [`model`] (types, JSON shapes), [`nodeset`] (range expansion), [`load`]
//! (segmented and single-file loaders), [`catalog`] (templates), [`index`] (lookups).

pub mod catalog;
pub mod index;
pub mod load;
pub mod model;
pub mod nodeset;

pub use catalog::{load_catalog, Catalog};
pub use index::{Placement, TopologyIndex};
pub use load::{load_topology, TopologyError};
pub use model::*;
