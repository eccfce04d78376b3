//! The single-file form: `{sites: [...]}` with everything inline.

use super::*;

pub(super) fn load_single_file(file: &Path, ctx: &mut Ctx) -> Topology {
    let Some(Some(raw)) = read_yaml::<RawTopologyFile>(file, ctx) else {
        return Topology::default();
    };
    let mut sites = Vec::new();
    for (si, raw_site) in list(raw.sites, "`sites`", file, ctx)
        .into_iter()
        .enumerate()
    {
        let Some(id) = required_id(raw_site.id, &format!("sites[{si}]"), "site", file, ctx) else {
            continue;
        };
        let what = format!("site `{id}`");
        let name = name_field(raw_site.name, None, &what, file, ctx);
        let location = raw_site
            .location
            .and_then(|loc| build_location(loc, &what, file, ctx));
        let mut rooms = Vec::new();
        for (ri, raw_room) in list(raw_site.rooms, &format!("{what}: `rooms`"), file, ctx)
            .into_iter()
            .enumerate()
        {
            let Some(room_id) = required_id(
                raw_room.id,
                &format!("{what}, rooms[{ri}]"),
                "room",
                file,
                ctx,
            ) else {
                continue;
            };
            let room_what = format!("{what}, room `{room_id}`");
            let room_name = name_field(raw_room.name, None, &room_what, file, ctx);
            let layout = raw_room
                .layout
                .map(|l| build_layout(l, &room_what, file, ctx));
            let mut aisles = Vec::new();
            for (ai, raw_aisle) in list(
                raw_room.aisles,
                &format!("{room_what}: `aisles`"),
                file,
                ctx,
            )
            .into_iter()
            .enumerate()
            {
                let Some(aisle_id) = required_id(
                    raw_aisle.id,
                    &format!("{room_what}, aisles[{ai}]"),
                    "aisle",
                    file,
                    ctx,
                ) else {
                    continue;
                };
                let aisle_what = format!("{room_what}, aisle `{aisle_id}`");
                let aisle_name = name_field(raw_aisle.name, None, &aisle_what, file, ctx);
                let racks = list(
                    raw_aisle.racks,
                    &format!("{aisle_what}: `racks`"),
                    file,
                    ctx,
                )
                .into_iter()
                .filter_map(|r| build_rack(r, file, ctx))
                .collect();
                aisles.push(Aisle {
                    id: aisle_id,
                    name: aisle_name,
                    racks,
                });
            }
            for dup in duplicates(aisles.iter().map(|a| a.id.as_str())) {
                ctx.problem(file, format!("{room_what}: duplicate aisle id `{dup}`"));
            }
            let standalone_racks = list(
                raw_room.standalone_racks,
                &format!("{room_what}: `standalone_racks`"),
                file,
                ctx,
            )
            .into_iter()
            .filter_map(|r| build_rack(r, file, ctx))
            .collect();
            rooms.push(Room {
                id: room_id,
                name: room_name,
                description: text(raw_room.description),
                layout,
                aisles,
                standalone_racks,
            });
        }
        for dup in duplicates(rooms.iter().map(|r| r.id.as_str())) {
            ctx.problem(file, format!("{what}: duplicate room id `{dup}`"));
        }
        sites.push(Site {
            id,
            name,
            description: text(raw_site.description),
            location,
            rooms,
        });
    }
    for dup in duplicates(sites.iter().map(|s| s.id.as_str())) {
        ctx.problem(file, format!("duplicate site id `{dup}`"));
    }
    Topology { sites }
}

/// A required, safe id in the single-file form (where a missing id is a problem).
pub(super) fn required_id(
    id: Option<Text>,
    at: &str,
    kind: &str,
    file: &Path,
    ctx: &mut Ctx,
) -> Option<String> {
    match id {
        Some(Text(id)) => {
            check_safe_id(&id, kind, file, ctx);
            Some(id)
        }
        None => {
            ctx.problem(file, format!("{at}: missing required field `id`"));
            None
        }
    }
}
