-- lib/config.lua: validation of the Slurm plugin's settings and their defaults.

local config = require("lib.config")

describe("validate", function()
  it("accepts an empty config and one that sets every key", function()
    assert.truthy(config.validate({}))
    local full = {
      enabled = true, metric = "slurm_node_status", label_node = "node", label_status = "status",
      label_partition = "partition", roles = { "compute", "visu" }, include_unlabeled = false,
      mapping_path = "config/plugins/slurm/node_mapping.yaml", metrics_catalog_dir = "metrics",
      metrics_catalogs = { "metrics.yaml", { id = "extra", path = "metrics/extra.yaml", enabled = false } },
      status_map = { ok = { "idle" }, warn = { "mixed" }, crit = { "down*" }, info = {} },
      severity_colors = { ok = "#000000" }, cache_ttl_seconds = 30, stale_seconds = 60,
    }
    assert.same({ config.validate(full) }, { true })
  end)
  it("names the first problem", function()
    for _, case in ipairs({
      { { metric = "" }, "metric must be a non-empty string" },
      { { status_map = { ok = "idle" } }, "status_map.ok must be a list of statuses" },
      { { status_map = { fine = {} } }, "status_map.fine: unknown level (expected ok, warn, crit or info)" },
      { { roles = { "compute", 5 } }, "roles[1] must be a string" },
      { { metrics_catalogs = { { id = "x" } } }, "metrics_catalogs[0].path must be a non-empty string" },
      { { cache_ttl_seconds = 0.5 }, "cache_ttl_seconds must be at least 1" },
      { { stale_seconds = -1 }, "stale_seconds must be a number of seconds (0 to 86400)" },
    }) do
      assert.same({ config.validate(case[1]) }, { nil, case[2] })
    end
  end)
end)

describe("with_defaults", function()
  it("fills in what is missing and merges the colours", function()
    local c = config.with_defaults({ metric = "m", severity_colors = { ok = "#000" } })
    assert.equal(c.metric, "m")
    assert.equal(c.label_node, "node")
    assert.equal(c.mapping_path, "node_mapping.yaml")
    assert.same(c.severity_colors, { ok = "#000", warn = "#f59e0b", crit = "#ef4444", info = "#3b82f6" })
  end)
  it("turns an explicit null, false or empty mapping path into no mapping", function()
    assert.equal(config.with_defaults({}, true).mapping_path, nil)
    assert.equal(config.with_defaults({ mapping_path = false }).mapping_path, nil)
    assert.equal(config.with_defaults({ mapping_path = "" }).mapping_path, nil)
  end)
end)
