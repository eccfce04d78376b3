---@meta rackscope
-- LuaCATS definitions of the rackscope plugin API, for editors running
-- lua-language-server. This file is never executed by the server.
--
-- Point your editor at this folder (see docs/plugins.md, "Editor setup"), for example
-- with a `.luarc.json` at the root of your plugins folder:
--
--     { "runtime.version": "Lua 5.4",
--       "workspace.library": ["/path/to/rackscope/plugins/_meta"],
--       "diagnostics.globals": ["rackscope"] }
--
-- Conventions: misuse (a wrong argument type, a registration after setup) raises an error
-- at the caller's line, worded like Lua's own:
--     plugins/hello/init.lua:12: bad argument #1 to 'rackscope.route' (string expected, got nil)
-- Expected failures (Prometheus down, a missing file, bad JSON text) return `nil, err`.

---------------------------------------------------------------------------------------
-- Types
---------------------------------------------------------------------------------------

---The table `init.lua` returns. Only `id` is required.
---
---```lua
---return {
---  id = "hello", name = "Hello", version = "1.0.0",
---  setup = function(config)
---    rackscope.route("GET", "/api/hello/{name}", function(req)
---      return { message = "hello " .. req.params.name }
---    end)
---  end,
---}
---```
---@class rackscope.Plugin
---Plugin id: `^[a-z0-9][a-z0-9._-]{0,127}$`; unique across loaded plugins. `GET /api/plugins/{id}` uses it.
---@field id string
---Display name (default: the id).
---@field name? string
---Version string (default: "1.0.0").
---@field version? string
---@field description? string
---@field author? string
---Path of the config file, relative to the plugin's config folder (default: "config.yml"). No `..`, not absolute.
---@field config_file? string
---Called with the config before `setup`, on every load and for every `POST /api/plugins/{id}/config`.
---Return `true` to accept; `nil|false, reason` to refuse (the load fails; the API answers 422 with the reason).
---Returning nothing counts as a refusal.
---@field validate_config? fun(config: table): (ok: boolean|nil, reason: string|nil)
---Called once per load with the plugin's config. Registration (`route`, `menu`, `status_map`,
---`metrics.serve`) is only open until it returns. An error here fails the load.
---@field setup? fun(config: table)
---Called with the app config (secrets removed) when app.yaml changes and the plugin stays enabled.
---@field on_config_reload? fun(app_config: table)
---Called once when the instance stops (reload, disable, server shutdown), after in-flight requests finished.
---@field shutdown? fun()

---The request a route handler receives.
---@class rackscope.Request
---Upper-case method: "GET", "POST", "PUT", "PATCH", "DELETE" (or "HEAD", served by a GET route).
---@field method string
---The request path, e.g. "/api/hello/bob" (without the query string).
---@field path string
---Path parameters by name, percent-decoded: `/api/hello/{name}` gives `params.name`.
---@field params table<string, string>
---Query string parameters (a repeated key keeps its last value).
---@field query table<string, string>
---Request headers with lower-case names. `authorization`, `cookie` and `proxy-authorization` are removed.
---@field headers table<string, string>
---The decoded JSON body; nil when the body is empty. JSON null arrives as `rackscope.null`.
---@field body? any
---The authenticated user name, when auth is enabled and the request carries a valid token.
---@field user? string

---A sidebar menu item.
---@class rackscope.MenuItem
---@field id string
---@field label string
---Front-end path the item links to, e.g. "/hello".
---@field path string
---Icon name, e.g. "Home".
---@field icon? string

---A sidebar menu section. Sections from all plugins are sorted by `order`, then `id`.
---@class rackscope.MenuSection
---@field id string
---@field label string
---@field icon? string
---Sort key (default 100).
---@field order? integer
---@field items? rackscope.MenuItem[]

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

