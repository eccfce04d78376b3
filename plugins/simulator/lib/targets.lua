-- Turns the running topology into the simulator's targets (§1.4): one per node instance
-- of every device, one per storage device (named after its first node), and one named
-- after the device for a device without nodes. Each target carries its placement
-- (site, room, aisle, rack, chassis = device id), its value profile (§2.3) and, for
-- storage, its type and number of drive slots. Racks without an aisle share the
-- pseudo-aisle "standalone", as in the reference. Node ids are global keys: a name seen
-- twice keeps its first placement.

local rng = require("lib.rng")

local M = {}

-- Template roles that behave like the reference's service nodes and GPU nodes.
local SERVICE_ROLES = { login = true, service = true, management = true, mgmt = true, mngt = true, admin = true }
local GPU_ROLES = { gpu = true, visu = true }
M.GPU_ROLES = GPU_ROLES

-- The value profile of a node (§2.3), by name first (as the reference), then by the
-- device template: a switch or network device behaves like a switch whatever its name,
-- and a node named like nothing the reference knows takes its profile from its role.
local function profile_of(nid, kind, role)
  if nid:sub(1, 7) == "compute" then return "compute" end
  if nid:sub(1, 3) == "gpu" then return "gpu" end
  if nid:sub(1, 5) == "login" or nid:sub(1, 4) == "mngt" then return "service" end
  if nid:find("isw", 1, true) or nid:find("esw", 1, true) then return "network" end
  if kind == "switch" or kind == "network" then return "network" end
  if role and GPU_ROLES[role] then return "gpu" end
  if role and SERVICE_ROLES[role] then return "service" end
  return "compute"
end
M.profile_of = profile_of

local function cells(layout)
  local n = 0
  if type(layout) == "table" and type(layout.matrix) == "table" then
    for _, row in ipairs(layout.matrix) do
      if type(row) == "table" then n = n + #row end
    end
  end
  return n
end

-- Builds the target list. Returns {
--   list = { target... }, by_id = { node_id -> index },
--   racks = { rack ids in first-seen order }, rack_info = { rack -> {site_id, room_id, aisle_id, first, last} },
--   aisles = { aisle ids in first-seen order }, signature = number }
function M.build()
  local list, by_id = {}, {}
  local racks, rack_info, aisles, aisle_seen = {}, {}, {}, {}
  local templates = {}
  local duplicates = 0
  local function template(id)
    if id == nil then return nil end
    local t = templates[id]
    if t == nil then
      t = rackscope.topology.template(id) or false
      templates[id] = t
    end
    return t or nil
  end
  local sig = 0
  for _, rk in ipairs(rackscope.topology.racks()) do
    local aisle = rk.aisle_id or "standalone"
    local rack_key = rng.hash(rk.id)
    for _, d in ipairs(rackscope.topology.devices(rk.id) or {}) do
      local tpl = template(d.template_id)
      local kind = type(tpl and tpl.type) == "string" and tpl.type:lower() or "server"
      local role = type(tpl and tpl.role) == "string" and tpl.role:lower() or nil
      local names = d.instances or {}
      local function add(node_id, extra)
        if by_id[node_id] then
          duplicates = duplicates + 1
          return
        end
        local nid = node_id:lower()
        local t = {
          node_id = node_id, instance = node_id, nid = nid,
          site_id = rk.site_id, room_id = rk.room_id, aisle_id = aisle,
          rack_id = rk.id, chassis_id = d.id, kind = kind, role = role,
          profile = profile_of(nid, kind, role),
          key = rng.hash(nid),
        }
        if extra then for k, v in pairs(extra) do t[k] = v end end
        list[#list + 1] = t
        by_id[node_id] = #list
        sig = rng.mix(sig ~ t.key ~ rack_key)
        local info = rack_info[rk.id]
        if not info then
          info = { site_id = rk.site_id, room_id = rk.room_id, aisle_id = aisle, targets = {} }
          rack_info[rk.id] = info
          racks[#racks + 1] = rk.id
          if not aisle_seen[aisle] then
            aisle_seen[aisle] = true
            aisles[#aisles + 1] = aisle
          end
        end
        info.targets[#info.targets + 1] = #list
      end
      if kind == "storage" and #names > 0 then
        add(names[1], {
          storage = true,
          storage_type = tpl and tpl.storage_type or "generic",
          slot_count = cells(tpl and (tpl.disk_layout or tpl.layout)),
        })
      elseif #names == 0 then
        add(d.id)
      else
        for _, n in ipairs(names) do add(n) end
      end
    end
  end
  if duplicates > 0 then
    rackscope.log.warn(duplicates .. " node names appear more than once in the topology; the first placement is kept")
  end
  return {
    list = list, by_id = by_id, racks = racks, rack_info = rack_info,
    aisles = aisles, aisle_set = aisle_seen, signature = sig,
  }
end

return M
