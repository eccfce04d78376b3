//! Shapes of the read views' answers (`views` encodes them) that are not a model type as
//! it is: the room summaries, a device with its context, the catalog and library
//! wrappers, file lists.

use utoipa::ToSchema;

use crate::library::checks::CheckDefinition;
use crate::library::metrics::MetricDefinition;
use crate::topology::model::{Device, DeviceTemplate, Rack, RackComponentTemplate, RackTemplate};

/// A room as the sidebar lists it (`GET /api/rooms`).
#[derive(ToSchema)]
pub struct RoomSummary {
    pub id: String,
    pub name: String,
    /// The site the room is in.
    pub site_id: String,
    /// Its aisles, then (only when it has standalone racks) the virtual aisle
    /// `<room_id>-standalone` holding them.
    pub aisles: Vec<AisleSummary>,
}

/// An aisle of a room summary.
#[derive(ToSchema)]
pub struct AisleSummary {
    pub id: String,
    pub name: String,
    pub racks: Vec<NamedRef>,
}

/// `{id, name}`.
#[derive(ToSchema)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

/// A site in a device's context (`description` is `""` when the site has none).
#[derive(ToSchema)]
pub struct SiteRef {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// `GET /api/racks/{rack_id}/devices/{device_id}`: a device and where it is.
#[derive(ToSchema)]
pub struct DeviceContext {
    pub device: Device,
    /// The device's template; null when the catalog has no template of that id.
    pub template: Option<DeviceTemplate>,
    /// The whole rack.
    pub rack: Rack,
    pub room: NamedRef,
    pub site: SiteRef,
    /// Null for a standalone rack.
    pub aisle: Option<NamedRef>,
}

/// `GET /api/catalog`: every template, in load order.
#[derive(ToSchema)]
pub struct CatalogAnswer {
    pub device_templates: Vec<DeviceTemplate>,
    pub rack_templates: Vec<RackTemplate>,
    pub rack_component_templates: Vec<RackComponentTemplate>,
}

/// `GET /api/checks`: the checks library, in load order.
#[derive(ToSchema)]
pub struct ChecksAnswer {
    pub checks: Vec<CheckDefinition>,
}

/// `GET /api/metrics/library`.
#[derive(ToSchema)]
pub struct MetricsAnswer {
    pub count: u64,
    pub metrics: Vec<MetricDefinition>,
}

/// A library file the loader read.
#[derive(ToSchema)]
pub struct CheckFile {
    pub name: String,
    /// The configured folder joined with the name.
    pub path: String,
    /// Same as `name`.
    pub relative: String,
}

/// `GET /api/checks/files`.
#[derive(ToSchema)]
pub struct CheckFiles {
    pub files: Vec<CheckFile>,
}

/// `{name, path}`.
#[derive(ToSchema)]
pub struct FileRef {
    pub name: String,
    pub path: String,
}

/// `GET /api/metrics/library/files`, `GET /api/metrics/files`.
#[derive(ToSchema)]
pub struct Files {
    pub files: Vec<FileRef>,
}

/// One file's text.
#[derive(ToSchema)]
pub struct FileContent {
    pub name: String,
    pub content: String,
}

/// `GET /api/metrics/categories`: sorted, distinct.
#[derive(ToSchema)]
pub struct Categories {
    pub categories: Vec<String>,
}

/// `GET /api/metrics/tags`: sorted, distinct.
#[derive(ToSchema)]
pub struct Tags {
    pub tags: Vec<String>,
}
