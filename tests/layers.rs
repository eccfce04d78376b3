//! The module layers run one way: `scripts/check-layers.py` reads the `crate::` paths of
//! every module of src/ and fails on any import cycle between top-level modules.

mod support;

use std::process::Command;

#[test]
fn top_level_modules_import_each_other_one_way_only() {
    let root = support::server::project_root();
    let out = Command::new("python3")
        .arg(root.join("scripts/check-layers.py"))
        .arg(root.join("src"))
        .output()
        .expect("python3 runs scripts/check-layers.py");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    assert!(report.contains("no import cycle"), "{report}");
}

#[test]
fn the_check_finds_a_planted_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(
        src.join("a.rs"),
        "use crate::b::B;\n// crate::c in a comment\n",
    )
    .unwrap();
    std::fs::create_dir(src.join("b")).unwrap();
    std::fs::write(
        src.join("b/mod.rs"),
        "pub struct B;\nfn f() { crate::a::g(); }\n",
    )
    .unwrap();
    let out = Command::new("python3")
        .arg(support::server::project_root().join("scripts/check-layers.py"))
        .arg(src)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cycle: a <-> b"));
}