---A metric family, returned by `rackscope.metrics.gauge` / `counter`. Call its methods with `:`.
---`labels` is a table keyed by label name (`{node = "n1"}`) or a list of values in
---declaration order (`{"n1"}`); nil when the family has no labels.
---@class rackscope.MetricFamily
---@field name string
local MetricFamily = {}

---Sets one series to `value`.
---
---```lua
---up:set({ node = "n001" }, 1)
---```
---@param labels table|nil
---@param value number
function MetricFamily:set(labels, value) end

---Adds `by` (default 1) to one series (created at 0).
---@param labels table|nil
---@param by? number
function MetricFamily:inc(labels, by) end

---Removes one series. Returns true if it existed.
---@param labels table|nil
---@return boolean removed
function MetricFamily:remove(labels) end

---Removes every series of this family (the family stays declared). Handles taken
---before are invalid afterwards.
function MetricFamily:clear() end

---Returns the handle of one series (creating it at 0): a positive integer, stable until
---`clear()`, for bulk updates with `set_many`.
---
---```lua
---local h = temp:series({ node = "n001" })
---```
---@param labels table|nil
---@return integer handle
function MetricFamily:series(labels) end

---Sets many series in one call. With one array, `values[h]` is the value of the series
---whose handle is `h` (nil entries are skipped); with two parallel arrays, `handles[i]`
---gets `values[i]`. Returns how many series were set. Hundreds of thousands of samples
---per call take tens of milliseconds.
---
---```lua
---local values = {}
---for i, h in ipairs(handles) do values[h] = read_temperature(i) end
---temp:set_many(values)
---```
---@param values_or_handles number[]|integer[]
---@param values? number[]
---@return integer count
function MetricFamily:set_many(values_or_handles, values) end

---The family's series over every row of a label table (`rackscope.metrics.label_table`),
---plus constant `extras` labels. The table's columns and the extras together must be
---exactly the family's labels, and no series may repeat one the family already has.
---The same table and extras again return the same block. Rows are absent from scrapes
---until they get a value.
---
---```lua
---local nodes = rackscope.metrics.label_table({ node = names, rack = racks })
---local cpu = rackscope.metrics.gauge("node_cpu_seconds_total", "CPU", { "node", "rack", "mode" })
---local idle = cpu:block(nodes, { mode = "idle" })
---idle:set_many(values)      -- values[i] for row i
---```
---@param table rackscope.LabelTable
---@param extras? table<string, string>
---@return rackscope.Block
function MetricFamily:block(table, extras) end

---The label values of many rows, built once with `rackscope.metrics.label_table` and
---shared by every family that publishes over the same rows. `#t` or `t:size()` is the
---row count.
---@class rackscope.LabelTable
local LabelTable = {}

---Number of rows.
---@return integer
function LabelTable:size() end

---A family's series over the rows of a label table (`family:block`). Row numbers are
---1-based, in the table's order.
---@class rackscope.Block
local Block = {}

---Updates many rows in one call: `values[i]` a number sets row i, `false` removes it from
---scrapes, nil leaves it. `n` (default `#values`) is how many entries to read, so a
---sparse array of changes works. Returns how many rows were touched.
---@param values (number|false|nil)[]
---@param n? integer
---@return integer count
function Block:set_many(values, n) end

---Sets row `i` to `v`, or removes it with nil or false. False if `i` is out of range.
---@param i integer
---@param v number|false|nil
---@return boolean
function Block:set(i, v) end

---Sets every row to `v`, or removes every row with false.
---@param v number|false
function Block:fill(v) end

---Removes row `i` from scrapes. Returns true if it had a value.
---@param i integer
---@return boolean
function Block:remove(i) end

---The number of rows, and of rows that have a value.
---@return integer rows
---@return integer present
function Block:size() end

---The handle `rackscope.every` returns.
---@class rackscope.Timer
local Timer = {}

---Stops the timer; the callback is not called again.
function Timer.cancel() end

