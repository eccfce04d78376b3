//! The read views Rackscope's frontend draws from (sites, rooms, layouts, racks, devices,
//! catalog, checks, metrics library), encoded once per state generation.
//!
//! [`Views::build`] runs when a snapshot is built (off the async runtime, with the rest of
//! the load): every answer is JSON bytes from then on, `GET /api/sites` also gzipped, and
//! a request only looks an id up and hands out [`Bytes`] (a reference count, no copy). The
//! per-room, per-rack and per-device objects are slices of the one sites buffer
//! ([`topology`]), so the whole tree is held once.
//!
//! Ids resolve as everywhere else: rooms and racks through the state's
//! [`TopologyIndex`] (the first room or rack with an id wins, as in `rackscope.topology`
//! and the Slurm plugin), a device as the first with its id in that rack, a template as
//! the catalog's first with its id.

mod library;
pub mod topology;

use std::collections::HashMap;
use std::ops::Range;

use bytes::Bytes;

use crate::library::{ChecksLibrary, MetricsLibrary};
use crate::topology::{Catalog, Topology, TopologyIndex};
use topology::{RackSlot, SiteSlot};

/// Every pre-encoded answer of one state generation.
pub struct Views {
    sites: Bytes,
    /// `None` only if gzip failed (then the plain answer is served).
    sites_gzip: Option<Bytes>,
    rooms: Bytes,
    slots: Vec<SiteSlot>,
    catalog: Bytes,
    /// Device template id to its object in `catalog`.
    templates: HashMap<String, Range<usize>>,
    checks: Bytes,
    check_files: Bytes,
    metrics: library::MetricsViews,
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Views")
            .field("sites_bytes", &self.sites.len())
            .field(
                "sites_gzip_bytes",
                &self.sites_gzip.as_ref().map(Bytes::len),
            )
            .finish_non_exhaustive()
    }
}

/// Why a device answer has nothing to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceMissing {
    Rack,
    Device,
}

impl Views {
    /// Encodes every answer. Blocking CPU work (the gzip of the sites answer included).
    pub fn build(
        topology: &Topology,
        catalog: &Catalog,
        checks: &ChecksLibrary,
        metrics: &MetricsLibrary,
    ) -> Views {
        let written = topology::write_sites(topology);
        let sites_gzip = crate::gzip::gzip(&written.json);
        let (catalog_json, templates) = library::write_catalog(catalog);
        Views {
            sites: Bytes::from(written.json),
            sites_gzip: sites_gzip.map(Bytes::from),
            rooms: Bytes::from(topology::write_rooms(topology)),
            slots: written.sites,
            catalog: Bytes::from(catalog_json),
            templates,
            checks: Bytes::from(library::write_checks(checks)),
            check_files: Bytes::from(library::write_check_files(checks)),
            metrics: library::MetricsViews::build(metrics),
        }
    }

    /// `GET /api/sites`.
    pub fn sites(&self) -> Bytes {
        self.sites.clone()
    }

    /// `GET /api/sites`, gzipped.
    pub fn sites_gzip(&self) -> Option<Bytes> {
        self.sites_gzip.clone()
    }

    /// `GET /api/rooms`.
    pub fn rooms(&self) -> Bytes {
        self.rooms.clone()
    }

    /// `GET /api/rooms/{id}/layout`: the first room with this id.
    pub fn room_layout(&self, index: &TopologyIndex, id: &str) -> Option<Bytes> {
        let room = index.room(id)?;
        let slot = self.slots.get(room.site_index())?.rooms.get(room.index())?;
        Some(self.sites.slice(slot.range.clone()))
    }

