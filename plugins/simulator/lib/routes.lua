-- The REST API under /api/simulator (the contract's "Simulator Plugin" section) and the
-- "Simulator" sidebar section; and what they answer while the simulator cannot load
-- (register_down, from the plugin's on_load_error): the status says why, with the
-- settings it can read, and the other routes answer 503 with the reason.

local config = require("lib.config")
local overrides = require("lib.overrides")
-- Each route's description for the server's API document (its fourth argument).
local doc = require("lib.api_doc")

local M = {}

local function metrics_list()
  local out = {}
  for i, m in ipairs(overrides.METRICS) do
    out[i] = { id = m.id, name = m.name, unit = m.unit, category = m.category, metric = m.metric }
  end
  return { metrics = rackscope.array(out) }
end

local function menu()
  rackscope.menu({
    id = "simulator",
    label = "Simulator",
    icon = "FlaskConical",
    order = 200,
    items = { { id = "sim-control", label = "Control", path = "/editors/settings#simulator", icon = "Settings" } },
  })
end

-- The scrape listener is open and the timer ticked recently.
local function running(sim)
  if not rackscope.metrics.listening() then return false end
  local last = sim.last_tick_at or 0
  return rackscope.now() - last < 3 * sim.settings.update_interval_seconds + 10
end

function M.register(sim)
  local s = sim.settings

  rackscope.route("GET", "/api/simulator/status", function()
    return {
      running = running(sim),
      endpoint = "http://" .. s.listen,
      update_interval = math.floor(s.update_interval_seconds),
      incident_mode = s.incident_mode,
      changes_per_hour = s.changes_per_hour,
      overrides_count = sim.ov:count(rackscope.now()),
      -- Beyond the contract: the tick number, how long the last tick took, the load
      -- error (none while running) and where each catalog was read from.
      tick = sim.tick,
      last_tick_seconds = sim.tick_duration or rackscope.null,
      error = rackscope.null,
      catalogs = M.catalogs(sim.catalogs),
    }
  end, doc.status)

  rackscope.route("POST", "/api/simulator/restart", function()
    if not running(sim) then
      local why = rackscope.metrics.listening() and "it has not ticked recently"
        or ("its scrape listener on " .. s.listen .. " is not open")
      return 503, { detail = "Simulator is not running: " .. why }
    end
    rackscope.plugin.reload()
    return { status = "restarting" }
  end, doc.restart)

  rackscope.route("POST", "/api/simulator/incidents", function(req)
    return sim.ov:incident(req.body, rackscope.now())
  end, doc.incidents)

  rackscope.route("GET", "/api/simulator/overrides", function()
    return { overrides = sim.ov:api_list(rackscope.now()) }
  end, doc.overrides)

  rackscope.route("POST", "/api/simulator/overrides", function(req)
    return sim.ov:add(req.body, rackscope.now())
  end, doc.add_override)

  rackscope.route("DELETE", "/api/simulator/overrides", function()
    return sim.ov:clear(rackscope.now())
  end, doc.clear_overrides)

  rackscope.route("DELETE", "/api/simulator/overrides/{override_id}", function(req)
    return sim.ov:delete(req.params.override_id, rackscope.now())
  end, doc.delete_override)

  rackscope.route("GET", "/api/simulator/metrics", metrics_list, doc.metrics)

  menu()
end

-- The catalogs as the status shows them: {id, path (as configured), source}.
function M.catalogs(list)
  local out = {}
  for i, c in ipairs(list or {}) do
    out[i] = { id = c.id, path = c.configured or c.path, source = c.source or rackscope.null }
  end
  return rackscope.array(out)
end

-- A setting of a config that failed to load, when it is usable: `ok(v)` decides.
local function setting(cfg, key, ok)
  local v = type(cfg) == "table" and cfg[key] or nil
  if v ~= nil and v ~= rackscope.null and ok(v) then return v end
  return config.DEFAULTS[key]
end

-- Active overrides in the configured file, when it can be read; 0 otherwise.
local function overrides_count(cfg, now)
  local ok, n = pcall(function()
    local rel = assert(config.resolve_path(setting(cfg, "overrides_path", function(v) return type(v) == "string" end), "overrides_path"))
    local everything = { has_instance = function() return true end, has_rack = function() return true end,
      has_aisle = function() return true end }
    local ov = overrides.new(rel, 0, everything)
    ov:refresh()
    return ov:count(now)
  end)
  return ok and n or 0
end

-- The routes and menu while the simulator cannot load (`err`): GET status answers 200
-- with running false, the error and the settings of `cfg` that can be read (nil when the
-- config file itself is unreadable); GET metrics answers as usual; POST restart starts a
-- new load and answers 503 with the reason; every other route answers 503 with it.
function M.register_down(err, cfg)
  local why = "Simulator is not running: " .. tostring(err)
  local function unavailable() return 503, { detail = why } end
  rackscope.route("GET", "/api/simulator/status", function()
    local listen = setting(cfg, "listen", function(v) return type(v) == "string" end)
    local interval = setting(cfg, "update_interval_seconds", function(v) return type(v) == "number" and v >= 1 end)
    return {
      running = false,
      endpoint = "http://" .. listen,
      update_interval = math.floor(interval),
      incident_mode = setting(cfg, "incident_mode", function(v) return config.MODES[v] == true end),
      changes_per_hour = math.floor(setting(cfg, "changes_per_hour", function(v) return type(v) == "number" and v >= 1 end)),
      overrides_count = overrides_count(cfg, rackscope.now()),
      tick = rackscope.null,
      last_tick_seconds = rackscope.null,
      error = tostring(err),
      catalogs = rackscope.array({}),
    }
  end, doc.status)
  rackscope.route("POST", "/api/simulator/restart", function()
    rackscope.plugin.reload()
    return 503, { detail = why .. " (a new load was started: see GET /api/simulator/status)" }
  end, doc.restart)
  rackscope.route("GET", "/api/simulator/metrics", metrics_list, doc.metrics)
  rackscope.route("POST", "/api/simulator/incidents", unavailable, doc.incidents)
  rackscope.route("GET", "/api/simulator/overrides", unavailable, doc.overrides)
  rackscope.route("POST", "/api/simulator/overrides", unavailable, doc.add_override)
  rackscope.route("DELETE", "/api/simulator/overrides", unavailable, doc.clear_overrides)
  rackscope.route("DELETE", "/api/simulator/overrides/{override_id}", unavailable, doc.delete_override)
  menu()
end

return M
