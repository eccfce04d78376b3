---@meta rackscope.health
-- LuaCATS definitions of `rackscope.health` (see rackscope.lua in this folder for the
-- conventions and the core API). Never executed by the server.

---A check's result: its id, its name and the severity it gave.
---@class rackscope.CheckResult
---@field id string
---@field name string
---@field severity rackscope.Severity

---A maintenance covering something.
---@class rackscope.MaintenanceMark
---@field id string
---@field reason string
---@field effect "hide"|"badge"

---One node's health (`rackscope.health.node`).
---@class rackscope.NodeHealth
---@field state rackscope.Severity
---@field checks rackscope.CheckResult[]
---The WARN and CRIT ones.
---@field alerts rackscope.CheckResult[]
---@field rack_id string
---@field room_id string
---@field maintenance? rackscope.MaintenanceMark
---Measured with the states when a template lists a temperature or power metric; nil otherwise.
---@field temperature? number
---@field power? number
---True when Prometheus failed and these are the last measured states.
---@field stale boolean

---------------------------------------------------------------------------------------
-- rackscope.health
---------------------------------------------------------------------------------------

---The health engine's states, read-only: the latest snapshot's, as the `/api/rooms/...`,
---`/api/racks/...` and `/api/alerts/active` endpoints serve them (maintenances applied).
---The host computes them from the checks library every `planner.cache_ttl_seconds`; a
---plugin reads them, never recomputes them. Before the first computation every state is
---"UNKNOWN".
---
---```lua
---local crit = {}
---for _, a in ipairs(rackscope.health.alerts()) do
---  if a.state == "CRIT" then crit[#crit + 1] = a.node_id or a.rack_id end
---end
---```
---@class rackscope.health
rackscope.health = {}

---Every room's state: `{["hall-1"] = "CRIT", ...}`.
---@return table<string, rackscope.Severity>
function rackscope.health.rooms() end

---One room's state answer (`{room_id, state, racks = {[rack_id] = {state, node_total,
---node_crit, node_warn, maintenance}}, generated_at, stale, error}`), or nil for an unknown room.
---@param id string
---@return table|nil
function rackscope.health.room(id) end

---One rack's state answer (`{rack_id, state, checks, alerts, metrics, infra_metrics, nodes,
---maintenance, generated_at, stale, error}`), or nil for an unknown rack. With
---`{metrics = true}`, node temperatures and power are filled in, and
---`infra_metrics.components` (per rack component template, its metrics measured for the rack).
---@param id string
---@param opts? {metrics: boolean}
---@return table|nil
function rackscope.health.rack(id, opts) end

---One node's health, or nil for a name that is not a node of the topology.
---@param name string
---@return rackscope.NodeHealth|nil
function rackscope.health.node(name) end

---The active alerts (node entries, then rack entries), as `GET /api/alerts/active` lists them.
---@return table[]
function rackscope.health.alerts() end

---The global counts: `{total_rooms, total_racks, active_alerts, crit_count, warn_count,
---unknown_count, status, generated_at, stale, error}`.
---@return table
function rackscope.health.summary() end
