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
---Called in a fresh instance, instead of `validate_config` and `setup`, when the plugin cannot
---load and no earlier instance runs: register what explains the failure (a status route, 503s
---for actions, the menu). `error` is the load error's first line; `config` the config file as
---read, unvalidated (nil when unreadable). It serves until the plugin loads.
---@field on_load_error? fun(error: string, config: table|nil)
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

---The handle `rackscope.every` returns.
---@class rackscope.Timer
local Timer = {}

---Stops the timer; the callback is not called again.
function Timer.cancel() end

---@alias rackscope.Method "GET"|"POST"|"PUT"|"PATCH"|"DELETE"
---@alias rackscope.Severity "OK"|"INFO"|"WARN"|"CRIT"|"UNKNOWN"
---@alias rackscope.CacheKind "generic"|"health"|"metrics"|"none"

---A route handler: return a body (status 200), or a status and a body.
---@alias rackscope.Handler fun(req: rackscope.Request): (integer|any, any?)

-- Route descriptions (the API document, GET /api/openapi.json) ------------------------

---A JSON Schema (draft 2020-12, as OpenAPI 3.1 takes it) written as a Lua table:
---`type`, `properties`, `required`, `items`, `enum`, `additionalProperties`, `anyOf`,
---`minimum`, `pattern`, `description`, `example`... Unknown keywords and `$ref` are refused.
---@alias rackscope.Schema table|boolean

---A query parameter: its JSON Schema, plus `required = true` when the route needs it.
---@class rackscope.QueryParam: table
---@field required? boolean

---What a route takes and answers, for the API document. Every part is optional; a
---malformed description fails the load, naming the route.
---
---```lua
---{ summary = "One item",
---  params = { id = { type = "string", description = "The item's id" } },
---  query = { verbose = { type = "boolean" }, limit = { type = "integer", required = true } },
---  body = { type = "object", properties = { name = { type = "string" } }, example = { name = "x" } },
---  responses = { [200] = { type = "object", properties = { id = { type = "string" } } },
---                [404] = "No such item" } }
---```
---@class rackscope.RouteDoc
---One line, shown beside the route.
---@field summary? string
---@field description? string
---Path parameters by name (each must be a `{name}` of the path): their schema. Default: a string.
---@field params? table<string, rackscope.Schema>
---Query parameters by name.
---@field query? table<string, rackscope.QueryParam>
---The JSON body's schema (the body is then required); an `example` in it shows in the docs.
---@field body? rackscope.Schema
---Answers by status: a schema (its `description` describes the answer), or a description
---string for an error answered with the host's `{"detail": ...}`. The host adds the answers
---every plugin route can get (401, 403 for writes, 404, 413, 415, 422, 500, 503, 504).
---@field responses? table<integer, rackscope.Schema|string>

---------------------------------------------------------------------------------------
-- The rackscope global
---------------------------------------------------------------------------------------

---@class rackscope
rackscope = {}

---Registers a route (only during setup). The path is absolute, `{name}` matches one whole
---segment. Paths under the core's prefixes (/api/config, /api/plugins, /api/auth, /api/sites,
---/api/docs, /api/openapi.json, ... and /healthz) are refused. Non-GET routes pass the same admin check as the core state-changing routes.
---
---The handler returns `tbl` (200) or `status, tbl`; raise `rackscope.http_error` for an error answer.
---The optional `description` (summary, parameters, body and answers as JSON Schema) goes into
---the API document, `GET /api/openapi.json`; a malformed one raises, naming the route.
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
---@param description? rackscope.RouteDoc
function rackscope.route(method, path, handler, description) end

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
---cancelled (its client went away), a waiter runs `fn` itself. Calling it for the same
---`key` from inside `fn` raises (it would wait for itself).
---
---```lua
---local state = rackscope.single_flight("state", function() return compute(fetch()) end)
---```
---@generic T
---@param key string
---@param fn fun(): T
---@return T
function rackscope.single_flight(key, fn) end

---Hands the server an answer for `GET path` (with its query string exactly as clients
---send it, if any): until `ttl_seconds` have passed or it is withdrawn, the server answers
---200 with `body` itself, without calling the plugin (after the auth gate). The route must
---exist; its handler runs again once the answer expires. At most 10,000 answers per
---instance; a reload starts with none.
---
---```lua
---rackscope.publish("/api/x/summary", rackscope.json.raw(summary), 30)
---```
---@param path string "/api/x/summary" or "/api/x/summary?room_id=r1"
---@param body any a JSON value or a `rackscope.json.raw` value
---@param ttl_seconds number 0 < ttl <= 86400
function rackscope.publish(path, body, ttl_seconds) end

---Withdraws the answer published for `path`, or every published answer when `path` is nil.
---@param path? string
function rackscope.unpublish(path) end

---The current time in seconds since the Unix epoch, with a fractional part.
---@return number
function rackscope.now() end
