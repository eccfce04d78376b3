-- lib/config.lua: the simulator's settings (validation, effective values, paths).

local config = require("lib.config")

describe("validate", function()
  it("accepts an empty config and one in Rackscope's form", function()
    assert.truthy(config.validate({}))
    assert.same({ config.validate({
      listen = "127.0.0.1:9000", update_interval_seconds = 20, seed = 42, incident_mode = "custom",
      changes_per_hour = 2, custom_incidents = { devices_crit = 1, devices_warn = 2, racks_crit = 0, aisles_hot = 0 },
      overrides_path = "config/plugins/simulator/overrides/overrides.yaml", default_ttl_seconds = 120,
      metrics_catalog_path = "config/plugins/simulator/metrics/metrics_full.yaml",
      metrics_catalogs = { { id = "slurm", path = "config/plugins/simulator/metrics/metrics_slurm.yaml", enabled = true } },
      slurm_random_statuses = { drain = 1 }, slurm_random_match = { "compute*" }, slurm_alloc_percent = 70,
      profiles = { compute = { load_min = 20, load_max = 90 } },
    }) }, { true })
  end)
  it("names the first problem", function()
    for _, case in ipairs({
      { { listen = "localhost:9000" }, "listen must be an IP address and port" },
      { { update_interval_seconds = "fast" }, "update_interval_seconds must be a number of seconds" },
      { { incident_mode = "bogus" }, "incident_mode must be one of full_ok, light" },
      { { changes_per_hour = 0 }, "changes_per_hour must be an integer >= 1, got 0" },
      { { slurm_alloc_percent = 101 }, "slurm_alloc_percent must be an integer 0..100, got 101" },
      { { custom_incidents = { devices_crit = -1 } }, "custom_incidents.devices_crit must be an integer >= 0" },
      { { overrides_path = "/etc/passwd" }, "overrides_path: '/etc/passwd' is outside the plugin's config folder" },
      { { metrics_catalog_path = "../../x.yaml" }, "metrics_catalog_path: '../../x.yaml' must not contain '..'" },
      { { metrics_catalogs = { { path = "metrics/x.yaml", enabled = "yes" } } }, "metrics_catalogs[1].enabled must be true or false" },
      { { profiles = { hot = { temp = "high" } } }, "profiles.hot.temp must be a number" },
    }) do
      local ok, why = config.validate(case[1])
      assert.equal(ok, nil)
      assert.truthy(why:find(case[2], 1, true), why)
    end
  end)
  it("refuses a catalog that is neither in the config folder nor bundled", function()
    local ok, why = config.validate({ metrics_catalog_path = "metrics/nowhere.yaml" })
    assert.equal(ok, nil)
    assert.truthy(why:find("metrics catalog 'metrics/nowhere.yaml' not found", 1, true), why)
  end)
end)

describe("paths", function()
  it("resolves Rackscope's form through the host's rule, naming the setting", function()
    assert.equal(config.resolve_path("config/plugins/simulator/metrics/m.yaml", "k"), "metrics/m.yaml")
    assert.same({ config.resolve_path("", "state_path") }, { nil, "state_path must be a non-empty string" })
    assert.same({ config.resolve_path(5, "state_path") }, { nil, "state_path must be a non-empty string" })
  end)
  it("reads a catalog from the config folder, else the bundled one of that name", function()
    assert(rackscope.fs.write("metrics/metrics_full.yaml", "metrics: []\n"))
    assert.same({ config.read_catalog("metrics/metrics_full.yaml") },
      { "metrics: []\n", "config", "catalogs/metrics_full.yaml" })
    local text, source, bundled = config.read_catalog("gone/metrics_slurm.yaml")
    assert.truthy(text:find("slurm_node_status", 1, true))
    assert.same({ source, bundled }, { "bundled", "catalogs/metrics_slurm.yaml" })
    local none, why = config.read_catalog("gone/other.yaml", "shown.yaml")
    assert.equal(none, nil)
    assert.truthy(why:find("metrics catalog 'shown.yaml' not found", 1, true), why)
  end)
end)

describe("effective", function()
  it("puts the config over the defaults and resolves the paths", function()
    local e = config.effective({ update_interval = 30, changes_per_hour = 3.0,
      overrides_path = "config/plugins/simulator/ov.yaml", custom_incidents = { racks_crit = 2.7, bogus = 1 } })
    assert.equal(e.update_interval_seconds, 30)
    assert.equal(math.type(e.changes_per_hour), "integer")
    assert.equal(e.overrides_path, "ov.yaml")
    assert.same(e.custom_incidents, { devices_crit = 0, devices_warn = 0, racks_crit = 2, aisles_hot = 0 })
    assert.same(e.metrics_catalogs, { { id = "slurm", configured = "metrics/metrics_slurm.yaml",
      path = "metrics/metrics_slurm.yaml" } })
  end)
  it("keeps only the enabled extra catalogs", function()
    local e = config.effective({ metrics_catalogs = { "a.yaml", { path = "b.yaml", enabled = false } } })
    assert.same(e.metrics_catalogs, { { id = "a.yaml", configured = "a.yaml", path = "a.yaml" } })
  end)
end)
