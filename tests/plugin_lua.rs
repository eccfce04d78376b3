//! The plugins' own Lua unit tests (`plugins/<id>/tests/<topic>_test.lua`: status mapping,
//! node mapping, config validation, catalogs, overrides), run without the server by the
//! host's runner (`rackscope::lua::testkit`) on the plugin's sandboxed state with the real
//! `rackscope` API over the demo config. Each plugin reads and writes a private copy of
//! its demo config folder.

mod support;

use std::path::Path;

use rackscope::config::plugin_file::PluginPaths;
use rackscope::lua::host::Limits;
use rackscope::lua::testkit::{self, Report, Suite};
use rackscope::state::AppState;
use support::server::{copy_dir, project_root};

/// Runs the tests of the plugin whose code is in `code_dir`, with `config` (a folder, or
/// none) copied as its config folder.
fn run(folder: &str, code_dir: &Path, config: Option<&Path>) -> (Report, tempfile::TempDir) {
    let state =
        AppState::load(&project_root().join("config/app.yaml")).expect("the demo config loads");
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join(folder);
    match config {
        Some(from) => copy_dir(from, &config_dir),
        None => std::fs::create_dir_all(&config_dir).unwrap(),
    }
    let suite = Suite {
        folder: folder.to_string(),
        paths: PluginPaths {
            code_dir: code_dir.to_path_buf(),
            config_file: config_dir.join("config.yml"),
            config_dir,
        },
        state,
        limits: Limits::default(),
    };
    (testkit::run(&suite), dir)
}

fn plugin_tests_pass(folder: &str) {
    let root = project_root();
    let code = root.join("plugins").join(folder);
    assert!(
        !testkit::test_files(&code).is_empty(),
        "plugins/{folder}/tests has test files"
    );
    let (report, _dir) = run(
        folder,
        &code,
        Some(&root.join("config/plugins").join(folder)),
    );
    assert!(report.passed(), "plugins/{folder}:\n{}", report.summary());
    assert!(report.cases.len() >= 10, "{}", report.summary());
}

#[test]
fn the_simulator_libraries_pass_their_tests() {
    plugin_tests_pass("simulator");
}

#[test]
fn the_slurm_libraries_pass_their_tests() {
    plugin_tests_pass("slurm");
}

#[test]
fn failures_are_reported_with_the_test_line() {
    let code = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(code.path().join("tests")).unwrap();
    std::fs::create_dir_all(code.path().join("lib")).unwrap();
    std::fs::write(
        code.path().join("lib/add.lua"),
        "return function(a, b) return a + b end\n",
    )
    .unwrap();
    std::fs::write(
        code.path().join("tests/add_test.lua"),
        r#"local add = require("lib.add")
describe("add", function()
  it("adds", function() assert.equal(add(1, 2), 3) end)
  it("is wrong on purpose", function()
    assert.equal(add(1, 2), 4)
  end)
  it("compares tables by content", function() assert.same({ a = { 1 } }, { a = { 2 } }) end)
  it("expects an error", function() assert.error(function() end) end)
  it("checks the error's text", function()
    assert.equal(assert.error(function() add(nil, 1) end, "arithmetic"):match("arithmetic") , "arithmetic")
  end)
  it("keeps Lua's assert", function() assert(false, "plain assert") end)
end)
"#,
    )
    .unwrap();
    std::fs::write(
        code.path().join("tests/broken_test.lua"),
        "this is not Lua\n",
    )
    .unwrap();
    std::fs::write(
        code.path().join("tests/helper.lua"),
        "error('not a test file')\n",
    )
    .unwrap();
    let (report, _dir) = run("probe", code.path(), None);
    let outcome: Vec<(&str, Option<&str>)> = report
        .cases
        .iter()
        .map(|c| (c.name.as_str(), c.error.as_deref()))
        .collect();
    assert_eq!(outcome.len(), 6, "{}", report.summary());
    assert_eq!(outcome[0], ("add adds", None));
    let wrong = outcome[1].1.unwrap();
    assert!(
        wrong.contains("plugins/probe/tests/add_test.lua:5: expected 4, got 3"),
        "{wrong}"
    );
    let deep = outcome[2].1.unwrap();
    assert!(
        deep.ends_with("add_test.lua:7: expected { a = { 2 } }, got { a = { 1 } }"),
        "{deep}"
    );
    assert!(outcome[3].1.unwrap().contains("expected an error"));
    assert_eq!(outcome[4].1, None);
    assert_eq!(
        outcome[5].1,
        Some("plugins/probe/tests/add_test.lua:12: plain assert")
    );
    assert_eq!(report.broken.len(), 1, "{}", report.summary());
    assert_eq!(report.broken[0].0, "tests/broken_test.lua");
    assert!(!report.passed());
    assert!(
        report.summary().ends_with("2 passed, 5 failed\n"),
        "{}",
        report.summary()
    );
}
