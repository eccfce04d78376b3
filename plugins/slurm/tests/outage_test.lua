-- Prometheus failing under the Slurm plugin: no answer yet (503 saying why), an answer
-- that expires while Prometheus is down (the last one is served, then 503), a timeout,
-- and the way back.

local support = require("tests.support")

describe("with no answer yet", function()
  it("answers 503 with Prometheus's error while it is unreachable", function()
    testing.prometheus.fail(support.QUERY, "unreachable")
    local res = support.plugin():get("/api/slurm/summary")
    assert.equal(res.status, 503)
    assert.truthy(res.body.detail:find("Prometheus query failed (unreachable)", 1, true), res.body.detail)
  end)

  it("answers 503 once Prometheus's timeout has passed", function()
    testing.prometheus.fail(support.QUERY, "timeout")
    local p = support.plugin()
    local before = testing.clock.now()
    local res = p:get("/api/slurm/rooms/hall/nodes")
    assert.equal(res.status, 503)
    assert.truthy(res.body.detail:find("(timeout)", 1, true), res.body.detail)
    assert.equal(testing.clock.now() - before, 5, "telemetry.prometheus_timeout_seconds")
  end)
end)

describe("when Prometheus goes down after an answer", function()
  it("serves the last answer until it is older than TTL + stale, then 503", function()
    testing.prometheus.answer(support.QUERY, support.STATES)
    local p = support.plugin()
    assert.equal(p:get("/api/slurm/summary").body.total_nodes, 7)
    testing.prometheus.fail(support.QUERY, "unreachable")

    testing.clock.advance(40) -- past the 30 s TTL: stale, refreshed in the background
    local res = p:get("/api/slurm/summary")
    assert.same({ res.status, res.body.total_nodes }, { 200, 7 })
    testing.clock.advance(0)
    local warned = false
    for _, l in ipairs(p:logs()) do
      if l.text:find("background refresh failed", 1, true) then warned = true end
    end
    assert.truthy(warned, "the failed refresh is logged")

    testing.clock.advance(25) -- 65 s: past TTL + stale (30 + 30)
    res = p:get("/api/slurm/summary")
    assert.equal(res.status, 503)
  end)

  it("shows the new states once Prometheus answers again", function()
    testing.prometheus.answer(support.QUERY, support.STATES)
    local p = support.plugin()
    p:get("/api/slurm/summary")
    testing.prometheus.fail(support.QUERY, "http", "Service Unavailable")
    testing.clock.advance(65)
    assert.equal(p:get("/api/slurm/summary").status, 503)
    testing.prometheus.answer(support.QUERY, support.rows({ { "cn001", "down", "batch" } }))
    local res = p:get("/api/slurm/summary")
    assert.same({ res.status, res.body.total_nodes, res.body.by_severity.CRIT }, { 200, 1, 1 })
  end)
end)

describe("an empty answer", function()
  it("is kept 5 s only: the exporter may not have been scraped yet", function()
    testing.prometheus.answer(support.QUERY, {})
    local p = support.plugin()
    assert.equal(p:get("/api/slurm/summary").body.total_nodes, 0)
    testing.prometheus.answer(support.QUERY, support.STATES)
    testing.clock.advance(6)
    p:get("/api/slurm/summary")
    testing.clock.advance(0)
    assert.equal(p:get("/api/slurm/summary").body.total_nodes, 7)
  end)
end)
