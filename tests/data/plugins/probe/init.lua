-- A plugin for the tests of the test kit itself (tests/plugin_kit.rs runs
-- `rackscope plugin test` on this folder): each route exercises one thing a test can set
-- up or observe.

local calls = 0

return {
  id = "probe",
  name = "Probe",

  validate_config = function(config)
    if config.bad then return nil, "bad is set" end
    return true
  end,

  setup = function(config)
    rackscope.route("GET", "/api/probe/echo", function(req)
      return {
        method = req.method, query = req.query, header = req.headers["x-probe"],
        now = rackscope.now(), os_time = os.time(),
      }
    end)
    rackscope.route("POST", "/api/probe/echo", function(req)
      return 201, { body = req.body }
    end)
    rackscope.route("GET", "/api/probe/prom", function(req)
      local data, err = rackscope.prometheus.query(req.query.q or "up", { cache = req.query.cache })
      if not data then return 503, { kind = err.kind, message = tostring(err) } end
      return data
    end)
    rackscope.route("GET", "/api/probe/range", function()
      local data, err = rackscope.prometheus.query_range("rate(x[5m])", 100, 200, 15)
      if not data then return 503, { kind = err.kind } end
      return data
    end)
    rackscope.route("GET", "/api/probe/columns", function()
      local d = assert(rackscope.prometheus.query("up", { columns = { "instance" } }))
      return { count = d.count, instances = d.labels.instance, values = d.values }
    end)
    rackscope.route("GET", "/api/probe/slow", function()
      rackscope.sleep(120)
      return { done = true }
    end)
    rackscope.route("GET", "/api/probe/boom", function()
      local t = nil
      return t.field
    end)
    rackscope.route("GET", "/api/probe/counted", function()
      calls = calls + 1
      rackscope.publish("/api/probe/counted", { calls = calls }, 10)
      return { calls = calls }
    end)
    rackscope.route("GET", "/api/probe/instances", function()
      local out = {}
      for i, p in ipairs(rackscope.topology.instances()) do
        out[i] = p.room_id .. "/" .. (p.aisle_id or "-") .. "/" .. p.rack_id .. "/" .. p.name
      end
      return rackscope.array(out)
    end)
    rackscope.route("GET", "/api/probe/files/{name}", function(req)
      return { text = rackscope.fs.read(req.params.name) or rackscope.null }
    end)

    local ticks = rackscope.metrics.counter("probe_ticks_total", "Timer ticks", { "kind" })
    rackscope.every(5, function() ticks:inc({ kind = "timer" }) end)
    rackscope.metrics.serve("127.0.0.1:9999")
    rackscope.status_map("probe", { OK = { "fine" }, default = "WARN" })
    rackscope.menu(function()
      return { id = "probe", label = "Probe " .. tostring(config.greeting or "?"), items = {} }
    end)
    if config.warn then rackscope.plugin.set_warning("probe", config.warn) end
  end,

  shutdown = function()
    rackscope.log.warn("probe shutting down")
  end,
}
