//! Validation and building shared by both forms: ids, names, locations, layouts, racks
//! and devices.

use super::*;

pub(super) fn text(t: Option<Text>) -> Option<String> {
    t.map(|Text(s)| s)
}

/// A list field: absent is empty, `null` is a problem.
pub(super) fn list<T>(value: Maybe<Vec<T>>, what: &str, file: &Path, ctx: &mut Ctx) -> Vec<T> {
    match value {
        Maybe::Absent => Vec::new(),
        Maybe::Null => {
            ctx.problem(
                file,
                format!("{what} is null (write `[]` for an empty list)"),
            );
            Vec::new()
        }
        Maybe::Value(v) => v,
    }
}

/// A name field: absent takes `default` (or is a problem when there is none); `null` is a
/// problem.
pub(super) fn name_field(
    value: Maybe<Text>,
    default: Option<&str>,
    what: &str,
    file: &Path,
    ctx: &mut Ctx,
) -> String {
    match (value, default) {
        (Maybe::Value(Text(name)), _) => name,
        (Maybe::Absent, Some(default)) => default.to_owned(),
        (Maybe::Absent, None) => {
            ctx.problem(file, format!("{what}: missing required field `name`"));
            String::new()
        }
        (Maybe::Null, default) => {
            ctx.problem(file, format!("{what}: `name` must not be null"));
            default.unwrap_or_default().to_owned()
        }
    }
}

pub(super) fn check_safe_id(id: &str, what: &str, file: &Path, ctx: &mut Ctx) -> bool {
    let ok = is_safe_id(id);
    if !ok {
        ctx.problem(
            file,
            format!(
                "{what} id `{id}` is not a safe id (1-128 chars from [a-z0-9._-], starting with [a-z0-9])"
            ),
        );
    }
    ok
}

pub(super) fn build_location(
    raw: RawLocation,
    what: &str,
    file: &Path,
    ctx: &mut Ctx,
) -> Option<SiteLocation> {
    let mut ok = true;
    let mut coord = |value: Option<f64>, key: &str, limit: f64| match value {
        Some(v) if (-limit..=limit).contains(&v) => v,
        Some(v) => {
            ctx.problem(
                file,
                format!("{what}: location.{key} {v} is outside [-{limit}, {limit}]"),
            );
            ok = false;
            0.0
        }
        None => {
            ctx.problem(file, format!("{what}: location.{key} is required"));
            ok = false;
            0.0
        }
    };
    let lat = coord(raw.lat, "lat", 90.0);
    let lon = coord(raw.lon, "lon", 180.0);
    ok.then(|| SiteLocation {
        lat,
        lon,
        address: text(raw.address),
    })
}

pub(super) fn build_layout(
    raw: RawRoomLayout,
    what: &str,
    file: &Path,
    ctx: &mut Ctx,
) -> RoomLayout {
    let mut layout = RoomLayout::default();
    let mut at_least = |value: Option<f64>, key: &str, min: f64, default: f64| match value {
        Some(v) if v >= min => v,
        Some(v) => {
            ctx.problem(
                file,
                format!("{what}: layout.{key} {v} must be at least {min}"),
            );
            default
        }
        None => default,
    };
    if let Some(size) = raw.size {
        layout.size = RoomSize {
            width: at_least(size.width, "size.width", 1.0, 24.0),
            height: at_least(size.height, "size.height", 1.0, 16.0),
        };
    }
    if let Some(grid) = raw.grid {
        layout.grid = RoomGrid {
            enabled: grid.enabled.is_some_and(|LaxBool(b)| b),
            cell: at_least(grid.cell, "grid.cell", 4.0, 32.0),
        };
    }
    if let Some(shape) = raw.shape {
        layout.shape = shape.0;
    }
    if let Some(RawOrientation {
        north: Some(Text(north)),
    }) = raw.orientation
    {
        layout.orientation = RoomOrientation { north };
    }
    layout.door = match raw.door {
        Maybe::Absent => Some(RoomDoor::default()),
        Maybe::Null => None,
        Maybe::Value(door) => {
            let defaults = RoomDoor::default();
            let position = match door.position {
                Some(p) if (0.0..=1.0).contains(&p) => p,
                Some(p) => {
                    ctx.problem(
                        file,
                        format!("{what}: layout.door.position {p} is outside [0, 1]"),
                    );
                    defaults.position
                }
                None => defaults.position,
            };
            Some(RoomDoor {
                side: text(door.side).unwrap_or(defaults.side),
                label: match door.label {
                    Maybe::Absent => defaults.label,
                    Maybe::Null => None,
                    Maybe::Value(Text(label)) => Some(label),
                },
                position,
            })
        }
    };
    layout
}

