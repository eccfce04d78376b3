-- The simulator's REST API as a client uses it: overrides and incidents change the next
-- tick's values, expire on the clock, and can be listed and deleted.

local support = require("tests.support")

local function tick()
  testing.clock.advance(20)
end

describe("POST /api/simulator/overrides", function()
  it("takes a node down from the next tick until it expires", function()
    local p = support.plugin()
    local res = p:post("/api/simulator/overrides", { instance = "compute002", metric = "up", value = 0, ttl_seconds = 60 })
    assert.equal(res.status, 200)
    tick()
    assert.same(support.down(p), { "compute002" })
    assert.equal(p:metric("node_power_watts", { instance = "compute002" }), 0)
    assert.equal(p:get("/api/simulator/status").body.overrides_count, 1)
    testing.clock.advance(60)
    assert.same(support.down(p), {})
    assert.same(p:get("/api/simulator/overrides").body.overrides, {})
  end)

  it("sets a temperature, and DELETE takes it back", function()
    local p = support.plugin()
    local body = p:post("/api/simulator/overrides", { id = "hot", instance = "gpu01", metric = "node_temperature", value = 55 }).body
    assert.equal(body.overrides[1].id, "hot")
    tick()
    assert.equal(p:metric("node_temperature_celsius", { instance = "gpu01" }), 55)
    assert.equal(p:delete("/api/simulator/overrides/hot").status, 200)
    tick()
    assert.truthy(p:metric("node_temperature_celsius", { instance = "gpu01" }) < 40)
    assert.equal(p:delete("/api/simulator/overrides/hot").status, 404)
  end)

  it("refuses a node the topology does not have", function()
    local res = support.plugin():post("/api/simulator/overrides", { instance = "nope", metric = "up", value = 0 })
    assert.same({ res.status, res.body.detail }, { 400, "instance 'nope' is not in the topology" })
  end)
end)

describe("POST /api/simulator/incidents", function()
  it("rack_down takes every node of the rack down", function()
    local p = support.plugin()
    local res = p:post("/api/simulator/incidents", { type = "rack_down", target_id = "r02", duration = 120 })
    assert.same({ res.status, res.body.status, res.body.expires_at }, { 200, "triggered", math.floor(testing.clock.now()) + 120 })
    tick()
    assert.same(support.down(p), { "gpu01", "gpu02" })
  end)

  it("aisle_cooling heats the aisle's nodes by 12 degrees", function()
    local p = support.plugin()
    local before = p:metric("node_temperature_celsius", { instance = "compute005" })
    p:post("/api/simulator/incidents", { type = "aisle_cooling", target_id = "hall-b" })
    testing.clock.advance(40) -- two ticks: the jitter changes every second tick
    local after = p:metric("node_temperature_celsius", { instance = "compute005" })
    assert.truthy(after - before > 10, ("%s -> %s"):format(before, after))
  end)

  it("refuses an unknown kind or target", function()
    local p = support.plugin()
    assert.equal(p:post("/api/simulator/incidents", { type = "flood", target_id = "r01" }).status, 400)
    assert.equal(p:post("/api/simulator/incidents", { type = "rack_down", target_id = "r99" }).status, 400)
  end)
end)

describe("GET /api/simulator/metrics", function()
  it("lists what can be overridden", function()
    local ids = {}
    for _, m in ipairs(support.plugin():get("/api/simulator/metrics").body.metrics) do ids[#ids + 1] = m.id end
    assert.same(ids, { "up", "node_temperature", "node_power", "node_load", "node_health", "rack_down",
      "pdu_active_power", "pdu_current" })
  end)
end)

describe("POST /api/simulator/restart", function()
  it("reloads the simulator, which carries its state on", function()
    local p = support.plugin()
    tick()
    local res = p:post("/api/simulator/restart")
    assert.same({ res.status, res.body }, { 200, { status = "restarting" } })
    testing.clock.advance(0)
    assert.equal(p:get("/api/simulator/status").body.tick, 3)
  end)
end)