---One placement of a node instance in the topology.
---@class rackscope.Placement
---@field site_id string
---@field site_name string
---@field room_id string
---@field room_name string
---nil for a rack that is not in an aisle.
---@field aisle_id? string
---@field aisle_name? string
---@field rack_id string
---@field rack_name string
---@field device_id string
---@field device_name string
---@field template_id string

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

---A JSON document encoded once (`rackscope.json.raw`); returned from a handler it is sent
---as is. `tostring(raw)` gives the text, `#raw` its size in bytes.
---@class rackscope.RawJson

---A placement with the instance name (`rackscope.topology.instances()`).
---@class rackscope.NamedPlacement: rackscope.Placement
---@field name string

---`rackscope.plugin`: where this plugin is.
---@class rackscope.PluginInfo
---The plugin's folder name (the key under `plugins:` in app.yaml).
---@field folder string
---The plugin's config folder, `<dir of app.yaml>/plugins/<folder>`.
---@field config_dir string

---@alias rackscope.Method "GET"|"POST"|"PUT"|"PATCH"|"DELETE"
---@alias rackscope.Severity "OK"|"INFO"|"WARN"|"CRIT"|"UNKNOWN"
---@alias rackscope.CacheKind "generic"|"health"|"metrics"|"none"

---A route handler: return a body (status 200), or a status and a body.
---@alias rackscope.Handler fun(req: rackscope.Request): (integer|any, any?)

---------------------------------------------------------------------------------------
-- The rackscope global
---------------------------------------------------------------------------------------

---@class rackscope
rackscope = {}

---Registers a route (only during setup). The path is absolute, `{name}` matches one whole
---segment. Paths under /api/config, /api/env, /api/system, /api/plugins, /api/auth and
---/healthz are refused. Non-GET routes pass the same admin check as the core state-changing routes.
---
---The handler returns `tbl` (200) or `status, tbl`; raise `rackscope.http_error` for an error answer.
---
---```lua
---rackscope.route("GET", "/api/hello/{name}", function(req)
---  return { message = "hello " .. req.params.name }
---end)
---rackscope.route("POST", "/api/hello", function(req)
---  return 201, { created = req.body.name }
---end)
---```
---@param method rackscope.Method case-insensitive
---@param path string e.g. "/api/hello/{name}"
---@param handler rackscope.Handler
function rackscope.route(method, path, handler) end

---Adds sidebar menu sections (only during setup): a section, a list of sections, or a
---function returning either, called on each `GET /api/plugins/menu` (a failing function is
---logged and its sections skipped).
---
---```lua
---rackscope.menu({ id = "hello", label = "Hello", icon = "Smile", order = 10,
---  items = { { id = "hello-home", label = "Home", path = "/hello" } } })
---rackscope.menu(function() return { id = "lab", label = "Lab " .. os.date("%H:%M"), items = {} } end)
---```
---@param section rackscope.MenuSection|rackscope.MenuSection[]
---@overload fun(fn: fun(): (rackscope.MenuSection|rackscope.MenuSection[]|nil))
function rackscope.menu(section) end

---Registers a named status map (only during setup), used by `rackscope.status.severity`
---from this and every other plugin. Two forms (mixable); status names are case-insensitive;
---`default` gives the severity of unlisted statuses (otherwise UNKNOWN).
---
---```lua
---rackscope.status_map("slurm", { OK = { "idle", "allocated" }, CRIT = { "down", "drain" }, default = "WARN" })
---rackscope.status_map("pdu", { on = "OK", off = "CRIT" })
---```
---@param name string
---@param map table<string, rackscope.Severity|string[]>
function rackscope.status_map(name, map) end

---@class rackscope.status
rackscope.status = {}

---The severities, best first: `{"OK", "INFO", "WARN", "CRIT", "UNKNOWN"}`.
---@type rackscope.Severity[]
rackscope.status.SEVERITIES = {}

