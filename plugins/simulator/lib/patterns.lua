-- Name patterns of the metric catalogs (§2.1): `instances`, `racks` and
-- `slurm_random_match` entries. A pattern with `[`, `]` and `-` is a nodeset, expanded
-- into exact names by the host's one expander (rackscope.topology.expand); otherwise one
-- with `*` or `?` is a case-sensitive shell glob (`*`, `?`, `[seq]`, `[!seq]`); anything
-- else is an exact name. Empty and non-string patterns are ignored.

local M = {}

local MAGIC = "[%^%$%(%)%%%.%[%]%*%+%-%?]"

-- A Lua pattern for a shell glob, anchored at both ends.
local function glob_to_lua(g)
  local out, i, n = { "^" }, 1, #g
  while i <= n do
    local c = g:sub(i, i)
    if c == "*" then
      out[#out + 1] = ".*"
    elseif c == "?" then
      out[#out + 1] = "."
    elseif c == "[" then
      local j = g:find("]", i + 2, true)
      if j then
        local set = g:sub(i + 1, j - 1)
        if set:sub(1, 1) == "!" then set = "^" .. set:sub(2) end
        set = set:gsub("%%", "%%%%")
        out[#out + 1] = "[" .. set .. "]"
        i = j
      else
        out[#out + 1] = "%["
      end
    else
      out[#out + 1] = c:gsub(MAGIC, "%%%0")
    end
    i = i + 1
  end
  out[#out + 1] = "$"
  return table.concat(out)
end
M.glob_to_lua = glob_to_lua

-- A matcher for a list of patterns: a function(name) -> boolean. `nodeset` false treats
-- every pattern as a glob or exact name (slurm_random_match). A missing, empty or
-- non-list value matches everything; so does a list whose patterns are all ignored.
function M.compile(list, nodeset)
  if type(list) ~= "table" or #list == 0 then
    return function() return true end, "*"
  end
  local exact, prefixes, globs, parts = {}, {}, {}, {}
  local any = false
  for _, p in ipairs(list) do
    if type(p) == "string" and p ~= "" then
      any = true
      parts[#parts + 1] = p
      if nodeset ~= false and p:find("[", 1, true) and p:find("]", 1, true) and p:find("-", 1, true) then
        local ok, names = pcall(rackscope.topology.expand, p)
        if ok then
          for _, n in ipairs(names) do exact[n] = true end
        else
          exact[p] = true
        end
      elseif p == "*" then
        return function() return true end, "*"
      elseif p:find("[%*%?]") then
        local stem = p:match("^([^%*%?%[]*)%*$")
        if stem then
          prefixes[#prefixes + 1] = stem
        else
          globs[#globs + 1] = glob_to_lua(p)
        end
      else
        exact[p] = true
      end
    end
  end
  if not any then
    return function() return true end, "*"
  end
  local np, ng = #prefixes, #globs
  local function match(name)
    if exact[name] then return true end
    for i = 1, np do
      local s = prefixes[i]
      if name:sub(1, #s) == s then return true end
    end
    for i = 1, ng do
      if name:find(globs[i]) then return true end
    end
    return false
  end
  return match, table.concat(parts, "\0")
end

return M
