-- Overrides and incidents (§5, §7.3-7.7): one YAML file, the plugin config's
-- `overrides_path`, read by the generator and written by the API (atomically, through
-- rackscope.fs.write). The file is `{overrides: [...]}`; each entry has an `id`, a
-- `metric`, a `value`, a target (`instance`, `rack_id`, or `aisle_id` for a hot-aisle
-- incident) and an optional `expires_at` (unix seconds).
--
-- Fixed against the reference: ids are unique; `default_ttl_seconds` applies when
-- `ttl_seconds` is omitted; expired entries disappear from the API and the samples (and
-- from the file at the next write); NaN, infinities and non-numbers are refused; targets
-- must exist in the topology. A hand-broken file is reported (log and `warning` in
-- GET /api/plugins/simulator) and the simulator keeps the last good list; writes are then
-- refused until the file is fixed or cleared with DELETE /api/simulator/overrides.

local M = {}

-- What can be overridden: id (for GET /api/simulator/metrics), display name, unit,
-- category, the Prometheus metric it changes, and its scope ("node" metrics also apply
-- to every node of a rack when given a rack_id; "rack" ones need a rack_id).
M.METRICS = {
  { id = "up", name = "Node Up", unit = "", category = "compute", metric = "up", scope = "node" },
  { id = "node_temperature", name = "Node Temperature", unit = "°C", category = "temperature",
    metric = "node_temperature_celsius", scope = "node" },
  { id = "node_power", name = "Node Power", unit = "W", category = "power", metric = "node_power_watts", scope = "node" },
  { id = "node_load", name = "Node Load", unit = "%", category = "performance", metric = "node_load_percent", scope = "node" },
  { id = "node_health", name = "Node Health Status", unit = "", category = "health",
    metric = "node_health_status", scope = "node" },
  { id = "rack_down", name = "Rack Down", unit = "", category = "health", metric = "rack_down", scope = "rack" },
  { id = "pdu_active_power", name = "PDU Active Power", unit = "W", category = "power",
    metric = "raritan_pdu_activepower_watt", scope = "rack" },
  { id = "pdu_current", name = "PDU Current", unit = "A", category = "power",
    metric = "raritan_pdu_current_ampere", scope = "rack" },
}

-- Accepted names (ids and metric names) -> entry.
M.BY_NAME = {}
for _, m in ipairs(M.METRICS) do
  M.BY_NAME[m.id] = m
  M.BY_NAME[m.metric] = m
end

