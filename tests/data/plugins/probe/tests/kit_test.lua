-- The test kit's own behaviour, on the probe plugin. Every test here must pass.

local NULL = rackscope.null

describe("requests", function()
  it("carry method, query and headers, and come back decoded", function()
    local p = testing.plugin()
    local res = p:get("/api/probe/echo?a=1", { query = { b = "two words" }, headers = { ["X-Probe"] = "yes" } })
    assert.equal(res.status, 200)
    assert.equal(res.headers["content-type"], "application/json")
    assert.same({ res.body.method, res.body.query, res.body.header }, { "GET", { a = "1", b = "two words" }, "yes" })
    assert.equal(rackscope.json.decode(res.text).method, "GET")
  end)

  it("send tables as JSON; the server checks bodies as for any client", function()
    local p = testing.plugin()
    local res = p:post("/api/probe/echo", { list = { 1, 2 }, none = NULL })
    assert.same({ res.status, res.body }, { 201, { body = { list = { 1, 2 }, none = NULL } } })
    assert.equal(p:post("/api/probe/echo", "hello", { headers = { ["content-type"] = "text/plain" } }).status, 415)
    assert.equal(p:post("/api/probe/echo", "{not json").status, 422)
    assert.equal(p:get("/api/probe/nothing").status, 404)
    assert.equal(p:delete("/api/probe/echo").status, 405)
  end)

  it("a handler's error is a 500 and its message is in the log", function()
    local p = testing.plugin()
    local res = p:get("/api/probe/boom")
    assert.equal(res.status, 500)
    local logged
    for _, l in ipairs(p:logs()) do
      if l.level == "ERROR" then logged = l.text end
    end
    assert.truthy(logged and logged:find("plugins/probe/init.lua:46: attempt to index a nil value", 1, true), logged)
  end)

  it("a handler slower than request_timeout_seconds gets a 504, on the test clock", function()
    local p = testing.plugin({ limits = { request_timeout_seconds = 2 } })
    local t0 = testing.clock.now()
    local res = p:get("/api/probe/slow")
    assert.equal(res.status, 504)
    assert.equal(testing.clock.now() - t0, 2)
  end)
end)

