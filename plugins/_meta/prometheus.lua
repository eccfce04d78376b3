---@meta rackscope.prometheus
-- LuaCATS definitions of `rackscope.prometheus` (see rackscope.lua in this folder for the
-- conventions and the core API). Never executed by the server.

---The error `rackscope.prometheus.query` / `query_range` return as their second value.
---`tostring(err)` and `"..." .. err` give the message.
---@class rackscope.PromError
---"unreachable" | "timeout" | "http" | "query" | "malformed" | "config" | "request" | "internal"
---@field kind string
---@field message string

---The `data` part of a Prometheus answer.
---@class rackscope.PromData
---"vector" | "matrix" | "scalar" | "string"
---@field resultType string
---For a vector: `{ {metric = {...}, value = {ts, "v"}}, ... }`; for a matrix: `values` instead of `value`.
---@field result any
---True when a clustered engine answered from part of its data (a storage node down).
---@field partial? boolean
---Prometheus's warnings about the answer, if any.
---@field warnings? string[]

---An instant vector in columnar form (`rackscope.prometheus.query(q, {columns = ...})`):
---row `i` is `labels.<name>[i]` and `values[i]`.
---@class rackscope.PromColumns
---Always "vector".
---@field resultType string
---Number of series.
---@field count integer
---One list per requested label; `""` where a series does not have the label.
---@field labels table<string, string[]>
---The sample values, as numbers (NaN and +-Inf included).
---@field values number[]

---------------------------------------------------------------------------------------
-- rackscope.prometheus
---------------------------------------------------------------------------------------

---@class rackscope.prometheus
rackscope.prometheus = {}

---Runs an instant query against the configured Prometheus. The calling handler yields
---while it waits. `opts.cache` picks the cache TTL: "generic" (default, `cache.ttl_seconds`),
---"health", "metrics", or "none". `opts.columns` (label names) returns a vector in
---columnar form (`rackscope.PromColumns`), much cheaper for large answers; a result that
---is not a vector is then an error of kind "query".
---
---```lua
---local data, err = rackscope.prometheus.query('up{job="node"}', { cache = "health" })
---if not data then error(rackscope.http_error(502, "Prometheus: " .. err)) end
---for _, s in ipairs(data.result) do print(s.metric.instance, s.value[2]) end
---local c = rackscope.prometheus.query("up", { columns = { "instance" } })
---for i = 1, c.count do print(c.labels.instance[i], c.values[i]) end
---```
---@param promql string
---@param opts? { cache?: rackscope.CacheKind, columns?: string[] }
---@return rackscope.PromData|rackscope.PromColumns|nil data
---@return rackscope.PromError|nil err
function rackscope.prometheus.query(promql, opts) end

---Runs a range query. `start`/`end_` are Unix seconds; `step` is seconds (number) or a
---Prometheus duration ("5m"), default "60s".
---
---```lua
---local now = rackscope.now()
---local data, err = rackscope.prometheus.query_range("node_load1", now - 3600, now, 60)
---```
---@param promql string
---@param start number
---@param end_ number
---@param step? number|string
---@return rackscope.PromData|nil data
---@return rackscope.PromError|nil err
function rackscope.prometheus.query_range(promql, start, end_, step) end
