-- The node mapping in the running plugin: Slurm names mapped onto topology instances in
-- every view, GET and POST /api/slurm/mapping, and a mapping file broken by hand.

local support = require("tests.support")

-- Slurm calls the nodes n001-n004; the topology calls them cn001-cn004.
local MAPPING = 'mappings:\n  - node: "n*"\n    instance: "cn*"\n'

before_each(function()
  testing.prometheus.answer(support.QUERY, support.rows({
    { "n001", "idle", "batch" },
    { "n003", "drain", "batch" },
  }))
end)

describe("a mapping file", function()
  it("puts Slurm's names on the topology's instances", function()
    local p = support.plugin({ files = { ["node_mapping.yaml"] = MAPPING } })
    local nodes = p:get("/api/slurm/rooms/hall/nodes").body.nodes
    assert.equal(nodes.cn001.status, "idle")
    assert.equal(nodes.cn003.severity, "CRIT")
    local mapping = p:get("/api/slurm/mapping").body
    assert.same(mapping, { mapping_path = "node_mapping.yaml", entries = { { node = "n*", instance = "cn*" } } })
  end)

  it("without one, the names stay Slurm's and place no node", function()
    local nodes = support.plugin():get("/api/slurm/rooms/hall/nodes").body.nodes
    assert.equal(nodes.cn001.status, "unknown")
  end)

  it("broken by hand: the last good mapping stays in use, and the plugin says why", function()
    local p = support.plugin({ files = { ["node_mapping.yaml"] = MAPPING } })
    p:get("/api/slurm/summary")
    p:write("node_mapping.yaml", "mappings: [\n")
    testing.clock.advance(2) -- the plugin checks the file every 2 s
    local warning = p:warnings().mapping
    assert.truthy(warning and warning:find("the last good mapping stays in use", 1, true), warning)
    assert.equal(p:get("/api/slurm/rooms/hall/nodes").body.nodes.cn001.status, "idle")
    assert.truthy(p:get("/api/slurm/mapping").body.error)
  end)
end)

describe("POST /api/slurm/mapping", function()
  it("writes the file and maps with it at once", function()
    local p = support.plugin()
    local res = p:post("/api/slurm/mapping", { entries = { { node = "n001", instance = "gpu02" } } })
    assert.same({ res.status, res.body }, { 200, { ok = true, saved = 1 } })
    assert.truthy(p:read("node_mapping.yaml"):find("instance: gpu02", 1, true), p:read("node_mapping.yaml"))
    assert.equal(p:get("/api/slurm/rooms/hall/nodes").body.nodes.gpu02.status, "idle")
  end)

  it("refuses a bad entry in Rackscope's 422 shape", function()
    local res = support.plugin():post("/api/slurm/mapping", { entries = { { node = "", instance = "x" } } })
    assert.equal(res.status, 422)
    assert.same(res.body.detail[1].loc, { "body", "entries", 0 })
  end)

  it("answers 400 when the config turns the mapping off", function()
    local p = support.plugin({ config = { mapping_path = rackscope.null } })
    assert.equal(p:get("/api/slurm/mapping").body.mapping_path, rackscope.null)
    local res = p:post("/api/slurm/mapping", { entries = {} })
    assert.same({ res.status, res.body.detail }, { 400, "mapping_path is not configured" })
  end)
end)
