-- From catalog definitions to published series, in bulk.
--
-- Every catalog definition becomes a gauge family (so a name without a generator still
-- shows HELP and TYPE). A generator then binds a definition to a *row set* (the nodes,
-- (node, partition) pairs, PDU inlets... it emits for, after the catalog's `instances` /
-- `racks` filter) and to its *variants* (constant context: `port = "3"`,
-- `status = "down"`). Each label of the family resolves (§2.2) to a literal, a variant
-- constant, a per-row context value or a base label; the per-row ones form a label table
-- (rackscope.metrics.label_table), shared by every family and variant that resolves to
-- the same columns over the same rows, and each variant becomes one block of the family
-- over it (family:block). Values are then set with flat arrays indexed by row.
--
-- When a catalog leaves out a label the generator varies (no `partition` on
-- slurm_node_status, say), rows collide: like the reference, the last row written wins.

local catalog = require("lib.catalog")
local patterns = require("lib.patterns")

local M = {}

-- Base labels (§2.2) per kind of row: constant ones, and per-row ones read from the
-- entity (a target, or a rack record) by name.
local BASE_CONST = {
  node = { job = "node" },
  pdu = { job = "pdu" },
  sequana = { job = "sequana3" },
  cluster = { site_id = "", room_id = "", rack_id = "", instance = "", job = "" },
}
local BASE_ROW = {
  node = { site_id = true, room_id = true, rack_id = true, chassis_id = true, node_id = true, instance = true },
  pdu = { site_id = true, room_id = true, rack_id = true, instance = true },
  sequana = { site_id = true, room_id = true, rack_id = true, instance = true },
  cluster = {},
}
-- Per-row base labels that identify the entity: a table with one of them has unique rows.
local IDENTITY = { node_id = true, instance = true, rack_id = true }

local P = {}
P.__index = P

-- `defs` the ordered definitions, `by_name` the same by name, `sim` the targets (list,
-- rack records).
function M.new(defs, by_name, targets)
  local self = setmetatable({
    defs = by_name, targets = targets, fams = {}, tables = {}, rowsets = {}, matchers = {}, maps = {},
  }, P)
  for _, d in ipairs(defs) do
    self.fams[d.name] = rackscope.metrics.gauge(d.name, d.help, d.labels)
  end
  return self
end

-- The definition of `name` if the catalogs enable it for a generator of `scope`.
function P:def(name, scope)
  local d = self.defs[name]
  if d and d.scope == scope then return d end
  return nil
end

function P:matcher(list)
  local m, sig = patterns.compile(list, true)
  local cached = self.matchers[sig]
  if cached then return cached, sig end
  self.matchers[sig] = m
  return m, sig
end

-- Rows over targets: those for which `pred(t)` holds (pred named `kind`) and that the
-- definition's `instances` filter and topology selectors (device type, role) match. `expand(t, emit)` may emit several rows per
-- target with a per-row context (emit(ctx)); `rc_keys` lists the context's keys.
function P:node_rows(def, kind, pred, expand, rc_keys)
  local match, sig = self:matcher(def.instances)
  local select = catalog.selector(def.select)
  local id = "n:" .. kind .. ":" .. sig .. (select and ("|" .. def.select.sig) or "")
  local rs = self.rowsets[id]
  if rs then return rs end
  rs = { id = id, base = "node", idx = {}, rc = expand and {} or nil, rc_keys = rc_keys, n = 0 }
  local idx, rc, n = rs.idx, rs.rc, 0
  local all = sig == "*" and not select
  for i, t in ipairs(self.targets.list) do
    if pred(t) and (all or ((sig == "*" or match(t.node_id)) and (not select or select(t)))) then
      if expand then
        expand(t, function(ctx)
          n = n + 1
          idx[n], rc[n] = i, ctx
        end)
      else
        n = n + 1
        idx[n] = i
      end
    end
  end
  rs.n = n
  rs.full = all and not expand
  self.rowsets[id] = rs
  return rs
end