---The severity of `status` under the status map `name` (this plugin's, else any loaded
---plugin's). A nil status gives "UNKNOWN"; an unknown map name raises.
---
---```lua
---rackscope.status.severity("slurm", "drain") --> "CRIT"
---```
---@param name string
---@param status string|nil
---@return rackscope.Severity
function rackscope.status.severity(name, status) end

---Builds an error value; raise it with `error(...)` to answer with `status` and
---`{"detail": detail}`. `detail` may be any JSON-able value; it defaults to the reason
---phrase ("Not Found").
---
---```lua
---error(rackscope.http_error(404, "no such node"))
---```
---@param status integer 400..599
---@param detail? any
---@return any err
function rackscope.http_error(status, detail) end

---Calls `fn` every `seconds` (at least 0.05), first after one interval. Each call has its
---own instruction budget; an error is logged and the timer goes on. Timers stop with the
---plugin instance (reload, disable).
---
---```lua
---local t = rackscope.every(30, function() refresh() end)
---t.cancel()
---```
---@param seconds number
---@param fn fun()
---@return rackscope.Timer
function rackscope.every(seconds, fn) end

---Marks `t` (or a new empty table) as a JSON array, so an empty one encodes as `[]`, not `{}`.
---
---```lua
---return { nodes = rackscope.array() }   --> {"nodes": []}
---```
---@generic T: table
---@param t? T
---@return T
function rackscope.array(t) end

---True when `v` is a table marked as a JSON array: a JSON or YAML array decoded by the
---host (`req.body`, `rackscope.json.decode`, ...) or a table passed to `rackscope.array`.
---This is how a handler tells a JSON `[]` from `{}` in `req.body`: both arrive as empty
---tables, but only `[]` is marked.
---
---```lua
---if not rackscope.is_array(req.body.entries) then
---  error(rackscope.http_error(422, "entries must be a list"))
---end
---```
---@param v any
---@return boolean
function rackscope.is_array(v) end

---The JSON null value. Decoded JSON/YAML nulls (request bodies, configs) compare equal to it.
---
---```lua
---return { value = rackscope.null }       --> {"value": null}
---```
---@type lightuserdata
rackscope.null = nil

---Waits `seconds` (0..3600) without blocking: other requests to the plugin go on meanwhile.
---`sleep(0)` only lets the plugin's other tasks run, then goes on: call it now and then in
---a long computation so requests are not held for all of it.
---@param seconds number
function rackscope.sleep(seconds) end

---Runs `fn()` as a task of its own, with its own instruction budget, and returns at once
---(for example to refresh a cache in the background while the handler answers with what
---it has). An error in `fn` is logged. The task stops with the plugin instance.
---
---```lua
---rackscope.spawn(function() refresh_cache() end)
---```
---@param fn fun()
function rackscope.spawn(fn) end

---Calls `fn()` unless a call with the same `key` is already running in this plugin; then
---waits for that one and returns its results (or raises its error). Concurrent requests
---on a cold cache thus share one query and one computation. If the running call is
---cancelled (its client went away), a waiter runs `fn` itself.
---
---```lua
---local state = rackscope.single_flight("state", function() return compute(fetch()) end)
---```
---@generic T
---@param key string
---@param fn fun(): T
---@return T
function rackscope.single_flight(key, fn) end

---The current time in seconds since the Unix epoch, with a fractional part.
---@return number
function rackscope.now() end

---Where this plugin is.
---@type rackscope.PluginInfo
rackscope.plugin = {}

---Asks the host to reload this plugin from disk, as an edit of its files would, even if
---no file changed (to re-read data files that setup reads: catalogs, mappings). Like
---every reload it is transactional: the new instance replaces this one only if it loads;
---otherwise this one keeps serving and `GET /api/plugins/{id}` shows the error. The reload
---starts after the current call returns. Only after setup.
---
---```lua
---rackscope.route("POST", "/api/sim/restart", function()
---  rackscope.plugin.reload()
---  return { status = "restarting" }
---end)
---```
function rackscope.plugin.reload() end

---Reports a problem the plugin runs around (a hand-broken data file it ignores), shown
---under `key` in the `warnings` object of `GET /api/plugins/{id}` and logged when it
---appears, changes or clears; `message = nil` clears `key`. At most 100 keys, messages
---cut at 2,000 bytes. A new instance starts with none.
---
---```lua
---rackscope.plugin.set_warning("mapping", "mapping.yaml line 3 is invalid; last good mapping kept")
---rackscope.plugin.set_warning("mapping", nil)
---```
---@param key string
---@param message string|nil
function rackscope.plugin.set_warning(key, message) end

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

---------------------------------------------------------------------------------------
-- rackscope.config
---------------------------------------------------------------------------------------

---@class rackscope.config
rackscope.config = {}

---The app config (app.yaml as the server runs it), read-only, secrets removed.
---@return table
function rackscope.config.app() end

---This plugin's config as currently loaded (the same table `setup` got, updated by `save`).
---@return table
function rackscope.config.plugin() end

---The path of this plugin's config file.
---@return string
function rackscope.config.path() end

---Replaces this plugin's config file with `tbl` (YAML, atomic write; comments are not
---kept). The edit reloads the plugin like any file edit.
---
---```lua
---local ok, err = rackscope.config.save({ greeting = "hey" })
---```
---@param tbl table a table with string keys
---@return true|nil ok
---@return string|nil err
function rackscope.config.save(tbl) end

