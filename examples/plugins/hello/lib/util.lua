-- A helper module, loaded with require("lib.util"); edits to it hot-reload the plugin too.
local M = {}

function M.greet(greeting, name, punct)
  return greeting .. " " .. name .. (punct or "")
end

return M
