-- Metric catalogs (§2.1): which of the simulator's generators emit, for which nodes or
-- racks, with which label names. A catalog cannot create a metric: a name must be one the
-- simulator knows (SUPPORTED below); other names are skipped with a warning. A known name
-- that has no generator (the five eseries_*_status extras) is published with HELP and
-- TYPE and no samples.
--
-- The primary catalog (metrics_catalog_path) is read first, then each enabled entry of
-- metrics_catalogs, in order; a later definition of a name replaces an earlier one but
-- keeps its position. A catalog path with no file in the plugin's config folder is read
-- from the bundled catalog of the same file name (lib/config.read_catalog). A catalog
-- that is in neither place or is not valid YAML fails the load (the previous instance
-- keeps serving, and the error shows in GET /api/plugins/simulator).
--
-- Beyond Rackscope's `instances` name patterns, a node-scope entry may select nodes by
-- what the topology says of their device: `device_types` / `exclude_device_types` (the
-- device template's `type`) and `roles` / `exclude_roles` (its `role`), compared without
-- case. Every selector an entry has must hold. This is how the bundled catalogs fit any
-- topology without knowing its names.

local config = require("lib.config")

local M = {}

local N, R = "node", "rack"

-- name -> { scope, help }. Every metric the simulator can emit.
M.SUPPORTED = {
  up = { N, "1 if the node is up, 0 if it is down" },
  node_temperature_celsius = { N, "Node temperature in degrees Celsius" },
  node_power_watts = { N, "Node power draw in watts" },
  node_load_percent = { N, "Node load in percent" },
  node_health_status = { N, "Node health: 0 OK, 1 warning, 2 critical" },
  node_cpu_seconds_total = { N, "Seconds the CPUs spent in each mode" },
  node_memory_MemTotal_bytes = { N, "Total memory in bytes" },
  node_memory_MemAvailable_bytes = { N, "Available memory in bytes" },
  node_filesystem_size_bytes = { N, "Filesystem size in bytes" },
  node_filesystem_avail_bytes = { N, "Filesystem space available in bytes" },
  node_disk_read_bytes_total = { N, "Bytes read from the disk" },
  node_disk_written_bytes_total = { N, "Bytes written to the disk" },
  node_network_receive_bytes_total = { N, "Bytes received on the network interface" },
  node_network_transmit_bytes_total = { N, "Bytes sent on the network interface" },
  ipmi_fan_speed_state = { N, "IPMI fan state: 0 nominal, 1 warning, 2 critical" },
  ipmi_power_state = { N, "IPMI power state: 0 nominal, 1 warning, 2 critical" },
  ipmi_sensor_state = { N, "IPMI sensor state: 0 nominal, 1 warning, 2 critical" },
  ipmi_temperature_state = { N, "IPMI temperature state: 0 nominal, 1 warning, 2 critical" },
  ipmi_voltage_state = { N, "IPMI voltage state: 0 nominal, 1 warning, 2 critical" },
  ipmi_up = { N, "1 if the BMC answers, 0 if not" },
  switch_port_oper_status = { N, "Switch port operational status: 1 up, 2 down" },
  switch_port_in_octets = { N, "Octets received on the switch port" },
  switch_port_out_octets = { N, "Octets sent on the switch port" },
  eseries_exporter_collect_error = { N, "1 if the E-Series exporter failed to collect" },
  eseries_storage_system_status = { N, "E-Series storage system status (one series per status, 1 for the current one)" },
  eseries_drive_status = { N, "E-Series drive status (one series per status, 1 for the current one)" },
  eseries_battery_status = { N, "E-Series battery status" },
  eseries_fan_status = { N, "E-Series fan status" },
  eseries_power_supply_status = { N, "E-Series power supply status" },
  eseries_cache_memory_dimm_status = { N, "E-Series cache memory DIMM status" },
  eseries_thermal_sensor_status = { N, "E-Series thermal sensor status" },
  slurm_node_status = { N, "Slurm node state (one series per state, 1 for the current one)" },
  slurm_node_cpu_alloc = { N, "CPUs allocated on the node" },
  slurm_node_cpu_total = { N, "CPUs of the node" },
  slurm_node_mem_alloc = { N, "Memory allocated on the node in MB" },
  slurm_node_mem_total = { N, "Memory of the node in MB" },
  sequana3_hyc_state_info = { R, "Hydraulic cooling unit state (1 for the current state)" },
  sequana3_hyc_p_in_kpa = { R, "Hydraulic cooling inlet pressure in kPa" },
  sequana3_hyc_leak_sensor_pump = { R, "Hydraulic cooling pump leak sensor" },
  sequana3_hyc_tmp_pcb_cel = { R, "Hydraulic cooling board temperature in degrees Celsius" },
  sequana3_pmc_total_watt = { R, "Rack power from the power management controller in watts" },
  raritan_pdu_activepower_watt = { R, "PDU inlet or outlet active power in watts" },
  raritan_pdu_apparentpower_voltampere = { R, "PDU inlet apparent power in volt-amperes" },
  raritan_pdu_current_ampere = { R, "PDU inlet current in amperes" },
  raritan_pdu_inletrating = { R, "PDU inlet current rating in amperes" },
  raritan_pdu_activeenergy_watthour_total = { R, "PDU inlet or outlet active energy in watt-hours" },
  raritan_pdu_voltage_volt = { R, "PDU inlet voltage in volts" },
  slurm_cpus_alloc = { R, "Allocated CPUs in the cluster" },
  slurm_cpus_idle = { R, "Idle CPUs in the cluster" },
  slurm_cpus_total = { R, "CPUs in the cluster" },
  slurm_nodes_alloc = { R, "Allocated nodes" },
  slurm_nodes_idle = { R, "Idle nodes" },
  slurm_nodes_down = { R, "Down nodes" },
  slurm_nodes_drain = { R, "Drained or draining nodes" },
  slurm_nodes_total = { R, "Nodes in the cluster" },
  slurm_gpus_alloc = { R, "Allocated GPUs" },
  slurm_gpus_idle = { R, "Idle GPUs" },
  slurm_gpus_total = { R, "GPUs in the cluster" },
  slurm_gpus_utilization = { R, "Fraction of the GPUs allocated (0 to 1)" },
  slurm_partition_cpus_allocated = { R, "Allocated CPUs in the partition" },
  slurm_partition_cpus_idle = { R, "Idle CPUs in the partition" },
  slurm_partition_cpus_total = { R, "CPUs in the partition" },
  slurm_partition_jobs_running = { R, "Running jobs in the partition" },
  slurm_partition_jobs_pending = { R, "Pending jobs in the partition" },
}

M.NODE_BASE = { "site_id", "room_id", "rack_id", "chassis_id", "node_id", "instance", "job" }
M.RACK_BASE = { "site_id", "room_id", "rack_id", "instance", "job" }

-- The text of catalog `p` ({path, configured}), from the config folder or bundled;
-- records where it came from in p.source.
local function read_text(p)
  local text, source, bundled = config.read_catalog(p.path, p.configured or p.path)
  if not text then error(source, 0) end
  p.source = source
  if source == "bundled" then
    rackscope.log.info(("metrics catalog %s: %s/%s does not exist; using the bundled %s/%s"):format(
      p.configured or p.path, rackscope.plugin.config_dir, p.path, rackscope.plugin.code_dir, bundled))
  end
  return text
end

local function read_one(p)
  local path = p.path
  local text = read_text(p)
  local doc, derr = rackscope.yaml.decode(text)
  if not doc then
    error("metrics catalog " .. path .. " is not valid YAML: " .. tostring(derr), 0)
  end
  if type(doc) ~= "table" then
    error("metrics catalog " .. path .. " must be a mapping with a `metrics:` list", 0)
  end
  local list = doc.metrics
  if list == nil or list == rackscope.null then return {} end
  if type(list) ~= "table" then
    error("metrics catalog " .. path .. ": `metrics` must be a list", 0)
  end
  return list
end

-- A selector list (`device_types`, `roles`, ...) as a set of lowercased names; nil when
-- absent; false and a warning when it is not a list of strings.
local function name_set(entry, key)
  local v = entry[key]
  if v == nil or v == rackscope.null then return nil end
  if type(v) ~= "table" then return false, key .. " must be a list of names" end
  local set, any = {}, false
  for _, n in ipairs(v) do
    if type(n) ~= "string" then return false, key .. " must be a list of names" end
    set[n:lower()] = true
    any = true
  end
  if not any then return nil end
  return set
end

local SELECTORS = { "device_types", "exclude_device_types", "roles", "exclude_roles" }

-- The topology selectors of an entry: { device_types = set, ... , sig = "..." }, or nil
-- when it has none; false and a warning when one is malformed.
local function selectors(entry)
  local sel, parts = {}, {}
  for _, key in ipairs(SELECTORS) do
    local set, warn = name_set(entry, key)
    if set == false then return false, warn end
    if set then
      sel[key] = set
      local names = {}
      for n in pairs(set) do names[#names + 1] = n end
      table.sort(names)
      parts[#parts + 1] = key .. "=" .. table.concat(names, ",")
    end
  end
  if #parts == 0 then return nil end
  sel.sig = table.concat(parts, ";")
  return sel
end

-- A predicate over targets ({kind, role}) for selectors `sel` (nil: every target).
function M.selector(sel)
  if not sel then return nil end
  local types, not_types, roles, not_roles = sel.device_types, sel.exclude_device_types, sel.roles, sel.exclude_roles
  return function(t)
    local kind, role = t.kind, t.role
    if types and not types[kind] then return false end
    if not_types and not_types[kind] then return false end
    if roles and not (role and roles[role]) then return false end
    if not_roles and role and not_roles[role] then return false end
    return true
  end
end

-- A catalog entry as a definition, or nil and a warning.
local function definition(entry)
  if type(entry) ~= "table" or type(entry.name) ~= "string" or entry.name == "" then
    return nil
  end
  local name = entry.name
  local known = M.SUPPORTED[name]
  if not known then
    return nil, "Metric " .. name .. " not supported yet"
  end
  local scope = entry.scope
  if scope ~= "node" and scope ~= "rack" then
    scope = known[1]
  end
  local sel, swarn = selectors(entry)
  if sel == false then
    return nil, "Metric " .. name .. ": " .. swarn
  end
  local labels, keys = {}, {}
  if type(entry.labels) == "table" then
    for k, v in pairs(entry.labels) do
      if type(k) == "string" and (type(v) == "string" or type(v) == "number" or type(v) == "boolean") then
        labels[k] = tostring(v)
        keys[#keys + 1] = k
      end
    end
  end
  table.sort(keys)
  local base = not (entry.labels_only == true or entry.include_base_labels == false)
  local order, seen = {}, {}
  if base then
    for _, l in ipairs(scope == "node" and M.NODE_BASE or M.RACK_BASE) do
      order[#order + 1] = l
      seen[l] = true
    end
  end
  for _, k in ipairs(keys) do
    if not seen[k] then order[#order + 1] = k end
  end
  -- Every label's template: the catalog's, else the base label of the same name.
  local templates = {}
  for _, l in ipairs(order) do
    templates[l] = labels[l] or ("$" .. l)
  end
  return {
    name = name,
    scope = scope,
    help = type(entry.help) == "string" and entry.help ~= "" and entry.help or known[2],
    instances = entry.instances,
    select = sel,
    racks = entry.racks,
    labels = order,
    templates = templates,
  }
end

-- Loads and merges the catalogs at `paths` (a list of {id, path, configured}; each gets
-- `source`, "config" or "bundled"). Returns the ordered list of definitions, the
-- definitions by name, and the warnings.
function M.load(paths)
  local defs, by_name, warnings, seen_path = {}, {}, {}, {}
  for _, p in ipairs(paths) do
    if not seen_path[p.path] then
      seen_path[p.path] = true
      for _, entry in ipairs(read_one(p)) do
        local def, warn = definition(entry)
        if def then
          local prev = by_name[def.name]
          if prev then
            defs[prev.pos] = def
            def.pos = prev.pos
          else
            defs[#defs + 1] = def
            def.pos = #defs
          end
          by_name[def.name] = def
        elseif warn then
          warnings[#warnings + 1] = p.path .. ": " .. warn
        end
      end
    end
  end
  return defs, by_name, warnings
end

return M
