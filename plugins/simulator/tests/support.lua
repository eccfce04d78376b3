-- What the simulator's tests of the running plugin share (not a test file: tests/*_test.lua
-- are): a small topology and a config with a fixed seed and no random incidents.

local M = {}

-- One room, two aisles: hall-a holds r01 (compute001-004) and r02 (gpu01-02), hall-b
-- holds r03 (compute005-008).
M.TOPOLOGY = testing.topology({
  rooms = {
    hall = {
      aisles = {
        ["hall-a"] = { r01 = "compute[001-004]", r02 = "gpu[01-02]" },
        ["hall-b"] = { r03 = "compute[005-008]" },
      },
    },
  },
})

M.NODES = 10

-- Ticks every 20 s; a seed, so values repeat from run to run; no incident unless a test
-- asks for one.
M.CONFIG = { seed = 42, incident_mode = "full_ok", update_interval_seconds = 20 }

-- The simulator over M.TOPOLOGY, with M.CONFIG under `config`'s keys.
function M.plugin(config, opts)
  opts = opts or {}
  local c = {}
  for k, v in pairs(M.CONFIG) do c[k] = v end
  for k, v in pairs(config or {}) do c[k] = v end
  opts.config = c
  opts.topology = opts.topology or M.TOPOLOGY
  return testing.plugin(opts)
end

-- The nodes whose `up` is 0, sorted.
function M.down(p)
  local out = {}
  for _, s in ipairs(p:samples("up")) do
    if s.value == 0 then out[#out + 1] = s.labels.instance end
  end
  table.sort(out)
  return out
end

return M
