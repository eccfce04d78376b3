-- The Slurm plugin's routes (/api/slurm/...), its menu, and the running state they share:
-- the node-state cache, the node mapping in use, the metrics catalog.
--
--   GET  /api/slurm/rooms/{room_id}/nodes      room view, keyed by instance (worst status)
--   GET  /api/slurm/summary[?room_id=]         counts by status and severity
--   GET  /api/slurm/partitions[?room_id=]      counts per partition and status
--   GET  /api/slurm/nodes[?room_id=]           node list with topology placement, by name
--   GET  /api/slurm/mapping                    the node mapping in use
--   POST /api/slurm/mapping                    replace the mapping file (admin)
--   GET  /api/slurm/metrics/catalog            metric definitions and catalog files
--   POST /api/slurm/metrics/catalog/config     choose the catalog files (admin)
--   GET  /api/slurm/metrics/data?metric_id=    one catalog metric from Prometheus
--
-- The host applies the admin check to the POST routes (same as PUT /api/config).

local config = require("lib.config")
local status = require("lib.status")
local mapping = require("lib.mapping")
local topo = require("lib.topo")
local state = require("lib.state")
local cache = require("lib.cache")
local catalog = require("lib.catalog")
-- Each route's description for the server's API document (its fourth argument).
local doc = require("lib.api_doc")

local M = {}

local NULL = rackscope.null
local array = rackscope.array
local FOLDER = rackscope.plugin.folder

-- How often the mapping file is checked for hand edits, in seconds.
local MAPPING_CHECK_SECONDS = 2

-- Everything one instance of the plugin keeps (a reload starts afresh).
local S = {
  cfg = nil,             -- the config with defaults
  labels = nil,          -- {node, status, partition} label names
  columns = nil,         -- the same, as the list of columns asked from Prometheus
  query = nil,           -- the node-state PromQL
  classify = nil,        -- lib/status classifier for the configured map
  mapping = mapping.identity(),
  mapping_version = 0,   -- bumped when the mapping in use changes
  mapping_text = nil,    -- the file text last read (nil: not read yet)
  mapping_rel = nil,     -- mapping file, relative to the config folder (nil: none)
  mapping_null = false,  -- the config file says mapping_path: null
  mapping_error = nil,   -- why the file on disk is not in use (nil: it is)
  catalog = nil,
  topo = nil,
  topo_generation = nil,
  cache = nil,
}

local function http_error(code, detail)
  error(rackscope.http_error(code, detail), 0)
end

-- A request validation error in Rackscope's 422 shape: {"detail": [{type, loc, msg, input}]}.
local function validation_error(loc, msg, input, kind)
  return 422, { detail = array({ {
    type = kind or "value_error", loc = array(loc), msg = msg, input = input == nil and NULL or input,
  } }) }
end

---------------------------------------------------------------------------------------
-- Node mapping
---------------------------------------------------------------------------------------

local function use_mapping(m, text)
  S.mapping = m
  S.mapping_text = text
  S.mapping_version = S.mapping_version + 1
  -- Answers published for the old mapping must not be served any more.
  rackscope.unpublish()
  S.mapping_error = nil
  rackscope.plugin.set_warning("mapping", nil)
end

local function mapping_problem(msg)
  S.mapping_error = msg
  rackscope.plugin.set_warning("mapping", msg)
end

-- Reads the mapping file if it changed. A file that does not parse leaves the last good
-- mapping in use and is reported (log, `warnings.mapping` in GET /api/plugins/workload-slurm,
-- `error` in GET /api/slurm/mapping).
function M.check_mapping_file()
  local rel = S.mapping_rel
  if not rel then return end
  local text = rackscope.fs.read(rel)
  if text == nil then
    if rackscope.fs.exists(rel) then
      mapping_problem(("%s: cannot be read; the last good mapping stays in use"):format(S.cfg.mapping_path))
      return
    end
    text = "" -- no file: no mapping
  end
  if text == S.mapping_text then return end
  local doc, err = rackscope.yaml.decode(text)
  local m, why
  if doc == nil then
    why = err
  else
    m, why = mapping.from_document(doc)
  end
  if not m then
    S.mapping_text = text
    mapping_problem(("%s: %s; the last good mapping stays in use"):format(S.cfg.mapping_path, why))
    return
  end
  use_mapping(m, text)
