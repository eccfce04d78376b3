-- The test API of `rackscope plugin test`. The runner (src/kit/runner.rs) loads this into
-- the sandboxed state of each test file, beside the real `rackscope` API, and hands it the
-- host's functions (src/kit/api.rs). It returns the globals a test file gets (`describe`,
-- `it`, `before_each`, `after_each`, `assert`, `testing`) and what the runner drives:
-- `names()`, every test declared, in order, and `run(i)`, which runs test i with its
-- before_each and after_each functions and returns nil, or { message, at } when it failed.
--
-- The API is documented for editors in plugins/_meta/testing.lua; the guide is the
-- "Testing a plugin" section of docs/plugins.md.

local host = ...

---------------------------------------------------------------------------------------
-- Showing and comparing values
---------------------------------------------------------------------------------------

-- A value as text for failure messages: strings quoted, tables with sorted keys, nested
-- to a depth, long ones cut.
local function show(v, depth)
  depth = depth or 0
  if type(v) == "string" then return string.format("%q", v) end
  if v == rackscope.null then return "rackscope.null" end
  if type(v) ~= "table" then return tostring(v) end
  if depth > 3 then return "{...}" end
  local keys, n = {}, #v
  for k in pairs(v) do keys[#keys + 1] = k end
  if #keys == n then
    if n == 0 then return rackscope.is_array(v) and "rackscope.array()" or "{}" end
    local items = {}
    for i = 1, math.min(n, 20) do items[i] = show(v[i], depth + 1) end
    if n > 20 then items[#items + 1] = "... (" .. n .. " items)" end
    return "{ " .. table.concat(items, ", ") .. " }"
  end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return type(a) < type(b)
  end)
  local parts = {}
  for i, k in ipairs(keys) do
    if i > 20 then parts[#parts + 1] = "... (" .. #keys .. " keys)"; break end
    local key = (type(k) == "string" and k:match("^[%a_][%w_]*$")) and k or ("[" .. show(k, depth + 1) .. "]")
    parts[#parts + 1] = key .. " = " .. show(v[k], depth + 1)
  end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

-- Deep equality: tables by content (metatables ignored), anything else by ==.
local function same(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- The first key path where two tables differ, for long tables: ".nodes[3].status".
local function first_difference(a, b, path)
  if type(a) ~= "table" or type(b) ~= "table" then
    if a ~= b then return path end
    return nil
  end
  local keys = {}
  for k in pairs(a) do keys[#keys + 1] = k end
  for k in pairs(b) do if a[k] == nil then keys[#keys + 1] = k end end
  table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)
  for _, k in ipairs(keys) do
    local step = type(k) == "number" and ("[" .. k .. "]") or ("." .. tostring(k))
    if not same(a[k], b[k]) then return first_difference(a[k], b[k], path .. step) end
  end
  return nil
end

---------------------------------------------------------------------------------------
-- assert
---------------------------------------------------------------------------------------

-- Raises `msg` (after the caller's own message, if any) at the line of the test that
-- called the assertion.
local function fail(msg, extra)
  if extra ~= nil then msg = tostring(extra) .. ": " .. msg end
  error(msg, 3)
end

local checks = {}

function checks.equal(actual, expected, msg)
  if actual ~= expected then
    fail("expected " .. show(expected) .. ", got " .. show(actual), msg)
  end
end

function checks.same(actual, expected, msg)
  if not same(actual, expected) then
    local where = first_difference(actual, expected, "")
    local at = (where and where ~= "") and (" (first difference at " .. where .. ")") or ""
    fail("expected " .. show(expected) .. ", got " .. show(actual) .. at, msg)
  end
end

function checks.truthy(v, msg)
  if not v then fail("expected a true value, got " .. show(v), msg) end
end

function checks.falsy(v, msg)
  if v then fail("expected false or nil, got " .. show(v), msg) end
end

function checks.near(actual, expected, tolerance, msg)
  tolerance = tolerance or 1e-9
  if type(actual) ~= "number" or type(expected) ~= "number" then
    fail("expected a number near " .. show(expected) .. ", got " .. show(actual), msg)
  end
  if not (math.abs(actual - expected) <= tolerance) then
    fail("expected " .. show(expected) .. " +/- " .. show(tolerance) .. ", got " .. show(actual), msg)
  end
end

checks["error"] = function(fn, text, msg)
  local ok, err = pcall(fn)
  if ok then fail("expected an error" .. (text and (" with '" .. text .. "'") or "") .. ", got none", msg) end
  local m = tostring(err)
  if text and not m:find(text, 1, true) then
    fail("expected an error with '" .. text .. "', got '" .. m .. "'", msg)
  end
  return m
end

-- `assert(v, msg, ...)` is Lua's own (the libraries under test use it), raised at the
-- caller's line.
local assert_ = setmetatable(checks, {
  __call = function(_, v, ...)
    if v then return v, ... end
    local msg = ...
    if msg == nil then msg = "assertion failed!" end
    error(msg, 2)
  end,
})

---------------------------------------------------------------------------------------
-- describe, it, before_each, after_each
---------------------------------------------------------------------------------------

-- A describe block: its name and the functions to run around each of its tests. The
-- root frame holds the file's own before_each/after_each.
local root = { name = nil, before = {}, after = {} }
local stack = { root }
local tests = {}

local function full_name(name)
  local parts = {}
  for i = 2, #stack do parts[#parts + 1] = stack[i].name end
  if name then parts[#parts + 1] = name end
  return table.concat(parts, " ")
end

local function frames()
  local out = {}
  for i, f in ipairs(stack) do out[i] = f end
  return out
end

local function describe(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("describe(name, function) expects a string and a function", 2)
  end
  local frame = { name = name, before = {}, after = {} }
  stack[#stack + 1] = frame
  local ok, err = pcall(fn)
  if not ok then
    -- The block itself failed (a require, a typo): one failing test says so.
    tests[#tests + 1] = { name = full_name(nil), frames = frames(), fn = function() error(err, 0) end }
  end
  stack[#stack] = nil
end

local function it(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("it(name, function) expects a string and a function", 2)
  end
  tests[#tests + 1] = { name = full_name(name), frames = frames(), fn = fn }
end

local function before_each(fn)
  if type(fn) ~= "function" then error("before_each expects a function", 2) end
  local f = stack[#stack]
  f.before[#f.before + 1] = fn
end

local function after_each(fn)
  if type(fn) ~= "function" then error("after_each expects a function", 2) end
  local f = stack[#stack]
  f.after[#f.after + 1] = fn
end

local function names()
  local out = {}
  for i, t in ipairs(tests) do out[i] = t.name end
  return out
end

-- Called where an error is raised, with the stack still there.
local function failure(e)
  local message
  if type(e) == "string" then
    message = e
  elseif type(e) == "table" and type(e.message) == "string" then
    message = e.message
  else
    message = tostring(e)
  end
  return { message = message, at = host.where() }
end

-- Runs test i: the before_each functions from the outermost block in, the test, then the
-- after_each functions from the innermost block out (always). The first failure counts.
local function run(i)
  local t = tests[i]
  local failed
  for _, f in ipairs(t.frames) do
    for _, b in ipairs(f.before) do
      local ok, err = xpcall(b, failure)
      if not ok then failed = err; break end
    end
    if failed then break end
  end
  if not failed then
    local ok, err = xpcall(t.fn, failure)
    if not ok then failed = err end
  end
  for j = #t.frames, 1, -1 do
    for _, a in ipairs(t.frames[j].after) do
      local ok, err = xpcall(a, failure)
      if not ok and not failed then failed = err end
    end
  end
  return failed
end

---------------------------------------------------------------------------------------
-- testing: the plugin under test
---------------------------------------------------------------------------------------

local testing = { prometheus = {}, clock = {} }

-- Raises a host function's `nil, message` at the test's line (level 3: the caller of
-- the function that called this).
local function check(v, err, ...)
  if v == nil then error(err, 3) end
  return v, err, ...
end

local function encode_component(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local Plugin = {}
Plugin.__index = Plugin

function Plugin:_refresh()
  local s = self._bench:slot()
  self.id, self.folder, self.running, self.error = s.id, s.folder, s.running, s.error
end

function Plugin:request(method, path, opts)
  opts = opts or {}
  if type(method) ~= "string" or type(path) ~= "string" then
    error("request(method, path [, opts]) expects two strings", 2)
  end
  local target = path
  if opts.query then
    local parts = {}
    for _, k in ipairs(sorted_keys(opts.query)) do
      parts[#parts + 1] = encode_component(k) .. "=" .. encode_component(opts.query[k])
    end
    if #parts > 0 then
      target = target .. (target:find("?", 1, true) and "&" or "?") .. table.concat(parts, "&")
    end
  end
  local headers = {}
  for k, v in pairs(opts.headers or {}) do headers[string.lower(k)] = tostring(v) end
  local body = opts.body
  if body ~= nil then
    if type(body) ~= "string" then body = rackscope.json.encode(body) end
    headers["content-type"] = headers["content-type"] or "application/json"
  end
  local status, got, text = self._bench:request(method, target, headers, body)
  if status == nil then error(got, 2) end
  local res = { status = status, headers = got, text = text }
  local ctype = got["content-type"] or ""
  if ctype:find("json", 1, true) and text ~= "" then
    res.body = rackscope.json.decode(text)
  end
  return res
end

function Plugin:get(path, opts) return self:request("GET", path, opts) end
function Plugin:delete(path, opts) return self:request("DELETE", path, opts) end

local function with_body(method)
  return function(self, path, body, opts)
    local o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    o.body = body
    return self:request(method, path, o)
  end
end
Plugin.post = with_body("POST")
Plugin.put = with_body("PUT")
Plugin.patch = with_body("PATCH")

function Plugin:scrape()
  return self._bench:scrape()
end

-- Reads `name{a="b",...} value` lines of the exposition text.
local function parse_labels(s)
  local labels, i = {}, 1
  while i <= #s do
    local name, rest = s:match("^%s*,?%s*([%a_][%w_]*)%s*=%s*\"()", i)
    if not name then break end
    local j, value = rest, {}
    while j <= #s do
      local c = s:sub(j, j)
      if c == "\\" then
        local n = s:sub(j + 1, j + 1)
        value[#value + 1] = (n == "n") and "\n" or n
        j = j + 2
      elseif c == '"' then
        break
      else
        value[#value + 1] = c
        j = j + 1
      end
    end
    labels[name] = table.concat(value)
    i = j + 1
  end
  return labels
end

local function number_of(text)
  if text == "NaN" then return 0 / 0 end
  if text == "+Inf" then return math.huge end
  if text == "-Inf" then return -math.huge end
  return tonumber(text)
end

function Plugin:samples(name)
  local out = {}
  for line in (self:scrape() or ""):gmatch("[^\n]+") do
    if line:sub(1, 1) ~= "#" then
      local n, braces, value = line:match("^([%a_:][%w_:]*)(%b{})%s+(%S+)")
      if not n then
        n, value = line:match("^([%a_:][%w_:]*)%s+(%S+)")
        braces = nil
      end
      if n == name then
        out[#out + 1] = { labels = braces and parse_labels(braces:sub(2, -2)) or {}, value = number_of(value) }
      end
    end
  end
  return out
end

function Plugin:metric(name, labels)
  for _, s in ipairs(self:samples(name)) do
    local all = true
    for k, v in pairs(labels or {}) do
      if s.labels[k] ~= tostring(v) then all = false; break end
    end
    if all then return s.value end
  end
  return nil
end

function Plugin:menu()
  return self:get("/api/plugins/menu").body
end

function Plugin:info()
  return self:get("/api/plugins/" .. self.id).body
end

function Plugin:warnings()
  return self:info().warnings
end

function Plugin:status_map(name)
  return self._bench:status_maps()[name]
end

function Plugin:logs()
  local out = {}
  for _, l in ipairs(host.logs()) do
    if l.plugin == self.id or l.plugin == self.folder then out[#out + 1] = l end
  end
  return out
end

function Plugin:read(path)
  return self._bench:read(path)
end

function Plugin:write(path, text)
  return check(self._bench:write(path, text))
end

function Plugin:reload()
  self._bench:reload()
  self:_refresh()
end

function Plugin:stop()
  self._bench:stop()
  self:_refresh()
end

function testing.plugin(opts)
  if opts ~= nil and type(opts) ~= "table" then error("testing.plugin([opts]) expects a table", 2) end
  local bench, err = host.load(opts)
  if not bench then error(err, 2) end
  local p = setmetatable({ _bench = bench }, Plugin)
  p:_refresh()
  if opts and opts.fails then
    if p.running then error("expected the plugin to fail to load, but it loaded", 2) end
  elseif not p.running then
    error("the plugin did not load: " .. tostring(p.error), 2)
  end
  return p
end

function testing.logs()
  return host.logs()
end

---------------------------------------------------------------------------------------
-- testing.topology: a topology in the single-file form, from a short description
---------------------------------------------------------------------------------------

-- Entries given as a list keep their order; given as a map (id = value), sorted by id.
local function entries(v)
  if v == nil then return {} end
  if #v > 0 or next(v) == nil then return v end
  local out = {}
  for _, k in ipairs(sorted_keys(v)) do
    local e = v[k]
    if type(e) == "table" and not rackscope.is_array(e) and #e == 0 then
      local copy = {}
      for kk, vv in pairs(e) do copy[kk] = vv end
      copy.id = copy.id or k
      out[#out + 1] = copy
    else
      out[#out + 1] = { id = k, value = e }
    end
  end
  return out
end

local function node_names(nodes)
  if nodes == nil then return {} end
  if type(nodes) == "string" then return rackscope.topology.expand(nodes) end
  local out = {}
  for _, n in ipairs(nodes) do
    for _, name in ipairs(rackscope.topology.expand(n)) do out[#out + 1] = name end
  end
  return out
end

local function rack_of(r)
  if r.value ~= nil then r = { id = r.id, nodes = r.value } end
  local devices = {}
  for i, name in ipairs(node_names(r.nodes)) do
    devices[i] = {
      id = name, name = name, template_id = r.device_template or "server-1u",
      u_position = i, instance = name,
    }
  end
  return {
    id = r.id, name = r.name or r.id, template_id = r.template, u_height = r.u_height or 42,
    devices = rackscope.array(devices),
  }
end

local function racks_of(list)
  local out = {}
  for i, r in ipairs(entries(list)) do out[i] = rack_of(r) end
  return rackscope.array(out)
end

function testing.topology(spec)
  if type(spec) ~= "table" then error("testing.topology(spec) expects a table", 2) end
  local rooms = {}
  for i, room in ipairs(entries(spec.rooms)) do
    if room.value ~= nil then room = { id = room.id, racks = room.value } end
    local aisles = {}
    for j, a in ipairs(entries(room.aisles)) do
      local racks = a.racks
      if a.value ~= nil then
        racks = a.value
      elseif racks == nil then
        -- `{ r01 = "n[1-4]", ... }`: the aisle's racks by id.
        racks = {}
        for k, v in pairs(a) do
          if k ~= "id" and k ~= "name" then racks[k] = v end
        end
      end
      aisles[j] = { id = a.id, name = a.name or a.id, racks = racks_of(racks) }
    end
    rooms[i] = {
      id = room.id, name = room.name or room.id,
      aisles = rackscope.array(aisles), standalone_racks = racks_of(room.racks),
    }
  end
  local site = spec.site or "site"
  return { sites = rackscope.array({ { id = site, name = spec.site_name or site, rooms = rackscope.array(rooms) } }) }
end

---------------------------------------------------------------------------------------
-- testing.prometheus: the fake Prometheus
---------------------------------------------------------------------------------------

local function sample_value(v)
  if type(v) == "string" then return v end
  if v ~= v then return "NaN" end
  if v == math.huge then return "+Inf" end
  if v == -math.huge then return "-Inf" end
  if math.type(v) == "integer" then return tostring(v) end
  if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
  return string.format("%.17g", v)
end

-- { {labels, value}, ... } or { {metric = labels, value = v}, ... }.
function testing.prometheus.vector(series)
  local now = host.now()
  local out = {}
  for i, s in ipairs(series or {}) do
    local labels, value = s.metric or s[1] or {}, s.value
    if value == nil then value = s[2] end
    out[i] = { metric = labels, value = rackscope.array({ now, sample_value(value) }) }
  end
  return { resultType = "vector", result = rackscope.array(out) }
end

-- { {labels, { {t, v}, ... }}, ... }.
function testing.prometheus.matrix(series)
  local out = {}
  for i, s in ipairs(series or {}) do
    local points = {}
    for j, p in ipairs(s[2] or s.values or {}) do
      points[j] = rackscope.array({ p[1], sample_value(p[2]) })
    end
    out[i] = { metric = s.metric or s[1] or {}, values = rackscope.array(points) }
  end
  return { resultType = "matrix", result = rackscope.array(out) }
end

function testing.prometheus.scalar(v)
  return { resultType = "scalar", result = rackscope.array({ host.now(), sample_value(v) }) }
end

local function delay_of(opts)
  if opts == nil then return nil end
  if type(opts) ~= "table" then error("the options must be a table { delay = seconds }", 3) end
  return opts.delay
end

function testing.prometheus.answer(query, data, opts)
  if type(data) ~= "table" then error("answer(query, data [, opts]): data must be a table", 2) end
  if data.resultType == nil then data = testing.prometheus.vector(data) end
  check(host.rule(query, nil, data, delay_of(opts)))
end

function testing.prometheus.fail(query, kind, message, opts)
  check(host.rule(query, kind or "unreachable", message, delay_of(opts)))
end

function testing.prometheus.calls()
  return host.calls()
end

function testing.prometheus.reset()
  host.reset()
end

---------------------------------------------------------------------------------------
-- testing.clock
---------------------------------------------------------------------------------------

function testing.clock.now()
  return host.now()
end

function testing.clock.set(t)
  check(host.set_time(t))
end

function testing.clock.advance(seconds)
  check(host.advance(seconds or 0))
end

return {
  globals = {
    describe = describe, it = it, before_each = before_each, after_each = after_each,
    assert = assert_, testing = testing,
  },
  names = names,
  run = run,
  -- The methods of testing.plugin()'s objects (tests/lua_meta.rs reads them).
  Plugin = Plugin,
}