    fn rack_slot(&self, index: &TopologyIndex, id: &str) -> Option<(&RackSlot, RackPlace<'_>)> {
        let rack = index.rack(id)?;
        let site = self.slots.get(rack.site_index())?;
        let room = site.rooms.get(rack.room_index())?;
        let (slot, aisle) = match rack.aisle_index() {
            Some(a) => {
                let aisle = room.aisles.get(a)?;
                (aisle.racks.get(rack.index())?, Some(aisle.ctx.as_slice()))
            }
            None => (room.standalone.get(rack.index())?, None),
        };
        let place = RackPlace {
            site: &site.ctx,
            room: &room.ctx,
            aisle,
        };
        Some((slot, place))
    }

    /// `GET /api/racks/{id}`: the first rack with this id.
    pub fn rack(&self, index: &TopologyIndex, id: &str) -> Option<Bytes> {
        self.rack_slot(index, id)
            .map(|(slot, _)| self.sites.slice(slot.range.clone()))
    }

    /// `GET /api/racks/{rack}/devices/{device}`: `{device, template, rack, room, site,
    /// aisle}` assembled from encoded parts.
    pub fn device(
        &self,
        index: &TopologyIndex,
        topology: &Topology,
        rack_id: &str,
        device_id: &str,
    ) -> Result<Bytes, DeviceMissing> {
        let (slot, place) = self.rack_slot(index, rack_id).ok_or(DeviceMissing::Rack)?;
        let at = *slot
            .device_ids
            .get(device_id)
            .ok_or(DeviceMissing::Device)? as usize;
        let device = slot.devices.get(at).ok_or(DeviceMissing::Device)?;
        let template_id = index
            .rack(rack_id)
            .and_then(|r| r.resolve(topology))
            .and_then(|r| r.devices.get(at))
            .map(|d| d.template_id.as_str());
        let template = template_id
            .and_then(|t| self.templates.get(t))
            .map(|r| &self.catalog[r.clone()]);
        let mut out = Vec::with_capacity(
            slot.range.len() + device.len() + template.map_or(4, <[u8]>::len) + 256,
        );
        out.extend_from_slice(b"{\"device\":");
        out.extend_from_slice(&self.sites[device.clone()]);
        out.extend_from_slice(b",\"template\":");
        out.extend_from_slice(template.unwrap_or(b"null"));
        out.extend_from_slice(b",\"rack\":");
        out.extend_from_slice(&self.sites[slot.range.clone()]);
        out.extend_from_slice(b",\"room\":");
        out.extend_from_slice(place.room);
        out.extend_from_slice(b",\"site\":");
        out.extend_from_slice(place.site);
        out.extend_from_slice(b",\"aisle\":");
        out.extend_from_slice(place.aisle.unwrap_or(b"null"));
        out.push(b'}');
        Ok(Bytes::from(out))
    }

    /// `GET /api/catalog`.
    pub fn catalog(&self) -> Bytes {
        self.catalog.clone()
    }

    /// `GET /api/checks`.
    pub fn checks(&self) -> Bytes {
        self.checks.clone()
    }

    /// `GET /api/checks/files`.
    pub fn check_files(&self) -> Bytes {
        self.check_files.clone()
    }

    /// `GET /api/metrics/library[?category=&tag=]`; empty filters are ignored.
    pub fn metrics_library(&self, category: Option<&str>, tag: Option<&str>) -> Bytes {
        self.metrics.library(category, tag)
    }

    /// `GET /api/metrics/library/{id}`: the first definition with this id.
    pub fn metric(&self, id: &str) -> Option<Bytes> {
        self.metrics.metric(id)
    }

    /// `GET /api/metrics/library/files`.
    pub fn metric_files(&self) -> Bytes {
        self.metrics.files.clone()
    }

    /// `GET /api/metrics/categories`.
    pub fn metric_categories(&self) -> Bytes {
        self.metrics.categories.clone()
    }

    /// `GET /api/metrics/tags`.
    pub fn metric_tags(&self) -> Bytes {
        self.metrics.tags.clone()
    }
}

/// The context objects of a rack: its site, room and aisle (none when standalone).
struct RackPlace<'a> {
    site: &'a [u8],
    room: &'a [u8],
    aisle: Option<&'a [u8]>,
}

#[cfg(test)]
mod tests;
