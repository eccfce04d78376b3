-- Pushing values to bindings while sending only what changed: a family whose values
-- rarely move (node up/health, IPMI states, the one-hot Slurm states) costs one
-- comparison per row per tick, and a host call only for the rows that changed.

local M = {}

-- Sends `vals` (indexed by row, numbers or false) to variant `vi` of binding `b`,
-- comparing with what was sent last time (kept on the binding).
function M.push(b, vi, vals)
  if not b or not b.v[vi] then return end
  local last = b.last
  if not last then last = {}; b.last = last end
  local prev = last[vi]
  local n = b.n
  if not prev then
    b:set_all(vi, vals)
    local copy = {}
    for r = 1, n do copy[r] = vals[r] end
    last[vi] = copy
    return
  end
  local changed, cn = {}, 0
  for r = 1, n do
    local x = vals[r]
    if x ~= nil and x ~= prev[r] then
      cn = cn + 1
      changed[cn] = r
      prev[r] = x
    end
  end
  if cn == 0 then return end
  if cn * 8 > n then
    local sparse = {}
    for i = 1, cn do local r = changed[i]; sparse[r] = vals[r] end
    b:set_all(vi, sparse)
  else
    for i = 1, cn do local r = changed[i]; b:set(vi, r, vals[r]) end
  end
end

-- Forgets what was sent (the next push sends everything).
function M.reset(b)
  if b then b.last = nil end
end

return M
