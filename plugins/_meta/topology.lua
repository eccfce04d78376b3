---@meta rackscope.topology
-- LuaCATS definitions of `rackscope.topology` (see rackscope.lua in this folder for the
-- conventions and the core API). Never executed by the server.

---One placement of a node instance in the topology.
---@class rackscope.Placement
---@field site_id string
---@field site_name string
---@field room_id string
---@field room_name string
---nil for a rack that is not in an aisle.
---@field aisle_id? string
---@field aisle_name? string
---@field rack_id string
---@field rack_name string
---@field device_id string
---@field device_name string
---@field template_id string

---A placement with the instance name (`rackscope.topology.instances()`).
---@class rackscope.NamedPlacement: rackscope.Placement
---@field name string

---------------------------------------------------------------------------------------
-- rackscope.topology
---------------------------------------------------------------------------------------

---Read-only views of the running topology; each call sees the current one.
---@class rackscope.topology
rackscope.topology = {}

---Every site, nested (rooms, aisles, racks, devices), in the Rackscope JSON shape.
---@return table[]
function rackscope.topology.sites() end

---Every room, flattened, each with its `site_id`.
---@return table[]
function rackscope.topology.rooms() end

---One room by id, or nil.
---@param id string
---@return table|nil
function rackscope.topology.room(id) end

---One rack by id, or nil.
---@param id string
---@return table|nil
function rackscope.topology.rack(id) end

---One device template by id (`id`, `name`, `type`, `storage_type`, `u_height`, `layout`,
---`disk_layout`, ...), or nil.
---@param id string
---@return table|nil
function rackscope.topology.template(id) end

---Every aisle (or those of one room), flattened, in topology order.
---@param room_id? string
---@return {id: string, name: string, site_id: string, room_id: string, racks: string[]}[]
function rackscope.topology.aisles(room_id) end

---Every rack (or those of one room), flattened, in topology order, without devices.
---`aisle_id` is nil for a standalone rack.
---@param room_id? string
---@return {id: string, name: string, site_id: string, room_id: string, aisle_id: string?, template_id: string?, u_height: integer, device_count: integer}[]
function rackscope.topology.racks(room_id) end

---The devices of one rack in file order, each with `instances` (its node names in slot
---order); nil for an unknown rack.
---
---```lua
---for _, d in ipairs(rackscope.topology.devices("r01") or {}) do print(d.id, #d.instances) end
---```
---@param rack_id string
---@return table[]|nil
function rackscope.topology.devices(rack_id) end

---Where a node instance is, or nil.
---
---```lua
---local p = rackscope.topology.instance("compute001")
---if p then print(p.room_id, p.rack_id) end
---```
---@param name string
---@return rackscope.Placement|nil
function rackscope.topology.instance(name) end

---Every node instance in topology order, optionally only those of one room.
---@param room_id? string
---@return rackscope.NamedPlacement[]
function rackscope.topology.instances(room_id) end

---Expands a nodeset pattern: `"compute[001-004]"` gives
---`{"compute001", "compute002", "compute003", "compute004"}`. Raises on a range over 10000 names.
---@param pattern string
---@return string[]
function rackscope.topology.expand(pattern) end

---A number that changes whenever the running state (topology, app config) is reloaded:
---what you derive from the topology stays valid while it does not change.
---
---```lua
---if index_gen ~= rackscope.topology.generation() then rebuild_index() end
---```
---@return integer
function rackscope.topology.generation() end
