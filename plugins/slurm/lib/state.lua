-- Node state from one Prometheus answer, computed once per answer (and again only when
-- the node mapping changes), and the answers of the node endpoints built from it.
--
-- Per row of `max by (node,status,partition) (metric) > 0`: skip values <= 0, skip rows
-- without a node name, map the name (lib/mapping.lua), classify the raw status
-- (lib/status.lua). Per node (nodes that map to the same instance are one node):
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

local function sorted_keys(set)
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return array(out)
end

-- Builds the state. `rows`: data.result of the query; `labels`: {node, status, partition}
-- label names; `resolve`: the mapping's resolver; `classify`: lib/status classifier;
-- `topo`: lib/topo index.
function M.build(rows, labels, resolve, classify, topo)
  local ln, ls, lp = labels.node, labels.status, labels.partition
  local nodes, names = {}, {}
  local parts = {} -- partition -> status -> set of nodes
  local tonumber = tonumber
  for i = 1, #rows do
    local row = rows[i]
    local m = row.metric
    local value = row.value
    local v = value and value[2]
    local num = tonumber(v) or (v == "+Inf" and math.huge) or nil
    local name = m and m[ln]
    if num and num > 0 and name and name ~= "" then
      local node = resolve(name)
      if node ~= "" then
        local raw = m[ls] or "unknown"
        local c = classify(raw)
        local part = m[lp]
        local st = nodes[node]
        if not st then
          st = { worst = c, raws = {}, parts = {} }
          nodes[node] = st
          names[#names + 1] = node
        elseif c.rank > st.worst.rank then
          st.worst = c
        end
        st.raws[raw] = true
        if part and part ~= "" then st.parts[part] = true end
        if part == "all" then st.all = c end
        local pk = part or "unknown"
        local by_status = parts[pk]
        if not by_status then
          by_status = {}
          parts[pk] = by_status
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
  table.sort(names)
  for i = 1, #names do
    local st = nodes[names[i]]
    st.statuses = sorted_keys(st.raws)
    st.partitions = sorted_keys(st.parts)
    st.raws, st.parts = nil, nil
    st.primary = st.all or st.worst
    st.room = topo:room_of(names[i])
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

function M:node_list(room)
  local list = {}
  for _, name in ipairs(self.names) do
    local st = self.nodes[name]
    if in_room(st, room) then
      local e = st.entry
      if not e then
        e = {
          node = name, status = st.primary.status, severity = st.primary.severity,
          statuses = st.statuses, partitions = st.partitions,
        }
        self.topo:add_context(e, name)
        st.entry = e
      end
      list[#list + 1] = e
    end
  end
  return { room_id = echo(room), nodes = array(list) }
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
