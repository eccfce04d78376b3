---@meta rackscope.plugin
-- LuaCATS definitions of `rackscope.plugin` (see rackscope.lua in this folder for the
-- conventions and the core API). Never executed by the server.

---`rackscope.plugin`: where this plugin is.
---@class rackscope.PluginInfo
---The plugin's folder name (the key under `plugins:` in app.yaml).
---@field folder string
---The plugin's config folder, `<dir of app.yaml>/plugins/<folder>`.
---@field config_dir string
---The plugin's code folder, `<paths.plugins>/<folder>` (read-only: `rackscope.fs.read_bundled`).
---@field code_dir string

---------------------------------------------------------------------------------------
-- rackscope.plugin
---------------------------------------------------------------------------------------

---Where this plugin is.
---@type rackscope.PluginInfo
rackscope.plugin = {}

---The path inside this plugin's config folder for a path from its config, or `nil, reason`
---when it leads out of the folder. The one rule for plugin paths: Rackscope's configs name
---files from the server's working directory (`config/plugins/slurm/node_mapping.yaml`), so
---the path is cut after its last `plugins/<folder>` pair of segments (`\` counts as `/`);
---what is left must not be absolute nor contain `..`; empty and `.` segments are dropped
---(`config/plugins/slurm` gives `""`, the folder itself).
---
---```lua
---rackscope.plugin.resolve_path("config/plugins/slurm/node_mapping.yaml") --> "node_mapping.yaml"
---rackscope.plugin.resolve_path("/etc/passwd") --> nil, "'/etc/passwd' is outside the plugin's config folder ..."
---```
---@param path string
---@return string|nil rel
---@return string|nil reason
function rackscope.plugin.resolve_path(path) end

---Asks the host to reload this plugin from disk, as an edit of its files would, even if
---no file changed (to re-read data files that setup reads: catalogs, mappings). Like
---every reload it is transactional: the new instance replaces this one only if it loads;
---otherwise this one keeps serving and `GET /api/plugins/{id}` shows the error. The reload
---starts at once, beside the current call, which still finishes on this instance. Only
---after setup.
---
---```lua
---rackscope.route("POST", "/api/sim/restart", function()
---  rackscope.plugin.reload()
---  return { status = "restarting" }
---end)
---```
function rackscope.plugin.reload() end

---Reports a problem the plugin runs around (a hand-broken data file it ignores), shown
---under `key` in the `warnings` object of `GET /api/plugins/{id}` and logged when it
---appears, changes or clears; `message = nil` clears `key`. At most 100 keys, messages
---cut at 2,000 bytes. A new instance starts with none.
---
---```lua
---rackscope.plugin.set_warning("mapping", "mapping.yaml line 3 is invalid; last good mapping kept")
---rackscope.plugin.set_warning("mapping", nil)
---```
---@param key string
---@param message string|nil
function rackscope.plugin.set_warning(key, message) end
