-- The REST API under /api/simulator (the contract's "Simulator Plugin" section) and the
-- "Simulator" sidebar section.

local overrides = require("lib.overrides")

local M = {}

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
      -- Beyond the contract: the tick number and how long the last tick took.
      tick = sim.tick,
      last_tick_seconds = sim.tick_duration or rackscope.null,
    }
  end)

  rackscope.route("POST", "/api/simulator/restart", function()
    if not running(sim) then
      local why = rackscope.metrics.listening() and "it has not ticked recently"
        or ("its scrape listener on " .. s.listen .. " is not open")
      return 503, { detail = "Simulator is not running: " .. why }
    end
    rackscope.plugin.reload()
    return { status = "restarting" }
  end)

  rackscope.route("POST", "/api/simulator/incidents", function(req)
    return sim.ov:incident(req.body, rackscope.now())
  end)

  rackscope.route("GET", "/api/simulator/overrides", function()
    return { overrides = sim.ov:api_list(rackscope.now()) }
  end)

  rackscope.route("POST", "/api/simulator/overrides", function(req)
    return sim.ov:add(req.body, rackscope.now())
  end)

  rackscope.route("DELETE", "/api/simulator/overrides", function()
    return sim.ov:clear(rackscope.now())
  end)

  rackscope.route("DELETE", "/api/simulator/overrides/{override_id}", function(req)
    return sim.ov:delete(req.params.override_id, rackscope.now())
  end)

  rackscope.route("GET", "/api/simulator/metrics", function()
    local out = {}
    for i, m in ipairs(overrides.METRICS) do
      out[i] = { id = m.id, name = m.name, unit = m.unit, category = m.category, metric = m.metric }
    end
    return { metrics = rackscope.array(out) }
  end)

  rackscope.menu({
    id = "simulator",
    label = "Simulator",
    icon = "FlaskConical",
    order = 200,
    items = { { id = "sim-control", label = "Control", path = "/editors/settings#simulator", icon = "Settings" } },
  })
end

return M
