-- The Slurm plugin's settings: defaults, validation, and where its files are.
--
-- The config file is <dir of app.yaml>/plugins/slurm/config.yml. Every key is optional;
-- `M.with_defaults` fills in what is missing. Paths (mapping_path, metrics_catalog_dir and
-- catalog file paths) are relative to the plugin's config folder, the only place
-- rackscope.fs can reach. Rackscope writes them relative to its working directory
-- (`config/plugins/slurm/node_mapping.yaml`); rackscope.plugin.resolve_path (the host's one
-- rule for plugin paths) takes such a path from after its last `plugins/slurm/` part.

local check = require("lib.check")

local M = {}

-- Statuses per level when the config has no status_map (or omits a level). Long sinfo
-- state names (StateLong) are listed beside the short ones; entries are normalised like
-- the statuses themselves (lib/status.lua), so aliases such as `alloc` are live.
M.DEFAULT_STATUS_MAP = {
  ok = { "idle", "allocated", "alloc", "completing", "comp" },
  warn = {
    "mixed", "mix", "maint", "planned", "plnd", "reserved", "resv", "blocked", "block",
    "power_down", "pow_dn", "power_up", "pow_up", "powering_up", "powered_down",
    "powering_down", "reboot_issued", "reboot_req", "reboot_requested",
  },
  crit = {
    "down", "drain", "drained", "draining", "drng", "fail", "failing", "failg", "error",
    "unknown", "unk", "noresp", "not_responding", "inval",
  },
  info = {},
}

M.LEVELS = { "ok", "warn", "crit", "info" }

M.DEFAULT_COLORS = { ok = "#22c55e", warn = "#f59e0b", crit = "#ef4444", info = "#3b82f6" }

local DEFAULTS = {
  enabled = true,
  metric = "slurm_node_status",
  label_node = "node",
  label_status = "status",
  label_partition = "partition",
  roles = { "compute", "visu" },
  include_unlabeled = false,
  mapping_path = "node_mapping.yaml",
  metrics_catalog_dir = "metrics",
  metrics_catalogs = { "metrics.yaml" },
}

local is_list, non_empty_string = check.is_list, check.non_empty_string

-- Checks one metrics_catalogs item: a file name inside metrics_catalog_dir, or
-- {path = "...", id = "...", enabled = true|false} (the contract's form).
function M.check_catalog_item(item, where)
  if type(item) == "string" then
    if item == "" then return nil, where .. " must not be empty" end
    return true
  end
  if type(item) ~= "table" or is_list(item) and next(item) ~= nil then
    return nil, where .. " must be a file name or an object {id, path, enabled}"
  end
  if not non_empty_string(item.path) then
    return nil, where .. ".path must be a non-empty string"
  end
  if item.id ~= nil and item.id ~= rackscope.null and type(item.id) ~= "string" then
    return nil, where .. ".id must be a string"
  end
  if item.enabled ~= nil and item.enabled ~= rackscope.null and type(item.enabled) ~= "boolean" then
    return nil, where .. ".enabled must be true or false"
  end
  return true
end

-- validate_config: true, or nil and the first problem (the API answers 422 with it).
function M.validate(c)
  if type(c) ~= "table" then return nil, "the config must be a mapping" end
  if c.enabled ~= nil and type(c.enabled) ~= "boolean" then
    return nil, "enabled must be true or false"
  end
  for _, k in ipairs({ "metric", "label_node", "label_status", "label_partition" }) do
    if c[k] ~= nil and not non_empty_string(c[k]) then
      return nil, k .. " must be a non-empty string"
    end
  end
  if c.status_map ~= nil then
    if type(c.status_map) ~= "table" or (is_list(c.status_map) and next(c.status_map) ~= nil) then
      return nil, "status_map must be a mapping of ok/warn/crit/info to lists of statuses"
    end
    for level, list in pairs(c.status_map) do
      local known = false
      for _, l in ipairs(M.LEVELS) do if l == level then known = true end end
      if not known then
        return nil, "status_map." .. tostring(level) .. ": unknown level (expected ok, warn, crit or info)"
      end
      if not is_list(list) then return nil, "status_map." .. level .. " must be a list of statuses" end
      for i, s in ipairs(list) do
        if type(s) ~= "string" then
          return nil, ("status_map.%s[%d] must be a string"):format(level, i - 1)
        end
      end
    end
  end
  if c.severity_colors ~= nil then
    if type(c.severity_colors) ~= "table" then return nil, "severity_colors must be a mapping" end
    for k, v in pairs(c.severity_colors) do
      if type(v) ~= "string" then return nil, "severity_colors." .. tostring(k) .. " must be a string" end
    end
  end
  if c.roles ~= nil then
    if not is_list(c.roles) then return nil, "roles must be a list of strings" end
    for i, r in ipairs(c.roles) do
      if type(r) ~= "string" then return nil, ("roles[%d] must be a string"):format(i - 1) end
    end
  end
  if c.include_unlabeled ~= nil and type(c.include_unlabeled) ~= "boolean" then
    return nil, "include_unlabeled must be true or false"
  end
  if c.mapping_path ~= nil and c.mapping_path ~= false and type(c.mapping_path) ~= "string" then
    return nil, "mapping_path must be a path (or empty for no mapping file)"
  end
  if c.metrics_catalog_dir ~= nil and not non_empty_string(c.metrics_catalog_dir) then
    return nil, "metrics_catalog_dir must be a non-empty string"
  end
  if c.metrics_catalogs ~= nil then
    if not is_list(c.metrics_catalogs) then return nil, "metrics_catalogs must be a list" end
    for i, item in ipairs(c.metrics_catalogs) do
      local ok, why = M.check_catalog_item(item, ("metrics_catalogs[%d]"):format(i - 1))
      if not ok then return nil, why end
    end
  end
  for _, k in ipairs({ "cache_ttl_seconds", "stale_seconds" }) do
    local v = c[k]
    if v ~= nil and (type(v) ~= "number" or v ~= v or v < 0 or v > 86400) then
      return nil, k .. " must be a number of seconds (0 to 86400)"
    end
  end
  if c.cache_ttl_seconds ~= nil and c.cache_ttl_seconds < 1 then
    return nil, "cache_ttl_seconds must be at least 1"
  end
  return true
end

-- The config with every default filled in. `explicit_null_mapping` is true when the file
-- says `mapping_path: null` (no mapping file at all).
function M.with_defaults(c, explicit_null_mapping)
  local out = {}
  for k, v in pairs(DEFAULTS) do out[k] = v end
  for k, v in pairs(c or {}) do out[k] = v end
  if explicit_null_mapping or out.mapping_path == false or out.mapping_path == "" then
    out.mapping_path = nil
  end
  local colors = {}
  for k, v in pairs(M.DEFAULT_COLORS) do colors[k] = v end
  for k, v in pairs(type(c) == "table" and c.severity_colors or {}) do colors[k] = v end
  out.severity_colors = colors
  return out
end

-- True when the YAML file itself says `mapping_path: null` (the host hands configs over
-- with nulls dropped, so the file is read again to tell null from absent).
function M.mapping_path_is_null(config_file_name)
  local text = rackscope.fs.read(config_file_name)
  if not text then return false end
  local doc = rackscope.yaml.decode(text)
  return type(doc) == "table" and doc.mapping_path == rackscope.null
end

return M
