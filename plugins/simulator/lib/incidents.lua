-- Incident modes (§4): which nodes are down (crit) or degraded (warn), which racks are
-- down and which aisles run hot, re-rolled `changes_per_hour` times an hour. A roll also
-- picks the nodes whose Slurm state is forced (slurm_random_statuses, §3.2), so those hop
-- once per cycle, not every tick. Every pick comes from a generator seeded by
-- (seed, tick): with a `seed`, rolls are the same on every run.

local rng = require("lib.rng")
local patterns = require("lib.patterns")

local M = {}

-- Ticks between rolls.
function M.cycle_ticks(cph, interval)
  local c = math.floor(3600 / math.max(1, cph) / math.max(1, interval))
  return math.max(1, c)
end

-- Counts for a mode: crit, warn, racks, aisles.
local function counts(mode, g, n_nodes, n_racks, n_aisles, custom)
  if mode == "full_ok" then return 0, 0, 0, 0 end
  if mode == "medium" then return g:randint(1, 3), g:randint(5, 10), 1, 0 end
  if mode == "heavy" then return g:randint(5, 10), g:randint(10, 20), 2, 1 end
  if mode == "chaos" then
    return n_nodes * 15 // 100, n_nodes * 25 // 100, n_racks * 20 // 100, n_aisles * 25 // 100
  end
  if mode == "custom" then
    return custom.devices_crit or 0, custom.devices_warn or 0, custom.racks_crit or 0, custom.aisles_hot or 0
  end
  return g:randint(1, 3), g:randint(1, 5), 0, 0 -- light, and any unknown mode
end

local function copy(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = v end
  return out
end

local function set_of(list, from, to)
  local s = {}
  for i = from, math.min(to, #list) do s[list[i]] = true end
  return s
end

-- Rolls a new incident state. `targets` from lib.targets, `settings` the effective
-- config, `seed_key` from rng.seed_key.
function M.roll(targets, settings, seed_key, tick)
  local g = rng.for_tick(seed_key, "incidents", tick)
  local nodes = {}
  for i, t in ipairs(targets.list) do nodes[i] = t.node_id end
  local nc, nw, nr, na = counts(settings.incident_mode, g, #nodes, #targets.racks, #targets.aisles,
    settings.custom_incidents)
  g:shuffle(nodes)
  local racks = g:shuffle(copy(targets.racks))
  local aisles = g:shuffle(copy(targets.aisles))
  local state = {
    nodes_crit = set_of(nodes, 1, nc),
    nodes_warn = set_of(nodes, nc + 1, nc + nw),
    racks_crit = set_of(racks, 1, nr),
    aisles_hot = set_of(aisles, 1, na),
    forced = {},
  }
  -- Forced Slurm states: candidates filtered by slurm_random_match (plain globs).
  local match = patterns.compile(settings.slurm_random_match, false)
  local cands = {}
  for _, t in ipairs(targets.list) do
    if match(t.node_id) then cands[#cands + 1] = t.node_id end
  end
  g:shuffle(cands)
  local at = 1
  for _, status in ipairs({ "drain", "down", "maint" }) do
    local k = settings.slurm_random_statuses[status]
    if math.type(k) == "integer" and k > 0 then
      for _ = 1, k do
        if at > #cands then break end
        state.forced[cands[at]] = status
        at = at + 1
      end
    end
  end
  return state
end

-- What changes a roll depends on: a change of any of these re-rolls on the next tick.
function M.signature(settings)
  local c = settings.custom_incidents
  local rs = settings.slurm_random_statuses or {}
  return table.concat({
    settings.incident_mode, tostring(settings.changes_per_hour),
    c.devices_crit, c.devices_warn, c.racks_crit, c.aisles_hot,
    tostring(rs.drain or 0), tostring(rs.down or 0), tostring(rs.maint or 0),
    table.concat(settings.slurm_random_match or {}, ","), tostring(settings.seed),
  }, "|")
end

-- The state as JSON-friendly lists, and back.
local function keys(set)
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return rackscope.array(out)
end

function M.dump(state)
  local forced = {}
  for k, v in pairs(state.forced) do forced[k] = v end
  return {
    nodes_crit = keys(state.nodes_crit), nodes_warn = keys(state.nodes_warn),
    racks_crit = keys(state.racks_crit), aisles_hot = keys(state.aisles_hot), forced = forced,
  }
end

-- Restores a dumped state, keeping only ids that still exist.
function M.load(d, targets)
  if type(d) ~= "table" then return nil end
  local function restore(list, valid)
    local s = {}
    if type(list) == "table" then
      for _, v in ipairs(list) do if valid(v) then s[v] = true end end
    end
    return s
  end
  local node = function(v) return targets.by_id[v] ~= nil end
  local state = {
    nodes_crit = restore(d.nodes_crit, node),
    nodes_warn = restore(d.nodes_warn, node),
    racks_crit = restore(d.racks_crit, function(v) return targets.rack_info[v] ~= nil end),
    aisles_hot = restore(d.aisles_hot, function(v) return targets.aisle_set[v] ~= nil end),
    forced = {},
  }
  if type(d.forced) == "table" then
    for k, v in pairs(d.forced) do
      if node(k) and type(v) == "string" then state.forced[k] = v end
    end
  end
  return state
end

return M
