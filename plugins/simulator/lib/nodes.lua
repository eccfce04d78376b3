-- The per-node value model (§2.3-2.4, §2.7): load, temperature, power, health and up
-- from the node's profile, the incidents and the overrides; the node_exporter counters,
-- IPMI states, switch ports and E-Series storage. Values are computed for every target
-- into flat arrays, then published family by family.
--
-- Randomness: each node draws from a stream keyed by (node name, tick // 2, seed), so
-- its jitter is reproducible and changes every two ticks; counters start from values
-- drawn from the node name alone, then grow by what each tick adds.

local rng = require("lib.rng")
local sync = require("lib.sync")

local M = {}

local G = rng.GOLDEN
local mix, INV53 = rng.mix, rng.INV53
local MIB = 1048576
local GIB = 1073741824
local floor = math.floor

local PROFILE_DEFAULTS = { load_min = 10, load_max = 50, base_temp = 22, temp_range = 5, base_power = 150, power_var = 50 }
local PORTS = 8

local function round(x, d)
  local m = 10 ^ d
  return floor(x * m + 0.5) / m
end
local function round1(x) return floor(x * 10 + 0.5) / 10 end
local function round2(x) return floor(x * 100 + 0.5) / 100 end

-- Profile parameters: profiles.<name>, else profiles.compute, else the defaults.
local function params(profiles, name)
  local p = {}
  local src = profiles[name] or profiles.compute or {}
  for k, v in pairs(PROFILE_DEFAULTS) do
    p[k] = type(src[k]) == "number" and src[k] or v
  end
  return p
end

-- rng.unit, inlined (the hot loop draws a few numbers per node per tick).
local function unit(z)
  z = (z ~ (z >> 30)) * 0xbf58476d1ce4e5b9
  z = (z ~ (z >> 27)) * 0x94d049bb133111eb
  return ((z ~ (z >> 31)) >> 11) * INV53
end

-- Builds the bindings and the per-node constants. `sim` has targets, pub, settings.
function M.setup(sim)
  local pub, list = sim.pub, sim.targets.list
  local b = {}
  sim.nb = b
  local function ns(t) return not t.storage end
  local function any() return true end
  local function net(t) return not t.storage and t.profile == "network" end
  local function sto(t) return t.storage end
  local function bind(name, kind, pred, variants)
    local d = pub:def(name, "node")
    if not d then return nil end
    return pub:bind(d, pub:node_rows(d, kind, pred), variants)
  end
  -- Families with one series per node.
  b.up = bind("up", "all", any)
  b.temp = bind("node_temperature_celsius", "ns", ns)
  b.power = bind("node_power_watts", "ns", ns)
  b.load = bind("node_load_percent", "ns", ns)
  b.health = bind("node_health_status", "ns", ns)
  b.cpu = bind("node_cpu_seconds_total", "ns", ns, { { cpu = "0", mode = "idle" } })
  b.memtotal = bind("node_memory_MemTotal_bytes", "ns", ns)
  b.memavail = bind("node_memory_MemAvailable_bytes", "ns", ns)
  local fs = { { mountpoint = "/", fstype = "ext4" } }
  b.fssize = bind("node_filesystem_size_bytes", "ns", ns, fs)
  b.fsavail = bind("node_filesystem_avail_bytes", "ns", ns, fs)
  b.dr = bind("node_disk_read_bytes_total", "ns", ns, { { device = "sda" } })
  b.dw = bind("node_disk_written_bytes_total", "ns", ns, { { device = "sda" } })
  b.rx = bind("node_network_receive_bytes_total", "ns", ns, { { device = "eth0" } })
  b.tx = bind("node_network_transmit_bytes_total", "ns", ns, { { device = "eth0" } })
  b.ipmi = {}
  for _, n in ipairs({ { "ipmi_fan_speed_state", "fan" }, { "ipmi_power_state", "power" },
    { "ipmi_sensor_state", "sensor" }, { "ipmi_temperature_state", "temperature" },
    { "ipmi_voltage_state", "voltage" } }) do
    b.ipmi[#b.ipmi + 1] = bind(n[1], "ns", ns, { { name = n[2] } })
  end
  b.ipmi_up = bind("ipmi_up", "ns", ns)
  b.collect = bind("eseries_exporter_collect_error", "ns", ns, { { collector = "all" } })
  b.sys_node = bind("eseries_storage_system_status", "ns", ns, { { status = "optimal" }, { status = "failed" } })
  -- Switch ports: one variant per port.
  local ports = {}
  for p = 1, PORTS do ports[p] = { port = tostring(p) } end
  b.port_status = bind("switch_port_oper_status", "net", net, ports)
  b.port_in = bind("switch_port_in_octets", "net", net, ports)
  b.port_out = bind("switch_port_out_octets", "net", net, ports)
  -- Storage: system status one-hot, drives per slot.
  b.sys_storage = bind("eseries_storage_system_status", "sto", sto,
    { { status = "optimal" }, { status = "degraded" }, { status = "failed" } })
  local dd = pub:def("eseries_drive_status", "node")
  if dd then
    local rows = pub:node_rows(dd, "drives", sto, function(t, emit)
      local tray = "99"
      if t.nid:sub(1, 2) == "da" then
        local n = tonumber(t.nid:match("^da(%d+)%-"))
        if n and n ~= 1 then tray = string.format("%02d", n - 1) end
      end
      for s = 1, t.slot_count or 0 do
        emit({ drive_id = tostring(s), slot = tostring(s), tray = tray, slot_index = s })
      end
    end, { drive_id = true, slot = true, tray = true })
    b.drives = pub:bind(dd, rows, { { status = "optimal" }, { status = "failed" } })
  end

  -- Per-node constants.
  local profiles = sim.settings.profiles or {}
  local P = {}
  for _, name in ipairs({ "compute", "gpu", "service", "network" }) do P[name] = params(profiles, name) end
  sim.params = P
  local K = { memtotal = {}, fssize = {}, ncpu = {} }
  for i, t in ipairs(list) do
    if t.storage then goto continue end
    local prof = t.profile
    K.memtotal[i] = (prof == "gpu" and 512 or prof == "compute" and 256 or 64) * GIB
    K.fssize[i] = (t.nid:find("storage", 1, true) and 1000 or 200) * GIB
    K.ncpu[i] = (prof == "compute" or prof == "gpu") and 64 or 32
    ::continue::
  end
  sim.K = K
  -- Quantities of the current tick.
  sim.Q = { up = {}, status = {}, temp = {}, power = {}, load = {}, memavail = {}, fsavail = {},
    sys = {}, drives = {}, port_status = {} }
end

-- Counters: initial values drawn from the node name (and seed), then restored from the
-- saved state when there is one.
function M.init_counters(sim, saved)
  local list = sim.targets.list
  local C = { cpu = {}, dr = {}, dw = {}, rx = {}, tx = {}, pin = {}, pout = {} }
  local seedk = sim.node_seed
  -- Storage targets have no counters (nil entries keep their rows absent).
  for i, t in ipairs(list) do
    if t.storage then goto continue end
    local s = t.key ~ seedk ~ 0x5eed
    C.cpu[i] = round(5e5 + 5e5 * unit(s + G), 2)
    C.dr[i] = floor(5e11 + 5e11 * unit(s + 2 * G))
    C.dw[i] = floor(3e11 + 5e11 * unit(s + 3 * G))
    C.rx[i] = floor(1e12 + 4e12 * unit(s + 4 * G))
    C.tx[i] = floor(8e11 + 32e11 * unit(s + 5 * G))
    if t.profile == "network" and not t.storage then
      local pin, pout = {}, {}
      for p = 1, PORTS do
        pin[p] = floor(1e10 + 9e10 * unit(s + (10 + p) * G))
        pout[p] = floor(1e10 + 9e10 * unit(s + (30 + p) * G))
      end
      C.pin[i], C.pout[i] = pin, pout
    end
    ::continue::
  end
  if type(saved) == "table" and saved.signature == sim.targets.signature then
    for _, k in ipairs({ "cpu", "dr", "dw", "rx", "tx" }) do
      local arr = saved[k]
      if type(arr) == "table" then
        for i = 1, #list do
          if C[k][i] and type(arr[i]) == "number" then C[k][i] = arr[i] end
        end
      end
    end
    for _, k in ipairs({ "pin", "pout" }) do
      if type(saved[k]) == "table" then
        for id, ports in pairs(saved[k]) do
          local i = sim.targets.by_id[id]
          if i and C[k][i] and type(ports) == "table" then
            for p = 1, PORTS do
              if type(ports[p]) == "number" then C[k][i][p] = ports[p] end
            end
          end
        end
      end
    end
  end
  sim.C = C
end

-- The counters as JSON-friendly data for the state file.
function M.dump_counters(sim)
  local C, list = sim.C, sim.targets.list
  local out = { signature = sim.targets.signature }
  for _, k in ipairs({ "cpu", "dr", "dw", "rx", "tx" }) do
    local src, arr = C[k], {}
    for i = 1, #list do
      local v = src[i]
      if v == nil then arr[i] = rackscope.null else arr[i] = v end
    end
    out[k] = rackscope.array(arr)
  end
  for _, k in ipairs({ "pin", "pout" }) do
    local m = {}
    for i, ports in pairs(C[k]) do m[list[i].node_id] = rackscope.array(ports) end
    out[k] = m
  end
  return out
end

-- Applies a list of {metric, value} overrides to one node's values.
local function apply(ovs, up, status, temp, power, load)
  for j = 1, #ovs do
    local o = ovs[j]
    local m, v = o[1], o[2]
    if m == "up" then
      if v <= 0 then
        up, status, power, load = 0, 2, 0.0, 0.0
      else
        up = 1
      end
    elseif m == "node_temperature_celsius" then
      temp = v
    elseif m == "node_power_watts" then
      power = v
    elseif m == "node_load_percent" then
      load = v
    elseif m == "node_health_status" then
      status = floor(v)
    end
  end
  return up, status, temp, power, load
end

-- Computes every node's values for `tick`. `ov` = { inst, rack, aisle } override tables.
function M.compute(sim, tick, ov)
  local list, Q, C, K, P = sim.targets.list, sim.Q, sim.C, sim.K, sim.params
  local inc = sim.inc
  local crit, warn, rcrit, hot = inc.nodes_crit, inc.nodes_warn, inc.racks_crit, inc.aisles_hot
  local ovi, ovr, ovhot = ov.inst, ov.rack, ov.aisle
  local interval = sim.settings.update_interval_seconds
  local hk = mix((tick // 2) * G + sim.node_seed)
  local sinload = (math.sin(tick / 10) + 1) / 2
  local Qup, Qst, Qtemp, Qpow, Qload = Q.up, Q.status, Q.temp, Q.power, Q.load
  local Qmem, Qfs, Qsys, Qdrv, Qport = Q.memavail, Q.fsavail, Q.sys, Q.drives, Q.port_status
  local Ccpu, Cdr, Cdw, Crx, Ctx, Cpin, Cpout = C.cpu, C.dr, C.dw, C.rx, C.tx, C.pin, C.pout
  local Kmem, Kfs, Kncpu = K.memtotal, K.fssize, K.ncpu
  for i = 1, #list do
    local t = list[i]
    local node, rack = t.node_id, t.rack_id
    local ro = ovr[rack]
    local down = crit[node] or rcrit[rack] or (ro ~= nil and ro.down)
    local s = t.key ~ hk
    if t.storage then
      local up = down and 0 or 1
      local ovs = ovi[node]
      if ro and #ro.node > 0 then up = apply(ro.node, up, 0, 0, 0, 0) end
      if ovs then up = apply(ovs, up, 0, 0, 0, 0) end
      Qup[i] = up
      -- Controller: optimal with probability 0.98, else degraded or failed.
      local u = unit(s + G)
      Qsys[i] = u < 0.98 and 1 or (unit(s + 2 * G) < 0.5 and 2 or 3)
      local drives = Qdrv[i]
      if not drives then drives = {}; Qdrv[i] = drives end
      for d = 1, t.slot_count or 0 do
        drives[d] = unit(s + (100 + d) * G) < 0.01
      end
    else
      local prof = t.profile
      local p = P[prof]
      local load
      if prof == "compute" then
        load = p.load_min + sinload * (p.load_max - p.load_min)
      elseif prof == "gpu" then
        if unit(s + G) < 0.3 then
          load = p.load_min + (p.load_max - p.load_min) * unit(s + 2 * G)
        else
          load = 5 + 10 * unit(s + 2 * G)
        end
      else
        load = p.load_min + (p.load_max - p.load_min) * unit(s + G)
      end
      local boost = (hot[t.aisle_id] or ovhot[t.aisle_id]) and 12 or 0
      local temp = p.base_temp + load / 100 * p.temp_range + boost + (unit(s + 3 * G) - 0.5)
      local power, up, status
      if down then
        power, load, up = 50.0, 0.0, 0
      else
        power, up = p.base_power + load / 100 * p.power_var, 1
      end
      if down or temp > 45 then
        status = 2
      elseif temp > 38 or warn[node] then
        status = 1
      else
        status = 0
      end
      if ro and #ro.node > 0 then
        up, status, temp, power, load = apply(ro.node, up, status, temp, power, load)
      end
      local ovs = ovi[node]
      if ovs then
        up, status, temp, power, load = apply(ovs, up, status, temp, power, load)
      end
      Qup[i], Qst[i] = up, status
      Qtemp[i] = round1(temp)
      Qpow[i] = floor(power + 0.5) + 0.0
      load = round1(load)
      Qload[i] = load
      Qmem[i] = floor(Kmem[i] * (1 - load * 0.8 / 100))
      Qfs[i] = floor(Kfs[i] * (1 - (30 + load * 0.5) / 100))
      -- Counters.
      Ccpu[i] = round2(Ccpu[i] + (100 - load) / 100 * interval * Kncpu[i])
      if up == 1 then
        Cdr[i] = Cdr[i] + floor((10 + load * 0.5) * MIB * interval)
        Cdw[i] = Cdw[i] + floor((5 + load * 0.3) * MIB * interval)
      end
      if prof == "network" then
        Crx[i] = Crx[i] + floor((500 + (unit(s + 4 * G) * 2 - 1) * 50) * MIB * interval)
        Ctx[i] = Ctx[i] + floor((500 + (unit(s + 5 * G) * 2 - 1) * 50) * MIB * interval)
        local ps = Qport[i]
        if not ps then ps = {}; Qport[i] = ps end
        local pin, pout = Cpin[i], Cpout[i]
        for port = 1, PORTS do
          local st = (up == 0 or unit(s + (10 + port) * G) < 0.05) and 2 or 1
          ps[port] = st
          if st == 1 then
            pin[port] = pin[port] + floor((10 + 190 * unit(s + (30 + port) * G)) * MIB * interval)
            pout[port] = pout[port] + floor((10 + 190 * unit(s + (50 + port) * G)) * MIB * interval)
          end
        end
      elseif up == 1 then
        Crx[i] = Crx[i] + floor((20 + load * 2) * MIB * interval)
        Ctx[i] = Ctx[i] + floor((15 + load * 1.5) * MIB * interval)
      end
    end
  end
end

-- Values of binding `b` from quantity array `q` (by target), row by row.
-- The array is reused from tick to tick (kept on the binding).
local function rows_of(b, q)
  local idx, vals = b.rs.idx, b.buf
  if not vals then vals = {}; b.buf = vals end
  for r = 1, b.n do vals[r] = q[idx[r]] end
  return vals
end

local function dense(b, q)
  if b then b:set_targets(1, q) end
end

local function sparse(b, q, vi)
  if b then sync.push(b, vi or 1, rows_of(b, q)) end
end

-- Publishes the values computed by `compute`. `first` also sends the constants.
function M.publish(sim, first)
  local b, Q, C, K = sim.nb, sim.Q, sim.C, sim.K
  dense(b.temp, Q.temp)
  dense(b.power, Q.power)
  dense(b.load, Q.load)
  dense(b.cpu, C.cpu)
  dense(b.memavail, Q.memavail)
  dense(b.fsavail, Q.fsavail)
  dense(b.dr, C.dr)
  dense(b.dw, C.dw)
  dense(b.rx, C.rx)
  dense(b.tx, C.tx)
  if first then
    dense(b.memtotal, K.memtotal)
    dense(b.fssize, K.fssize)
  end
  -- The families derived from up and health only change when a node's up or health
  -- does: one comparison per node decides whether to look at them at all.
  local seen = sim.seen
  if not seen then seen = { up = {}, status = {} }; sim.seen = seen end
  local moved = first
  if not moved then
    local up, st, su, ss = Q.up, Q.status, seen.up, seen.status
    for i = 1, #sim.targets.list do
      if up[i] ~= su[i] or st[i] ~= ss[i] then moved = true; break end
    end
  end
  if moved then
    local su, ss = seen.up, seen.status
    for i = 1, #sim.targets.list do su[i], ss[i] = Q.up[i], Q.status[i] end
    M.publish_health(sim)
  end
  M.publish_devices(sim)
end

-- The families that follow a node's up and health.
function M.publish_health(sim)
  local b, Q = sim.nb, sim.Q
  sparse(b.up, Q.up)
  sparse(b.health, Q.status)
  for _, ib in pairs(b.ipmi) do sparse(ib, Q.status) end
  sparse(b.ipmi_up, Q.up)
  if b.collect then
    local idx, vals = b.collect.rs.idx, {}
    for r = 1, b.collect.n do
      local st = Q.status[idx[r]]
      vals[r] = (st == 1 or st == 2) and 1 or 0
    end
    sync.push(b.collect, 1, vals)
  end
  if b.sys_node then
    local idx, ok, failed = b.sys_node.rs.idx, {}, {}
    for r = 1, b.sys_node.n do
      local st = Q.status[idx[r]]
      ok[r] = st ~= 2 and 1 or 0
      failed[r] = st == 2 and 1 or 0
    end
    sync.push(b.sys_node, 1, ok)
    sync.push(b.sys_node, 2, failed)
  end
end

-- Switch ports and storage, which change on their own.
function M.publish_devices(sim)
  local b, Q, C = sim.nb, sim.Q, sim.C
  for _, pair in ipairs({ { b.port_status, Q.port_status }, { b.port_in, C.pin }, { b.port_out, C.pout } }) do
    local pb, q = pair[1], pair[2]
    if pb then
      local idx = pb.rs.idx
      for port = 1, PORTS do
        local vals = {}
        for r = 1, pb.n do vals[r] = q[idx[r]][port] end
        if pb == b.port_status then sync.push(pb, port, vals) else pb:set_all(port, vals) end
      end
    end
  end
  if b.sys_storage then
    local idx = b.sys_storage.rs.idx
    for v = 1, 3 do
      local vals = {}
      for r = 1, b.sys_storage.n do vals[r] = Q.sys[idx[r]] == v and 1 or 0 end
      sync.push(b.sys_storage, v, vals)
    end
  end
  if b.drives then
    local rs = b.drives.rs
    local okv, failv = {}, {}
    for r = 1, rs.n do
      local failed = Q.drives[rs.idx[r]][rs.rc[r].slot_index]
      okv[r] = failed and 0 or 1
      failv[r] = failed and 1 or 0
    end
    sync.push(b.drives, 1, okv)
    sync.push(b.drives, 2, failv)
  end
end

return M
