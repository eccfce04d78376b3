-- Slurm node states: normalisation of what sinfo / the exporter / the simulator report,
-- and their severity under the configured status map.
--
-- Normalisation (the reference's, with the spec's fixes): trim, lowercase, strip every
-- trailing sinfo state flag (`* ~ # ! % $ @ ^ - +`), trim again, then resolve the short
-- forms (`alloc` -> `allocated`, ...). A `*` among the stripped flags (not responding)
-- makes the state CRIT whatever it is. Entries of the status map are normalised the same
-- way, so `alloc` or `drained*` in a config mean what they say.
--
-- Severity ranks for "worst wins": UNKNOWN 0 < INFO 1 < OK 2 < WARN 3 < CRIT 4 (INFO ranks
-- above UNKNOWN, so an idle node mapped to INFO is never shown as unknown).
--
-- One source of truth: the config's status_map (levels missing from it fall back to the
-- defaults in lib/config.lua) is compiled once here; the same table answers this plugin's
-- lookups and is registered with the host as the status map "slurm" (with the short forms
-- and the flag suffixes of every listed state spelled out, since the host's maps match
-- exact, case-insensitive names) so other plugins can grade Slurm states with
-- rackscope.status.severity("slurm", state).

local config = require("lib.config")

local M = {}

M.RANK = { UNKNOWN = 0, INFO = 1, OK = 2, WARN = 3, CRIT = 4 }

M.FLAGS = { "*", "~", "#", "!", "%", "$", "@", "^", "-", "+" }
local FLAG = {}
for _, f in ipairs(M.FLAGS) do FLAG[f] = true end

-- Short sinfo forms and old spellings -> the long names.
M.ALIASES = {
  alloc = "allocated", comp = "completing", drng = "draining", failg = "failing",
  futr = "future", mix = "mixed", plnd = "planned", pow_dn = "power_down",
  pow_up = "power_up", resv = "reserved", unk = "unknown", block = "blocked",
  npc = "perfctrs", reboot_req = "reboot_requested", maint = "maint",
}

-- (status, has_star) for a raw state string.
function M.normalize(raw)
  local s = (raw or ""):match("^%s*(.-)%s*$"):lower()
  local star = false
  while #s > 0 do
    local last = s:sub(-1)
    if not FLAG[last] then break end
    if last == "*" then star = true end
    s = s:sub(1, -2)
  end
  s = s:match("^%s*(.-)%s*$")
  if s == "" then s = "unknown" end
  return M.ALIASES[s] or s, star
end

-- Compiles a status_map config ({ok = {...}, warn = ..., crit = ..., info = ...}) into
-- {status -> severity}. A level the config omits takes its default list, minus the
-- statuses the config lists explicitly elsewhere. A status listed at several levels gets
-- the most severe one.
function M.compile(status_map)
  local given = status_map or {}
  local explicit = {}
  for _, level in ipairs(config.LEVELS) do
    for _, s in ipairs(given[level] or {}) do explicit[(M.normalize(s))] = true end
  end
  local map = {}
  local function put(s, sev)
    local cur = map[s]
    if cur == nil or M.RANK[sev] > M.RANK[cur] then map[s] = sev end
  end
  for _, level in ipairs(config.LEVELS) do
    local sev = level:upper()
    if given[level] ~= nil then
      for _, s in ipairs(given[level]) do put((M.normalize(s)), sev) end
    else
      for _, s in ipairs(config.DEFAULT_STATUS_MAP[level]) do
        local n = M.normalize(s)
        if not explicit[n] then put(n, sev) end
      end
    end
  end
  return map
end

-- A classifier bound to a compiled map: classify(raw) -> {status, severity, rank},
-- memoised per raw string (a cluster reports a handful of distinct strings).
function M.classifier(map)
  local memo, size = {}, 0
  return function(raw)
    local c = memo[raw]
    if c then return c end
    local status, star = M.normalize(raw)
    local sev = star and "CRIT" or map[status] or "UNKNOWN"
    c = { status = status, severity = sev, rank = M.RANK[sev] }
    if size > 4096 then memo, size = {}, 0 end
    memo[raw] = c
    size = size + 1
    return c
  end
end

-- The compiled map spelled out for the host's exact-name status maps: every listed
-- state, its short forms, and each with every flag suffix (`*` gives CRIT).
function M.host_map(map)
  local out = {}
  local names = {}
  for s in pairs(map) do names[s] = { s } end
  for short, long in pairs(M.ALIASES) do
    if names[long] then table.insert(names[long], short) end
  end
  for s, spellings in pairs(names) do
    local sev = map[s]
    for _, name in ipairs(spellings) do
      out[name] = sev
      for _, f in ipairs(M.FLAGS) do out[name .. f] = (f == "*") and "CRIT" or sev end
    end
  end
  return out
end

return M
