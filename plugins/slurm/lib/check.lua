-- Shape checks shared by the Slurm plugin's libraries (config, mapping, catalog).

local M = {}

-- True for a table whose keys are exactly 1..#t (an empty table included): a YAML/JSON
-- list, as opposed to a mapping.
function M.is_list(t)
  if type(t) ~= "table" then return false end
  local n = #t
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then return false end
  end
  return true
end

-- True for a string with at least one character.
function M.non_empty_string(v)
  return type(v) == "string" and v ~= ""
end

return M
