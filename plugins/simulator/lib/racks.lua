-- Rack-level metrics: BullSequana XH3000 liquid cooling (§2.5) and Raritan PDUs (§2.6),
-- for every rack that has targets and that the catalog's `racks` filter matches. A rack
-- that is down (incident or rack_down override) shows the cooling failure; a hot aisle
-- (incident or aisle_cooling incident) shows hot cooling values.

local rng = require("lib.rng")

local M = {}

local G = rng.GOLDEN
local unit = rng.unit

local SEQUANA = { "sequana3_hyc_state_info", "sequana3_hyc_p_in_kpa", "sequana3_hyc_leak_sensor_pump",
  "sequana3_hyc_tmp_pcb_cel", "sequana3_pmc_total_watt" }
local INLET_ONLY = { "raritan_pdu_apparentpower_voltampere", "raritan_pdu_current_ampere",
  "raritan_pdu_inletrating", "raritan_pdu_voltage_volt" }

local function r1(x) return math.floor(x * 10 + 0.5) / 10 end
local function r2(x) return math.floor(x * 100 + 0.5) / 100 end

function M.setup(sim)
  local pub = sim.pub
  local rb = { seq = {}, pdu = {} }
  sim.rb = rb
  -- Cooling: racks for which any of the four gating metrics is enabled emit all five.
  for _, name in ipairs(SEQUANA) do
    local d = pub:def(name, "rack")
    if d then
      local variants = name == "sequana3_hyc_state_info" and { { state = "standbyspare" } } or nil
      rb.seq[name] = pub:bind(d, pub:rack_rows(d, "sequana", "rack"), variants)
    end
  end
  -- PDUs: two per rack; rows are (rack, pdu, inlet or outlet).
  local rc_keys = { pduid = true, pduname = true, inletid = true, inletname = true, outletid = true, outletname = true }
  local function all_parts(rack, emit)
    for pdu = 1, 2 do
      local pid, pname = tostring(pdu), "pdu" .. pdu .. "-" .. rack
      emit({ pduid = pid, pduname = pname, inletid = "I1", inletname = "inlet-A", outletid = "", outletname = "", pdu = pdu })
      for o = 1, 3 do
        emit({ pduid = pid, pduname = pname, inletid = "", inletname = "", outletid = tostring(o),
          outletname = "outlet-" .. o, pdu = pdu, outlet = o })
      end
    end
  end
  local function inlets(rack, emit)
    for pdu = 1, 2 do
      emit({ pduid = tostring(pdu), pduname = "pdu" .. pdu .. "-" .. rack, inletid = "I1", inletname = "inlet-A",
        pdu = pdu })
    end
  end
  for _, name in ipairs({ "raritan_pdu_activepower_watt", "raritan_pdu_activeenergy_watthour_total" }) do
    local d = pub:def(name, "rack")
    if d then rb.pdu[name] = pub:bind(d, pub:rack_rows(d, "pdu", "parts", all_parts, rc_keys)) end
  end
  for _, name in ipairs(INLET_ONLY) do
    local d = pub:def(name, "rack")
    if d then rb.pdu[name] = pub:bind(d, pub:rack_rows(d, "pdu", "inlets", inlets, rc_keys)) end
  end
end

-- Energy counters: initial values from the rack name (and seed), restored from the state.
function M.init_counters(sim, saved)
  local E = {}
  for _, rack in ipairs(sim.targets.racks) do
    local s = rng.hash("pdu-" .. rack) ~ sim.node_seed
    local e = {}
    for pdu = 1, 2 do
      e[pdu] = { inlet = math.floor(8e5 + 8e5 * unit(s + pdu * G)) }
      for o = 1, 3 do e[pdu][o] = math.floor(5e4 + 15e4 * unit(s + (10 * pdu + o) * G)) end
    end
    E[rack] = e
  end
  if type(saved) == "table" then
    for rack, e in pairs(saved) do
      if E[rack] and type(e) == "table" then
        for pdu = 1, 2 do
          local se = e[pdu]
          if type(se) == "table" then
            if type(se.inlet) == "number" then E[rack][pdu].inlet = se.inlet end
            for o = 1, 3 do
              if type(se[o]) == "number" then E[rack][pdu][o] = se[o] end
            end
          end
        end
      end
    end
  end
  sim.energy = E
end

function M.dump_counters(sim)
  local out = {}
  for rack, e in pairs(sim.energy) do
    local d = {}
    for pdu = 1, 2 do
      d[pdu] = { inlet = e[pdu].inlet, e[pdu][1], e[pdu][2], e[pdu][3] }
    end
    out[rack] = rackscope.array(d)
  end
  return out
