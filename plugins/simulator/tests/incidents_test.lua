-- Incident modes: which nodes and racks the simulator takes down, rolled from the seed.

local support = require("tests.support")

describe("incident_mode", function()
  it("full_ok takes nothing down", function()
    assert.same(support.down(support.plugin()), {})
  end)

  it("custom takes exactly the configured numbers of nodes and racks down", function()
    local p = support.plugin({ incident_mode = "custom", custom_incidents = { devices_crit = 2 } })
    assert.equal(#support.down(p), 2)
    p = support.plugin({ incident_mode = "custom", custom_incidents = { racks_crit = 1 } })
    local down = support.down(p)
    local racks = {}
    for _, s in ipairs(p:samples("up")) do
      if s.value == 0 then racks[s.labels.rack_id] = true end
    end
    local n = 0
    for _ in pairs(racks) do n = n + 1 end
    assert.equal(n, 1, "one rack: " .. table.concat(down, ", "))
  end)

  it("picks the same nodes for the same seed", function()
    local config = { incident_mode = "custom", custom_incidents = { devices_crit = 3 } }
    assert.same(support.down(support.plugin(config)), support.down(support.plugin(config)))
  end)

  it("rolls again changes_per_hour times an hour", function()
    -- 20 s ticks, 60 an hour: with 60 changes an hour, a roll every tick.
    local p = support.plugin({ incident_mode = "custom", changes_per_hour = 60, seed = 3,
      custom_incidents = { devices_crit = 2 } })
    local seen, rolls = {}, 0
    for _ = 1, 6 do
      local key = table.concat(support.down(p), ",")
      if not seen[key] then seen[key] = true; rolls = rolls + 1 end
      testing.clock.advance(20)
    end
    assert.truthy(rolls > 1, "the down nodes changed")
  end)

  it("marks the configured number of nodes drained in Slurm", function()
    local p = support.plugin({ slurm_random_statuses = { drain = 2 } })
    local drained = 0
    for _, s in ipairs(p:samples("slurm_node_status")) do
      if s.labels.status == "drain" and s.value == 1 then drained = drained + 1 end
    end
    assert.truthy(drained >= 2, "drained series: " .. drained)
  end)
end)