end

---------------------------------------------------------------------------------------
-- Node state
---------------------------------------------------------------------------------------

-- The topology index, rebuilt when the running state (topology, app config) reloads.
local function current_topo()
  local gen = rackscope.topology.generation()
  if not S.topo or S.topo_generation ~= gen then
    S.topo = topo.build()
    S.topo_generation = gen
  end
  return S.topo
end

local function build(data, index)
  -- Taken now: the build yields, and the mapping may change meanwhile (the state is then
  -- rebuilt by current_state).
  local version, resolve = S.mapping_version, S.mapping.resolve
  local st = state.build(data, S.labels, resolve, S.classify, index)
  st.data = data
  st.mapping_version = version
  -- The global answers are built now, so that the first request after a refresh is a
  -- lookup; per-room answers are built on first use.
  for _, view in ipairs({ "summary", "partitions", "node_list" }) do
    rackscope.sleep(0)
    st:answer(view, nil)
  end
  return st
end

-- How long an answer without any node row is kept (seconds), whatever the TTL: Prometheus
-- has not scraped the exporter yet (a fresh start), or the metric is wrong.
M.EMPTY_TTL = 5

-- A TTL shorter than the cache's for the answers of `st`, or nil (the cache's).
function M.short_ttl(st)
  return st.data.count == 0 and M.EMPTY_TTL or nil
end
local short_ttl = M.short_ttl

-- The global answers are published: until they expire, the server answers
-- GET /api/slurm/summary, /partitions and /nodes itself, without a call into this plugin
-- (so requests never wait behind a refresh). `at` is when the data was taken: they expire
-- with the cache's TTL, then requests reach the handlers again, which serve the cached
-- answer and start the refresh that publishes the next ones.
local function publish_globals(st, at)
  local ttl = math.min(short_ttl(st) or S.cache.ttl, S.cache.ttl) - (rackscope.now() - at)
  if ttl <= 0 then return end
  for path, view in pairs({ summary = "summary", partitions = "partitions", nodes = "node_list" }) do
    rackscope.publish("/api/slurm/" .. path, st:answer(view, nil), ttl)
  end
end

