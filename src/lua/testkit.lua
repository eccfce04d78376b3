-- The Lua side of a plugin's unit tests (`plugins/<id>/tests/<topic>_test.lua`), embedded
-- in the host and loaded by its runner (src/lua/testkit.rs) into the sandboxed state of
-- each test file, beside the real `rackscope` API. The runner makes `describe`, `it` and
-- `assert` globals, runs the file (which only declares its tests), then calls `run()`.
--
--   describe("status", function()
--     it("strips sinfo flags", function()
--       assert.equal(status.normalize("idle*"), "idle")
--       assert.same({ status.normalize("drain") }, { "drain", false })
--       assert.error(function() mapping.compile(nil) end, "attempt to index")
--     end)
--   end)
--
-- `assert(v, msg)` works as Lua's own assert (the libraries under test use it), with
-- `assert.equal` (==), `assert.same` (deep: tables by content, metatables ignored),
-- `assert.error(fn [, text])` (fn must raise, with `text` in its message; returns the
-- message), `assert.truthy` and `assert.falsy`. A failed assertion names the test file's
-- line.

local kit = {}
local tests = {}
local names = {}

-- A value as text for failure messages: tables with sorted keys, nested to a depth.
local function show(v, depth)
  depth = depth or 0
  if type(v) == "string" then return string.format("%q", v) end
  if v == rackscope.null then return "rackscope.null" end
  if type(v) ~= "table" then return tostring(v) end
  if depth > 3 then return "{...}" end
  local keys, n = {}, #v
  for k in pairs(v) do keys[#keys + 1] = k end
  if #keys == n then
    -- A sequence: its values in order.
    local items = {}
    for i = 1, math.min(n, 20) do items[i] = show(v[i], depth + 1) end
    if n > 20 then items[#items + 1] = "..." end
    return "{ " .. table.concat(items, ", ") .. " }"
  end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return type(a) < type(b)
  end)
  local parts = {}
  for i, k in ipairs(keys) do
    if i > 20 then parts[#parts + 1] = "..."; break end
    local key = (type(k) == "string" and k:match("^[%a_][%w_]*$")) and k or ("[" .. show(k, depth + 1) .. "]")
    parts[#parts + 1] = key .. " = " .. show(v[k], depth + 1)
  end
  return "{ " .. table.concat(parts, ", ") .. " }"
end
kit.show = show

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

local function fail(msg, extra)
  if extra then msg = extra .. ": " .. msg end
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
    fail("expected " .. show(expected) .. ", got " .. show(actual), msg)
  end
end

function checks.truthy(v, msg)
  if not v then fail("expected a true value, got " .. show(v), msg) end
end

function checks.falsy(v, msg)
  if v then fail("expected false or nil, got " .. show(v), msg) end
end

checks["error"] = function(fn, text, msg)
  local ok, err = pcall(fn)
  if ok then fail("expected an error" .. (text and (" with '" .. text .. "'") or ""), msg) end
  local m = tostring(err)
  if text and not m:find(text, 1, true) then
    fail("expected an error with '" .. text .. "', got '" .. m .. "'", msg)
  end
  return m
end

-- `assert(v, msg, ...)` as Lua's own, raised at the caller's line.
kit.assert = setmetatable(checks, {
  __call = function(_, v, ...)
    if v then return v, ... end
    local msg = ...
    if msg == nil then msg = "assertion failed!" end
    error(msg, 2)
  end,
})

function kit.describe(name, fn)
  names[#names + 1] = name
  local ok, err = pcall(fn)
  if not ok then
    local where = table.concat(names, " ")
    tests[#tests + 1] = { name = where, fn = function() error(err, 0) end }
  end
  names[#names] = nil
end

function kit.it(name, fn)
  local full = names[1] and (table.concat(names, " ") .. " " .. name) or name
  tests[#tests + 1] = { name = full, fn = fn }
end

-- Runs every declared test in order; returns { {name, ok, error}, ... }.
function kit.run()
  local out = {}
  for _, t in ipairs(tests) do
    local ok, err = pcall(t.fn)
    out[#out + 1] = { name = t.name, ok = ok, error = (not ok) and tostring(err) or nil }
  end
  return out
end

return kit
