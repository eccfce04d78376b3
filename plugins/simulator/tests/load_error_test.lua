-- What the simulator serves while it cannot load (its on_load_error): the status says
-- why, actions answer 503, and the metrics list still answers.

local support = require("tests.support")

describe("a catalog that is nowhere", function()
  it("fails the load, naming the catalog", function()
    local p = support.plugin({ metrics_catalog_path = "metrics/gone.yaml" }, { fails = true })
    assert.truthy(p.error:find("metrics catalog 'metrics/gone.yaml' not found", 1, true), p.error)
  end)

  it("leaves the fallback serving the status, 503 for actions", function()
    local p = support.plugin({ metrics_catalog_path = "metrics/gone.yaml" }, { fails = true })
    local status = p:get("/api/simulator/status")
    assert.equal(status.status, 200)
    assert.same({ status.body.running, status.body.tick }, { false, rackscope.null })
    assert.truthy(status.body.error:find("gone.yaml", 1, true), status.body.error)
    local res = p:post("/api/simulator/overrides", { instance = "compute001", metric = "up", value = 0 })
    assert.equal(res.status, 503)
    assert.equal(p:get("/api/simulator/metrics").status, 200)
    assert.equal(p:info().running, false)
  end)

  it("loads once the catalog is there", function()
    local p = support.plugin({ metrics_catalog_path = "metrics/mine.yaml" }, { fails = true })
    p:write("metrics/mine.yaml", "metrics:\n  - name: up\n    scope: node\n")
    p:reload()
    assert.equal(p.error, nil)
    assert.equal(#p:samples("up"), support.NODES)
    assert.same(p:samples("node_temperature_celsius"), {}, "only what the catalog names")
  end)
end)

describe("a bad setting", function()
  it("is refused by validate_config with the reason", function()
    local p = support.plugin({ listen = "localhost:9000" }, { fails = true })
    assert.truthy(p.error:find("listen must be an IP address and port", 1, true), p.error)
  end)
end)