-- Every target, as one row set: the label tables of node families without per-row
-- context are built over it once, and a family's row set only decides which of its
-- rows get values (the others stay absent from scrapes).
function P:universe()
  local u = self.rowsets["u"]
  if u then return u end
  u = { id = "u", base = "node", idx = {}, n = #self.targets.list }
  for i = 1, u.n do u.idx[i] = i end
  self.rowsets["u"] = u
  return u
end

-- Rows over racks with targets (`base` "pdu" or "sequana"), filtered by the
-- definition's `racks`; `expand` (named `kind`) as in node_rows. Row entities are rack
-- records { site_id, room_id, rack_id, instance, index }.
function P:rack_rows(def, base, kind, expand, rc_keys)
  local match, sig = self:matcher(def.racks)
  local id = "r:" .. base .. ":" .. kind .. ":" .. sig
  local rs = self.rowsets[id]
  if rs then return rs end
  rs = { id = id, base = base, ent = {}, idx = {}, rc = expand and {} or nil, rc_keys = rc_keys, n = 0 }
  local n = 0
  for ri, rack in ipairs(self.targets.racks) do
    if match(rack) then
      local info = self.targets.rack_info[rack]
      local ent = { site_id = info.site_id, room_id = info.room_id, rack_id = rack,
        instance = base .. "-" .. rack, index = ri }
      if expand then
        expand(rack, function(ctx)
          n = n + 1
          rs.ent[n], rs.idx[n], rs.rc[n] = ent, ri, ctx
        end)
      else
        n = n + 1
        rs.ent[n], rs.idx[n] = ent, ri
      end
    end
  end
  rs.n = n
  self.rowsets[id] = rs
  return rs
end

-- Cluster-wide rows (Slurm aggregates), enabled when the `racks` filter matches the
-- rack id "" (only `*` does). `ctxs` is one per-row context per row.
function P:cluster_rows(def, key, ctxs, rc_keys)
  local match = self:matcher(def.racks)
  if not match("") then return nil end
  local id = "c:" .. key
  local rs = self.rowsets[id]
  if rs then return rs end
  rs = { id = id, base = "cluster", idx = {}, rc = {}, rc_keys = rc_keys or {}, n = #ctxs }
  for i, c in ipairs(ctxs) do rs.idx[i], rs.rc[i] = 0, c end
  self.rowsets[id] = rs
  return rs
end

local function row_value(self, rs, r, src, tok)
  if src == "r" then
    local v = rs.rc[r][tok]
    return v == nil and "" or tostring(v)
  end
  local ent = rs.ent and rs.ent[r] or self.targets.list[rs.idx[r]]
  local v = ent[tok]
  return v == nil and "" or tostring(v)
end

-- The label table for `cols` ({label, source, token} per per-row label) over `rs`:
-- { lt, map (row -> table row, when rows collide), m (table rows) }.
function P:table_for(rs, cols, first_const)
  local parts = {}
  for i, c in ipairs(cols) do parts[i] = c[1] .. "=" .. c[2] .. ":" .. c[3] end
  local key = rs.id .. "|" .. table.concat(parts, ",") .. (first_const and ("|" .. first_const[1] .. "=" .. first_const[2]) or "")
  local cached = self.tables[key]
  if cached then return cached end
  local out
  if #cols == 0 then
    -- Every label is constant: all rows are the same series.
    local map = {}
    for r = 1, rs.n do map[r] = 1 end
    out = { lt = rackscope.metrics.label_table({ [first_const[1]] = { first_const[2] } }), map = map, m = 1 }
  else
    local unique = false
    local has_rc = {}
    for _, c in ipairs(cols) do
      if c[2] == "b" and IDENTITY[c[3]] then unique = true end
      if c[2] == "r" then has_rc[c[3]] = true end
    end
    if unique and rs.rc_keys then
      for k in pairs(rs.rc_keys) do
        if not has_rc[k] then unique = false end
      end
    end
    if rs.base == "cluster" then unique = false end
    local columns = {}
    for _, c in ipairs(cols) do
      local arr = {}
      if c[2] == "b" and not rs.ent then
        local list, idx, tok = self.targets.list, rs.idx, c[3]
        for r = 1, rs.n do
          local v = list[idx[r]][tok]
          arr[r] = v == nil and "" or v
        end
      else
        for r = 1, rs.n do arr[r] = row_value(self, rs, r, c[2], c[3]) end
      end
      columns[c[1]] = arr
    end
    local map, m = nil, rs.n
    if not unique then
      -- Rows may collide: keep the first occurrence's position, map every row to it.
      local seen, compact = {}, {}
      for _, c in ipairs(cols) do compact[c[1]] = {} end
      map, m = {}, 0
      local buf = {}
      for r = 1, rs.n do
        for i, c in ipairs(cols) do buf[i] = columns[c[1]][r] end
        local k = table.concat(buf, "\0")
        local at = seen[k]
        if not at then
          m = m + 1
          at = m
          seen[k] = at
          for _, c in ipairs(cols) do compact[c[1]][at] = columns[c[1]][r] end
        end
        map[r] = at
      end
      if m == rs.n then map = nil else columns = compact end
    end
    out = { lt = rackscope.metrics.label_table(columns), map = map, m = m }
  end
  self.tables[key] = out
  return out
end

local B = {}
B.__index = B

-- Binds definition `def` to row set `rs` with `variants` (a list of constant contexts;
-- default one empty context). Returns a binding, or nil when `rs` is nil.
function P:bind(def, rs, variants)
  if not rs then return nil end
  variants = variants or { {} }
  local fam = self.fams[def.name]
  local b = setmetatable({ name = def.name, fam = fam, n = rs.n, v = {}, rs = rs }, B)
  local base_const = BASE_CONST[rs.base]
  local base_row = BASE_ROW[rs.base]
  for vi, ctx in ipairs(variants) do
    local cols, extras, first_const = {}, {}, nil
    for _, L in ipairs(def.labels) do
      local T = def.templates[L]
      local val
      if T:sub(1, 1) ~= "$" then
        val = T
      else
        local tok = T:sub(2)
        if ctx[tok] ~= nil then
          val = tostring(ctx[tok])
        elseif rs.rc_keys and rs.rc_keys[tok] then
          cols[#cols + 1] = { L, "r", tok }
        elseif base_const[tok] ~= nil then
          val = base_const[tok]
        elseif base_row[tok] then
          cols[#cols + 1] = { L, "b", tok }
        else
          val = ""
        end
      end
      if val ~= nil then extras[L] = val end
    end
    if #def.labels == 0 then
      b.v[vi] = { single = true }
    else
      if #cols == 0 then
        local L1 = def.labels[1]
        first_const = { L1, extras[L1] }
        extras[L1] = nil
      end
      local t, map, direct = nil, nil, false
      if rs.base == "node" and not rs.rc then
        -- Over the table of every target: row r of the row set is its target's row.
        t = self:table_for(self:universe(), cols, first_const)
        local tm = t.map
        local mkey = rs.id .. "|" .. tostring(tm)
        map = self.maps[mkey]
        if not map then
          map = {}
          local idx = rs.idx
          for r = 1, rs.n do map[r] = tm and tm[idx[r]] or idx[r] end
          self.maps[mkey] = map
        end
        direct = tm == nil and rs.full == true
      else
        t = self:table_for(rs, cols, first_const)
        map = t.map
      end
      local ok, blk = pcall(fam.block, fam, t.lt, extras)
      if ok then
        b.v[vi] = { blk = blk, map = map, m = t.m, direct = direct }
      else
        rackscope.log.warn("metric " .. def.name .. ": variant skipped: " .. tostring(blk))
      end
    end
  end
  return b
end

-- Sets every row of variant `vi` from `vals` (indexed by row; nil leaves a row, false
-- removes it).
function B:set_all(vi, vals)
  local v = self.v[vi]
  if not v then return end
  local n = self.n
  if v.single then
    for r = n, 1, -1 do
      local x = vals[r]
      if x ~= nil then
        if x == false then self.fam:clear() else self.fam:set(nil, x) end
        return
      end
    end
  elseif v.map then
    local out, map = {}, v.map
    for r = 1, n do
      local x = vals[r]
      if x ~= nil then out[map[r]] = x end
    end
    v.blk:set_many(out, v.m)
  else
    v.blk:set_many(vals, n)
  end
end

-- Sets variant `vi` from `q`, indexed by *target* (not by row). When the row set is
-- every target its predicate admits, and `q` is nil for the others, `q` goes to the
-- host as it is; otherwise its rows are gathered.
function B:set_targets(vi, q)
  local v = self.v[vi]
  if not v then return end
  if v.direct then
    v.blk:set_many(q, v.m)
    return
  end
  local idx = self.rs.idx
  local out = self.gather
  if not out then out = {}; self.gather = out end
  for r = 1, self.n do out[r] = q[idx[r]] end
  self:set_all(vi, out)
end

-- Sets the rows of variant `vi` that `vals` has (indexed by row), `count` of them: one
-- call per row when they are few, one bulk call over every row otherwise.
function B:set_some(vi, vals, count)
  if count * 8 < self.n then
    for r, x in pairs(vals) do self:set(vi, r, x) end
  else
    self:set_all(vi, vals)
  end
end

-- Sets every row of variant `vi` to `x` (a number, or false to remove them all).
function B:fill(vi, x)
  local v = self.v[vi]
  if not v then return end
  if v.blk and not v.map then
    v.blk:fill(x)
  else
    local vals = {}
    for r = 1, self.n do vals[r] = x end
    self:set_all(vi, vals)
  end
end

-- Sets (number) or removes (false) row `r` of variant `vi`.
function B:set(vi, r, x)
  local v = self.v[vi]
  if not v then return end
  if v.single then
    if x == false then self.fam:clear() else self.fam:set(nil, x) end
  elseif v.map then
    v.blk:set(v.map[r], x)
  else
    v.blk:set(r, x)
  end
end

M.BASE_CONST = BASE_CONST
M.catalog = catalog
return M
