-- The simulator's settings: defaults, validation (validate_config refuses a bad config
-- with the reason, so POST /api/plugins/simulator/config answers 422 and nothing is
-- written), and the resolution of the paths it names.
--
-- Paths (overrides_path, metrics_catalog_path, metrics_catalogs[].path, state_path) are
-- relative to the plugin's config folder, `<dir of app.yaml>/plugins/simulator/`, the only
-- place rackscope.fs reaches. Rackscope's own configs write them from the server's working
-- directory, as `config/plugins/simulator/metrics/metrics_full.yaml`: the host's one rule
-- for plugin paths (rackscope.plugin.resolve_path) takes such a path from what follows its
-- last `plugins/simulator/` (here `metrics/metrics_full.yaml`), so existing plugin.yaml
-- files load unchanged. Any other absolute path, or one with `..`, is refused.
--
-- Catalogs ship with the plugin (its code folder's catalogs/): a catalog path with no file
-- in the config folder is read from the bundled catalog of the same file name, and one
-- that is in neither place is refused by validate_config (so a POST of the plugin config
-- answers 422 and writes nothing, and a load fails naming the path). Without a
-- `metrics_catalogs` key the bundled Slurm catalog is on.

local M = {}

M.MODES = { full_ok = true, light = true, medium = true, heavy = true, chaos = true, custom = true }
M.MODE_LIST = { "full_ok", "light", "medium", "heavy", "chaos", "custom" }

M.DEFAULTS = {
  listen = "127.0.0.1:9000",
  update_interval_seconds = 20,
  seed = nil,
  incident_mode = "light",
  changes_per_hour = 2,
  custom_incidents = { devices_crit = 0, devices_warn = 0, racks_crit = 0, aisles_hot = 0 },
  overrides_path = "overrides/overrides.yaml",
  default_ttl_seconds = 120,
  metrics_catalog_path = "metrics/metrics_full.yaml",
  -- metrics_catalogs: DEFAULT_CATALOGS when the key is absent or null.
  slurm_random_statuses = {},
  slurm_random_match = {},
  slurm_alloc_percent = 80,
  profiles = {},
  state_path = "state/state.json",
}

-- The extra catalogs when the config has no `metrics_catalogs` key: the Slurm one.
M.DEFAULT_CATALOGS = { { id = "slurm", path = "metrics/metrics_slurm.yaml" } }

-- The folder of the plugin's code that holds its bundled catalogs.
M.BUNDLED_DIR = "catalogs"

local function is_int(v)
  return math.type(v) == "integer" or (type(v) == "number" and v == math.floor(v) and v == v and v ~= math.huge and v ~= -math.huge)
end

local function is_null(v)
  return v == nil or v == rackscope.null
end

-- The path inside the config folder for the configured path `p` of setting `key`
-- (rackscope.plugin.resolve_path), or nil and the reason, naming the setting.
function M.resolve_path(p, key)
  if type(p) ~= "string" or p == "" then
    return nil, key .. " must be a non-empty string"
  end
  local rel, why = rackscope.plugin.resolve_path(p)
  if not rel then return nil, key .. ": " .. why end
  return rel
end

-- The text of the catalog at `rel` (a path inside the config folder, as resolve_path
-- gives it) and where it came from: the config folder ("config"), else the bundled
-- catalog of the same file name ("bundled"); nil and the reason, naming `shown` (the path
-- as configured), when neither exists.
function M.read_catalog(rel, shown)
  local bundled = M.BUNDLED_DIR .. "/" .. (rel:match("([^/]+)$") or rel)
  local text, source = rackscope.fs.read_or_bundled(rel, bundled)
  if not text then
    return nil, ("metrics catalog '%s' not found: %s"):format(tostring(shown), tostring(source))
  end
  return text, source, bundled
end

-- The enabled extra catalogs of a config: { {id, path (as configured)} ... }.
local function enabled_catalogs(list)
  if list == nil or list == rackscope.null then return M.DEFAULT_CATALOGS end
  local out = {}
  for i, item in ipairs(list) do
    if type(item) == "string" then
      out[#out + 1] = { id = item, path = item }
    elseif type(item) == "table" and item.enabled ~= false then
      out[#out + 1] = { id = item.id or ("catalog" .. i), path = item.path }
    end
  end
  return out
end

local function check_count(t, key, name, min, max)
  local v = t[key]
  if is_null(v) then return true end
  if not is_int(v) or v < min or (max and v > max) then
    local range = max and (min .. ".." .. max) or (">= " .. min)
    return nil, name .. " must be an integer " .. range .. ", got " .. tostring(v)
  end
  return true
end

-- true, or nil and the reason.
function M.validate(c)
  if type(c) ~= "table" then return nil, "the config must be a mapping" end
  local ok, err
  if not is_null(c.listen) then
    local l = c.listen
    if type(l) ~= "string" or not (l:match("^%d+%.%d+%.%d+%.%d+:%d+$") or l:match("^%[[%x:.]+%]:%d+$")) then
      return nil, "listen must be an IP address and port like 127.0.0.1:9000, got " .. tostring(l)
    end
  end
  local iv = c.update_interval_seconds
  if is_null(iv) then iv = c.update_interval end
  if not is_null(iv) and (type(iv) ~= "number" or iv < 1 or iv > 3600) then
    return nil, "update_interval_seconds must be a number of seconds from 1 to 3600, got " .. tostring(iv)
  end
  if not is_null(c.seed) and type(c.seed) ~= "number" and type(c.seed) ~= "string" then
    return nil, "seed must be a number, a string or null"
  end
  if not is_null(c.incident_mode) and not M.MODES[c.incident_mode] then
    return nil, "incident_mode must be one of " .. table.concat(M.MODE_LIST, ", ") .. ", got " .. tostring(c.incident_mode)
  end
  ok, err = check_count(c, "changes_per_hour", "changes_per_hour", 1)
  if not ok then return nil, err end
  if not is_null(c.custom_incidents) then
    if type(c.custom_incidents) ~= "table" then return nil, "custom_incidents must be a mapping" end
    for _, k in ipairs({ "devices_crit", "devices_warn", "racks_crit", "aisles_hot" }) do
      ok, err = check_count(c.custom_incidents, k, "custom_incidents." .. k, 0)
      if not ok then return nil, err end
    end
  end
  ok, err = check_count(c, "default_ttl_seconds", "default_ttl_seconds", 0)
  if not ok then return nil, err end
  ok, err = check_count(c, "slurm_alloc_percent", "slurm_alloc_percent", 0, 100)
  if not ok then return nil, err end
  for _, k in ipairs({ "overrides_path", "metrics_catalog_path", "state_path" }) do
    if not is_null(c[k]) then
      ok, err = M.resolve_path(c[k], k)
      if not ok then return nil, err end
    end
  end
  if not is_null(c.metrics_catalogs) then
    if type(c.metrics_catalogs) ~= "table" then return nil, "metrics_catalogs must be a list" end
    for i, item in ipairs(c.metrics_catalogs) do
      local p = item
      if type(item) == "table" then
        p = item.path
        if item.enabled ~= nil and type(item.enabled) ~= "boolean" then
          return nil, "metrics_catalogs[" .. i .. "].enabled must be true or false"
        end
      end
      ok, err = M.resolve_path(p, "metrics_catalogs[" .. i .. "].path")
      if not ok then return nil, err end
    end
  end
  -- Every catalog that will be read exists, in the config folder or bundled.
  local primary = c.metrics_catalog_path
  if is_null(primary) then primary = M.DEFAULTS.metrics_catalog_path end
  local wanted = { { path = primary } }
  for _, e in ipairs(enabled_catalogs(c.metrics_catalogs)) do wanted[#wanted + 1] = e end
  for _, e in ipairs(wanted) do
    local rel = assert(M.resolve_path(e.path, "metrics catalog"))
    ok, err = M.read_catalog(rel, e.path)
    if not ok then return nil, err end
  end
  if not is_null(c.slurm_random_statuses) then
    if type(c.slurm_random_statuses) ~= "table" then return nil, "slurm_random_statuses must be a mapping" end
    for k, v in pairs(c.slurm_random_statuses) do
      if type(k) ~= "string" or not is_int(v) or v < 0 then
        return nil, "slurm_random_statuses." .. tostring(k) .. " must be an integer >= 0"
      end
    end
  end
  if not is_null(c.slurm_random_match) then
    if type(c.slurm_random_match) ~= "table" then return nil, "slurm_random_match must be a list of patterns" end
    for _, p in ipairs(c.slurm_random_match) do
      if type(p) ~= "string" then return nil, "slurm_random_match must be a list of patterns" end
    end
  end
  if not is_null(c.profiles) then
    if type(c.profiles) ~= "table" then return nil, "profiles must be a mapping of profile name to parameters" end
    for name, p in pairs(c.profiles) do
      if type(p) ~= "table" then return nil, "profiles." .. tostring(name) .. " must be a mapping" end
      for k, v in pairs(p) do
        if type(v) ~= "number" then
          return nil, "profiles." .. tostring(name) .. "." .. tostring(k) .. " must be a number"
        end
      end
    end
  end
  return true
end

-- The effective settings: the defaults with the config's values on top (the config has
-- been validated). Paths are resolved.
function M.effective(c)
  local e = {}
  for k, v in pairs(M.DEFAULTS) do e[k] = v end
  for k, v in pairs(c or {}) do
    if v ~= rackscope.null then e[k] = v end
  end
  if (c or {}).update_interval_seconds == nil and type((c or {}).update_interval) == "number" then
    e.update_interval_seconds = c.update_interval
  end
  local ci = {}
  for k, v in pairs(M.DEFAULTS.custom_incidents) do ci[k] = v end
  if type(e.custom_incidents) == "table" then
    for k, v in pairs(e.custom_incidents) do if ci[k] ~= nil and type(v) == "number" then ci[k] = math.floor(v) end end
  end
  e.custom_incidents = ci
  e.metrics_catalog_configured = e.metrics_catalog_path
  e.changes_per_hour = math.floor(e.changes_per_hour)
  e.default_ttl_seconds = math.floor(e.default_ttl_seconds)
  for _, k in ipairs({ "overrides_path", "metrics_catalog_path", "state_path" }) do
    e[k] = assert(M.resolve_path(e[k], k))
  end
  local cats = {}
  for _, item in ipairs(enabled_catalogs((c or {}).metrics_catalogs)) do
    cats[#cats + 1] = { id = item.id, configured = item.path, path = assert(M.resolve_path(item.path, "metrics_catalogs")) }
  end
  e.metrics_catalogs = cats
  return e
end

return M