end

function M.step(sim, tick, ov)
  local rb, inc = sim.rb, sim.inc
  local info = sim.targets.rack_info
  local interval = sim.settings.update_interval_seconds
  local seedk = sim.node_seed
  -- Cooling.
  if next(rb.seq) then
    local per = {}
    for _, rack in ipairs(sim.targets.racks) do
      local s = rng.mix(rng.hash(rack) ~ seedk ~ tick * G)
      local ro = ov.rack[rack]
      local down = inc.racks_crit[rack] or (ro ~= nil and ro.down)
      local aisle = info[rack].aisle_id
      local hot = inc.aisles_hot[aisle] or ov.aisle[aisle]
      local function pm(c, w, k) return c + (unit(s + k * G) * 2 - 1) * w end
      local p, leak, tmp, pmc
      if down then
        p, leak, tmp, pmc = pm(160, 1, 1), pm(1.2, 0.1, 2), pm(95, 1, 3), 0.0
      elseif hot then
        p, leak, tmp, pmc = pm(175, 2, 1), pm(0.6, 0.1, 2), pm(80, 1, 3), pm(7200, 200, 4)
      else
        p, leak, tmp, pmc = pm(200, 2, 1), 0.0, pm(60, 2, 3), pm(5500, 300, 4)
      end
      per[rack] = {
        sequana3_hyc_state_info = 1, sequana3_hyc_p_in_kpa = r2(p), sequana3_hyc_leak_sensor_pump = r2(leak),
        sequana3_hyc_tmp_pcb_cel = r1(tmp), sequana3_pmc_total_watt = r1(pmc),
      }
    end
    for name, b in pairs(rb.seq) do
      local vals = {}
      for r = 1, b.n do vals[r] = per[b.rs.ent[r].rack_id][name] end
      b:set_all(1, vals)
    end
  end
  -- PDUs: per rack and PDU, the inlet power, then outlets and energy.
  if next(rb.pdu) then
    local per = {}
    for _, rack in ipairs(sim.targets.racks) do
      local s = rng.mix(rng.hash("pdu-" .. rack) ~ seedk ~ tick * G)
      local ro = ov.rack[rack]
      local e = sim.energy[rack]
      local pdus = {}
      for pdu = 1, 2 do
        local k = pdu * 16
        local power = 1500 + 2700 * unit(s + (k + 1) * G)
        local apparent = power * (1.02 + 0.06 * unit(s + (k + 2) * G))
        local current = power / 230
        if ro and ro.current then
          current = ro.current
          power = current * 230
          apparent = power * 1.05
        elseif ro and ro.power then
          power = ro.power
          current = power / 230
          apparent = power * 1.05
        end
        local d = {
          power = r1(power), apparent = r1(apparent), current = r2(current),
          rating = pdu % 2 == 0 and 16 or 20, voltage = r1(230 + (unit(s + (k + 3) * G) * 2 - 1) * 2),
          outlets = {},
        }
        e[pdu].inlet = e[pdu].inlet + power * interval / 3600
        d.energy = r1(e[pdu].inlet)
        for o = 1, 3 do
          local op = power * (0.05 + 0.2 * unit(s + (k + 3 + o) * G))
          e[pdu][o] = e[pdu][o] + op * interval / 3600
          d.outlets[o] = { power = r1(op), energy = r1(e[pdu][o]) }
        end
        pdus[pdu] = d
      end
      per[rack] = pdus
    end
    for name, b in pairs(rb.pdu) do
      local rs = b.rs
      local vals = {}
      for r = 1, rs.n do
        local ctx = rs.rc[r]
        local d = per[rs.ent[r].rack_id][ctx.pdu]
        if ctx.outlet then
          local o = d.outlets[ctx.outlet]
          vals[r] = name == "raritan_pdu_activepower_watt" and o.power or o.energy
        elseif name == "raritan_pdu_activepower_watt" then
          vals[r] = d.power
        elseif name == "raritan_pdu_activeenergy_watthour_total" then
          vals[r] = d.energy
        elseif name == "raritan_pdu_apparentpower_voltampere" then
          vals[r] = d.apparent
        elseif name == "raritan_pdu_current_ampere" then
          vals[r] = d.current
        elseif name == "raritan_pdu_inletrating" then
          vals[r] = d.rating
        else
          vals[r] = d.voltage
        end
      end
      b:set_all(1, vals)
    end
  end
end

return M
