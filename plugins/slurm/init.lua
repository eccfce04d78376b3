-- The Slurm plugin: workload views from Prometheus (node states, partitions, per-room
-- views, a node list placed in the topology), a node-name mapping, and a metrics catalog.
--
-- Enabled by `plugins.slurm.enabled: true` in app.yaml; its settings live in
-- <dir of app.yaml>/plugins/slurm/config.yml (see config/plugins/slurm/config.yml for a
-- commented example). The code is split by concern under lib/:
--   config.lua   settings, defaults, validation, paths
--   status.lua   state normalisation and severities (the "slurm" status map)
--   mapping.lua  Slurm node names -> topology instances
--   topo.lua     topology index and room membership
--   state.lua    per-node state from one Prometheus answer, and the answers built from it
--   cache.lua    TTL cache with shared computation and stale-while-revalidate
--   catalog.lua  metrics catalog files
--   routes.lua   the /api/slurm routes, the menu and the running state
--   api_doc.lua  what the routes take and answer, for the API document

local config = require("lib.config")
local routes = require("lib.routes")

return {
  id = "workload-slurm",
  name = "Slurm Workload Manager",
  version = "1.0.0",
  description = "Job scheduling and node monitoring via Slurm workload manager",
  author = "rackscope",

  validate_config = config.validate,
  setup = routes.setup,
  on_config_reload = routes.on_config_reload,
}
