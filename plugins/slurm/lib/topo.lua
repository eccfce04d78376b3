-- Where nodes are: an index of the topology's node instances (name -> placement, room ->
-- names in topology order), rebuilt with every node-state refresh so topology edits show
-- within one cache period. Room filtering is the same in every endpoint: a node is in a
-- room when its (mapped) name is an instance of that room.

local M = {}

-- The placement fields copied into /api/slurm/nodes entries (the contract's ids plus
-- Rackscope's names, D5). Nodes outside the topology have them all null.
M.CONTEXT = {
  "site_id", "site_name", "room_id", "room_name", "aisle_id", "rack_id", "rack_name",
  "device_id", "device_name",
}

function M.build()
  local by_name, rooms = {}, {}
  for _, p in ipairs(rackscope.topology.instances()) do
    local name = p.name
    local room = rooms[p.room_id]
    if not room then
      room = { names = {}, seen = {} }
      rooms[p.room_id] = room
    end
    if not room.seen[name] then
      room.seen[name] = true
      room.names[#room.names + 1] = name
    end
    -- Two devices claiming one name: the later one wins, as in the topology index.
    by_name[name] = p
  end
  return setmetatable({
    by_name = by_name, rooms = rooms, other_rooms = {}, context_cache = {}, quoted_cache = {},
  }, { __index = M })
end

-- True when the room exists (rooms without any instance are looked up once).
function M:has_room(id)
  if self.rooms[id] then return true end
  local known = self.other_rooms[id]
  if known == nil then
    known = rackscope.topology.room(id) ~= nil
    -- Unknown ids are not remembered, so random ids cannot grow this table.
    if known then self.other_rooms[id] = true end
  end
  return known
end

-- The instance names of a room, in topology order ({} for a room without instances).
function M:room_names(id)
  local r = self.rooms[id]
  return r and r.names or {}
end

-- The room a (mapped) node name is in, or nil.
function M:room_of(name)
  local p = self.by_name[name]
  return p and p.room_id
end

local encode = rackscope.json.encode
local NULL = rackscope.null

-- make(self, name), remembered in self[cache] for the topology's own names (other names
-- come and go with the Slurm data and are not kept).
local function remembered(self, cache, name, make)
  local c = self[cache]
  local v = c[name]
  if v == nil then
    v = make(self, name)
    if self.by_name[name] then c[name] = v end
  end
  return v
end

local function context_of(self, name)
  local p = self.by_name[name]
  local fields = {}
  for _, k in ipairs(M.CONTEXT) do
    local v = p and p[k]
    if v == nil then v = NULL end
    fields[k] = v
  end
  return encode(fields):sub(2, -2)
end

-- The placement fields of a /nodes entry as JSON members (`"site_id":"...",...`), null
-- for nodes outside the topology; built once per name and topology.
function M:context_json(name)
  return remembered(self, "context_cache", name, context_of)
end

-- `name` as a JSON string.
function M:quoted(name)
  return remembered(self, "quoted_cache", name, function(_, n) return encode(n) end)
end

return M
