//! The kit for plugin authors through the real binary: `rackscope plugin test` on the seed
//! plugins and on a probe plugin that exercises every part of the test API
//! (`tests/data/plugins/probe`), `rackscope plugin new` then `plugin test` (passing, then
//! failing with the file and line, `--filter`, `--tap`), and `rackscope check` on plugins
//! broken in each way it reports.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;

use support::server::{copy_dir, project_root, ConfigDir};

/// Runs the binary with `args`: (exit code, stdout, stderr).
fn rackscope(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rackscope"))
        .args(args)
        .env_remove("RACKSCOPE_APP_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// TAP lines `ok N - <plugin>: ...` per plugin.
fn passed_of(tap: &str, plugin: &str) -> usize {
    tap.lines()
        .filter(|l| l.starts_with("ok ") && l.contains(&format!(" - {plugin}: ")))
        .count()
}

#[test]
fn the_seed_plugins_pass_their_tests() {
    let root = project_root();
    let (code, out, err) = rackscope(&[
        "plugin",
        "test",
        "--tap",
        path(&root.join("plugins/simulator")),
        path(&root.join("plugins/slurm")),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("not ok"), "{out}");
    assert!(passed_of(&out, "simulator") >= 40, "{out}");
    assert!(passed_of(&out, "slurm") >= 55, "{out}");
}

#[test]
fn the_test_api_does_what_its_guide_says() {
    let probe = project_root().join("tests/data/plugins/probe");
    let (code, out, err) = rackscope(&["plugin", "test", path(&probe)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\n24 passed, 0 failed in "), "{out}");
}

/// A new plugin in a temporary folder (no config: the id is not checked).
fn new_plugin(dir: &Path, name: &str) -> std::path::PathBuf {
    let (code, out, err) = rackscope(&[
        "plugin",
        "new",
        name,
        "--dir",
        path(dir),
        "--config",
        path(&dir.join("no-app.yaml")),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("the id is not checked"), "{err}");
    dir.join(name)
}

#[test]
fn a_new_plugin_passes_its_test_and_a_broken_test_fails_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = new_plugin(tmp.path(), "pdu");
    for f in ["init.lua", "README.md", "tests/pdu_test.lua", ".luarc.json"] {
        assert!(plugin.join(f).is_file(), "{f}");
    }
    assert!(tmp.path().join("_meta/rackscope.lua").is_file());
    assert!(tmp.path().join("_meta/testing.lua").is_file());
    let luarc: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(plugin.join(".luarc.json")).unwrap()).unwrap();
    assert_eq!(luarc["workspace.library"][0], "../_meta");

    let (code, out, err) = rackscope(&["plugin", "test", path(&plugin)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\n5 passed, 0 failed in "), "{out}");
    assert!(
        out.contains("    ok    GET /api/pdu/targets counts the targets up and down\n"),
        "{out}"
    );

    // The author breaks the expectation: the failure names the test file's line.
    let test_file = plugin.join("tests/pdu_test.lua");
    let text = fs::read_to_string(&test_file).unwrap();
    let wrong = text.replace("{ up = 2, down = 1 }", "{ up = 3, down = 1 }");
    assert_ne!(wrong, text);
    fs::write(&test_file, &wrong).unwrap();
    let line = wrong
        .lines()
        .position(|l| l.contains("{ up = 3, down = 1 }"))
        .unwrap()
        + 1;
    let (code, out, _) = rackscope(&["plugin", "test", path(&plugin)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("    FAIL  GET /api/pdu/targets counts the targets up and down\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "plugins/pdu/tests/pdu_test.lua:{line}: expected {{ down = 1, up = 3 }}, got {{ down = 1, up = 2 }}"
        )),
        "{out}"
    );
    assert!(out.contains("\n4 passed, 1 failed in "), "{out}");

    // A test file that does not parse does not run, and says where.
    fs::write(
        plugin.join("tests/broken_test.lua"),
        "it('x', function()\n  x = = 1\nend)\n",
    )
    .unwrap();
    let (code, out, _) = rackscope(&["plugin", "test", path(&plugin)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN tests/broken_test.lua did not run"),
        "{out}"
    );
    assert!(
        out.contains("plugins/pdu/tests/broken_test.lua:2:"),
        "{out}"
    );
    assert!(out.contains("1 file did not run"), "{out}");
}

#[test]
fn filter_and_tap() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = new_plugin(tmp.path(), "lab");
    let (code, out, _) = rackscope(&["plugin", "test", path(&plugin), "--filter", "greets"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("\n1 passed, 0 failed, 4 skipped (--filter) in "),
        "{out}"
    );
    let (code, out, _) = rackscope(&["plugin", "test", path(&plugin), "--filter", "no such test"]);
    assert_eq!(code, 1, "nothing ran: {out}");

    let test_file = plugin.join("tests/lab_test.lua");
    let text = fs::read_to_string(&test_file).unwrap();
    fs::write(
        &test_file,
        text.replace(
            "assert.equal(res.status, 503)",
            "assert.equal(res.status, 502)",
        ),
    )
    .unwrap();
    let (code, out, _) = rackscope(&["plugin", "test", "--tap", path(&plugin)]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "TAP version 13");
    assert!(out.contains("\n1..5\n"), "{out}");
    assert!(
        out.contains(
            "\nok 1 - lab: tests/lab_test.lua: GET /api/lab/hello greets in the configured words\n"
        ),
        "{out}"
    );
    let failed = lines
        .iter()
        .position(|l| {
            l.starts_with("not ok 3 - lab: tests/lab_test.lua: GET /api/lab/targets answers 503")
        })
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(lines[failed + 1], "  ---");
    assert!(
        lines[failed + 2].starts_with("  message: \"plugins/lab/tests/lab_test.lua:"),
        "{out}"
    );
    assert!(
        lines[failed + 2].ends_with(": expected 502, got 503\""),
        "{out}"
    );
    assert!(
        lines[failed + 3].starts_with("  at: \"tests/lab_test.lua:"),
        "{out}"
    );
}

#[test]
fn plugin_test_needs_a_plugin_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = rackscope(&["plugin", "test", path(tmp.path())]);
    assert_eq!(code, 2);
    assert!(err.contains("not a plugin folder (no init.lua)"), "{err}");
    let plain = tmp.path().join("quiet");
    fs::create_dir_all(&plain).unwrap();
    fs::write(plain.join("init.lua"), "return { id = 'quiet' }\n").unwrap();
    let (code, out, _) = rackscope(&["plugin", "test", path(&plain)]);
    assert_eq!(code, 1, "no test files: {out}");
    assert!(out.contains("no test files (tests/*_test.lua)"), "{out}");
}

#[test]
fn plugin_new_refuses_a_folder_that_exists_and_an_id_in_use() {
    let cd = ConfigDir::demo();
    copy_dir(
        &project_root().join("plugins/slurm"),
        &cd.root().join("plugins/slurm"),
    );
    cd.edit_app_yaml(|d| d["plugins"] = serde_json::json!({"slurm": {"enabled": true}}));
    let config = cd.app_yaml();
    let plugins = cd.root().join("plugins");
    let (code, _, err) = rackscope(&["plugin", "new", "workload-slurm", "--config", path(&config)]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the plugin in folder 'slurm'")
            && err.contains("already uses the id 'workload-slurm'"),
        "{err}"
    );
    let (code, _, err) = rackscope(&["plugin", "new", "slurm", "--config", path(&config)]);
    assert_eq!(code, 1);
    assert!(err.contains("exists already"), "{err}");
    let (code, _, err) = rackscope(&["plugin", "new", "Bad Name", "--config", path(&config)]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot be a plugin id"), "{err}");
    // Into the config's plugins folder by default.
    let (code, out, err) = rackscope(&["plugin", "new", "racks", "--config", path(&config)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(plugins.join("racks/init.lua").is_file());
}

/// A plugin folder to write: its name, its `init.lua`, and files of its `lib/`.
type Folder<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// `rackscope check` on the demo config with these plugin folders written and enabled.
fn check_with(plugins: &[Folder]) -> (i32, String) {
    let cd = ConfigDir::demo();
    let mut enabled = serde_json::Map::new();
    for (name, init, libs) in plugins {
        let dir = cd.root().join("plugins").join(name);
        fs::create_dir_all(dir.join("lib")).unwrap();
        fs::write(dir.join("init.lua"), init).unwrap();
        for (file, text) in *libs {
            fs::write(dir.join("lib").join(file), text).unwrap();
        }
        enabled.insert(name.to_string(), serde_json::json!({"enabled": true}));
    }
    cd.edit_app_yaml(|d| d["plugins"] = serde_json::Value::Object(enabled));
    let (code, out, err) = rackscope(&["check", "--config", path(&cd.app_yaml())]);
    (code, format!("{out}{err}"))
}

#[test]
fn check_loads_plugins_without_setup_and_names_each_problem() {
    // setup is not run: an error there (or a timer, a listener) is not check's business.
    let quiet = "return { id = 'quiet', setup = function() error('setup ran') end }\n";
    let (code, out) = check_with(&[("quiet", quiet, &[])]);
    assert_eq!(code, 0, "{out}");

    // A module only setup would require is checked too.
    let lazy = "return {\n  id = 'lazy',\n  setup = function() require('lib.util') end,\n}\n";
    let (code, out) = check_with(&[(
        "lazy",
        lazy,
        &[("util.lua", "local t = {\n  a = 1\n  b = 2\n}\n")],
    )]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error: plugin 'lazy': syntax error: plugins/lazy/lib/util.lua:3:"),
        "{out}"
    );

    // init.lua's own errors and its metadata.
    let (code, out) = check_with(&[
        ("oops", "local x = nil\nreturn { id = x.id }\n", &[]),
        ("named", "return { id = 'Named' }\n", &[]),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error: plugin 'oops': plugins/oops/init.lua:2: attempt to index a nil value"),
        "{out}"
    );
    assert!(
        out.contains("error: plugin 'named': plugins/named/init.lua: invalid plugin id 'Named'"),
        "{out}"
    );

    // The config file: YAML with its line, validate_config's refusal with its file.
    let picky = "return {\n  id = 'picky',\n  validate_config = function(c)\n    if c.level then return nil, 'level is not a setting' end\n    return true\n  end,\n}\n";
    let cd = ConfigDir::demo();
    let dir = cd.root().join("plugins/picky");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("init.lua"), picky).unwrap();
    cd.edit_app_yaml(|d| d["plugins"] = serde_json::json!({"picky": {"enabled": true}}));
    let config_file = cd.root().join("config/plugins/picky/config.yml");
    fs::create_dir_all(config_file.parent().unwrap()).unwrap();
    fs::write(&config_file, "level: 3\n").unwrap();
    let (code, out, err) = rackscope(&["check", "--config", path(&cd.app_yaml())]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "error: plugin 'picky': {}: invalid config: level is not a setting",
            config_file.display()
        )),
        "{err}"
    );
    fs::write(&config_file, "level: [\n").unwrap();
    let (code, _, err) = rackscope(&["check", "--config", path(&cd.app_yaml())]);
    assert_eq!(code, 1);
    assert!(
        err.contains("config.yml") && err.contains("line 2"),
        "{err}"
    );

    // Two plugins: the same id, the same route registered while loading.
    let (code, out) = check_with(&[
        ("one", "rackscope.route('GET', '/api/shared/x', function() end)\nreturn { id = 'one' }\n", &[]),
        ("two", "rackscope.route('GET', '/api/shared/{y}', function() end)\nrackscope.route('GET', '/api/shared/x', function() end)\nreturn { id = 'two' }\n", &[]),
        ("three", "return { id = 'one' }\n", &[]),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "error: plugin 'two': route GET /api/shared/x is already registered by plugin 'one'"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "error: plugin 'three': plugin id 'one' is already used by the plugin in folder 'one'"
        ),
        "{out}"
    );
}

#[test]
fn a_new_plugin_passes_check_once_enabled() {
    let cd = ConfigDir::demo();
    let config = cd.app_yaml();
    let (code, out, err) = rackscope(&["plugin", "new", "fresh", "--config", path(&config)]);
    assert_eq!(code, 0, "{out}{err}");
    cd.edit_app_yaml(|d| d["plugins"] = serde_json::json!({"fresh": {"enabled": true}}));
    let (code, out, err) = rackscope(&["check", "--config", path(&config)]);
    assert_eq!(code, 0, "{out}{err}");
}
