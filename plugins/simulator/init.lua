-- The Metrics Simulator: turns the loaded topology into a live datacenter for demos and
-- tests. It serves node, rack, PDU, cooling, storage and Slurm metrics on its own scrape
-- listener (plugin config `listen`, default 127.0.0.1:9000) for a real Prometheus, and
-- the /api/simulator/* routes to inject overrides and incidents.
--
-- Layout: lib/config (settings, validation, paths), lib/catalog (metric catalogs),
-- lib/patterns (name filters), lib/targets (topology -> targets), lib/publish (catalog
-- definitions -> families, label tables, blocks), lib/nodes (per-node value model),
-- lib/slurm (Slurm states and aggregates), lib/racks (cooling, PDUs), lib/incidents
-- (incident modes), lib/overrides (overrides store and API checks), lib/state (saved
-- state), lib/sync (send only what changed), lib/rng (deterministic randomness),
-- lib/sim (build and tick), lib/routes (REST API and menu), lib/api_doc (what the routes
-- take and answer, for the API document).
--
-- Continuity across reloads: setup builds every family and runs a first tick before it
-- returns, so the new instance's registry is complete when it replaces the old one, and
-- the saved state (lib/state) carries the tick, incidents and counters on.

local config = require("lib.config")
local Sim = require("lib.sim")
local routes = require("lib.routes")

local sim

return {
  id = "simulator",
  name = "Metrics Simulator",
  version = "1.0.0",
  description = "Simulated datacenter metrics (nodes, racks, PDUs, cooling, storage, Slurm) with overrides and incidents",
  author = "rackscope",
  config_file = "config/plugin.yaml",

  validate_config = function(cfg)
    return config.validate(cfg)
  end,

  setup = function(cfg)
    sim = Sim.new(cfg)
    rackscope.metrics.serve(sim.settings.listen)
    Sim.tick(sim, false)
    rackscope.every(sim.settings.update_interval_seconds, function()
      Sim.tick(sim, true)
    end)
    routes.register(sim)
    rackscope.log.info(string.format("simulator ready: %d targets, %d racks, tick %d, listening on %s",
      #sim.targets.list, #sim.targets.racks, sim.tick, sim.settings.listen))
  end,

  -- While the simulator cannot load (a catalog missing, a bad setting), the host runs
  -- this instead of setup: the status route says why, the others answer 503.
  on_load_error = function(err, cfg)
    routes.register_down(err, cfg)
  end,

  -- A topology change arrives with an app.yaml change: rebuild the targets then.
  on_config_reload = function()
    if not sim then return end
    local ok, now = pcall(function() return require("lib.targets").build().signature end)
    if ok and now ~= sim.targets.signature then
      rackscope.log.info("topology changed; reloading the simulator")
      rackscope.plugin.reload()
    end
  end,
}
