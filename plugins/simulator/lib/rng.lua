-- Deterministic randomness for the simulator: a splitmix64 generator on Lua 5.4's 64-bit
-- integers, FNV-1a string hashes, and the helpers built on them (uniform draws, integer
-- ranges, shuffles). Nothing here uses math.random, so every draw is a pure function of
-- its seed: the same seed and topology give the same samples on every run.

local M = {}

local GOLDEN = 0x9e3779b97f4a7c15
local INV53 = 1.0 / 9007199254740992.0 -- 2^-53

-- The splitmix64 finaliser: a well-mixed 64-bit value from any 64-bit value.
local function mix(z)
  z = (z ~ (z >> 30)) * 0xbf58476d1ce4e5b9
  z = (z ~ (z >> 27)) * 0x94d049bb133111eb
  return z ~ (z >> 31)
end
M.mix = mix
M.GOLDEN = GOLDEN
M.INV53 = INV53

-- FNV-1a over the bytes of `s` (a 64-bit integer).
function M.hash(s)
  local h = 0xcbf29ce484222325
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 0x100000001b3
  end
  return h
end

-- A uniform float in [0, 1) from a 64-bit state (one step of a stream: pass s + k*GOLDEN).
function M.unit(s)
  return (mix(s) >> 11) * INV53
end

-- A generator object: g:next() (64-bit), g:float() in [0,1), g:uniform(a, b),
-- g:randint(a, b) (both ends included), g:shuffle(list) (in place, returns it).
local Gen = {}
Gen.__index = Gen

function M.new(seed)
  return setmetatable({ s = mix(seed) }, Gen)
end

function Gen:next()
  self.s = self.s + GOLDEN
  return mix(self.s)
end

function Gen:float()
  return (self:next() >> 11) * INV53
end

function Gen:uniform(a, b)
  return a + (b - a) * self:float()
end

function Gen:randint(a, b)
  if b < a then return a end
  return a + (self:next() >> 1) % (b - a + 1)
end

function Gen:shuffle(list)
  for i = #list, 2, -1 do
    local j = 1 + (self:next() >> 1) % i
    list[i], list[j] = list[j], list[i]
  end
  return list
end

-- A generator for a named purpose at a tick: the same (seed, purpose, tick) always gives
-- the same stream. `seed` is a number or string, or nil for "no seed" (then `entropy`,
-- a value that differs per run, is mixed in).
function M.for_tick(seed_key, purpose, tick)
  return M.new(seed_key ~ M.hash(purpose) ~ mix(tick * GOLDEN))
end

-- The 64-bit key of a configured seed (nil when none: then a per-run value).
function M.seed_key(seed)
  if seed == nil then
    local t = rackscope.now()
    return mix(M.hash(tostring(t)) ~ math.floor((t % 1) * 1e9))
  end
  return M.hash("seed:" .. tostring(seed))
end

return M
