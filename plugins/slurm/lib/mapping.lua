-- Node mapping: Slurm node names -> topology instance names.
--
-- The mapping file (config key mapping_path, default node_mapping.yaml in the plugin's
-- config folder) takes either or both of two forms:
--
--   mappings:                      # a list, checked in file order; the first match wins
--     - node: "n*"                 # '*' matches one or more characters; the instance's
--       instance: "compute*"       #   first '*' takes what the node's first '*' matched
--     - node: "login[1-4]"         # a nodeset range: expanded with rackscope.topology.expand
--       instance: "frontend[01-04]"#   and paired name by name (or all onto one instance)
--     - node: slurmctl             # an exact name
--       instance: ctl01
--   mapping:                       # Rackscope's nodeset form: node pattern -> instance pattern
--     "n[001-480]": "compute[001-480]"
--
-- `mapping:` entries come after the `mappings:` list, in key order (YAML keys carry no
-- order once read); a name claimed by two of them is an error. Nodes that match nothing
-- keep their Slurm name. Malformed files are refused as a whole: lib/routes.lua keeps the
-- last good mapping in use and reports the problem.

local check = require("lib.check")

local M = {}

local is_list, non_empty_string = check.is_list, check.non_empty_string

-- Escapes Lua pattern characters, turning each '*' into a capture of 1+ characters.
local function wildcard_pattern(node)
  local out = node:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", "(.+)")
  return "^" .. out .. "$"
end

-- The names of a nodeset pattern (rackscope.topology.expand), or nil and why not.
local function expand(pattern)
  local ok, names = pcall(rackscope.topology.expand, pattern)
  if not ok then
    -- "...: bad argument #1 to 'rackscope.topology.expand' (<reason>)" -> the reason
    return nil, "is not a valid range: " .. tostring(names):gsub("^.-%((.*)%)$", "%1")
  end
  if #names == 0 then return nil, "gives no names" end
  return names
end

-- Checks one {node, instance} entry and compiles it:
--   {kind = "wild", pattern, before, after, instance}  or  {kind = "names", pairs = {{n, i}, ...}}
-- or nil and the reason, naming the entry `where`.
local function compile_entry(e, where)
  if type(e) ~= "table" or (is_list(e) and next(e) ~= nil) then
    return nil, where .. " must be an object {node, instance}"
  end
  if not non_empty_string(e.node) then return nil, where .. ": 'node' must be a non-empty string" end
  if not non_empty_string(e.instance) then return nil, where .. ": 'instance' must be a non-empty string" end
  local node, inst = e.node, e.instance
  if node:find("*", 1, true) then
    local star = inst:find("*", 1, true)
    return {
      kind = "wild",
      pattern = wildcard_pattern(node),
      before = star and inst:sub(1, star - 1),
      after = star and inst:sub(star + 1),
      instance = inst,
    }
  end
  local names, why = expand(node)
  if not names then return nil, ("%s: node '%s' %s"):format(where, node, why) end
  local targets, why2 = expand(inst)
  if not targets then return nil, ("%s: instance '%s' %s"):format(where, inst, why2) end
  local out = {}
  if #targets == #names then
    for i, n in ipairs(names) do out[i] = { n, targets[i] } end
  elseif #targets == 1 then
    for i, n in ipairs(names) do out[i] = { n, targets[1] } end
  else
    return nil, ("%s: node '%s' gives %d names but instance '%s' gives %d"):format(
      where, node, #names, inst, #targets)
  end
  return { kind = "names", pairs = out }
end

-- Validates a list of {node, instance} entries (the POST body); returns the clean list
-- ({node, instance} only), or nil, the first problem and the 0-based index of its entry.
function M.check_entries(entries)
  if type(entries) ~= "table" or entries == rackscope.null or not is_list(entries) then
    return nil, "'entries' must be a list of {node, instance} objects"
  end
  local clean = {}
  for i, e in ipairs(entries) do
    local ok, why = compile_entry(e, ("entries[%d]"):format(i - 1))
    if not ok then return nil, why, i - 1 end
    clean[i] = { node = e.node, instance = e.instance }
  end
  return clean
end

-- Parses a mapping document (decoded YAML) into a mapping object, or nil and a reason.
-- The object: {entries = <list shown by GET /api/slurm/mapping>, resolve = fn(name)}.
function M.from_document(doc)
  if doc == nil or doc == rackscope.null then doc = {} end
  if type(doc) ~= "table" then
    return nil, "the file must hold a 'mappings' list or a 'mapping' table"
  end
  local shown, compiled = {}, {}
  local list = doc.mappings
  if list ~= nil and list ~= rackscope.null then
    if type(list) ~= "table" or not is_list(list) then
      return nil, "'mappings' must be a list of {node, instance} objects"
    end
    for i, e in ipairs(list) do
      local c, why = compile_entry(e, ("mappings[%d]"):format(i - 1))
      if not c then return nil, why end
      compiled[#compiled + 1] = c
      shown[#shown + 1] = e
    end
  end
  local dict = doc.mapping
  if dict ~= nil and dict ~= rackscope.null then
    if type(dict) ~= "table" or (next(dict) ~= nil and is_list(dict)) then
      return nil, "'mapping' must be a table of node pattern: instance pattern"
    end
    local keys = {}
    for k in pairs(dict) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    local claimed = {}
    for _, k in ipairs(keys) do
      local where = ("mapping['%s']"):format(tostring(k))
      if type(k) ~= "string" then return nil, where .. ": node patterns must be strings" end
      if k:find("*", 1, true) then
        return nil, where .. ": '*' wildcards go in the 'mappings' list form"
      end
      local c, why = compile_entry({ node = k, instance = dict[k] }, where)
      if not c then return nil, why end
      for _, p in ipairs(c.pairs) do
        if claimed[p[1]] then
          return nil, ("%s: node '%s' is already mapped by mapping['%s']"):format(where, p[1], claimed[p[1]])
        end
        claimed[p[1]] = k
      end
      compiled[#compiled + 1] = c
      shown[#shown + 1] = { node = k, instance = dict[k] }
    end
  end
  return M.compile(shown, compiled)
end

-- Builds the resolver. Exact names (and expanded ranges) go in a hash; wildcards are
-- tried in order, but only those placed before the exact entry that matched: the first
-- entry of the file that matches wins.
function M.compile(shown, compiled)
  local exact, wild = {}, {}
  for idx, c in ipairs(compiled) do
    if c.kind == "wild" then
      c.idx = idx
      wild[#wild + 1] = c
    else
      for _, p in ipairs(c.pairs) do
        if exact[p[1]] == nil then exact[p[1]] = { idx = idx, instance = p[2] } end
      end
    end
  end
  local memo, size = {}, 0
  local function resolve(name)
    local hit = memo[name]
    if hit then return hit end
    local best, result = math.huge, name
    local ex = exact[name]
    if ex then best, result = ex.idx, ex.instance end
    for i = 1, #wild do
      local w = wild[i]
      if w.idx >= best then break end
      local cap = name:match(w.pattern)
      if cap then
        result = w.before and (w.before .. cap .. w.after) or w.instance
        break
      end
    end
    if size > 200000 then memo, size = {}, 0 end
    memo[name] = result
    size = size + 1
    return result
  end
  return { entries = shown, resolve = resolve, empty = #compiled == 0 }
end

-- The mapping that maps nothing.
function M.identity()
  return M.compile({}, {})
end

return M
