-- The simulator: builds everything from the config, the topology and the catalogs
-- (targets, families, label tables and blocks, overrides store, saved state), and runs
-- one tick: overrides, incident roll, node model, Slurm, racks, then the bookkeeping
-- (tick duration gauge, tick counter, state file).

local config = require("lib.config")
local rng = require("lib.rng")
local targets = require("lib.targets")
local catalog = require("lib.catalog")
local publish = require("lib.publish")
local overrides = require("lib.overrides")
local incidents = require("lib.incidents")
local nodes = require("lib.nodes")
local slurm = require("lib.slurm")
local racks = require("lib.racks")
local state = require("lib.state")

local M = {}

local function topology_checks(tg)
  local aisles
  return {
    has_instance = function(id)
      return tg.by_id[id] ~= nil or rackscope.topology.instance(id) ~= nil
    end,
    has_rack = function(id)
      return tg.rack_info[id] ~= nil or rackscope.topology.rack(id) ~= nil
    end,
    has_aisle = function(id)
      if tg.aisle_set[id] then return true end
      if not aisles then
        aisles = {}
        for _, a in ipairs(rackscope.topology.aisles()) do aisles[a.id] = true end
      end
      return aisles[id] == true
    end,
  }
end

-- A new simulator for the plugin config `cfg` (already validated).
function M.new(cfg)
  local t0 = rackscope.now()
  local settings = config.effective(cfg)
  local sim = { settings = settings }
  sim.seed_key = rng.seed_key(settings.seed)
  sim.node_seed = settings.seed ~= nil and rng.hash("node:" .. tostring(settings.seed)) or 0
  sim.targets = targets.build()
  local t1 = rackscope.now()

  local paths = { { id = "primary", path = settings.metrics_catalog_path, configured = settings.metrics_catalog_configured } }
  for _, c in ipairs(settings.metrics_catalogs) do paths[#paths + 1] = c end
  local defs, by_name, warnings = catalog.load(paths)
  sim.catalogs = paths
  for _, w in ipairs(warnings) do rackscope.log.warn(w) end
  if #defs == 0 then
    error("no metric definitions in the metrics catalogs (" .. settings.metrics_catalog_path .. ")", 0)
  end
  sim.pub = publish.new(defs, by_name, sim.targets)
  local t2 = rackscope.now()

  sim.tick_seconds = rackscope.metrics.gauge("rackscope_simulator_tick_seconds",
    "Duration of the simulator's last tick in seconds")
  sim.ticks = rackscope.metrics.counter("rackscope_simulator_ticks_total", "Ticks the simulator has run")
  nodes.setup(sim)
  slurm.setup(sim)
  racks.setup(sim)
  local t3 = rackscope.now()

  sim.ov = overrides.new(settings.overrides_path, settings.default_ttl_seconds, topology_checks(sim.targets))
  local saved = state.read(settings.state_path)
  sim.tick = math.type(saved.tick) == "integer" and saved.tick or 0
  sim.inc = incidents.load(saved.incidents, sim.targets)
  sim.roll_sig = sim.inc and saved.roll_sig or nil
  sim.last_roll = sim.inc and saved.last_roll or nil
  sim.inc = sim.inc or { nodes_crit = {}, nodes_warn = {}, racks_crit = {}, aisles_hot = {}, forced = {} }
  if type(saved.overrides_good) == "table" then
    -- The last good list, in force while the file itself is broken.
    for _, e in ipairs(saved.overrides_good) do
      if type(e) == "table" then sim.ov.list[#sim.ov.list + 1] = e end
    end
  end
  nodes.init_counters(sim, saved.counters)
  racks.init_counters(sim, saved.energy)
  rackscope.log.debug(string.format(
    "setup: targets %.0f ms, catalogs %.0f ms, families %.0f ms, state %.0f ms; Lua memory %.0f MiB",
    (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000, (rackscope.now() - t3) * 1000,
    collectgarbage("count") / 1024))
  return sim
end

-- Runs one tick. `save` writes the state file afterwards.
function M.tick(sim, save)
  local t0 = rackscope.now()
  local settings = sim.settings
  sim.tick = sim.tick + 1
  local tick = sim.tick
  rackscope.plugin.set_warning("overrides", sim.ov:refresh())
  local inst, rack, aisle = sim.ov:tables(t0)
  local ov = { inst = inst, rack = rack, aisle = aisle }

  local sig = incidents.signature(settings)
  local cycle = incidents.cycle_ticks(settings.changes_per_hour, settings.update_interval_seconds)
  if sim.last_roll == nil or sig ~= sim.roll_sig or tick % cycle == 0 then
    sim.inc = incidents.roll(sim.targets, settings, sim.seed_key, tick)
    sim.roll_sig, sim.last_roll = sig, tick
  end

  local first = not sim.published
  local t1 = rackscope.now()
  nodes.compute(sim, tick, ov)
  local t2 = rackscope.now()
  nodes.publish(sim, first)
  local t3 = rackscope.now()
  slurm.step(sim, tick)
  local t4 = rackscope.now()
  racks.step(sim, tick, ov)
  local t5 = rackscope.now()
  if save then M.save(sim) end
  sim.published = true
  sim.last_tick_at = rackscope.now()
  sim.ticks:set(nil, tick)
  sim.tick_duration = sim.last_tick_at - t0
  sim.tick_seconds:set(nil, sim.tick_duration)
  rackscope.log.debug(string.format(
    "tick %d: %.0f ms (overrides+roll %.0f, nodes %.0f, publish %.0f, slurm %.0f, racks %.0f, save %.0f)",
    tick, (sim.last_tick_at - t0) * 1000, (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000,
    (t4 - t3) * 1000, (t5 - t4) * 1000, (sim.last_tick_at - t5) * 1000))
end

function M.save(sim)
  local good = {}
  for i, e in ipairs(sim.ov.list) do good[i] = e end
  state.write(sim.settings.state_path, {
    tick = sim.tick,
    roll_sig = sim.roll_sig,
    last_roll = sim.last_roll,
    incidents = incidents.dump(sim.inc),
    overrides_good = rackscope.array(good),
    counters = nodes.dump_counters(sim),
    energy = racks.dump_counters(sim),
  })
end

return M