pub(super) fn build_rack(raw: RawRack, file: &Path, ctx: &mut Ctx) -> Option<Rack> {
    let Some(Text(id)) = raw.id else {
        ctx.problem(file, "rack: missing required field `id`");
        return None;
    };
    let what = format!("rack `{id}`");
    check_safe_id(&id, "rack", file, ctx);
    let name = name_field(raw.name, None, &what, file, ctx);
    let u_height = match raw.u_height {
        None => 42,
        Some(LaxInt(h)) if (1..=60).contains(&h) => h as u32, // 1..=60 fits in u32
        Some(LaxInt(h)) => {
            ctx.problem(file, format!("{what}: u_height {h} is outside 1..=60"));
            42
        }
    };
    let raw_devices = list(raw.devices, &format!("{what}: `devices`"), file, ctx);
    let mut devices = Vec::with_capacity(raw_devices.len());
    for (i, raw_device) in raw_devices.into_iter().enumerate() {
        if let Some(device) = build_device(raw_device, i, &what, file, ctx) {
            devices.push(device);
        }
    }
    Some(Rack {
        id,
        name,
        template_id: text(raw.template_id),
        u_height,
        aisle_id: text(raw.aisle_id),
        devices,
    })
}

pub(super) fn build_device(
    raw: RawDevice,
    i: usize,
    rack: &str,
    file: &Path,
    ctx: &mut Ctx,
) -> Option<Device> {
    let what = match &raw.id {
        Some(Text(id)) => format!("{rack}, device `{id}`"),
        None => format!("{rack}, devices[{i}]"),
    };
    let mut ok = true;
    let mut required = |present: bool, field: &str, null: bool| {
        if !present {
            let why = if null {
                "must not be null"
            } else {
                "is required"
            };
            ctx.problem(file, format!("{what}: `{field}` {why}"));
            ok = false;
        }
    };
    required(raw.id.is_some(), "id", false);
    let null = |m: &Maybe<Text>| matches!(m, Maybe::Null);
    required(matches!(raw.name, Maybe::Value(_)), "name", null(&raw.name));
    required(
        matches!(raw.template_id, Maybe::Value(_)),
        "template_id",
        null(&raw.template_id),
    );
    required(
        matches!(raw.u_position, Maybe::Value(_)),
        "u_position",
        matches!(raw.u_position, Maybe::Null),
    );
    let (Some(Text(id)), Maybe::Value(Text(name)), Maybe::Value(Text(template_id))) =
        (raw.id, raw.name, raw.template_id)
    else {
        return None;
    };
    let Maybe::Value(LaxInt(u_position)) = raw.u_position else {
        return None;
    };
    // `nodes` is an alias used when `instance` is missing or empty.
    let instance = match (raw.instance, &raw.nodes) {
        (Some(instance), _) if !instance.is_empty() => instance,
        (_, Some(nodes)) => nodes.clone(),
        (instance, None) => instance.unwrap_or_default(),
    };
    if let Err(err) = nodeset::count_instance(&instance) {
        ctx.problem(file, format!("{what}: {err}"));
        ok = false;
    }
    let labels = raw
        .labels
        .map(|labels| labels.into_iter().map(|(k, Text(v))| (k, v)).collect());
    ok.then_some(Device {
        id,
        name,
        template_id,
        u_position,
        instance,
        nodes: raw.nodes,
        labels,
    })
}

/// Duplicate ids among `ids` (each reported once, in first-seen order).
pub(super) fn duplicates<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    let mut reported = HashSet::new();
    let mut out = Vec::new();
    for id in ids {
        if !seen.insert(id) && reported.insert(id) {
            out.push(id);
        }
    }
    out
}
