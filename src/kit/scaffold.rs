//! `rackscope plugin new NAME [--dir DIR]`: a plugin folder that loads and passes its own
//! test at once, as a starting point: `init.lua` (metadata, settings with defaults and
//! `validate_config`, two routes, one of which asks Prometheus, a menu section),
//! `README.md`, `tests/<name>_test.lua` (canned Prometheus answers, an outage, a refused
//! setting) and `.luarc.json`, which points lua-language-server at the API definitions
//! (`plugins/_meta`; written next to the new folder from the copy in this binary when
//! there is none there).
//!
//! It refuses a folder that exists and an id that a plugin enabled in the config already
//! uses (each enabled plugin's `init.lua` is run to learn its id, as `rackscope check`
//! does; `setup` is not run).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::plugin_file::is_safe_id;
use crate::state::AppState;

/// The API definitions for editors (`plugins/_meta`), written beside a new plugin when
/// its plugins folder has none. `meta_files_are_all_embedded` keeps the list complete.
const META_FILES: &[(&str, &str)] = &[
    ("config.lua", include_str!("../../plugins/_meta/config.lua")),
    ("fs.lua", include_str!("../../plugins/_meta/fs.lua")),
    ("health.lua", include_str!("../../plugins/_meta/health.lua")),
    ("json.lua", include_str!("../../plugins/_meta/json.lua")),
    ("log.lua", include_str!("../../plugins/_meta/log.lua")),
    (
        "metrics.lua",
        include_str!("../../plugins/_meta/metrics.lua"),
    ),
    ("plugin.lua", include_str!("../../plugins/_meta/plugin.lua")),
    (
        "prometheus.lua",
        include_str!("../../plugins/_meta/prometheus.lua"),
    ),
    (
        "rackscope.lua",
        include_str!("../../plugins/_meta/rackscope.lua"),
    ),
    ("status.lua", include_str!("../../plugins/_meta/status.lua")),
    (
        "testing.lua",
        include_str!("../../plugins/_meta/testing.lua"),
    ),
    (
        "topology.lua",
        include_str!("../../plugins/_meta/topology.lua"),
    ),
    ("yaml.lua", include_str!("../../plugins/_meta/yaml.lua")),
];

/// The folder of the editor definitions, next to plugin folders.
const META_DIR: &str = "_meta";

