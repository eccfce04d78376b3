//! Writes `GET /api/sites` once, by hand, recording where each room, rack and device
//! object lies in it: `/api/rooms/{id}/layout`, `/api/racks/{id}` and the device part of
//! `/api/racks/{r}/devices/{d}` are then slices of the same buffer (`Bytes::slice`, no copy,
//! no second walk). The bytes are exactly what serde writes for the model (a unit test
//! compares them), so the shapes stay the model's.

use std::collections::HashMap;
use std::ops::Range;

use serde::Serialize;
use serde_json::json;

use crate::topology::{Rack, Room, Site, Topology};

/// Where one rack lies in the sites buffer, and its devices.
#[derive(Debug, Default)]
pub struct RackSlot {
    pub range: Range<usize>,
    pub devices: Vec<Range<usize>>,
    /// Device id to position in `devices`; the first of a repeated id wins.
    pub device_ids: HashMap<Box<str>, u32>,
}

/// Where one room lies, its racks, and the small context objects a device answer needs.
#[derive(Debug, Default)]
pub struct RoomSlot {
    pub range: Range<usize>,
    pub aisles: Vec<AisleSlot>,
    pub standalone: Vec<RackSlot>,
    /// `{"id", "name"}` of the room.
    pub ctx: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct AisleSlot {
    pub racks: Vec<RackSlot>,
    /// `{"id", "name"}` of the aisle.
    pub ctx: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct SiteSlot {
    pub rooms: Vec<RoomSlot>,
    /// `{"id", "name", "description"}`, the description `""` when there is none.
    pub ctx: Vec<u8>,
}

/// The sites buffer and the positions in it.
pub struct Written {
    pub json: Vec<u8>,
    pub sites: Vec<SiteSlot>,
}

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn raw(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// `"key":value`, preceded by a comma unless `first`.
    fn field<T: Serialize + ?Sized>(&mut self, first: bool, key: &str, value: &T) {
        if !first {
            self.buf.push(b',');
        }
        self.value(key);
        self.buf.push(b':');
        self.value(value);
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) {
        // Writing into a Vec cannot fail, and the model types serialise infallibly
        // (string keys only, no non-finite floats: the loaders refuse them).
        if let Err(e) = serde_json::to_writer(&mut self.buf, value) {
            tracing::error!(error = %e, "views: a value could not be encoded");
            self.buf.extend_from_slice(b"null");
        }
    }

    fn list<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        self.buf.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            each(self, item);
        }
        self.buf.push(b']');
    }

    fn rack(&mut self, rack: &Rack) -> RackSlot {
        let start = self.buf.len();
        self.raw("{");
        self.field(true, "id", &rack.id);
        self.field(false, "name", &rack.name);
        self.field(false, "template_id", &rack.template_id);
        self.field(false, "u_height", &rack.u_height);
        self.field(false, "aisle_id", &rack.aisle_id);
        self.raw(",\"devices\":");
        let mut devices = Vec::with_capacity(rack.devices.len());
        let mut device_ids = HashMap::with_capacity(rack.devices.len());
        self.list(&rack.devices, |w, d| {
            let s = w.buf.len();
            w.value(d);
            device_ids
                .entry(d.id.as_str().into())
                .or_insert(devices.len() as u32);
            devices.push(s..w.buf.len());
        });
        self.raw("}");
        RackSlot {
            range: start..self.buf.len(),
            devices,
            device_ids,
        }
    }

    fn room(&mut self, room: &Room) -> RoomSlot {
        let start = self.buf.len();
        self.raw("{");
        self.field(true, "id", &room.id);
        self.field(false, "name", &room.name);
        self.field(false, "description", &room.description);
        self.field(false, "layout", &room.layout);
        self.raw(",\"aisles\":");
        let mut aisles = Vec::with_capacity(room.aisles.len());
        self.list(&room.aisles, |w, aisle| {
            w.raw("{");
            w.field(true, "id", &aisle.id);
            w.field(false, "name", &aisle.name);
            w.raw(",\"racks\":");
            let mut racks = Vec::with_capacity(aisle.racks.len());
            w.list(&aisle.racks, |w, rack| racks.push(w.rack(rack)));
            w.raw("}");
            aisles.push(AisleSlot {
                racks,
                ctx: encode(&json!({"id": aisle.id, "name": aisle.name})),
            });
        });
        self.raw(",\"standalone_racks\":");
        let mut standalone = Vec::with_capacity(room.standalone_racks.len());
        self.list(&room.standalone_racks, |w, rack| {
            standalone.push(w.rack(rack))
        });
        self.raw("}");
        RoomSlot {
            range: start..self.buf.len(),
            aisles,
            standalone,
            ctx: encode(&json!({"id": room.id, "name": room.name})),
        }
    }

    fn site(&mut self, site: &Site) -> SiteSlot {
        self.raw("{");
        self.field(true, "id", &site.id);
        self.field(false, "name", &site.name);
        self.field(false, "description", &site.description);
        self.field(false, "location", &site.location);
        self.raw(",\"rooms\":");
        let mut rooms = Vec::with_capacity(site.rooms.len());
        self.list(&site.rooms, |w, room| rooms.push(w.room(room)));
        self.raw("}");
        SiteSlot {
            rooms,
            ctx: encode(&json!({
                "id": site.id, "name": site.name,
                "description": site.description.as_deref().unwrap_or(""),
            })),
        }
    }
}

/// Compact JSON of a value built here (always encodable).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| {
        tracing::error!(error = %e, "views: an answer could not be encoded");
        b"null".to_vec()
    })
}

/// Writes the whole `Site[]` answer and records every position.
pub fn write_sites(topology: &Topology) -> Written {
    let mut w = Writer {
        buf: Vec::with_capacity(64 * 1024),
    };
    let mut sites = Vec::with_capacity(topology.sites.len());
    w.list(&topology.sites, |w, site| sites.push(w.site(site)));
    Written { json: w.buf, sites }
}

/// `GET /api/rooms`: sites in order, then rooms in order, each with its aisles' racks
/// and, only when it has standalone racks, the virtual aisle `<room>-standalone`.
pub fn write_rooms(topology: &Topology) -> Vec<u8> {
    let racks = |racks: &[Rack]| -> Vec<serde_json::Value> {
        racks
            .iter()
            .map(|r| json!({"id": r.id, "name": r.name}))
            .collect()
    };
    let mut out = Vec::new();
    for (site, room) in topology.rooms() {
        let mut aisles: Vec<serde_json::Value> = room
            .aisles
            .iter()
            .map(|a| json!({"id": a.id, "name": a.name, "racks": racks(&a.racks)}))
            .collect();
        if !room.standalone_racks.is_empty() {
            aisles.push(json!({
                "id": format!("{}-standalone", room.id),
                "name": "Standalone",
                "racks": racks(&room.standalone_racks),
            }));
        }
        out.push(json!({"id": room.id, "name": room.name, "site_id": site.id, "aisles": aisles}));
    }
    encode(&out)
}
