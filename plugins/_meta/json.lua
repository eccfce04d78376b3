---@meta rackscope.json
-- LuaCATS definitions of `rackscope.json` (see rackscope.lua in this folder for the
-- conventions and the core API). Never executed by the server.

---A JSON document encoded once (`rackscope.json.raw`); returned from a handler it is sent
---as is. `tostring(raw)` gives the text, `#raw` its size in bytes.
---@class rackscope.RawJson

---------------------------------------------------------------------------------------
-- rackscope.json
---------------------------------------------------------------------------------------

---@class rackscope.json
rackscope.json = {}

---Encodes a value as compact JSON text. Raises on values with no JSON form (functions).
---@param value any
---@return string
function rackscope.json.encode(value) end

---Encodes `value` once (a string is taken as JSON text and checked) for answers shared by
---many requests: a handler returning it sends it as is, whatever its size. Return it at
---the top level (nested in a table it is decoded and encoded again).
---
---```lua
---local answer = rackscope.json.raw({ nodes = rackscope.array(list) })   -- once
---rackscope.route("GET", "/api/x/nodes", function() return answer end)    -- per request
---```
---@param value any
---@return rackscope.RawJson
function rackscope.json.raw(value) end

---Decodes JSON text. Returns `nil, err` on bad text.
---
---```lua
---local doc, err = rackscope.json.decode(text)
---```
---@param text string
---@return any|nil value
---@return string|nil err
function rackscope.json.decode(text) end
