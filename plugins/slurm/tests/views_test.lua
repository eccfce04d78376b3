-- The node views (GET /api/slurm/summary, /partitions, /rooms/{id}/nodes, /nodes) over
-- canned node states: the plugin loaded as the server loads it, queried as a client.

local support = require("tests.support")

local NULL = rackscope.null

before_each(function()
  testing.prometheus.answer(support.QUERY, support.STATES)
end)

describe("GET /api/slurm/summary", function()
  it("counts nodes by status and severity; a not-responding node is CRIT", function()
    local res = support.plugin():get("/api/slurm/summary")
    assert.equal(res.status, 200)
    assert.same(res.body, {
      room_id = NULL,
      total_nodes = 7,
      by_status = { idle = 3, allocated = 1, down = 1, mixed = 1, drain = 1 },
      by_severity = { OK = 4, WARN = 1, CRIT = 2, UNKNOWN = 0 },
    })
  end)

  it("counts one room's nodes with ?room_id=", function()
    local res = support.plugin():get("/api/slurm/summary", { query = { room_id = "hall" } })
    assert.same(res.body, {
      room_id = "hall",
      total_nodes = 5,
      by_status = { idle = 1, allocated = 1, down = 1, mixed = 1, drain = 1 },
      by_severity = { OK = 2, WARN = 1, CRIT = 2, UNKNOWN = 0 },
    })
  end)

  it("answers 404 for a room the topology does not have", function()
    local res = support.plugin():get("/api/slurm/summary?room_id=nowhere")
    assert.same({ res.status, res.body }, { 404, { detail = "Room not found" } })
  end)

  it("serves the answer it published without asking Prometheus again until the TTL", function()
    local p = support.plugin()
    p:get("/api/slurm/summary")
    p:get("/api/slurm/summary")
    p:get("/api/slurm/partitions")
    assert.equal(support.queries(), 1)
    testing.clock.advance(31)
    assert.equal(p:get("/api/slurm/summary").status, 200, "the last answer, while it refreshes")
    testing.clock.advance(0)
    assert.equal(support.queries(), 2)
  end)
end)

describe("GET /api/slurm/partitions", function()
  it("counts each node once per partition and status", function()
    local res = support.plugin():get("/api/slurm/partitions")
    assert.same(res.body, {
      room_id = NULL,
      partitions = {
        batch = { idle = 3, allocated = 1, down = 1, mixed = 1 },
        gpu = { mixed = 1, drain = 1 },
      },
    })
  end)

  it("keeps one room's nodes", function()
    local res = support.plugin():get("/api/slurm/partitions", { query = { room_id = "annex" } })
    assert.same(res.body, { room_id = "annex", partitions = { batch = { idle = 1 } } })
  end)
end)

describe("GET /api/slurm/rooms/{room_id}/nodes", function()
  it("lists every instance of the room, unknown where Slurm says nothing", function()
    local res = support.plugin():get("/api/slurm/rooms/hall/nodes")
    assert.equal(res.status, 200)
    local nodes = res.body.nodes
    assert.same(nodes.cn003, { status = "down", severity = "CRIT", statuses = { "down*" }, partitions = { "batch" } })
    assert.same(nodes.cn004, { status = "mixed", severity = "WARN", statuses = { "mixed" }, partitions = { "batch", "gpu" } })
    assert.same(nodes.gpu02, { status = "unknown", severity = "UNKNOWN", statuses = {}, partitions = {} })
    local names = {}
    for name in pairs(nodes) do names[#names + 1] = name end
    table.sort(names)
    assert.same(names, { "cn001", "cn002", "cn003", "cn004", "gpu01", "gpu02" })
  end)

  it("answers 404 for an unknown room", function()
    assert.equal(support.plugin():get("/api/slurm/rooms/nowhere/nodes").status, 404)
  end)
end)

describe("GET /api/slurm/nodes", function()
  it("lists the nodes by name with their place in the topology", function()
    local body = support.plugin():get("/api/slurm/nodes").body
    local names = {}
    for i, n in ipairs(body.nodes) do names[i] = n.node end
    assert.same(names, { "cn001", "cn002", "cn003", "cn004", "cn005", "ghost", "gpu01" })
    assert.same(body.nodes[1], {
      node = "cn001", status = "idle", severity = "OK", statuses = { "idle" }, partitions = { "batch" },
      site_id = "site", site_name = "site", room_id = "hall", room_name = "hall", aisle_id = "hall-a",
      rack_id = "r01", rack_name = "r01", device_id = "cn001", device_name = "cn001",
    })
    assert.equal(body.nodes[6].room_id, NULL, "a node outside the topology has no place")
  end)

  it("shows the partition 'all' state when a node has one", function()
    testing.prometheus.answer(support.QUERY, support.rows({
      { "cn001", "drain", "debug" },
      { "cn001", "idle", "all" },
    }))
    local node = support.plugin():get("/api/slurm/nodes").body.nodes[1]
    assert.same({ node.status, node.severity }, { "idle", "OK" })
  end)
end)

describe("what the plugin registers", function()
  it("the Workload menu and the slurm status map", function()
    local p = support.plugin()
    local menu = p:menu()
    assert.equal(#menu, 1)
    assert.same({ menu[1].id, menu[1].label, #menu[1].items }, { "workload", "Workload", 5 })
    local map = p:status_map("slurm")
    assert.same({ map.idle, map["alloc*"], map.mix }, { "OK", "CRIT", "WARN" })
  end)

  it("no menu when the config says enabled: false", function()
    assert.same(support.plugin({ config = { enabled = false } }):menu(), {})
  end)
end)