local function available()
  local names = {}
  for k in pairs(M.BY_NAME) do names[#names + 1] = k end
  table.sort(names)
  for i, n in ipairs(names) do names[i] = "'" .. n .. "'" end
  return "[" .. table.concat(names, ", ") .. "]"
end

local function null(v) return v == nil or v == rackscope.null end

-- Python truthiness of a JSON value.
local function truthy(v)
  if null(v) or v == false or v == "" or v == 0 then return false end
  if type(v) == "table" and next(v) == nil then return false end
  return true
end
M.truthy = truthy

local NUM = "^%s*[+-]?%d+%.?%d*[eE]?[+-]?%d*%s*$"
local NUM2 = "^%s*[+-]?%.%d+[eE]?[+-]?%d*%s*$"

-- Python's float(v) for JSON values, finite only: a number, or nil.
function M.to_float(v)
  local x
  if type(v) == "number" then
    x = v
  elseif type(v) == "boolean" then
    x = v and 1.0 or 0.0
  elseif type(v) == "string" and (v:match(NUM) or v:match(NUM2)) then
    x = tonumber((v:gsub("%s", "")))
  end
  if x == nil or x ~= x or x == math.huge or x == -math.huge then return nil end
  return x + 0.0
end

-- Python's int(v) for JSON values: an integer, or nil.
function M.to_int(v)
  if type(v) == "boolean" then return v and 1 or 0 end
  if type(v) == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return nil end
    local i = v >= 0 and math.floor(v) or math.ceil(v)
    return math.tointeger(i)
  end
  if type(v) == "string" then
    local s = v:match("^%s*([+-]?%d+)%s*$")
    return s and math.tointeger(tonumber(s)) or nil
  end
  return nil
end

local S = {}
S.__index = S

-- A store for the file at `path`. `topo` answers has_instance(id), has_rack(id),
-- has_aisle(id).
function M.new(path, default_ttl, topo)
  return setmetatable({ path = path, ttl = default_ttl, topo = topo, list = {}, text = nil,
    broken = nil }, S)
end

local function sanitize(list)
  local out = {}
  for _, e in ipairs(list) do
    if type(e) == "table" then out[#out + 1] = e end
  end
  return out
end

-- Parses the file's text: the entries, or nil and the reason.
local function parse(text)
  if text:match("^%s*$") then return {} end
  local doc, err = rackscope.yaml.decode(text)
  if not doc then return nil, err end
  if doc == rackscope.null then return {} end
  if type(doc) ~= "table" then return nil, "the top level must be a mapping with an `overrides` list" end
  local list = doc.overrides
  if null(list) then return {} end
  if type(list) ~= "table" then return nil, "`overrides` must be a list" end
  return sanitize(list)
end

-- Re-reads the file if its text changed. Returns the warning text while it is broken.
function S:refresh()
  local text = rackscope.fs.read(self.path)
  if text == nil then text = "" end
  if text == self.text then return self.broken end
  self.text = text
  local list, err = parse(text)
  if list then
    self.list, self.broken = list, nil
  else
    self.broken = "overrides file " .. self.path .. " is invalid (" .. tostring(err) ..
      "); the simulator keeps the last good overrides until it is fixed or cleared with DELETE /api/simulator/overrides"
  end
  return self.broken
end

-- Re-reads the file (an admin may have edited it since the last tick) and reports a
-- broken one, before an API call reads or writes the list.
function S:sync()
  rackscope.plugin.set_warning("overrides", self:refresh())
end

local function expired(e, now)
  local x = tonumber(e.expires_at)
  return x ~= nil and x ~= 0 and x <= now
end

-- The entries in force at `now`, in file order.
function S:active(now)
  local out = {}
  for _, e in ipairs(self.list) do
    if not expired(e, now) then out[#out + 1] = e end
  end
  return out
end

-- An entry in the API's shape.
local function show(e)
  local out = {
    id = null(e.id) and rackscope.null or e.id,
    instance = null(e.instance) and rackscope.null or e.instance,
    rack_id = null(e.rack_id) and rackscope.null or e.rack_id,
    metric = null(e.metric) and rackscope.null or e.metric,
    value = null(e.value) and rackscope.null or e.value,
    expires_at = null(e.expires_at) and rackscope.null or e.expires_at,
  }
  if not null(e.aisle_id) then out.aisle_id = e.aisle_id end
  return out
end

function S:api_list(now)
  self:sync()
  local out = {}
  for i, e in ipairs(self:active(now)) do out[i] = show(e) end
  return rackscope.array(out)
end

local function store_entry(e)
  local out = {}
  for _, k in ipairs({ "id", "instance", "rack_id", "aisle_id", "metric", "value", "expires_at" }) do
    if not null(e[k]) then out[k] = e[k] end
  end
  return out
end

-- The file's text for `list`: keys in a fixed order, values as JSON scalars (valid
-- YAML), so the file reads the same way every time.
local function render(list)
  if #list == 0 then return "overrides: []\n" end
  local out = { "overrides:" }
  for _, e in ipairs(list) do
    local first = true
    for _, k in ipairs({ "id", "instance", "rack_id", "aisle_id", "metric", "value", "expires_at" }) do
      if e[k] ~= nil then
        out[#out + 1] = (first and "- " or "  ") .. k .. ": " .. rackscope.json.encode(e[k])
        first = false
      end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

-- Writes `list` (dropping expired entries). true, or nil and the error.
function S:save(list, now)
  local kept = {}
  for _, e in ipairs(list) do
    if not expired(e, now) then kept[#kept + 1] = store_entry(e) end
  end
  local text = render(kept)
  local ok, err = rackscope.fs.write(self.path, text)
  if not ok then return nil, err end
  self.list, self.text, self.broken = kept, text, nil
  rackscope.plugin.set_warning("overrides", nil)
  return true
end

local function bad(msg) return 400, { detail = msg } end

local function body_error(body)
  if body == nil then
    return 422, { detail = rackscope.array({ { type = "missing", loc = rackscope.array({ "body" }),
      msg = "Field required", input = rackscope.null } }) }
  end
  return 422, { detail = rackscope.array({ { type = "dict_type", loc = rackscope.array({ "body" }),
    msg = "Input should be a valid dictionary", input = body } }) }
end
M.body_error = body_error

-- A JSON object (JSON arrays arrive with the array metatable).
local function is_object(body)
  return type(body) == "table" and getmetatable(body) == nil
end
M.is_object = is_object

function S:writable()
  if self.broken then
    return 409, { detail = self.broken }
  end
  return nil
end

local function unique_id(list, base)
  local taken = {}
  for _, e in ipairs(list) do
    if not null(e.id) then taken[tostring(e.id)] = true end
  end
  if not taken[base] then return base end
  local k = 2
  while taken[base .. "-" .. k] do k = k + 1 end
  return base .. "-" .. k
end

local function id_taken(list, id)
  for _, e in ipairs(list) do
    if e.id == id then return true end
  end
  return false
end

-- POST /api/simulator/overrides. Returns status, body.
function S:add(body, now)
  self:sync()
  if not is_object(body) then return body_error(body) end
  local metric_name = body.metric
  if not truthy(metric_name) then return bad("metric is required") end
  local m = type(metric_name) == "string" and M.BY_NAME[metric_name]
  if not m then return bad("Unsupported metric. Available: " .. available()) end
  local instance, rack = body.instance, body.rack_id
  if not truthy(instance) and not truthy(rack) then return bad("instance or rack_id is required") end
  if truthy(instance) and m.scope == "rack" then return bad(m.metric .. " requires rack_id") end
  if truthy(instance) and type(instance) ~= "string" then return bad("instance must be a string") end
  if truthy(rack) and type(rack) ~= "string" then return bad("rack_id must be a string") end
  if null(body.value) then return bad("value is required") end
  local value = M.to_float(body.value)
  if value == nil then return bad("value must be numeric") end
  if m.metric == "node_health_status" and value ~= 0 and value ~= 1 and value ~= 2 then
    return bad("node_health_status must be 0, 1, or 2")
  end
  if m.metric == "up" and value ~= 0 and value ~= 1 then return bad("up must be 0 or 1") end
  local ttl = self.ttl
  if not null(body.ttl_seconds) then
    ttl = M.to_int(body.ttl_seconds)
    if ttl == nil then return bad("ttl_seconds must be int") end
  end
  if ttl < 0 then return bad("ttl_seconds must be >= 0") end
  -- After the reference's own checks (so its cases keep their messages): the target must
  -- exist, or the override would silently do nothing.
  if truthy(instance) and not self.topo.has_instance(instance) then
    return bad("instance '" .. instance .. "' is not in the topology")
  end
  if truthy(rack) and not self.topo.has_rack(rack) then
    return bad("rack '" .. rack .. "' is not in the topology")
  end
  local status, err = self:writable()
  if status then return status, err end
  local list = self:active(now)
  local id
  if truthy(body.id) then
    if type(body.id) ~= "string" and type(body.id) ~= "number" then return bad("id must be a string") end
    id = tostring(body.id)
    if id_taken(list, id) then return 409, { detail = "override id '" .. id .. "' already exists" } end
  else
    local target = truthy(instance) and instance or rack
    id = unique_id(list, target .. "-" .. m.metric .. "-" .. math.floor(now))
  end
  local e = {
    id = id, instance = truthy(instance) and instance or nil, rack_id = truthy(rack) and rack or nil,
    metric = m.metric, value = value,
    expires_at = ttl > 0 and math.floor(now) + ttl or nil,
  }
  list[#list + 1] = e
  local ok, werr = self:save(list, now)
  if not ok then return 500, { detail = "Failed to write overrides: " .. tostring(werr) } end
  return 200, { overrides = self:api_list(now) }
end

-- DELETE /api/simulator/overrides
function S:clear(now)
  local ok, err = self:save({}, now)
  if not ok then return 500, { detail = "Failed to write overrides: " .. tostring(err) } end
  return 200, { overrides = rackscope.array() }
end

-- DELETE /api/simulator/overrides/{id}
function S:delete(id, now)
  self:sync()
  local list = self:active(now)
  local kept, found = {}, false
  for _, e in ipairs(list) do
    if e.id ~= nil and tostring(e.id) == id then found = true else kept[#kept + 1] = e end
  end
  if not found then return 404, { detail = "Override '" .. id .. "' not found" } end
  local status, err = self:writable()
  if status then return status, err end
  local ok, werr = self:save(kept, now)
  if not ok then return 500, { detail = "Failed to write overrides: " .. tostring(werr) } end
  return 200, { overrides = self:api_list(now) }
end

-- POST /api/simulator/incidents
function S:incident(body, now)
  self:sync()
  if not is_object(body) then return body_error(body) end
  local kind, target = body.type, body.target_id
  if not truthy(kind) or not truthy(target) then return bad("type and target_id are required") end
  if kind ~= "rack_down" and kind ~= "aisle_cooling" then
    return bad("type must be 'rack_down' or 'aisle_cooling'")
  end
  if type(target) ~= "string" then return bad("target_id must be a string") end
  local duration = 300
  if body.duration ~= nil then
    duration = M.to_int(body.duration)
    if duration == nil then return bad("duration must be integer") end
  end
  if duration < 0 then return bad("duration must be non-negative") end
  if kind == "rack_down" and not self.topo.has_rack(target) then
    return bad("rack '" .. target .. "' is not in the topology")
  end
  if kind == "aisle_cooling" and not self.topo.has_aisle(target) then
    return bad("aisle '" .. target .. "' is not in the topology")
  end
  local status, err = self:writable()
  if status then return status, err end
  local list = self:active(now)
  local expires = duration > 0 and math.floor(now) + duration or nil
  local e = {
    id = unique_id(list, target .. "-" .. kind .. "-" .. math.floor(now)),
    metric = kind, value = 1, expires_at = expires,
  }
  if kind == "rack_down" then e.rack_id = target else e.aisle_id = target end
  list[#list + 1] = e
  local ok, werr = self:save(list, now)
  if not ok then return 500, { detail = "Failed to write overrides: " .. tostring(werr) } end
  return 200, {
    status = "triggered", incident_type = kind, target_id = target, duration = duration,
    expires_at = expires or rackscope.null,
  }
end

-- The overrides in force as lookup tables for a tick:
--   inst[node_id]  = { {metric, value}, ... } in file order
--   rack[rack_id]  = { down = bool, current = number?, power = number?, node = { {metric, value}... } }
--   aisle[aisle]   = true for a hot aisle
function S:tables(now)
  local inst, rack, aisle = {}, {}, {}
  for _, e in ipairs(self:active(now)) do
    local v = M.to_float(e.value)
    local metric = type(e.metric) == "string" and e.metric or ""
    local known = M.BY_NAME[metric]
    if known then metric = known.metric end
    if v ~= nil then
      if truthy(e.instance) then
        local l = inst[e.instance]
        if not l then l = {}; inst[e.instance] = l end
        l[#l + 1] = { metric, v }
      elseif truthy(e.rack_id) then
        local r = rack[e.rack_id]
        if not r then r = { down = false, node = {} }; rack[e.rack_id] = r end
        if metric == "rack_down" then
          if v > 0 then r.down = true end
        elseif metric:sub(-#"_current_ampere") == "_current_ampere" then
          if r.current == nil then r.current = v end
        elseif metric == "raritan_pdu_activepower_watt" then
          if r.power == nil then r.power = v end
        else
          r.node[#r.node + 1] = { metric, v }
        end
      elseif truthy(e.aisle_id) and metric == "aisle_cooling" and v > 0 then
        aisle[e.aisle_id] = true
      end
    end
  end
  return inst, rack, aisle
end

-- Overrides in force (GET /api/simulator/status).
function S:count(now)
  self:sync()
  return #self:active(now)
end

return M
