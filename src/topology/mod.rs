//! The physical topology: sites, rooms, aisles, racks and devices as Rackscope stores them
//! on disk (docs/architecture.md, compatibility C9), the device/rack template catalog, the one nodeset
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
pub use index::{InstanceEntry, Placement, RackEntry, RoomEntry, SiteEntry, TopologyIndex};
pub use load::{is_safe_id, load_topology, load_topology_with_warnings, Problem, TopologyError};
pub use model::*;
pub use nodeset::{expand, expand_instance, NodesetError};
