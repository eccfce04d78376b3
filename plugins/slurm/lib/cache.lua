-- A cache of computed values keyed by a string (here: the PromQL query), with one
-- computation at a time per key and stale-while-revalidate.
--
--   age < ttl             the cached value is served
--   ttl <= age < ttl+stale the cached value is served, and one background refresh runs
--                          (rackscope.spawn); the next requests get the new value once
--                          it is ready. A failed refresh is retried at most once a second.
--   no value, or older    the request computes it; concurrent requests wait for that one
--                          computation (rackscope.single_flight), and an error (Prometheus
--                          down: 503) reaches all of them. Errors are never cached.
--
-- So an answer is at most ttl + stale seconds old, and the first request after the TTL
-- never waits for Prometheus.

local M = {}
M.__index = M

-- `load(key)` computes the value (it may wait on Prometheus and may raise); it returns
-- the value, optionally the time the data was taken (default: now), and optionally a
-- TTL for this value only, shorter than the cache's (an answer worth retrying soon).
function M.new(load, ttl, stale)
  return setmetatable({ load_fn = load, ttl = ttl, stale = stale or 0, entries = {} }, M)
end

function M:set_ttl(ttl, stale)
  self.ttl, self.stale = ttl, stale or 0
end

-- Computes `key` now (shared with concurrent callers) and stores it.
function M:refresh(key)
  return rackscope.single_flight("cache\0" .. key, function()
    local value, at, ttl = self.load_fn(key)
    self.entries[key] = { value = value, at = at or rackscope.now(), ttl = ttl }
    return value
  end)
end

function M:get(key)
  local e = self.entries[key]
  if e then
    local now = rackscope.now()
    local age = now - e.at
    local ttl = math.min(e.ttl or self.ttl, self.ttl)
    if age < ttl then return e.value end
    if age < ttl + self.stale then
      if not e.refreshing and now >= (e.retry_at or 0) then
        e.refreshing = true
        rackscope.spawn(function()
          local ok, err = pcall(self.refresh, self, key)
          e.refreshing = false
          if not ok then
            e.retry_at = rackscope.now() + 1
            rackscope.log.warn("background refresh failed, serving the previous answer:", tostring(err))
          end
        end)
      end
      return e.value
    end
  end
  return self:refresh(key)
end

-- When the cached value of `key` was taken, or nil.
function M:taken_at(key)
  local e = self.entries[key]
  return e and e.at
end

-- The cached value of `key` whatever its age, or nil.
function M:peek(key)
  local e = self.entries[key]
  return e and e.value
end

-- Replaces the value of `key` if it is still `old`, keeping its age.
function M:replace(key, old, new)
  local e = self.entries[key]
  if e and e.value == old then e.value = new end
end

function M:clear()
  self.entries = {}
end

return M
