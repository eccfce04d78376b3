-- lib/overrides.lua: the overrides file, as the API adds, lists and deletes entries.

local overrides = require("lib.overrides")

local topo = {
  has_instance = function(id) return id == "cn0001" end,
  has_rack = function(id) return id == "r1" end,
  has_aisle = function(id) return id == "a1" end,
}
local NOW = 1000

local function store()
  rackscope.fs.write("ov.yaml", "")
  return overrides.new("ov.yaml", 120, topo)
end

describe("numbers from JSON", function()
  it("reads floats and ints as Python does", function()
    assert.equal(overrides.to_float(" 2.5 "), 2.5)
    assert.equal(overrides.to_float(true), 1.0)
    assert.equal(overrides.to_float("nan"), nil)
    assert.equal(overrides.to_float(0 / 0), nil)
    assert.equal(overrides.to_int(3.9), 3)
    assert.equal(overrides.to_int(-3.9), -3)
    assert.equal(overrides.to_int(" 42 "), 42)
    assert.equal(overrides.to_int("4.0"), nil)
  end)
end)

describe("add", function()
  it("stores an override with a default id and expiry, and writes the file", function()
    local s = store()
    local status, body = s:add({ instance = "cn0001", metric = "up", value = 0 }, NOW)
    assert.equal(status, 200)
    assert.same(body.overrides, { { id = "cn0001-up-1000", instance = "cn0001", rack_id = rackscope.null,
      metric = "up", value = 0.0, expires_at = 1120 } })
    assert.equal(rackscope.fs.read("ov.yaml"),
      'overrides:\n- id: "cn0001-up-1000"\n  instance: "cn0001"\n  metric: "up"\n  value: 0.0\n  expires_at: 1120\n')
    status = s:add({ instance = "cn0001", metric = "up", value = 1 }, NOW)
    assert.equal(status, 200)
    assert.equal(s:api_list(NOW)[2].id, "cn0001-up-1000-2")
  end)
  it("refuses what the reference refuses, and targets not in the topology", function()
    local s = store()
    for _, case in ipairs({
      { { metric = "up", value = 1 }, "instance or rack_id is required" },
      { { instance = "cn0001", metric = "nope", value = 1 }, "Unsupported metric. Available: " },
      { { instance = "cn0001", metric = "up", value = 2 }, "up must be 0 or 1" },
      { { instance = "cn0001", metric = "rack_down", value = 1 }, "rack_down requires rack_id" },
      { { instance = "cn0001", metric = "up", value = "x" }, "value must be numeric" },
      { { instance = "cn0001", metric = "up", value = 1, ttl_seconds = -1 }, "ttl_seconds must be >= 0" },
      { { instance = "cn9999", metric = "up", value = 1 }, "instance 'cn9999' is not in the topology" },
    }) do
      local status, body = s:add(case[1], NOW)
      assert.equal(status, 400)
      assert.truthy(body.detail:find(case[2], 1, true), body.detail)
    end
    local status, body = s:add(rackscope.array({ 1 }), NOW)
    assert.equal(status, 422)
    assert.equal(body.detail[1].type, "dict_type")
  end)
  it("refuses an id already taken", function()
    local s = store()
    assert.equal(s:add({ id = "x", rack_id = "r1", metric = "rack_down", value = 1 }, NOW), 200)
    local status, body = s:add({ id = "x", rack_id = "r1", metric = "rack_down", value = 1 }, NOW)
    assert.same({ status, body }, { 409, { detail = "override id 'x' already exists" } })
  end)
end)

describe("expiry and deletion", function()
  it("drops expired entries from the list, then from the file at the next write", function()
    local s = store()
    s:add({ id = "short", instance = "cn0001", metric = "up", value = 0, ttl_seconds = 10 }, NOW)
    s:add({ id = "forever", instance = "cn0001", metric = "up", value = 1, ttl_seconds = 0 }, NOW)
    assert.equal(s:count(NOW + 20), 1)
    assert.same({ s:delete("nope", NOW + 20) }, { 404, { detail = "Override 'nope' not found" } })
    local status, body = s:delete("forever", NOW + 20)
    assert.same({ status, #body.overrides }, { 200, 0 })
    assert.equal(rackscope.fs.read("ov.yaml"), "overrides: []\n")
  end)
end)

describe("a hand-broken file", function()
  it("keeps the last good list, refuses writes, and is cleared by clear()", function()
    local s = store()
    s:add({ id = "kept", instance = "cn0001", metric = "up", value = 0 }, NOW)
    rackscope.fs.write("ov.yaml", "overrides: {")
    local status, body = s:add({ instance = "cn0001", metric = "up", value = 1 }, NOW)
    assert.equal(status, 409)
    assert.truthy(body.detail:find("overrides file ov.yaml is invalid", 1, true), body.detail)
    assert.equal(s:api_list(NOW)[1].id, "kept")
    assert.same({ s:clear(NOW) }, { 200, { overrides = {} } })
    assert.equal(s:add({ instance = "cn0001", metric = "up", value = 1 }, NOW), 200)
  end)
end)
