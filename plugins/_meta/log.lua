---@meta rackscope.log
-- LuaCATS definitions of `rackscope.log` (see rackscope.lua in this folder for the
-- conventions and the core API). Never executed by the server.



---------------------------------------------------------------------------------------
-- rackscope.log
---------------------------------------------------------------------------------------

---Log lines through the server log, tagged with the plugin id and the caller's file:line.
---Arguments are converted with tostring and joined with spaces. `print(...)` is `log.info`.
---@class rackscope.log
rackscope.log = {}

---@param ... any
function rackscope.log.debug(...) end
---@param ... any
function rackscope.log.info(...) end
---@param ... any
function rackscope.log.warn(...) end
---@param ... any
function rackscope.log.error(...) end
