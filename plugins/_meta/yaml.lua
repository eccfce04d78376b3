---@meta rackscope.yaml
-- LuaCATS definitions of `rackscope.yaml` (see rackscope.lua in this folder for the
-- conventions and the core API). Never executed by the server.

---------------------------------------------------------------------------------------
-- rackscope.yaml
---------------------------------------------------------------------------------------

---@class rackscope.yaml
rackscope.yaml = {}

---Encodes a value as YAML text. Raises on values with no YAML form.
---@param value any
---@return string
function rackscope.yaml.encode(value) end

---Decodes YAML text (an empty document gives `{}`). Returns `nil, err` on bad text.
---@param text string
---@return any|nil value
---@return string|nil err
function rackscope.yaml.decode(text) end
