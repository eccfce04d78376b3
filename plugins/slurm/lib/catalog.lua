-- The Slurm metrics catalog: metric definitions (id, name, PromQL, unit, ...) read from
-- YAML files in metrics_catalog_dir, listed by GET /api/slurm/metrics/catalog and queried
-- by GET /api/slurm/metrics/data.
--
-- metrics_catalogs lists the files to load, in order. An item is a file name inside
-- metrics_catalog_dir (Rackscope's form: "metrics.yaml"), or the contract's
-- {id, path, enabled} object whose path is relative to the plugin's config folder.
-- A file holds `metrics: [{id, name, description, metric, scope, display: {unit, ...}}]`;
-- entries are served as written. A file that is not in the plugin's config folder is read
-- from the bundled catalog of the same file name (catalogs/ in the plugin's code folder:
-- metrics.yaml), so Rackscope's configs, which name a catalog that ships with the
-- application, load as they are. Missing or unreadable files are skipped and reported.

local check = require("lib.check")
local config = require("lib.config")

local M = {}

local array = rackscope.array

local function join(dir, name)
  if dir == "" then return name end
  return dir .. "/" .. name
end

local function stem(path)
  return (path:match("([^/]+)$") or path):gsub("%.ya?ml$", "")
end

-- The configured items as {id, path (as configured), enabled, rel (inside the config
-- folder) or err}.
function M.items(cfg)
  local out = {}
  for _, item in ipairs(cfg.metrics_catalogs or {}) do
    local e
    if type(item) == "string" then
      local path = join(cfg.metrics_catalog_dir, item)
      e = { id = stem(item), path = path, enabled = true }
      e.rel, e.err = rackscope.plugin.resolve_path(path)
    else
      e = { id = type(item.id) == "string" and item.id or stem(item.path), path = item.path,
        enabled = item.enabled ~= false }
      e.rel, e.err = rackscope.plugin.resolve_path(item.path)
    end
    out[#out + 1] = e
  end
  return out
end

-- Reads the catalog: {metrics, loaded_files, available_files} (the GET answer), and a
-- list of problems (empty when every file loaded).
function M.load(cfg)
  local metrics, loaded, problems = {}, {}, {}
  for _, it in ipairs(M.items(cfg)) do
    loaded[#loaded + 1] = { id = it.id, path = it.path, enabled = it.enabled }
    if it.enabled then
      if not it.rel then
        problems[#problems + 1] = it.err
      else
        -- The config folder's file, else the bundled catalog of the same file name.
        local bundled = "catalogs/" .. (it.rel:match("([^/]+)$") or it.rel)
        local ok, text, err = pcall(rackscope.fs.read_or_bundled, it.rel, bundled)
        if not ok then
          problems[#problems + 1] = tostring(text)
          text = nil
        elseif not text then
          problems[#problems + 1] = it.path .. ": " .. tostring(err)
        end
        if text then
          local doc, derr = rackscope.yaml.decode(text)
          if doc == nil then
            problems[#problems + 1] = ("%s: %s"):format(it.path, derr)
          elseif type(doc) == "table" and type(doc.metrics) == "table" then
            for _, m in ipairs(doc.metrics) do metrics[#metrics + 1] = m end
          elseif type(doc) == "table" and doc.metrics ~= nil then
            problems[#problems + 1] = it.path .. ": 'metrics' must be a list"
          end
        end
      end
    end
  end
  local available = {}
  local dir = rackscope.plugin.resolve_path(cfg.metrics_catalog_dir)
  if dir then
    local ok, names = pcall(rackscope.fs.list, dir ~= "" and dir or nil)
    if ok and names then
      for _, name in ipairs(names) do
        if name:sub(1, 1) ~= "." and (name:match("%.yaml$") or name:match("%.yml$")) then
          available[#available + 1] = { name = name, path = join(cfg.metrics_catalog_dir, name) }
        end
      end
    end
  end
  return {
    metrics = array(metrics),
    loaded_files = array(loaded),
    available_files = array(available),
  }, problems
end

-- The first catalog entry with this id, or nil.
function M.find(catalog, id)
  for _, m in ipairs(catalog.metrics) do
    if type(m) == "table" and m.id == id then return m end
  end
  return nil
end

-- Checks the POST body's metrics_catalogs; returns the list to store or nil and the
-- first problem, naming the item.
function M.check_config_body(body, current)
  if type(body) ~= "table" or body == rackscope.null or (check.is_list(body) and next(body) ~= nil) then
    return nil, "the body must be an object {\"metrics_catalogs\": [...]}"
  end
  local files = body.metrics_catalogs
  if files == nil then return current end
  if files == rackscope.null or not check.is_list(files) then
    return nil, "metrics_catalogs must be a list of file names or {id, path, enabled} objects"
  end
  local out = {}
  for i, item in ipairs(files) do
    local where = ("metrics_catalogs[%d]"):format(i - 1)
    local ok, why = config.check_catalog_item(item, where)
    if not ok then return nil, why end
    if type(item) == "table" then
      local clean = { path = item.path }
      if type(item.id) == "string" then clean.id = item.id end
      if type(item.enabled) == "boolean" then clean.enabled = item.enabled end
      item = clean
    end
    local path = type(item) == "string" and item or item.path
    local _, err = rackscope.plugin.resolve_path(path)
    if err then return nil, where .. ": " .. err end
    out[#out + 1] = item
  end
  return out
end

return M