---------------------------------------------------------------------------------------
-- rackscope.topology
---------------------------------------------------------------------------------------

---Read-only views of the running topology; each call sees the current one.
---@class rackscope.topology
rackscope.topology = {}

---Every site, nested (rooms, aisles, racks, devices), in the Rackscope JSON shape.
---@return table[]
function rackscope.topology.sites() end

---Every room, flattened, each with its `site_id`.
---@return table[]
function rackscope.topology.rooms() end

---One room by id, or nil.
---@param id string
---@return table|nil
function rackscope.topology.room(id) end

---One rack by id, or nil.
---@param id string
---@return table|nil
function rackscope.topology.rack(id) end

---One device template by id (`id`, `name`, `type`, `storage_type`, `u_height`, `layout`,
---`disk_layout`, ...), or nil.
---@param id string
---@return table|nil
function rackscope.topology.template(id) end

---Every aisle (or those of one room), flattened, in topology order.
---@param room_id? string
---@return {id: string, name: string, site_id: string, room_id: string, racks: string[]}[]
function rackscope.topology.aisles(room_id) end

---Every rack (or those of one room), flattened, in topology order, without devices.
---`aisle_id` is nil for a standalone rack.
---@param room_id? string
---@return {id: string, name: string, site_id: string, room_id: string, aisle_id: string?, template_id: string?, u_height: integer, device_count: integer}[]
function rackscope.topology.racks(room_id) end

---The devices of one rack in file order, each with `instances` (its node names in slot
---order); nil for an unknown rack.
---
---```lua
---for _, d in ipairs(rackscope.topology.devices("r01") or {}) do print(d.id, #d.instances) end
---```
---@param rack_id string
---@return table[]|nil
function rackscope.topology.devices(rack_id) end

---Where a node instance is, or nil.
---
---```lua
---local p = rackscope.topology.instance("compute001")
---if p then print(p.room_id, p.rack_id) end
---```
---@param name string
---@return rackscope.Placement|nil
function rackscope.topology.instance(name) end

---Every node instance in topology order, optionally only those of one room.
---@param room_id? string
---@return rackscope.NamedPlacement[]
function rackscope.topology.instances(room_id) end

---Expands a nodeset pattern: `"compute[001-004]"` gives
---`{"compute001", "compute002", "compute003", "compute004"}`. Raises on a range over 10000 names.
---@param pattern string
---@return string[]
function rackscope.topology.expand(pattern) end

---A number that changes whenever the running state (topology, app config) is reloaded:
---what you derive from the topology stays valid while it does not change.
---
---```lua
---if index_gen ~= rackscope.topology.generation() then rebuild_index() end
---```
---@return integer
function rackscope.topology.generation() end

