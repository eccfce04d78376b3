//! The segmented form: `sites.yaml`, then one folder per site, room and aisle.

use super::*;

pub(super) fn load_segmented(dir: &Path, ctx: &mut Ctx) -> Topology {
    let sites_file = dir.join("sites.yaml");
    if !sites_file.is_file() {
        ctx.problem(&sites_file, "Topology sites file not found");
        return Topology::default();
    }
    let raw = match read_yaml::<RawSitesFile>(&sites_file, ctx) {
        Some(Some(raw)) => raw,
        Some(None) => return Topology::default(), // an empty sites.yaml is an empty topology
        None => match salvage_sites(&sites_file, ctx) {
            Some(raw) => raw,
            None => return Topology::default(),
        },
    };
    let mut sites = Vec::new();
    for (i, entry) in list(raw.sites, "`sites`", &sites_file, ctx)
        .into_iter()
        .enumerate()
    {
        let entry = match entry {
            StrOr::Map(entry) => entry,
            _ => {
                ctx.problem(
                    &sites_file,
                    format!("sites[{i}]: a site entry must be a mapping"),
                );
                continue;
            }
        };
        let Some(Text(id)) = entry.id.filter(|t| !t.0.is_empty()) else {
            continue; // no id, skipped silently
        };
        if !check_safe_id(&id, "site", &sites_file, ctx) {
            continue; // the id names a directory: do not descend with an unsafe one
        }
        let what = format!("site `{id}`");
        let name = name_field(entry.name, Some(&id), &what, &sites_file, ctx);
        let location = entry
            .location
            .and_then(|loc| build_location(loc, &what, &sites_file, ctx));
        let rooms_dir = dir.join("datacenters").join(&id).join("rooms");
        let listed: Vec<String> = entry
            .rooms
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| match r {
                StrOr::Str(s) => Some(s),
                StrOr::Map(RawIdOnly { id: Some(Text(s)) }) => Some(s),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect();
        let room_dirs = if listed.is_empty() {
            discover_rooms(&rooms_dir, ctx)
        } else {
            listed
        };
        let mut rooms = Vec::new();
        for room_dir_id in room_dirs {
            if !is_plain_component(&room_dir_id) {
                ctx.problem(
                    &sites_file,
                    format!("{what}: room id `{room_dir_id}` is not a valid directory name"),
                );
                continue;
            }
            if let Some(room) = load_room(&rooms_dir.join(&room_dir_id), &room_dir_id, ctx) {
                rooms.push(room);
            }
        }
        for dup in duplicates(rooms.iter().map(|r| r.id.as_str())) {
            ctx.problem(&sites_file, format!("{what}: duplicate room id `{dup}`"));
        }
        sites.push(Site {
            id,
            name,
            description: text(entry.description),
            location,
            rooms,
        });
    }
    for dup in duplicates(sites.iter().map(|s| s.id.as_str())) {
        ctx.problem(&sites_file, format!("duplicate site id `{dup}`"));
    }
    Topology { sites }
}

/// After a type error in `sites.yaml` (already reported), keeps the site entries that do
/// parse, so that the problems of every other site are reported too.
pub(super) fn salvage_sites(file: &Path, ctx: &mut Ctx) -> Option<RawSitesFile> {
    let text = fs::read_to_string(file).ok()?;
    let root: serde_norway::Value = serde_norway::from_str(&text).ok()?;
    let entries = root.get("sites")?.as_sequence()?;
    let mut sites = Vec::with_capacity(entries.len());
    let mut first_error = true;
    for (i, entry) in entries.iter().enumerate() {
        // Round-trip through YAML text so that scalars are read exactly as in a full parse.
        let parsed = serde_norway::to_string(entry)
            .and_then(|yaml| serde_norway::from_str::<StrOr<RawSiteEntry>>(&yaml));
        match parsed {
            Ok(site) => sites.push(site),
            // The first bad entry is the error already reported, with its line.
            Err(_) if first_error => first_error = false,
            Err(err) => ctx.problem(file, format!("sites[{i}]: {err}")),
        }
    }
    Some(RawSitesFile {
        sites: Maybe::Value(sites),
    })
}

/// The sub-directories of a site's `rooms/`, sorted by name.
pub(super) fn discover_rooms(rooms_dir: &Path, ctx: &mut Ctx) -> Vec<String> {
    let entries = match fs::read_dir(rooms_dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(err) => {
            ctx.problem(rooms_dir, format!("cannot list rooms: {err}"));
            return Vec::new();
        }
    };
    let mut names = Vec::new();
    for entry in entries.flatten() {
        if !entry.path().is_dir() {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(name) => names.push(name),
            Err(name) => ctx.warn(format!(
                "Skipping room directory with a non-UTF-8 name: {}",
                rooms_dir.join(name).display()
            )),
        }
    }
    names.sort();
    names
}

pub(super) fn load_room(room_dir: &Path, dir_id: &str, ctx: &mut Ctx) -> Option<Room> {
    let room_file = room_dir.join("room.yaml");
    if !room_file.is_file() {
        ctx.warn(format!("Missing room file: {}", room_file.display()));
        return None;
    }
    let raw = read_yaml::<RawRoomFile>(&room_file, ctx)?.unwrap_or_default();
    let id = text(raw.id)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| dir_id.to_owned());
    check_safe_id(&id, "room", &room_file, ctx);
    let what = format!("room `{id}`");
    let name = name_field(raw.name, Some(dir_id), &what, &room_file, ctx);
    let layout = raw.layout.map(|l| build_layout(l, &what, &room_file, ctx));

    let mut aisles = Vec::new();
    for entry in list(raw.aisles, &format!("{what}: `aisles`"), &room_file, ctx) {
        let (aisle_id, aisle_name) = match entry {
            StrOr::Str(s) => (s, Maybe::Absent),
            StrOr::Map(RawAisleEntry {
                id: Some(Text(s)),
                name,
            }) => (s, name),
            _ => continue, // no id
        };
        if aisle_id.is_empty() {
            continue;
        }
        if !check_safe_id(&aisle_id, "aisle", &room_file, ctx) {
            continue;
        }
        let aisle_what = format!("{what}, aisle `{aisle_id}`");
        let name = name_field(aisle_name, Some(&aisle_id), &aisle_what, &room_file, ctx);
        let aisle_dir = room_dir.join("aisles").join(&aisle_id);
        let aisle_file = aisle_dir.join("aisle.yaml");
        if !aisle_file.is_file() {
            ctx.warn(format!("Missing aisle file: {}", aisle_file.display()));
            continue;
        }
        let Some(raw_aisle) = read_yaml::<RawAisleFile>(&aisle_file, ctx) else {
            continue;
        };
        let refs = list(
            raw_aisle.unwrap_or_default().racks,
            "`racks`",
            &aisle_file,
            ctx,
        );
        let racks = load_rack_refs(refs, &aisle_dir.join("racks"), &aisle_file, ctx);
        aisles.push(Aisle {
            id: aisle_id,
            name,
            racks,
        });
    }
    for dup in duplicates(aisles.iter().map(|a| a.id.as_str())) {
        ctx.problem(&room_file, format!("{what}: duplicate aisle id `{dup}`"));
    }
    let refs = list(
        raw.standalone_racks,
        &format!("{what}: `standalone_racks`"),
        &room_file,
        ctx,
    );
    let standalone_racks =
        load_rack_refs(refs, &room_dir.join("standalone_racks"), &room_file, ctx);
    Some(Room {
        id,
        name,
        description: text(raw.description),
        layout,
        aisles,
        standalone_racks,
    })
}

