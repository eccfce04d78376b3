-- lib/catalog.lua: metric catalogs, merged in order, with topology selectors.

local catalog = require("lib.catalog")

describe("load", function()
  it("merges catalogs in order, a later definition keeping the earlier one's place", function()
    rackscope.fs.write("one.yaml", [[
metrics:
  - { name: up, scope: node }
  - { name: node_power_watts, help: first }
  - { name: not_a_metric }
]])
    rackscope.fs.write("two.yaml", "metrics:\n  - { name: node_power_watts, help: second, roles: [GPU] }\n")
    local paths = { { path = "one.yaml" }, { path = "two.yaml" } }
    local defs, by_name, warnings = catalog.load(paths)
    assert.same({ defs[1].name, defs[2].name }, { "up", "node_power_watts" })
    assert.equal(#defs, 2)
    assert.equal(by_name.node_power_watts.help, "second")
    assert.equal(by_name.node_power_watts.select.sig, "roles=gpu")
    assert.same(warnings, { "one.yaml: Metric not_a_metric not supported yet" })
    assert.same({ paths[1].source, paths[2].source }, { "config", "config" })
  end)
  it("reads a catalog missing from the config folder from the bundled one", function()
    local paths = { { path = "metrics/metrics_slurm.yaml" }, { path = "nothere/metrics_slurm.yaml" } }
    local defs = catalog.load(paths)
    assert.truthy(#defs > 0)
    assert.equal(paths[2].source, "bundled")
  end)
  it("fails on a catalog that is nowhere, or not YAML", function()
    assert.error(function() catalog.load({ { path = "nowhere.yaml" } }) end, "not found")
    rackscope.fs.write("bad.yaml", "metrics: [\n")
    assert.error(function() catalog.load({ { path = "bad.yaml" } }) end, "bad.yaml is not valid YAML")
  end)
end)

describe("selector", function()
  it("holds every selector an entry has", function()
    local pick = catalog.selector({ device_types = { server = true }, exclude_roles = { login = true } })
    assert.truthy(pick({ kind = "server", role = "compute" }))
    assert.falsy(pick({ kind = "server", role = "login" }))
    assert.falsy(pick({ kind = "switch" }))
    assert.equal(catalog.selector(nil), nil)
  end)
end)
