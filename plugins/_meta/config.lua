---@meta rackscope.config
-- LuaCATS definitions of `rackscope.config` (see rackscope.lua in this folder for the
-- conventions and the core API). Never executed by the server.



---------------------------------------------------------------------------------------
-- rackscope.config
---------------------------------------------------------------------------------------

---@class rackscope.config
rackscope.config = {}

---The app config (app.yaml as the server runs it), read-only, secrets removed.
---@return table
function rackscope.config.app() end

---This plugin's config as currently loaded (the same table `setup` got, updated by `save`).
---@return table
function rackscope.config.plugin() end

---The path of this plugin's config file.
---@return string
function rackscope.config.path() end

---Replaces this plugin's config file with `tbl` (YAML, atomic write; comments are not
---kept). The edit reloads the plugin like any file edit.
---
---```lua
---local ok, err = rackscope.config.save({ greeting = "hey" })
---```
---@param tbl table a table with string keys
---@return true|nil ok
---@return string|nil err
function rackscope.config.save(tbl) end

---Merges `tbl`'s top-level keys into this plugin's config file as it is on disk now, under
---the file's lock (the one `POST /api/plugins/{id}/config` takes), so keys it does not
---name keep what an admin saved meanwhile. A key set to `rackscope.null` is removed. The
---edit reloads the plugin like any file edit.
---
---```lua
---local ok, err = rackscope.config.update({ catalog = "catalog.yaml", legacy = rackscope.null })
---```
---@param tbl table a table with string keys
---@return true|nil ok
---@return string|nil err
function rackscope.config.update(tbl) end
