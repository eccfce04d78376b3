//! The module layers run one way: `scripts/check-layers.py` reads the module paths of every
//! file of src/ and fails on any import cycle between top-level modules, or between the
//! files inside `lua/` and `plugin/`.

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
    assert!(String::from_utf8_lossy(&out.stderr).contains("cycle in src/: a <-> b"));
}

#[test]
fn the_check_finds_a_cycle_between_the_files_of_a_checked_folder() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "pub mod plugin;\npub mod http;\n").unwrap();
    std::fs::create_dir_all(src.join("plugin")).unwrap();
    // mod.rs defines what a child uses and uses that child back: a circle too.
    std::fs::write(
        src.join("plugin/mod.rs"),
        "pub mod set;\npub mod manager;\npub use manager::Manager;\npub struct Slot;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("plugin/manager.rs"),
        "use super::set::Set;\npub struct Manager;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("plugin/set.rs"),
        "use super::{Slot, manager::Manager};\npub struct Set;\n#[cfg(test)]\nmod tests { use crate::plugin::manager; }\n",
    )
    .unwrap();
    // Folders outside lua/ and plugin/ are reported, not failed.
    std::fs::create_dir_all(src.join("http")).unwrap();
    std::fs::write(
        src.join("http/mod.rs"),
        "pub mod a;\npub struct S;\npub fn f() { a::g(); }\n",
    )
    .unwrap();
    std::fs::write(src.join("http/a.rs"), "use super::S;\npub fn g() {}\n").unwrap();
    let out = Command::new("python3")
        .arg(support::server::project_root().join("scripts/check-layers.py"))
        .arg(src)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("cycle in src/plugin/: manager <-> mod.rs <-> set"),
        "{stderr}"
    );
    assert!(
        stdout.contains("note: cycle in src/http/ (not checked): a <-> mod.rs"),
        "{stdout}"
    );
}
