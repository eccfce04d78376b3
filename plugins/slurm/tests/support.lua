-- What the Slurm plugin's route tests share (not a test file: tests/*_test.lua are): a
-- small topology, the node-state query the plugin sends with its default settings, and
-- canned answers to it.

local M = {}

-- The query of the default settings (metric slurm_node_status, labels node, status and
-- partition): `> 0` keeps the active states only.
M.QUERY = "max by (node,status,partition) (slurm_node_status) > 0"

-- Two rooms: hall (aisle hall-a: r01 holds cn001-cn004, r02 holds gpu01-gpu02) and annex
-- (standalone rack r90 with cn005-cn006).
M.TOPOLOGY = testing.topology({
  rooms = {
    hall = { aisles = { ["hall-a"] = { r01 = "cn[001-004]", r02 = "gpu[01-02]" } } },
    annex = { racks = { r90 = "cn[005-006]" } },
  },
})

-- Series of the node-state query from rows { node, status, partition [, value] }.
function M.rows(list)
  local series = {}
  for i, r in ipairs(list) do
    series[i] = { { node = r[1], status = r[2], partition = r[3] }, r[4] or 1 }
  end
  return series
end

-- What the exporter reports in the tests: one node not responding (`*`), one in two
-- partitions, one the topology does not know, and gpu02, cn006 absent.
M.STATES = M.rows({
  { "cn001", "idle", "batch" },
  { "cn002", "allocated", "batch" },
  { "cn003", "down*", "batch" },
  { "cn004", "mixed", "batch" },
  { "cn004", "mixed", "gpu" },
  { "gpu01", "drain", "gpu" },
  { "cn005", "idle", "batch" },
  { "ghost", "idle", "batch" },
})

-- The plugin over M.TOPOLOGY (other options as testing.plugin takes them).
function M.plugin(opts)
  opts = opts or {}
  opts.topology = opts.topology or M.TOPOLOGY
  return testing.plugin(opts)
end

-- How many node-state queries the fake Prometheus received in this test.
function M.queries()
  local n = 0
  for _, c in ipairs(testing.prometheus.calls()) do
    if c.query == M.QUERY then n = n + 1 end
  end
  return n
end

return M