---------------------------------------------------------------------------------------
-- rackscope.json / rackscope.yaml
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

---------------------------------------------------------------------------------------
-- rackscope.fs
---------------------------------------------------------------------------------------

---File access confined to the plugin's config folder (`rackscope.plugin.config_dir`).
---Paths are relative to it; absolute paths, `..` and symlinks leading out raise.
---@class rackscope.fs
rackscope.fs = {}

---Reads a whole text file.
---
---```lua
---local text, err = rackscope.fs.read("overrides.yaml")
---```
---@param path string
---@return string|nil text
---@return string|nil err
function rackscope.fs.read(path) end

---Writes a whole text file atomically (write to a temporary file, then rename).
---@param path string
---@param text string
---@return true|nil ok
---@return string|nil err
function rackscope.fs.write(path, text) end

---Whether the path exists.
---@param path string
---@return boolean
function rackscope.fs.exists(path) end

---The sorted entry names of a directory (default: the config folder itself).
---@param path? string
---@return string[]|nil names
---@return string|nil err
function rackscope.fs.list(path) end

---A read-modify-write that no other process can interleave (an advisory lock on
---`.<name>.lock` next to the file, held from the read to the write): `fn(text)` gets the
---current text (nil when the file does not exist) and returns the new text, or nil to
---leave the file as it is. Returns the text afterwards, or `nil, err` (locked by another
---writer for more than 10 s, IO error). Every writer of the file must use it.
---
---```lua
---rackscope.fs.update("counter.txt", function(t) return tostring((tonumber(t) or 0) + 1) end)
---```
---@param path string
---@param fn fun(text: string|nil): string|nil
---@return string|nil text
---@return string|nil err
function rackscope.fs.update(path, fn) end

---------------------------------------------------------------------------------------
-- rackscope.metrics
---------------------------------------------------------------------------------------

---Metrics the plugin publishes in the Prometheus exposition format, on a listener of its own.
---@class rackscope.metrics
rackscope.metrics = {}

---Asks the host to serve this plugin's metrics at `http://<addr>/metrics` (only during setup).
---
---```lua
---rackscope.metrics.serve("127.0.0.1:9000")
---```
---@param addr string "ip:port"
function rackscope.metrics.serve(addr) end

---Declares (or gets, if declared identically) a gauge family.
---
---```lua
---local temp = rackscope.metrics.gauge("node_temperature_celsius", "Node temperature", { "node" })
---temp:set({ node = "n001" }, 41.5)
---```
---@param name string Prometheus metric name
---@param help? string
---@param labels? string[] label names
---@return rackscope.MetricFamily
function rackscope.metrics.gauge(name, help, labels) end

---Declares (or gets, if declared identically) a counter family.
---
---```lua
---local jobs = rackscope.metrics.counter("sim_events_total", "Events", { "kind" })
---jobs:inc({ kind = "fail" })
---```
---@param name string
---@param help? string
---@param labels? string[]
---@return rackscope.MetricFamily
function rackscope.metrics.counter(name, help, labels) end

---Removes every series of every family of this plugin.
function rackscope.metrics.clear() end

---The label values of many rows, for bulk series (`family:block`). Each column is a
---list of values, one per row, or one value for every row; all lists have the same
---length, and at least one column is a list. Rows must be unique. Build a table once and
---share it between families: 14,000 rows cost a few milliseconds.
---
---```lua
---local nodes = rackscope.metrics.label_table({
---  instance = { "n001", "n002" }, rack_id = { "r1", "r1" }, job = "node",
---})
---```
---@param columns table<string, string[]|string>
---@return rackscope.LabelTable
function rackscope.metrics.label_table(columns) end

---The address of this plugin's open scrape listener ("127.0.0.1:9000"), or nil: none
---asked for, not open yet (during setup), or it could not be bound.
---@return string|nil
function rackscope.metrics.listening() end
