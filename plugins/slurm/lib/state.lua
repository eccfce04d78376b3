-- Node state from one Prometheus answer, computed once per answer (and again only when
-- the node mapping changes), and the answers of the node endpoints built from it.
--
-- Per row of `max by (node,status,partition) (metric) > 0`: skip values <= 0, skip rows
-- without a node name, map the name (lib/mapping.lua), classify the raw status (a missing
-- status label is "unknown"; lib/status.lua). Per node (names that map to the same
-- instance are one node):
--   statuses    the raw strings, sorted and unique
--   partitions  sorted and unique
--   worst       the most severe row (ties: the earliest row)
--   all         the row of partition "all", if any (the last one)
--   primary     `all` if there is one, else `worst` (summary and /nodes); the room view
--               shows `worst` (reference algorithms A and B, spec slurm.md §1.7)
-- Partition counts: each (node, partition, status) counted once.
--
-- Every answer is built once per (view, room_id) and kept as pre-encoded JSON
-- (rackscope.json.raw) until the next refresh, so a request is a table lookup.

local M = {}

local NULL = rackscope.null
local array = rackscope.array
local raw_json = rackscope.json.raw
local encode = rackscope.json.encode

-- Rows handled between two yields, so that requests to the plugin are answered while a
-- large answer is being processed (rackscope.sleep(0) lets other tasks run).
local ROWS_PER_YIELD = 4000

-- Adds `v` to the small list `list` unless it is there already.
local function add_unique(list, v)
  for i = 1, #list do
    if list[i] == v then return end
  end
  list[#list + 1] = v
end

-- One shared, sorted JSON array per distinct list: most nodes have the same statuses and
-- partitions as many others, so this saves most of the tables. Returns the array and its
-- JSON text.
local function interner()
  local known = {}
  return function(list)
    if #list > 1 then table.sort(list) end
    local key = #list == 1 and list[1] or (#list .. "\0" .. table.concat(list, "\0"))
    local a = known[key]
    if not a then
      local arr = array(list)
      a = { arr, encode(arr) }
      known[key] = a
    end
    return a[1], a[2]
  end
end

-- Builds the state. `data`: the query's answer in columnar form (labels.<name>[i],
-- values[i], count); `labels`: {node, status, partition} label names; `resolve`: the
-- mapping's resolver; `classify`: lib/status classifier; `topo`: lib/topo index.
-- Yields to other requests now and then (see ROWS_PER_YIELD).
function M.build(data, labels, resolve, classify, topo)
  local col_node = data.labels[labels.node]
  local col_status = data.labels[labels.status]
  local col_part = data.labels[labels.partition]
  local values = data.values
  local nodes, names = {}, {}
  local parts = {} -- partition -> status -> set of nodes
  local next_yield = ROWS_PER_YIELD
  for i = 1, data.count do
    if i >= next_yield then
      rackscope.sleep(0)
      next_yield = i + ROWS_PER_YIELD
    end
    local v = values[i]
    local name = col_node[i]
    -- NaN is not > 0 here (the reference counted it as active).
    if v > 0 and name ~= "" then
      local node = resolve(name)
      if node ~= "" then
        local raw = col_status[i]
        if raw == "" then raw = "unknown" end
        local c = classify(raw)
        local part = col_part[i]
        local st = nodes[node]
        if not st then
          st = { worst = c, raws = { raw }, parts = {} }
          nodes[node] = st
          names[#names + 1] = node
        else
          if c.rank > st.worst.rank then st.worst = c end
          add_unique(st.raws, raw)
        end
        if part ~= "" then
          add_unique(st.parts, part)
          if part == "all" then st.all = c end
        else
          part = "unknown"
        end
        local by_status = parts[part]
        if not by_status then
          by_status = {}
          parts[part] = by_status
        end
        local set = by_status[c.status]
        if not set then
          set = {}
          by_status[c.status] = set
        end
        set[node] = true
      end
    end
  end
  rackscope.sleep(0)
  table.sort(names)
  local intern = interner()
  local quoted = {} -- JSON text of each status and severity
  local function q(v)
    local t = quoted[v]
    if not t then
      t = encode(v)
      quoted[v] = t
    end
    return t
  end
  for i = 1, #names do
    local name = names[i]
    local st = nodes[name]
    local statuses, statuses_json = intern(st.raws)
    local partitions, partitions_json = intern(st.parts)
    st.statuses, st.partitions = statuses, partitions
    st.raws, st.parts = nil, nil
    local p = st.all or st.worst
    st.primary = p
    st.room = topo:room_of(name)
    -- This node's /api/slurm/nodes entry, as JSON text: the node list is the biggest
    -- answer, and joining these is much cheaper than encoding 14,000 tables.
    st.json = '{"node":' .. topo:quoted(name) .. ',"status":' .. q(p.status) .. ',"severity":'
      .. q(p.severity) .. ',"statuses":' .. statuses_json .. ',"partitions":' .. partitions_json
      .. "," .. topo:context_json(name) .. "}"
    if i % 2000 == 0 then rackscope.sleep(0) end
  end
  return setmetatable({ nodes = nodes, names = names, parts = parts, topo = topo, views = {} },
    { __index = M })
end

-- True when node `name` passes the room filter (nil or "" = no filter).
local function in_room(st, room)
  return room == nil or room == "" or st.room == room
end

local function echo(room)
  if room == nil then return NULL end
  return room
end

function M:summary(room)
  local by_status = {}
  local by_sev = { OK = 0, WARN = 0, CRIT = 0, UNKNOWN = 0 }
  local total = 0
  for _, name in ipairs(self.names) do
    local st = self.nodes[name]
    if in_room(st, room) then
      local p = st.primary
      total = total + 1
      by_status[p.status] = (by_status[p.status] or 0) + 1
      by_sev[p.severity] = (by_sev[p.severity] or 0) + 1
    end
  end
  return { room_id = echo(room), total_nodes = total, by_status = by_status, by_severity = by_sev }
end

function M:partitions(room)
  local out = {}
  for part, by_status in pairs(self.parts) do
    local counts, any = {}, false
    for status, set in pairs(by_status) do
      local n = 0
      for node in pairs(set) do
        if in_room(self.nodes[node], room) then n = n + 1 end
      end
      if n > 0 then
        counts[status] = n
        any = true
      end
    end
    if any then out[part] = counts end
  end
  return { room_id = echo(room), partitions = out }
end

-- The node list, as JSON text (see st.json in M.build).
function M:node_list(room)
  local parts = {}
  for _, name in ipairs(self.names) do
    local st = self.nodes[name]
    if in_room(st, room) then parts[#parts + 1] = st.json end
  end
  return '{"room_id":' .. (room == nil and "null" or encode(room)) .. ',"nodes":['
    .. table.concat(parts, ",") .. "]}"
end

local UNKNOWN_NODE = { status = "unknown", severity = "UNKNOWN", statuses = array(), partitions = array() }

function M:room_nodes(room)
  local out = {}
  for _, name in ipairs(self.topo:room_names(room)) do
    local st = self.nodes[name]
    if st then
      out[name] = { status = st.worst.status, severity = st.worst.severity,
        statuses = st.statuses, partitions = st.partitions }
    else
      out[name] = UNKNOWN_NODE
    end
  end
  return { room_id = room, nodes = out }
end

-- The pre-encoded answer of `view` ("summary", "partitions", "node_list", "room_nodes")
-- for `room`, built on first use.
function M:answer(view, room)
  local key = view .. "\0" .. (room == nil and "\1" or room)
  local a = self.views[key]
  if not a then
    a = raw_json(self[view](self, room))
    self.views[key] = a
  end
  return a
end

return M
