-- Slurm simulation (§3): a state per node (forced, down, drain, allocated or idle),
-- published as the one-hot slurm_node_status{node, partition, status} over the 12 states
-- the Slurm plugin reads, per-node CPU and memory, and cluster and partition aggregates.
-- A node's state series only change when its state changes (a few per tick), which is
-- what keeps the ~500,000 one-hot series of a 14,000-node cluster cheap.

local rng = require("lib.rng")
local targets = require("lib.targets")

local M = {}

M.STATES = { "allocated", "completing", "down", "drain", "draining", "fail", "idle", "maint",
  "mixed", "reserved", "planned", "unknown" }
local STATE_INDEX = {}
for i, s in ipairs(M.STATES) do STATE_INDEX[s] = i end

-- A GPU node (§3.4: a name containing gpu or visu), or one whose template role says so.
local function is_gpu(t)
  return t.nid:find("gpu", 1, true) ~= nil or t.nid:find("visu", 1, true) ~= nil
    or (t.role ~= nil and targets.GPU_ROLES[t.role] == true)
end

function M.setup(sim)
  local pub = sim.pub
  local function ns(t) return not t.storage end
  local ALL, CPU, GPU = { partition = "all" }, { partition = "cpu" }, { partition = "gpu" }
  local function partitions(t, emit)
    emit(ALL)
    emit(CPU)
    if is_gpu(t) then emit(GPU) end
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
  -- Sort the ranks (plain integers sort fast), then map them back to names.
  local ranks, by_rank = {}, {}
  for _, t in ipairs(sim.targets.list) do
    if not forced[t.node_id] then
      local r = rng.mix(t.key ~ sim.node_seed)
      local prev = by_rank[r]
      if prev == nil then
        ranks[#ranks + 1] = r
        by_rank[r] = t.node_id
      elseif type(prev) == "table" then
        prev[#prev + 1] = t.node_id
      else
        by_rank[r] = { prev, t.node_id }
      end
    end
  end
  table.sort(ranks)
  local eligible = {}
  for _, r in ipairs(ranks) do
    local v = by_rank[r]
    if type(v) == "table" then
      table.sort(v)
      for _, n in ipairs(v) do eligible[#eligible + 1] = n end
    else
      eligible[#eligible + 1] = v
    end
  end
  local set = {}
  for i = 1, #eligible * pct // 100 do set[eligible[i]] = true end
  S.alloc_key, S.allocated = key, set
  return set
end

-- Per-node constants (GPU node, CPUs, memory, partitions), computed once.
local function node_constants(sim)
  if sim.slurm.k then return sim.slurm.k end
  local k = { gpu = {}, ct = {}, mt = {}, parts = {} }
  local with_gpu, without = { "all", "cpu", "gpu" }, { "all", "cpu" }
  for i, t in ipairs(sim.targets.list) do
    local gpu = is_gpu(t)
    k.gpu[i] = gpu
    k.ct[i] = gpu and 128 or 64
    k.mt[i] = (gpu and 512 or 256) * 1024
    k.parts[i] = gpu and with_gpu or without
  end
  sim.slurm.k = k
  return k
end

-- Computes the Slurm state of every node and publishes it.
function M.step(sim, tick)
  local list, Q, S = sim.targets.list, sim.Q, sim.slurm
  local forced = sim.inc.forced
  local alloc = allocated_set(sim)
  local k = node_constants(sim)
  local kgpu, kct, kmt, kparts = k.gpu, k.ct, k.mt, k.parts
  local state = S.state
  local cpu_alloc, mem_alloc = S.cpu_alloc or {}, S.mem_alloc or {}
  S.cpu_alloc, S.mem_alloc = cpu_alloc, mem_alloc
  local Qup, Qst, Qload = Q.up, Q.status, Q.load
  local nodes_total, nodes_alloc, nodes_idle, nodes_down, nodes_drain = 0, 0, 0, 0, 0
  local cpus_total, cpus_alloc, cpus_idle, gpus_total, gpus_alloc = 0, 0, 0, 0, 0
  local part = {}
  for _, p in ipairs(sim.partitions) do
    part[p.partition] = { total = 0, alloc = 0, idle = 0, running = 0 }
  end
  local floor, min = math.floor, math.min
  for i = 1, #list do
    local t = list[i]
    if not t.storage then
      local node = t.node_id
      local st = forced[node]
      local in_alloc = alloc[node]
      if not st then
        if Qup[i] == 0 or Qst[i] == 2 then
          st = "down"
        elseif Qst[i] == 1 then
          st = "drain"
        elseif in_alloc then
          st = "allocated"
        else
          st = "idle"
        end
      end
      state[i] = st
      local ct, mt = kct[i], kmt[i]
      local ca, ma = 0, 0
      if in_alloc then
        local load = Qload[i]
        ca = floor(ct * load / 100)
        ma = floor(mt * min(load / 100 * 0.8 + 0.1, 0.95))
      end
      cpu_alloc[i], mem_alloc[i] = ca, ma
      nodes_total = nodes_total + 1
      local allocated = st == "allocated"
      if allocated then
        nodes_alloc = nodes_alloc + 1
      elseif st == "idle" then
        nodes_idle = nodes_idle + 1
      elseif st == "down" then
        nodes_down = nodes_down + 1
      elseif st == "drain" or st == "draining" or st == "drained" then
        nodes_drain = nodes_drain + 1
      end
      cpus_total = cpus_total + ct
      cpus_alloc = cpus_alloc + ca
      if st ~= "down" and st ~= "drain" and st ~= "draining" then
        cpus_idle = cpus_idle + (ct - ca)
      end
      if kgpu[i] then
        gpus_total = gpus_total + 4
        if allocated then gpus_alloc = gpus_alloc + 4 end
      end
      local parts = kparts[i]
      for j = 1, #parts do
        local p = part[parts[j]]
        if p then
          p.total = p.total + ct
          p.alloc = p.alloc + ca
          if allocated then p.running = p.running + 1 else p.idle = p.idle + ct end
        end
      end
    end
  end
  local agg = { nodes_total = nodes_total, nodes_alloc = nodes_alloc, nodes_idle = nodes_idle,
    nodes_down = nodes_down, nodes_drain = nodes_drain, cpus_total = cpus_total, cpus_alloc = cpus_alloc,
    cpus_idle = cpus_idle, gpus_total = gpus_total, gpus_alloc = gpus_alloc }
  M.publish_nodes(sim, kct, cpu_alloc, kmt, mem_alloc)
  M.publish_aggregates(sim, tick, agg, part)
end

-- Rows of a binding's row set, by target: rows_of[i] = { r, ... }.
local function rows_by_target(b)
  if b.rows_of then return b.rows_of end
  local by = {}
  for r = 1, b.rs.n do
    local i = b.rs.idx[r]
    local l = by[i]
    if not l then l = {}; by[i] = l end
    l[#l + 1] = r
  end
  b.rows_of = by
  return by
end

-- The per-node families. slurm_node_status is one-hot over the 12 states: after the
-- first tick only the rows of nodes whose state changed are touched (the new state's
-- row set to 1 before the old one goes to 0). The CPU and memory families carry the
-- state as a label: a row lives in the block of its node's current state, moves (added
-- to the new block before it leaves the old one, so no scrape misses it) when the state
-- changes, and is re-sent when its value changes.
function M.publish_nodes(sim, cpu_total, cpu_alloc, mem_total, mem_alloc)
  local S, sb = sim.slurm, sim.sb
  local state, prev = S.state, S.prev
  local list = sim.targets.list
  local b = sb.status
  if b then
    if not S.status_sent then
      -- Every row at 0 in every state, then the current state's rows at 1.
      local idx, n = b.rs.idx, b.n
      local ones, counts = {}, {}
      for r = 1, n do
        local vi = STATE_INDEX[state[idx[r]]] or 12
        local o = ones[vi]
        if not o then o = {}; ones[vi] = o; counts[vi] = 0 end
        o[r] = 1
        counts[vi] = counts[vi] + 1
      end
      for vi = 1, #M.STATES do b:fill(vi, 0) end
      for vi, o in pairs(ones) do b:set_some(vi, o, counts[vi]) end
      S.status_sent = true
    else
      local rows_of = rows_by_target(b)
      for i = 1, #list do
        local st, old = state[i], prev[i]
        if st ~= old and old ~= nil then
          local rows = rows_of[i]
          if rows then
            local nv, ov = STATE_INDEX[st] or 12, STATE_INDEX[old] or 12
            for _, r in ipairs(rows) do b:set(nv, r, 1) end
            for _, r in ipairs(rows) do b:set(ov, r, 0) end
          end
        end
      end
    end
  end
  local changed = not S.nodes_sent
  if not changed then
    for i = 1, #list do
      if state[i] ~= prev[i] then changed = true; break end
    end
  end
  S.nodes_sent = true
  for key, q in pairs({ cpu_alloc = cpu_alloc, cpu_total = cpu_total, mem_alloc = mem_alloc, mem_total = mem_total }) do
    local fb = sb[key]
    -- Totals only change when a node changes state.
    if fb and (changed or key == "cpu_alloc" or key == "mem_alloc") then
      local idx, n = fb.rs.idx, fb.n
      local last = fb.sent
      if not last then last = {}; fb.sent = last end
      local per, counts = {}, {}
      local moved = {}
      for r = 1, n do
        local i = idx[r]
        local st, old = state[i], prev[i]
        local v = q[i]
        if st ~= old or v ~= last[r] then
          local vi = STATE_INDEX[st] or 12
          local vals = per[vi]
          if not vals then vals = {}; per[vi] = vals; counts[vi] = 0 end
          vals[r] = v
          counts[vi] = counts[vi] + 1
          last[r] = v
          if old ~= nil and st ~= old then moved[#moved + 1] = r end
        end
      end
      for vi, vals in pairs(per) do fb:set_some(vi, vals, counts[vi]) end
      for _, r in ipairs(moved) do
        fb:set(STATE_INDEX[prev[idx[r]]] or 12, r, false)
      end
    end
  end
  for i = 1, #list do prev[i] = state[i] end
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