describe("the fake Prometheus", function()
  it("answers an exact query, a pattern, and the latest rule first", function()
    local p = testing.plugin()
    testing.prometheus.answer("up", { { { instance = "a" }, 1 } })
    testing.prometheus.answer({ pattern = "^node_" }, { { { instance = "b" }, 2.5 } })
    assert.equal(p:get("/api/probe/prom").body.result[1].metric.instance, "a")
    local r = p:get("/api/probe/prom?q=node_load1").body.result[1]
    assert.same({ r.metric.instance, r.value[2] }, { "b", "2.5" })
    testing.prometheus.answer("up", { { { instance = "c" }, 1 } })
    assert.equal(p:get("/api/probe/prom").body.result[1].metric.instance, "c")
  end)

  it("fails with each kind, and the client's messages", function()
    local p = testing.plugin()
    for _, kind in ipairs({ "unreachable", "http", "query", "malformed" }) do
      testing.prometheus.fail("up", kind)
      local res = p:get("/api/probe/prom")
      assert.same({ res.status, res.body.kind }, { 503, kind })
    end
    testing.prometheus.fail("up", "query", "parse error at char 3")
    assert.equal(p:get("/api/probe/prom").body.message,
      "Prometheus rejected the query (bad_data): parse error at char 3")
  end)

  it("times out after the configured timeout, and delays answers, on the test clock", function()
    local p = testing.plugin({ app = { telemetry = { prometheus_timeout_seconds = 3 } } })
    testing.prometheus.fail("up", "timeout")
    local t0 = testing.clock.now()
    assert.equal(p:get("/api/probe/prom").body.kind, "timeout")
    assert.equal(testing.clock.now() - t0, 3)
    testing.prometheus.answer("up", {}, { delay = 1.5 })
    assert.equal(p:get("/api/probe/prom").status, 200)
    assert.equal(testing.clock.now() - t0, 4.5)
  end)

  it("says which query it has no answer for", function()
    local res = testing.plugin():get("/api/probe/prom?q=absent_metric")
    assert.equal(res.body.kind, "unreachable")
    assert.truthy(res.body.message:find("no answer for this query in the test", 1, true), res.body.message)
    assert.truthy(res.body.message:find("absent_metric", 1, true), res.body.message)
  end)

  it("records the queries of the test", function()
    local p = testing.plugin()
    testing.prometheus.answer({ pattern = "." }, {})
    p:get("/api/probe/prom?cache=health")
    p:get("/api/probe/range")
    local calls = testing.prometheus.calls()
    assert.equal(#calls, 2)
    assert.same({ calls[1].query, calls[1].kind, calls[1].cache }, { "up", "instant", "health" })
    assert.same({ calls[2].kind, calls[2].start, calls[2]["end"], calls[2].step }, { "range", 100, 200, "15" })
    testing.prometheus.reset()
    assert.same(testing.prometheus.calls(), {})
  end)

  it("serves matrices and the columnar form", function()
    local p = testing.plugin()
    testing.prometheus.answer("rate(x[5m])", testing.prometheus.matrix({ { { job = "j" }, { { 100, 1 }, { 115, 0.5 } } } }))
    local m = p:get("/api/probe/range").body
    assert.same({ m.resultType, m.result[1].values[2] }, { "matrix", { 115, "0.5" } })
    testing.prometheus.answer("up", { { { instance = "a" }, 1 }, { {}, 0 } })
    assert.same(p:get("/api/probe/columns").body, { count = 2, instances = { "a", "" }, values = { 1, 0 } })
  end)
end)

local before_file = testing.plugin({ config = { greeting = "file" } })

describe("scopes", function()
  local order = {}
  local leftover
  before_each(function() order[#order + 1] = "outer before" end)
  after_each(function() order[#order + 1] = "outer after" end)

  describe("inner", function()
    before_each(function() order[#order + 1] = "inner before" end)
    after_each(function() order[#order + 1] = "inner after" end)
    it("run before_each outside in, after_each inside out", function()
      order[#order + 1] = "test"
      leftover = testing.plugin()
      testing.prometheus.answer("leaked", {})
    end)
  end)

  it("end a test's plugins and answers with it", function()
    assert.same(order, { "outer before", "inner before", "test", "inner after", "outer after", "outer before" })
    assert.equal(leftover:get("/api/probe/echo").status, 404, "stopped")
    assert.equal(testing.plugin():get("/api/probe/prom?q=leaked").body.kind, "unreachable")
  end)

  it("keep the file's own plugins for the whole file", function()
    assert.equal(before_file:get("/api/probe/echo").status, 200)
    assert.equal(before_file:menu()[1].label, "Probe file")
  end)
end)

describe("the clock", function()
  it("starts at 1700000000 and can be set; os.time follows it", function()
    local p = testing.plugin()
    assert.truthy(testing.clock.now() >= 1700000000)
    testing.clock.set(1800000000)
    local body = p:get("/api/probe/echo").body
    assert.same({ body.now, body.os_time }, { 1800000000, 1800000000 })
    assert.equal(rackscope.now(), 1800000000)
  end)

  it("fires timers in order as it advances", function()
    local p = testing.plugin()
    assert.equal(p:metric("probe_ticks_total", { kind = "timer" }), nil)
    testing.clock.advance(12)
    assert.equal(p:metric("probe_ticks_total", { kind = "timer" }), 2)
    testing.clock.advance(3)
    assert.equal(p:metric("probe_ticks_total"), 3)
    assert.same(p:samples("probe_ticks_total"), { { labels = { kind = "timer" }, value = 3 } })
  end)

  it("expires published answers", function()
    local p = testing.plugin()
    assert.equal(p:get("/api/probe/counted").body.calls, 1)
    assert.equal(p:get("/api/probe/counted").body.calls, 1, "the published answer")
    testing.clock.advance(11)
    assert.equal(p:get("/api/probe/counted").body.calls, 2)
  end)
end)

describe("what the plugin registers", function()
  it("menus, status maps, warnings, its scrape text", function()
    local p = testing.plugin({ config = { greeting = "hi", warn = "careful" } })
    assert.same(p:menu(), { { id = "probe", label = "Probe hi", order = 100, items = {}, icon = NULL } })
    assert.same(p:status_map("probe"), { fine = "OK", default = "WARN" })
    assert.same(p:warnings(), { probe = "careful" })
    assert.equal(p:info().running, true)
    assert.truthy(p:scrape():find("# TYPE probe_ticks_total counter", 1, true))
  end)

  it("a refused config, with fails = true", function()
    local p = testing.plugin({ config = { bad = true }, fails = true })
    assert.same({ p.running, p.error }, { false, "invalid config: bad is set" })
    assert.equal(p:get("/api/probe/echo").status, 404)
  end)

  it("shutdown runs when it stops", function()
    local p = testing.plugin()
    p:stop()
    local said = false
    for _, l in ipairs(testing.logs()) do
      if l.text:find("probe shutting down", 1, true) then said = true end
    end
    assert.truthy(said)
  end)
end)

describe("topologies and files", function()
  it("built with testing.topology", function()
    local topo = testing.topology({
      rooms = { hall = { aisles = { a1 = { r01 = "n[1-2]" } }, racks = { r99 = { "login1" } } } },
    })
    local got = testing.plugin({ topology = topo }):get("/api/probe/instances").body
    assert.same(got, { "hall/a1/r01/n1", "hall/a1/r01/n2", "hall/-/r99/login1" })
  end)

  it("read from a fixture of the plugin", function()
    local got = testing.plugin({ topology = "fixtures/topology.yaml" }):get("/api/probe/instances").body
    assert.same(got, { "lab/-/rx/fx1", "lab/-/rx/fx2" })
  end)

  it("a fixture outside the plugin is refused at the test's line", function()
    local msg = assert.error(function() testing.plugin({ topology = "../elsewhere" }) end)
    assert.truthy(msg:find("kit_test.lua:" , 1, true) and msg:find("is not a file or folder of the plugin", 1, true), msg)
  end)

  it("files in the config folder", function()
    local p = testing.plugin({ files = { ["data/x.txt"] = "hello" } })
    assert.equal(p:get("/api/probe/files/data%2Fx.txt").body.text, "hello", "a parameter is percent-decoded")
    p:write("y.txt", "there")
    assert.equal(p:get("/api/probe/files/y.txt").body.text, "there")
    assert.equal(p:read("data/x.txt"), "hello")
  end)
end)

describe("assert", function()
  it("shows both sides", function()
    assert.equal(assert.error(function() assert.equal(1, 2) end), "plugins/probe/tests/kit_test.lua:226: expected 2, got 1")
    local m = assert.error(function() assert.same({ a = { 1, 2 } }, { a = { 1, 3 } }) end)
    assert.truthy(m:find("expected { a = { 1, 3 } }, got { a = { 1, 2 } } (first difference at .a[2])", 1, true), m)
    assert.near(0.1 + 0.2, 0.3)
    m = assert.error(function() assert.near(1.5, 1, 0.25) end)
    assert.truthy(m:find("expected 1 +/- 0.25, got 1.5", 1, true), m)
    m = assert.error(function() assert.error(function() end) end)
    assert.truthy(m:find("expected an error, got none", 1, true), m)
  end)
end)
