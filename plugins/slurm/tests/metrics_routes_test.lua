-- The metrics catalog routes: GET /api/slurm/metrics/catalog and one catalog metric from
-- Prometheus with GET /api/slurm/metrics/data?metric_id=.

local support = require("tests.support")

describe("GET /api/slurm/metrics/data", function()
  it("runs the catalog metric's PromQL and answers its series", function()
    testing.prometheus.answer("count by (status) (slurm_node_status{partition=\"all\"} > 0)", {
      { { status = "idle" }, 12 },
      { { status = "down" }, 1 },
    })
    local res = support.plugin():get("/api/slurm/metrics/data", { query = { metric_id = "slurm_nodes_by_state" } })
    assert.equal(res.status, 200)
    assert.same({ res.body.metric_id, res.body.unit, res.body.scope, #res.body.data },
      { "slurm_nodes_by_state", "nodes", "global", 2 })
    assert.same(res.body.data[1].metric, { status = "idle" })
    assert.equal(testing.prometheus.calls()[1].cache, "health")
  end)

  it("answers 404 for an id the catalog does not have, 422 without one", function()
    local p = support.plugin()
    assert.equal(p:get("/api/slurm/metrics/data?metric_id=nope").status, 404)
    local res = p:get("/api/slurm/metrics/data")
    assert.same({ res.status, res.body.detail[1].type }, { 422, "missing" })
  end)

  it("answers 503 when Prometheus rejects the query", function()
    testing.prometheus.fail({ pattern = "slurm_cpus_alloc" }, "query", "parse error")
    local res = support.plugin():get("/api/slurm/metrics/data?metric_id=slurm_cpus_alloc_ratio")
    assert.equal(res.status, 503)
    assert.truthy(res.body.detail:find("(query)", 1, true), res.body.detail)
  end)
end)

describe("GET /api/slurm/metrics/catalog", function()
  it("lists the bundled catalog's metrics when the config folder has none", function()
    local body = support.plugin():get("/api/slurm/metrics/catalog").body
    assert.truthy(#body.metrics > 5)
    assert.equal(body.metrics[1].id, "slurm_nodes_total")
  end)

  it("warns about a catalog file that is nowhere", function()
    local p = support.plugin({ config = { metrics_catalogs = { "gone.yaml" } } })
    assert.truthy(p:warnings().catalog:find("gone.yaml", 1, true), p:warnings().catalog)
  end)
end)
