-- lib/cache.lua: TTLs and stale-while-revalidate, on a clock the test sets; and the
-- shorter TTL lib/routes.lua gives an answer without any node.

local cache = require("lib.cache")
local routes = require("lib.routes")

local clock = 1000
rackscope.now = function() return clock end

-- A cache over a loader that counts its calls and returns `ttl` for each value.
local function counted(ttl)
  local calls = { n = 0 }
  local c = cache.new(function(key)
    calls.n = calls.n + 1
    return key .. calls.n, nil, ttl
  end, 30, 60)
  return c, calls
end

describe("a cached value", function()
  it("is served until its TTL, then served stale while one refresh runs", function()
    clock = 1000
    local c, calls = counted(nil)
    assert.equal(c:get("q"), "q1")
    clock = 1029
    assert.equal(c:get("q"), "q1")
    assert.equal(calls.n, 1)
    clock = 1031
    assert.equal(c:get("q"), "q1", "the stale value, at once")
    rackscope.sleep(0) -- the background refresh runs
    assert.equal(calls.n, 2)
    assert.equal(c:get("q"), "q2")
  end)
  it("is computed again once past the stale window", function()
    clock = 1000
    local c, calls = counted(nil)
    c:get("q")
    clock = 1000 + 30 + 60
    assert.equal(c:get("q"), "q2")
    assert.equal(calls.n, 2)
  end)
  it("keeps its own shorter TTL, never a longer one", function()
    clock = 1000
    local c, calls = counted(5)
    c:get("q")
    clock = 1006
    c:get("q")
    rackscope.sleep(0)
    assert.equal(calls.n, 2, "refreshed after its own 5 s")
    local long, long_calls = counted(600)
    long:get("q")
    clock = 1006 + 31
    long:get("q")
    rackscope.sleep(0)
    assert.equal(long_calls.n, 2, "refreshed after the cache's 30 s, not 600")
  end)
end)

describe("the TTL of an answer", function()
  it("is short without any node row and the cache's with data", function()
    assert.equal(routes.short_ttl({ data = { count = 0 } }), routes.EMPTY_TTL)
    assert.equal(routes.short_ttl({ data = { count = 3 } }), nil)
  end)
end)
