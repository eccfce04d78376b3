//! Tests of the loader on small hand-written trees: ids, both forms, problems reported
//! with file and line.

use super::*;

#[test]
fn safe_ids() {
    for ok in ["a", "0", "rack-01", "r.1_x", &"a".repeat(128)] {
        assert!(is_safe_id(ok), "{ok}");
    }
    for bad in [
        "",
        "A",
        "_x",
        ".x",
        "-x",
        "a b",
        "a/b",
        "é",
        "a\n",
        &"a".repeat(129),
    ] {
        assert!(!is_safe_id(bad), "{bad:?}");
    }
}

#[test]
fn plain_components() {
    assert!(is_plain_component("Room A"));
    for bad in ["", ".", "..", "a/b", "a\\b"] {
        assert!(!is_plain_component(bad), "{bad:?}");
    }
}

#[test]
fn rack_refs_parse_every_form() {
    let refs: Vec<RackRef> = serde_norway::from_str(
        "- r01\n- {id: r02}\n- {id: r03, name: R3}\n- {name: x}\n- ''\n- 12\n- [a]\n- {id: r04, devices: []}\n",
    )
    .unwrap();
    let kinds: Vec<String> = refs
        .iter()
        .map(|r| match r {
            RackRef::File(f) => format!("file:{f}"),
            RackRef::Inline(raw) => format!("inline:{}", raw.id.as_ref().unwrap().0),
            RackRef::Skip => "skip".into(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "file:r01",
            "file:r02",
            "inline:r03",
            "skip",
            "skip",
            "skip",
            "skip",
            "inline:r04"
        ]
    );
}

#[test]
fn device_fields_are_validated_together() {
    let raw: RawRack = serde_norway::from_str(
        "id: R1\nname: x\nu_height: 61\ndevices:\n- {id: d1}\n- {id: d2, name: n, template_id: t, u_position: '3', nodes: 'c[1-2]'}\n",
    )
    .unwrap();
    let mut ctx = Ctx::default();
    let rack = build_rack(raw, Path::new("r.yaml"), &mut ctx).unwrap();
    let messages: Vec<&str> = ctx.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages.len(), 5, "{messages:?}");
    assert!(messages[0].contains("safe id"));
    assert!(messages[1].contains("u_height 61"));
    assert!(messages[2].contains("device `d1`: `name` is required"));
    assert_eq!(rack.devices.len(), 1);
    let d2 = &rack.devices[0];
    assert_eq!(d2.u_position, 3);
    assert_eq!(d2.instance, InstanceSpec::Single("c[1-2]".into()));
    assert_eq!(d2.nodes, Some(InstanceSpec::Single("c[1-2]".into())));
}

#[test]
fn layout_defaults_and_limits() {
    let raw: RawRoomLayout = serde_norway::from_str(
        "size: {width: 36}\ngrid: {enabled: yes, cell: 2}\ndoor: {label: null}\n",
    )
    .unwrap();
    let mut ctx = Ctx::default();
    let layout = build_layout(raw, "room", Path::new("room.yaml"), &mut ctx);
    assert_eq!(layout.size.width, 36.0);
    assert_eq!(layout.size.height, 16.0);
    assert!(layout.grid.enabled);
    assert_eq!(ctx.problems.len(), 1);
    assert!(ctx.problems[0].message.contains("grid.cell 2"));
    let door = layout.door.unwrap();
    assert_eq!(door.label, None);
    assert_eq!(door.side, "west");
    let raw: RawRoomLayout = serde_norway::from_str("door: null\n").unwrap();
    assert!(build_layout(raw, "room", Path::new("r"), &mut ctx)
        .door
        .is_none());
}

#[test]
fn yaml_problem_has_line_and_no_duplicate_position() {
    let mut ctx = Ctx::default();
    let err = serde_norway::from_str::<RawRack>("id: r1\nname: x\nu_height: abc\n").unwrap_err();
    ctx.yaml_problem(Path::new("r1.yaml"), &err);
    let p = &ctx.problems[0];
    assert_eq!(p.line, Some(3));
    assert!(!p.message.contains("at line"), "{}", p.message);
    assert!(p.to_string().starts_with("r1.yaml:3: u_height"), "{p}");
}

/// One rule for lax scalars in every file of a config folder (`crate::coerce`): each
/// spelling is the same integer, or the same boolean, in a topology file as in app.yaml,
/// or is refused by both.
#[test]
fn lax_scalars_read_alike_in_the_topology_and_in_app_yaml() {
    let app_yaml = |section: &str, key: &str, spelling: &str| {
        let text = format!(
            "paths: {{topology: t, templates: t, checks: c}}\n{section}: {{{key}: {spelling}}}\n"
        );
        let doc: serde_json::Value = serde_norway::from_str(&text).unwrap();
        crate::config::validate::validate(&doc)
    };
    for spelling in [
        "7", "'7'", "7.0", "'7.0'", "' 7 '", "'+7'", "1_000", "'1_000'", "true", "7.5", "'7.5'",
        "abc", "'1__0'", "null", "[1]",
    ] {
        let topo = serde_norway::from_str::<LaxInt>(spelling).map(|LaxInt(i)| i);
        let app = app_yaml("planner", "cache_ttl_seconds", spelling)
            .map(|cfg| cfg.planner.cache_ttl_seconds);
        assert_eq!(
            topo.is_ok(),
            app.is_ok(),
            "integer {spelling}: {topo:?} / {app:?}"
        );
        if let (Ok(t), Ok(a)) = (topo, app) {
            assert_eq!(t, a, "integer {spelling}");
        }
    }
    for spelling in [
        "true", "false", "yes", "no", "on", "off", "y", "n", "t", "f", "'T'", "'1'", "'0'", "1",
        "0", "1.0", "2", "maybe", "'true '", "null",
    ] {
        let topo = serde_norway::from_str::<LaxBool>(spelling).map(|LaxBool(b)| b);
        let app = app_yaml("features", "wizard", spelling).map(|cfg| cfg.features.wizard);
        assert_eq!(
            topo.is_ok(),
            app.is_ok(),
            "boolean {spelling}: {topo:?} / {app:?}"
        );
        if let (Ok(t), Ok(a)) = (topo, app) {
            assert_eq!(t, a, "boolean {spelling}");
        }
    }
}
