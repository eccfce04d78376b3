-- The simulator's ticks, read from its registry as Prometheus would scrape it: every
-- family filled before the first scrape, values within their profile's range, ticks on
-- the clock, the same values for the same seed.

local support = require("tests.support")

describe("setup", function()
  it("fills every node's families before it returns (tick 1)", function()
    local p = support.plugin()
    assert.equal(#p:samples("up"), support.NODES)
    assert.equal(#p:samples("node_temperature_celsius"), support.NODES)
    assert.equal(p:metric("rackscope_simulator_ticks_total"), 1)
    assert.same(p:samples("up")[1].labels, {
      site_id = "site", room_id = "hall", rack_id = "r01", chassis_id = "compute001",
      node_id = "compute001", instance = "compute001", job = "node",
    })
  end)

  it("reports itself running, with its settings", function()
    local body = support.plugin():get("/api/simulator/status").body
    assert.same({ body.running, body.endpoint, body.update_interval, body.incident_mode, body.tick },
      { true, "http://127.0.0.1:9000", 20, "full_ok", 1 })
  end)
end)

describe("a tick", function()
  it("comes every update_interval_seconds on the clock", function()
    local p = support.plugin()
    testing.clock.advance(19)
    assert.equal(p:metric("rackscope_simulator_ticks_total"), 1)
    testing.clock.advance(1)
    assert.equal(p:metric("rackscope_simulator_ticks_total"), 2)
    testing.clock.advance(60)
    assert.equal(p:metric("rackscope_simulator_ticks_total"), 5)
  end)

  it("keeps compute nodes within the compute profile", function()
    local p = support.plugin({ profiles = { compute = { load_min = 20, load_max = 60 } } })
    for _ = 1, 5 do
      for _, s in ipairs(p:samples("node_load_percent")) do
        if s.labels.instance:find("^compute") then
          assert.truthy(s.value >= 20 and s.value <= 60, s.labels.instance .. " load " .. s.value)
        end
      end
      for _, s in ipairs(p:samples("node_power_watts")) do
        if s.labels.instance:find("^compute") then
          -- base_power 150 + load% of power_var 50
          assert.truthy(s.value >= 150 and s.value <= 200, s.labels.instance .. " power " .. s.value)
        end
      end
      assert.same(support.down(p), {}, "full_ok: every node up")
      testing.clock.advance(20)
    end
  end)

  it("gives the same values for the same seed", function()
    local a = support.plugin():samples("node_temperature_celsius")
    local b = support.plugin():samples("node_temperature_celsius")
    assert.same(a, b)
    local c = support.plugin({ seed = 7 }):samples("node_temperature_celsius")
    local differs = false
    for i = 1, #a do
      if a[i].value ~= c[i].value then differs = true end
    end
    assert.truthy(differs, "another seed, other values")
  end)

  it("grows the counters", function()
    local p = support.plugin()
    local before = p:metric("node_cpu_seconds_total", { instance = "compute001", mode = "idle" })
    testing.clock.advance(20)
    local after = p:metric("node_cpu_seconds_total", { instance = "compute001", mode = "idle" })
    assert.truthy(after > before, ("%s -> %s"):format(before, after))
  end)
end)

describe("the state file", function()
  it("carries the tick across a reload", function()
    local p = support.plugin()
    testing.clock.advance(40) -- ticks 2 and 3, each saved
    p:reload()
    assert.equal(p.error, nil)
    assert.equal(p:metric("rackscope_simulator_ticks_total"), 4, "the new instance's first tick")
  end)
end)