/// Runs the command and reports on stdout and stderr.
#[allow(clippy::print_stdout)]
pub fn run(name: &str, dir: Option<&Path>, config: &Path) -> ExitCode {
    match create(name, dir, config) {
        Ok(created) => {
            for w in &created.warnings {
                eprintln!("warning: {w}");
            }
            let folder = created.folder.display();
            println!("created {folder}");
            for f in &created.files {
                println!("  {f}");
            }
            if let Some(meta) = &created.meta_written {
                println!(
                    "wrote the API definitions for editors to {}",
                    meta.display()
                );
            }
            println!();
            println!("next:");
            println!("  rackscope plugin test {folder}");
            println!("  enable it in app.yaml:  plugins: {{ {name}: {{ enabled: true }} }}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rackscope plugin new: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What `create` wrote.
#[derive(Debug)]
pub struct Created {
    pub folder: PathBuf,
    /// Relative to `folder`.
    pub files: Vec<String>,
    /// The `_meta` folder written beside it, if there was none.
    pub meta_written: Option<PathBuf>,
    /// What could not be checked.
    pub warnings: Vec<String>,
}

/// Writes the plugin `name` in `dir` (default: `paths.plugins` of the config at
/// `config`), after checking the name against the folder and the enabled plugins.
pub fn create(name: &str, dir: Option<&Path>, config: &Path) -> Result<Created, String> {
    if !is_safe_id(name) {
        return Err(format!(
            "'{name}' cannot be a plugin id: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (at most 128)"
        ));
    }
    let mut warnings = Vec::new();
    let state = if config.is_file() {
        match AppState::load(config) {
            Ok(s) => Some(s),
            Err(e) => {
                warnings.push(format!(
                    "{} does not load, so the id is not checked against its plugins: {e}",
                    config.display()
                ));
                None
            }
        }
    } else {
        if dir.is_none() {
            return Err(format!(
                "no config at {} to find the plugins folder in: give --dir, or --config",
                config.display()
            ));
        }
        warnings.push(format!(
            "no config at {}: the id is not checked against enabled plugins",
            config.display()
        ));
        None
    };
    let dir = match (dir, &state) {
        (Some(d), _) => d.to_path_buf(),
        (None, Some(s)) => crate::plugin::discovery::code_root(s),
        (None, None) => return Err(format!("{} does not load: give --dir", config.display())),
    };
    let folder = dir.join(name);
    if folder.exists() {
        return Err(format!("{} exists already", folder.display()));
    }
    if let Some(state) = &state {
        for p in crate::check::check_plugins(state) {
            if p.folder == name || p.id.as_deref() == Some(name) {
                return Err(format!(
                    "the plugin in folder '{}' (enabled in {}) already uses the id '{name}'",
                    p.folder,
                    config.display()
                ));
            }
        }
    }

    let meta_dir = dir.join(META_DIR);
    let meta_written = if meta_dir.is_dir() {
        None
    } else {
        std::fs::create_dir_all(&meta_dir)
            .map_err(|e| format!("cannot create {}: {e}", meta_dir.display()))?;
        for (file, text) in META_FILES {
            write(&meta_dir.join(file), text)?;
        }
        Some(meta_dir)
    };
    let files = [
        ("init.lua", init_lua(name)),
        ("README.md", readme(name)),
        (&format!("tests/{name}_test.lua") as &str, test_lua(name)),
        (".luarc.json", luarc()),
    ];
    let mut written = Vec::new();
    for (rel, text) in files {
        write(&folder.join(rel), &text)?;
        written.push(rel.to_string());
    }
    Ok(Created {
        folder,
        files: written,
        meta_written,
        warnings,
    })
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `pdu-report` -> `Pdu report`.
fn title(name: &str) -> String {
    let words = name.replace(['-', '_', '.'], " ");
    let mut c = words.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn init_lua(name: &str) -> String {
    let title = title(name);
    format!(
        r#"-- {title}: a rackscope plugin, written by `rackscope plugin new`. Make it yours.
--
--   GET /api/{name}/hello?name=Ada   a greeting, in the configured words
--   GET /api/{name}/targets          how many Prometheus targets are up and down
--
-- Its settings are in its config file, <dir of app.yaml>/plugins/{name}/config.yml;
-- DEFAULTS lists them. Its tests are in tests/: `rackscope plugin test <this folder>`.

-- Every setting, with its default.
local DEFAULTS = {{
  -- The first words of GET /api/{name}/hello.
  greeting = "Hello",
  -- The PromQL whose series GET /api/{name}/targets counts (value 1 = up).
  up_query = "up",
}}

-- The config over the defaults.
local function settings(config)
  local s = {{}}
  for k, v in pairs(DEFAULTS) do s[k] = v end
  for k, v in pairs(config or {{}}) do s[k] = v end
  return s
end

---@type rackscope.Plugin
return {{
  id = "{name}",
  name = "{title}",
  version = "0.1.0",
  description = "{title}: a greeting and the Prometheus targets up and down",

  -- Runs before setup, and for every POST /api/plugins/{name}/config: `true`, or
  -- `nil, reason` to refuse the config (the load fails, the API answers 422).
  validate_config = function(config)
    for key, value in pairs(config) do
      if DEFAULTS[key] == nil then
        return nil, "unknown setting '" .. tostring(key) .. "'"
      end
      if type(value) ~= "string" or value == "" then
        return nil, key .. " must be a non-empty string"
      end
    end
    return true
  end,

  setup = function(config)
    local s = settings(config)

    rackscope.route("GET", "/api/{name}/hello", function(req)
      return {{ message = s.greeting .. ", " .. (req.query.name or "world") .. "!" }}
    end)

    rackscope.route("GET", "/api/{name}/targets", function()
      local data, err = rackscope.prometheus.query(s.up_query)
      if not data then
        error(rackscope.http_error(503, tostring(err)))
      end
      local up, down = 0, 0
      for _, series in ipairs(data.result) do
        if tonumber(series.value[2]) == 1 then up = up + 1 else down = down + 1 end
      end
      return {{ up = up, down = down }}
    end)

    rackscope.menu({{
      id = "{name}", label = "{title}", icon = "Puzzle", order = 100,
      items = {{ {{ id = "{name}-targets", label = "Targets", path = "/{name}/targets", icon = "Activity" }} }},
    }})
  end,
}}
"#
    )
}

fn test_lua(name: &str) -> String {
    format!(
        r#"-- Tests of the {name} plugin: `rackscope plugin test <the plugin's folder>`.
-- Each testing.plugin() loads the plugin as the server does (validate_config, setup),
-- with a fake Prometheus and a fake clock; requests go through the server's own HTTP
-- layer. See "Testing a plugin" in rackscope's docs/plugins.md.

describe("GET /api/{name}/hello", function()
  it("greets in the configured words", function()
    local p = testing.plugin({{ config = {{ greeting = "Hi" }} }})
    local res = p:get("/api/{name}/hello", {{ query = {{ name = "Ada" }} }})
    assert.equal(res.status, 200)
    assert.same(res.body, {{ message = "Hi, Ada!" }})
  end)
end)

describe("GET /api/{name}/targets", function()
  it("counts the targets up and down", function()
    testing.prometheus.answer("up", {{
      {{ {{ instance = "node01:9100" }}, 1 }},
      {{ {{ instance = "node02:9100" }}, 1 }},
      {{ {{ instance = "node03:9100" }}, 0 }},
    }})
    local p = testing.plugin()
    assert.same(p:get("/api/{name}/targets").body, {{ up = 2, down = 1 }})
  end)

  it("answers 503 while Prometheus is down", function()
    testing.prometheus.fail("up", "unreachable")
    local res = testing.plugin():get("/api/{name}/targets")
    assert.equal(res.status, 503)
    assert.truthy(res.body.detail:find("Prometheus", 1, true), res.body.detail)
  end)
end)

describe("the config", function()
  it("refuses a setting it does not know", function()
    local p = testing.plugin({{ config = {{ greting = "Hi" }}, fails = true }})
    assert.truthy(p.error:find("unknown setting 'greting'", 1, true), p.error)
  end)
end)

describe("the menu", function()
  it("has the plugin's section", function()
    local menu = testing.plugin():menu()
    assert.equal(#menu, 1)
    assert.equal(menu[1].id, "{name}")
  end)
end)
"#
    )
}

fn readme(name: &str) -> String {
    let title = title(name);
    format!(
        r#"# {title}

A rackscope plugin, written by `rackscope plugin new {name}`.

## Routes

| route | answer |
|---|---|
| `GET /api/{name}/hello?name=Ada` | `{{"message": "Hello, Ada!"}}` |
| `GET /api/{name}/targets` | `{{"up": 2, "down": 1}}`: the series of `up_query` with value 1, and the others; 503 while Prometheus cannot answer |

It adds a "{title}" section to the sidebar.

## Settings

In `<dir of app.yaml>/plugins/{name}/config.yml` (all optional):

| key | default | meaning |
|---|---|---|
| `greeting` | `Hello` | the first words of `/hello` |
| `up_query` | `up` | the PromQL whose series `/targets` counts |

Any other key, or a value that is not a non-empty string, is refused: the plugin does
not load, and `POST /api/plugins/{name}/config` answers 422.

## Enabling it

In app.yaml:

```yaml
plugins:
  {name}:
    enabled: true
```

`rackscope check` loads it (without running `setup`) and reports any problem with its
file and line.

## Tests

```sh
rackscope plugin test path/to/{name}
```

`tests/{name}_test.lua` loads the plugin as the server does, with canned Prometheus
answers and a fake clock, and calls its routes; no server or Prometheus is needed.

## Editor

`.luarc.json` points lua-language-server at rackscope's API definitions (`../_meta`),
for completion and type checks of `rackscope.*` and of the test API.
"#
    )
}

fn luarc() -> String {
    r#"{
  "runtime.version": "Lua 5.4",
  "workspace.library": ["../_meta"],
  "diagnostics.globals": ["rackscope", "testing", "describe", "it", "before_each", "after_each"],
  "runtime.builtin": { "io": "disable", "debug": "disable", "package": "disable" }
}
"#
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_files_are_all_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/_meta");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".lua"))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = META_FILES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            embedded, on_disk,
            "src/kit/scaffold.rs META_FILES must list every file of plugins/_meta"
        );
    }

    #[test]
    fn names_and_titles() {
        assert_eq!(title("pdu-report"), "Pdu report");
        assert_eq!(title("x"), "X");
        let e = create(
            "Bad",
            Some(Path::new("/nonexistent")),
            Path::new("/nonexistent/app.yaml"),
        )
        .unwrap_err();
        assert!(e.contains("cannot be a plugin id"), "{e}");
    }
}