-- The cache's loader: one Prometheus query, then all the per-node work.
local function fetch(query)
  local t0 = rackscope.now()
  local data, err = rackscope.prometheus.query(query, { cache = "none", columns = S.columns })
  local at = rackscope.now()
  if not data then
    http_error(503, ("Prometheus query failed (%s): %s"):format(err.kind or "error", tostring(err)))
  end
  local index = current_topo()
  local t2 = rackscope.now()
  local st = build(data, index)
  publish_globals(st, at)
  local t3 = rackscope.now()
  rackscope.log.debug(("node state refreshed: %d rows, %d nodes; query %.0f ms, topology %.0f ms, state and answers %.0f ms")
    :format(data.count, #st.names, (at - t0) * 1000, (t2 - at) * 1000, (t3 - t2) * 1000))
  return st, at, short_ttl(st)
end

-- The node state for the current Prometheus answer and mapping.
local function current_state()
  local st = S.cache:get(S.query)
  if st.mapping_version == S.mapping_version then return st end
  -- The mapping changed: rebuild from the same rows (no new query), once.
  return rackscope.single_flight("rebuild", function()
    local cur = S.cache:peek(S.query) or st
    if cur.mapping_version == S.mapping_version then return cur end
    local new = build(cur.data, current_topo())
    S.cache:replace(S.query, cur, new)
    publish_globals(new, S.cache:taken_at(S.query) or rackscope.now())
    return new
  end)
end

-- `room` must exist when given (non-empty): 404 otherwise.
local function check_room(room)
  if room ~= nil and room ~= "" and not current_topo():has_room(room) then
    http_error(404, "Room not found")
  end
end

---------------------------------------------------------------------------------------
-- Setup
---------------------------------------------------------------------------------------

local function cache_ttls(app)
  local ttl = S.cfg.cache_ttl_seconds
  if ttl == nil then
    ttl = app and app.cache and app.cache.health_checks_ttl_seconds or 30
  end
  local stale = S.cfg.stale_seconds
  if stale == nil then stale = ttl end
  return ttl, stale
end

function M.on_config_reload(app)
  if S.cache then S.cache:set_ttl(cache_ttls(app)) end
end

function M.setup(raw_config)
  local cfg = config.with_defaults(raw_config, config.mapping_path_is_null("config.yml"))
  S.cfg = cfg
  S.mapping_null = cfg.mapping_path == nil
  S.labels = { node = cfg.label_node, status = cfg.label_status, partition = cfg.label_partition }
  S.columns = { cfg.label_node, cfg.label_status, cfg.label_partition }
  -- `> 0` keeps only the active states: the simulator's one-hot series (12 per node and
  -- partition, 11 of them 0) would otherwise make the answer 12 times larger.
  S.query = ("max by (%s,%s,%s) (%s) > 0"):format(cfg.label_node, cfg.label_status,
    cfg.label_partition, cfg.metric)

  local compiled = status.compile(cfg.status_map)
  S.classify = status.classifier(compiled)
  rackscope.status_map("slurm", status.host_map(compiled))

  S.cache = cache.new(fetch, cache_ttls(rackscope.config.app()))

  if cfg.mapping_path then
    local rel, err = rackscope.plugin.resolve_path(cfg.mapping_path)
    if rel and rel ~= "" then
      S.mapping_rel = rel
      M.check_mapping_file()
      rackscope.every(MAPPING_CHECK_SECONDS, M.check_mapping_file)
    else
      mapping_problem(("mapping_path %s; no node mapping is used"):format(err or "names a folder"))
    end
  end

  local problems
  S.catalog, problems = catalog.load(cfg)
  M.report_catalog(problems)

  if cfg.enabled ~= false then
    rackscope.menu({
      id = "workload", label = "Workload", icon = "Zap", order = 50,
      items = {
        { id = "slurm-overview", label = "Overview", path = "/slurm/overview", icon = "BarChart2" },
        { id = "slurm-nodes", label = "Nodes", path = "/slurm/nodes", icon = "Server" },
        { id = "slurm-partitions", label = "Partitions", path = "/slurm/partitions", icon = "Layers" },
        { id = "slurm-alerts", label = "Alerts", path = "/slurm/alerts", icon = "AlertTriangle" },
        -- Rackscope's room wallboard (GET /api/slurm/rooms/{id}/nodes), after the
        -- contract's four items.
        { id = "slurm-wallboard", label = "Room Wallboard", path = "/slurm/wallboard", icon = "Columns" },
      },
    })
  end

  M.register_routes()
end

function M.report_catalog(problems)
  if problems and #problems > 0 then
    rackscope.plugin.set_warning("catalog", table.concat(problems, "; "))
  else
    rackscope.plugin.set_warning("catalog", nil)
  end
end

---------------------------------------------------------------------------------------
-- Routes
---------------------------------------------------------------------------------------

function M.register_routes()
  rackscope.route("GET", "/api/slurm/rooms/{room_id}/nodes", function(req)
    local room = req.params.room_id
    if not current_topo():has_room(room) then http_error(404, "Room not found") end
    return current_state():answer("room_nodes", room)
  end, doc.room_nodes)

  for path, view in pairs({ summary = "summary", partitions = "partitions", nodes = "node_list" }) do
    rackscope.route("GET", "/api/slurm/" .. path, function(req)
      local room = req.query.room_id
      check_room(room)
      return current_state():answer(view, room)
    end, doc[path])
  end

  rackscope.route("GET", "/api/slurm/mapping", function()
    M.check_mapping_file()
    local out = {
      mapping_path = S.mapping_null and NULL or S.cfg.mapping_path,
      entries = array(S.mapping.entries),
    }
    if S.mapping_error then out.error = S.mapping_error end
    return out
  end, doc.mapping)

  rackscope.route("POST", "/api/slurm/mapping", function(req)
    local body = req.body
    if type(body) ~= "table" or body == NULL then
      return validation_error({ "body" }, "Input should be an object {\"entries\": [...]}", body, "model_type")
    end
    if body.entries == nil then
      return validation_error({ "body", "entries" }, "Field required", nil, "missing")
    end
    local clean, why, index = mapping.check_entries(body.entries)
    if not clean then
      local loc = { "body", "entries" }
      if index then loc[#loc + 1] = index end
      return validation_error(loc, why, index and body.entries[index + 1] or body.entries)
    end
    if S.mapping_null or not S.cfg.mapping_path then
      http_error(400, "mapping_path is not configured")
    end
    if not S.mapping_rel then
      http_error(400, "mapping_path " .. (S.mapping_error or "cannot be used"))
    end
    local m = assert(mapping.from_document({ mappings = clean }))
    local text = "# Slurm node mapping (written by POST /api/slurm/mapping)\n"
      .. rackscope.yaml.encode({ mappings = array(clean) })
    local ok, err = rackscope.fs.write(S.mapping_rel, text)
    if not ok then return 500, { detail = "Cannot write the mapping file: " .. tostring(err) } end
    use_mapping(m, text)
    return { ok = true, saved = #clean }
  end, doc.save_mapping)

  rackscope.route("GET", "/api/slurm/metrics/catalog", function()
    local problems
    S.catalog, problems = catalog.load(S.cfg)
    M.report_catalog(problems)
    return S.catalog
  end, doc.catalog)

  rackscope.route("POST", "/api/slurm/metrics/catalog/config", function(req)
    local files, why = catalog.check_config_body(req.body, S.cfg.metrics_catalogs)
    if not files then
      local b = req.body
      return validation_error({ "body", "metrics_catalogs" }, why,
        type(b) == "table" and b ~= NULL and b.metrics_catalogs or b)
    end
    -- Merged into the file as it is now (a concurrent config POST is kept).
    local ok, err = rackscope.config.update({ metrics_catalogs = array(files) })
    if not ok then return 500, { detail = "Cannot write the plugin config: " .. tostring(err) } end
    S.cfg.metrics_catalogs = files
    local problems
    S.catalog, problems = catalog.load(S.cfg)
    M.report_catalog(problems)
    return { ok = true, metrics_catalogs = array(files) }
  end, doc.catalog_config)

  rackscope.route("GET", "/api/slurm/metrics/data", function(req)
    local id = req.query.metric_id
    if id == nil then
      return validation_error({ "query", "metric_id" }, "Field required", nil, "missing")
    end
    local m = catalog.find(S.catalog, id)
    if not m then http_error(404, ("Metric '%s' not found in catalog"):format(id)) end
    local promql = type(m.metric) == "string" and m.metric ~= "" and m.metric or id
    local data, err = rackscope.prometheus.query(promql, { cache = "health" })
    if not data then
      http_error(503, ("Prometheus query failed for metric '%s' (%s): %s"):format(id, err.kind or "error", tostring(err)))
    end
    local display = type(m.display) == "table" and m.display or {}
    return {
      metric_id = id,
      name = type(m.name) == "string" and m.name or id,
      unit = type(display.unit) == "string" and display.unit or "",
      scope = type(m.scope) == "string" and m.scope or "global",
      data = array(type(data.result) == "table" and data.result or {}),
    }
  end, doc.metric_data)
end

return M
