-- Slurm simulation (§3): a state per node (forced, down, drain, allocated or idle),
-- published as the one-hot slurm_node_status{node, partition, status} over the 12 states
-- the Slurm plugin reads, per-node CPU and memory, and cluster and partition aggregates.
-- A node's state series only change when its state changes (a few per tick), which is
-- what keeps the ~500,000 one-hot series of a 14,000-node cluster cheap.

local rng = require("lib.rng")
local sync = require("lib.sync")

local M = {}

M.STATES = { "allocated", "completing", "down", "drain", "draining", "fail", "idle", "maint",
  "mixed", "reserved", "planned", "unknown" }
local STATE_INDEX = {}
for i, s in ipairs(M.STATES) do STATE_INDEX[s] = i end

local function is_gpu(t)
  return t.nid:find("gpu", 1, true) ~= nil or t.nid:find("visu", 1, true) ~= nil
end

function M.setup(sim)
  local pub = sim.pub
  local function ns(t) return not t.storage end
  local function partitions(t, emit)
    emit({ partition = "all" })
    emit({ partition = "cpu" })
    if is_gpu(t) then emit({ partition = "gpu" }) end
  end
  local variants = {}
  for i, s in ipairs(M.STATES) do variants[i] = { status = s } end
  local sb = {}
  sim.sb = sb
  for key, name in pairs({ status = "slurm_node_status", cpu_alloc = "slurm_node_cpu_alloc",
    cpu_total = "slurm_node_cpu_total", mem_alloc = "slurm_node_mem_alloc", mem_total = "slurm_node_mem_total" }) do
    local d = pub:def(name, "node")
    if d then
      local rows = pub:node_rows(d, "slurm", ns, partitions, { partition = true })
      sb[key] = pub:bind(d, rows, variants)
    end
  end
  -- Aggregates.
  local agg = {}
  sim.sagg = agg
  for _, name in ipairs({ "slurm_cpus_alloc", "slurm_cpus_idle", "slurm_cpus_total", "slurm_nodes_alloc",
    "slurm_nodes_idle", "slurm_nodes_down", "slurm_nodes_drain", "slurm_nodes_total", "slurm_gpus_alloc",
    "slurm_gpus_idle", "slurm_gpus_total", "slurm_gpus_utilization" }) do
    local d = pub:def(name, "rack")
    if d then agg[name] = pub:bind(d, pub:cluster_rows(d, "cluster", { {} })) end
  end
  -- Partition aggregates: the partitions that have nodes.
  local parts = { { partition = "all" }, { partition = "cpu" } }
  for _, t in ipairs(sim.targets.list) do
    if not t.storage and is_gpu(t) then
      parts[3] = { partition = "gpu" }
      break
    end
  end
  sim.partitions = parts
  for _, name in ipairs({ "slurm_partition_cpus_allocated", "slurm_partition_cpus_idle",
    "slurm_partition_cpus_total", "slurm_partition_jobs_running", "slurm_partition_jobs_pending" }) do
    local d = pub:def(name, "rack")
    if d then
      agg[name] = pub:bind(d, pub:cluster_rows(d, "partitions" .. #parts, parts, { partition = true }))
    end
  end
  sim.slurm = { state = {}, prev = {}, alloc_key = nil, allocated = {} }
end

-- The allocated set (§3.3): pct% of the eligible nodes (those not forced), recomputed
-- only when the forced set or the percentage changes. The reference takes the first
-- names in alphabetical order, so the last fifth of the alphabet (often every GPU node)
-- never runs a job; here the order is a hash of the name (and seed): as stable, but
-- spread over every kind of node.
local function allocated_set(sim)
  local S, forced = sim.slurm, sim.inc.forced
  local pct = math.max(0, math.min(100, sim.settings.slurm_alloc_percent))
  local fk = {}
  for k, v in pairs(forced) do fk[#fk + 1] = k .. "=" .. v end
  table.sort(fk)
  local key = pct .. "|" .. table.concat(fk, ",")
  if key == S.alloc_key then return S.allocated end
  local eligible, rank = {}, {}
  for _, t in ipairs(sim.targets.list) do
    if not forced[t.node_id] then
      eligible[#eligible + 1] = t.node_id
      rank[t.node_id] = rng.mix(t.key ~ sim.node_seed)
    end
  end
  table.sort(eligible, function(a, b)
    local ra, rb = rank[a], rank[b]
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  local set = {}
  for i = 1, #eligible * pct // 100 do set[eligible[i]] = true end
  S.alloc_key, S.allocated = key, set
  return set
end

-- Computes the Slurm state of every node and publishes it.
function M.step(sim, tick)
  local list, Q, sb, S = sim.targets.list, sim.Q, sim.sb, sim.slurm
  local forced = sim.inc.forced
  local alloc = allocated_set(sim)
  local state, cpu_total, cpu_alloc, mem_total, mem_alloc = S.state, {}, {}, {}, {}
  local agg = { nodes_total = 0, nodes_alloc = 0, nodes_idle = 0, nodes_down = 0, nodes_drain = 0,
    cpus_total = 0, cpus_alloc = 0, cpus_idle = 0, gpus_total = 0, gpus_alloc = 0 }
  local part = {}
  for _, p in ipairs(sim.partitions) do
    part[p.partition] = { total = 0, alloc = 0, idle = 0, running = 0 }
  end
  for i = 1, #list do
    local t = list[i]
    if not t.storage then
      local node = t.node_id
      local st = forced[node]
      local in_alloc = alloc[node]
      if not st then
        if Q.up[i] == 0 or Q.status[i] == 2 then
          st = "down"
        elseif Q.status[i] == 1 then
          st = "drain"
        elseif in_alloc then
          st = "allocated"
        else
          st = "idle"
        end
      end
      state[i] = st
      local gpu = is_gpu(t)
      local ct = gpu and 128 or 64
      local mt = (gpu and 512 or 256) * 1024
      local ca, ma = 0, 0
      if in_alloc then
        local load = Q.load[i]
        ca = math.floor(ct * load / 100)
        ma = math.floor(mt * math.min(load / 100 * 0.8 + 0.1, 0.95))
      end
      cpu_total[i], cpu_alloc[i], mem_total[i], mem_alloc[i] = ct, ca, mt, ma
      agg.nodes_total = agg.nodes_total + 1
      if st == "allocated" then
        agg.nodes_alloc = agg.nodes_alloc + 1
      elseif st == "idle" then
        agg.nodes_idle = agg.nodes_idle + 1
      elseif st == "down" then
        agg.nodes_down = agg.nodes_down + 1
      elseif st == "drain" or st == "draining" or st == "drained" then
        agg.nodes_drain = agg.nodes_drain + 1
      end
      agg.cpus_total = agg.cpus_total + ct
      agg.cpus_alloc = agg.cpus_alloc + ca
      if st ~= "down" and st ~= "drain" and st ~= "draining" then
        agg.cpus_idle = agg.cpus_idle + (ct - ca)
      end
      if gpu then
        agg.gpus_total = agg.gpus_total + 4
        if st == "allocated" then agg.gpus_alloc = agg.gpus_alloc + 4 end
      end
      for _, pn in ipairs(gpu and { "all", "cpu", "gpu" } or { "all", "cpu" }) do
        local p = part[pn]
        if p then
          p.total = p.total + ct
          p.alloc = p.alloc + ca
          if st ~= "allocated" then p.idle = p.idle + ct end
          if st == "allocated" then p.running = p.running + 1 end
        end
      end
    end
  end
  M.publish_nodes(sim, cpu_total, cpu_alloc, mem_total, mem_alloc)
  M.publish_aggregates(sim, tick, agg, part)
end

-- The per-node families: one-hot states, then CPU/memory under the current state label
-- (a row moves to the block of its new state: added there before it is removed from
-- the old one, so a scrape never misses it).
function M.publish_nodes(sim, cpu_total, cpu_alloc, mem_total, mem_alloc)
  local S, sb = sim.slurm, sim.sb
  local state, prev = S.state, S.prev
  local any = sb.status or sb.cpu_alloc or sb.cpu_total or sb.mem_alloc or sb.mem_total
  if not any then return end
  local rs = any.rs
  local idx, n = rs.idx, rs.n
  if sb.status then
    for vi, name in ipairs(M.STATES) do
      local vals = {}
      for r = 1, n do vals[r] = state[idx[r]] == name and 1 or 0 end
      sync.push(sb.status, vi, vals)
    end
  end
  for key, q in pairs({ cpu_alloc = cpu_alloc, cpu_total = cpu_total, mem_alloc = mem_alloc, mem_total = mem_total }) do
    local b = sb[key]
    if b then
      local brs = b.rs
      local per = {}
      for r = 1, brs.n do
        local i = brs.idx[r]
        local vi = STATE_INDEX[state[i]] or 12
        local vals = per[vi]
        if not vals then vals = {}; per[vi] = vals end
        vals[r] = q[i]
      end
      for vi, vals in pairs(per) do sync.push(b, vi, vals) end
      -- Rows whose state changed leave their old block.
      for r = 1, brs.n do
        local i = brs.idx[r]
        local old = prev[i]
        if old and old ~= state[i] then
          local ovi = STATE_INDEX[old] or 12
          b:set(ovi, r, false)
          if b.last and b.last[ovi] then b.last[ovi][r] = false end
        end
      end
    end
  end
  for i, st in pairs(state) do prev[i] = st end
end

local function set(b, vals)
  if b then b:set_all(1, vals) end
end

function M.publish_aggregates(sim, tick, agg, part)
  local A = sim.sagg
  if #sim.targets.list == 0 then return end
  set(A.slurm_nodes_total, { agg.nodes_total })
  set(A.slurm_nodes_alloc, { agg.nodes_alloc })
  set(A.slurm_nodes_idle, { agg.nodes_idle })
  set(A.slurm_nodes_down, { agg.nodes_down })
  set(A.slurm_nodes_drain, { agg.nodes_drain })
  set(A.slurm_cpus_total, { agg.cpus_total })
  set(A.slurm_cpus_alloc, { agg.cpus_alloc })
  set(A.slurm_cpus_idle, { agg.cpus_idle })
  set(A.slurm_gpus_total, { agg.gpus_total })
  set(A.slurm_gpus_alloc, { agg.gpus_alloc })
  set(A.slurm_gpus_idle, { agg.gpus_total - agg.gpus_alloc })
  set(A.slurm_gpus_utilization, { agg.gpus_total > 0 and agg.gpus_alloc / agg.gpus_total or false })
  local g = rng.for_tick(sim.seed_key, "jobs", tick)
  local vals = { total = {}, alloc = {}, idle = {}, running = {}, pending = {} }
  for r, p in ipairs(sim.partitions) do
    local a = part[p.partition]
    vals.total[r], vals.alloc[r], vals.idle[r], vals.running[r] = a.total, a.alloc, a.idle, a.running
    vals.pending[r] = math.max(0, math.floor(a.running * g:uniform(0.1, 0.4)))
  end
  set(A.slurm_partition_cpus_total, vals.total)
  set(A.slurm_partition_cpus_allocated, vals.alloc)
  set(A.slurm_partition_cpus_idle, vals.idle)
  set(A.slurm_partition_jobs_running, vals.running)
  set(A.slurm_partition_jobs_pending, vals.pending)
end

return M
