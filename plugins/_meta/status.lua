---@meta rackscope.status
-- LuaCATS definitions of `rackscope.status_map and rackscope.status` (see rackscope.lua in this folder for the
-- conventions and the core API). Never executed by the server.

---------------------------------------------------------------------------------------
-- rackscope.status_map / rackscope.status
---------------------------------------------------------------------------------------

---Registers a named status map (only during setup), used by `rackscope.status.severity`
---from this and every other plugin. Two forms (mixable); status names are case-insensitive;
---`default` gives the severity of unlisted statuses (otherwise UNKNOWN).
---
---```lua
---rackscope.status_map("slurm", { OK = { "idle", "allocated" }, CRIT = { "down", "drain" }, default = "WARN" })
---rackscope.status_map("pdu", { on = "OK", off = "CRIT" })
---```
---@param name string
---@param map table<string, rackscope.Severity|string[]>
function rackscope.status_map(name, map) end

---@class rackscope.status
rackscope.status = {}

---The severities, best first: `{"OK", "INFO", "WARN", "CRIT", "UNKNOWN"}`.
---@type rackscope.Severity[]
rackscope.status.SEVERITIES = {}

---The severity of `status` under the status map `name` (this plugin's, else any loaded
---plugin's). A nil status gives "UNKNOWN"; an unknown map name raises.
---
---```lua
---rackscope.status.severity("slurm", "drain") --> "CRIT"
---```
---@param name string
---@param status string|nil
---@return rackscope.Severity
function rackscope.status.severity(name, status) end