/// Loads the racks of an aisle or the standalone racks of a room, in list order.
pub(super) fn load_rack_refs(
    refs: Vec<RackRef>,
    racks_dir: &Path,
    list_file: &Path,
    ctx: &mut Ctx,
) -> Vec<Rack> {
    let mut racks = Vec::with_capacity(refs.len());
    for rack_ref in refs {
        match rack_ref {
            RackRef::Skip => {}
            RackRef::Inline(raw) => racks.extend(build_rack(*raw, list_file, ctx)),
            RackRef::File(name) => {
                if !is_plain_component(&name) {
                    ctx.problem(
                        list_file,
                        format!("rack ref `{name}` is not a valid file name"),
                    );
                    continue;
                }
                let file = racks_dir.join(format!("{name}.yaml"));
                if !file.is_file() {
                    ctx.warn(format!("Missing rack file: {}", file.display()));
                    continue;
                }
                // An empty rack file is skipped silently.
                if let Some(Some(raw)) = read_yaml::<RawRack>(&file, ctx) {
                    racks.extend(build_rack(raw, &file, ctx));
                }
            }
        }
    }
    racks
}

/// duplicate rack ids, room ids across sites, device ids (warnings only).
pub(super) fn warn_duplicates(topology: &Topology, ctx: &mut Ctx) {
    let racks: Vec<&Rack> = topology.racks().collect();
    let mut messages = Vec::new();
    for dup in duplicates(racks.iter().map(|r| r.id.as_str())) {
        messages.push(format!(
            "Duplicate rack id `{dup}`: /views/rack/{dup} will resolve to the first match"
        ));
    }
    let mut room_sites: HashMap<&str, &str> = HashMap::new();
    let mut reported = HashSet::new();
    for site in &topology.sites {
        for room in &site.rooms {
            match room_sites.get(room.id.as_str()) {
                Some(first) if *first != site.id && reported.insert(room.id.as_str()) => {
                    messages.push(format!(
                        "Duplicate room id `{}` across sites (`{first}` and `{}`)",
                        room.id, site.id
                    ));
                }
                Some(_) => {}
                None => {
                    room_sites.insert(&room.id, &site.id);
                }
            }
        }
    }
    for dup in duplicates(
        racks
            .iter()
            .flat_map(|r| r.devices.iter().map(|d| d.id.as_str())),
    ) {
        messages.push(format!("Duplicate device id `{dup}`"));
    }
    for message in messages {
        ctx.warn(message);
    }
}
