---@meta testing
-- LuaCATS definitions of the test API of `rackscope plugin test`, for editors running
-- lua-language-server. It exists in a plugin's test files only (`tests/*_test.lua`),
-- never in the server. Guide: docs/plugins.md, "Testing a plugin".
--
-- A test file runs in the plugin's own sandbox, with the real `rackscope` API (over an
-- empty config folder of its own) and these globals. Each `testing.plugin()` loads the
-- plugin as the server does, in a config folder of its own, with a fake clock and a fake
-- Prometheus, and puts the server's HTTP layer in front of it:
--
--     describe("GET /api/pdu/racks", function()
--       it("sums the PDUs of each rack", function()
--         testing.prometheus.answer("sum by (rack_id) (pdu_watts)", {
--           { { rack_id = "r01" }, 2400 },
--         })
--         local p = testing.plugin({ config = { threshold_w = 2000 } })
--         local res = p:get("/api/pdu/racks")
--         assert.equal(res.status, 200)
--         assert.same(res.body, { { rack_id = "r01", watts = 2400, over = true } })
--       end)
--     end)
--
-- What a test opens (plugins, Prometheus answers) is dropped when it ends; what the file
-- opens at its top level lasts for the file.

---------------------------------------------------------------------------------------
-- Types
---------------------------------------------------------------------------------------

---What `testing.plugin` takes. Every field is optional.
---@class testing.PluginOptions
---The plugin's config file, as a table (written as YAML where the plugin reads it).
---@field config? table
---The topology: a file or folder of the plugin's own (`"tests/fixtures/topology"`), or a
---table from `testing.topology` (or in the single-file form, `{ sites = {...} }`).
---Default: an empty topology.
---@field topology? string|table
---A folder of device templates of the plugin's own. Default: none.
---@field templates? string
---Files of the plugin's config folder before it loads: `{ ["mapping.yaml"] = "..." }`.
---@field files? table<string, string>
---Keys merged into the app.yaml the plugin sees (`{ cache = { ttl_seconds = 10 } }`).
---@field app? table
---`memory_limit_mb`, `instruction_limit`, `request_timeout_seconds`, as in app.yaml.
---@field limits? table
---The plugin is expected not to load: no error is raised, `error` says why (and the routes
---of its `on_load_error`, if any, serve).
---@field fails? boolean

---An answer, as a client reads it.
---@class testing.Response
---@field status integer
---Header values by lower-case name.
---@field headers table<string, string>
---The body as sent.
---@field text string
---The body decoded, when it is JSON (`rackscope.null` for null, arrays marked as arrays).
---@field body any

---What `Plugin:request` takes.
---@class testing.RequestOptions
---Query parameters, added to the path's own (`{ room_id = "hall" }`).
---@field query? table<string, string|number>
---Headers by name.
---@field headers? table<string, string>
---A body: a table (sent as JSON) or a string (sent as is, `Content-Type` JSON unless set).
---@field body? any

---One series of the plugin's metrics registry.
---@class testing.Sample
---@field labels table<string, string>
---@field value number

---A line the plugins (or the host, about them) logged.
---@class testing.LogLine
---"ERROR", "WARN", "INFO" or "DEBUG".
---@field level string
---The plugin id (or folder) it is about, if any.
---@field plugin string|nil
---The message, with the plugin's `file:line` first when it logged it itself.
---@field text string

---A query the fake Prometheus received.
---@class testing.Call
---@field query string
---"instant" or "range".
---@field kind string
---The cache an instant query asked for ("generic", "health", "metrics", "none").
---@field cache? string
---@field start? number
---@field end? number
---@field step? string
---`rackscope.now()` when it came.
---@field at number

---The plugin under test, loaded. Requests go through the server's HTTP layer: the status,
---headers and body a client would get, 404/405 included.
---@class testing.Plugin
---Its id (its folder name while it never loaded).
---@field id string
---@field folder string
---True while an instance of it runs.
---@field running boolean
---The load error, or nil.
---@field error string|nil
local Plugin = {}

---Sends a request. `path` may carry a query string.
---```lua
---local res = p:request("POST", "/api/x/items", { body = { name = "a" } })
---```
---@param method string
---@param path string
---@param opts? testing.RequestOptions
---@return testing.Response
function Plugin:request(method, path, opts) end

---@param path string
---@param opts? testing.RequestOptions
---@return testing.Response
function Plugin:get(path, opts) end

---@param path string
---@param body any
---@param opts? testing.RequestOptions
---@return testing.Response
function Plugin:post(path, body, opts) end

---@param path string
---@param body any
---@param opts? testing.RequestOptions
---@return testing.Response
function Plugin:put(path, body, opts) end

---@param path string
---@param body any
---@param opts? testing.RequestOptions
---@return testing.Response
function Plugin:patch(path, body, opts) end

---@param path string
---@param opts? testing.RequestOptions
---@return testing.Response
function Plugin:delete(path, opts) end

---The text its scrape listener would serve now (the Prometheus exposition of its metrics
---registry; no socket is opened in a test), or nil while it does not run.
---@return string|nil
function Plugin:scrape() end

---Every series of the family `name`.
---@param name string
---@return testing.Sample[]
function Plugin:samples(name) end

---The value of the first series of `name` that has all of `labels`, or nil.
---```lua
---assert.equal(p:metric("node_up", { instance = "n001" }), 1)
---```
---@param name string
---@param labels? table<string, string|number>
---@return number|nil
function Plugin:metric(name, labels) end

---`GET /api/plugins/menu`: its menu sections, as the sidebar gets them.
---@return rackscope.MenuSection[]
function Plugin:menu() end

---`GET /api/plugins/{id}`: running, generation, error, warnings, ...
---@return table
function Plugin:info() end

---Its warnings (`rackscope.plugin.set_warning`), by key.
---@return table<string, string>
function Plugin:warnings() end

---The status map it registered as `name` (status -> severity), or nil.
---@param name string
---@return table<string, string>|nil
function Plugin:status_map(name) end

---What it logged since the test began.
---@return testing.LogLine[]
function Plugin:logs() end

---A file of its config folder, or `nil, err`.
---@param path string
---@return string|nil text
---@return string|nil err
function Plugin:read(path) end

---Writes a file of its config folder (a data file it reads; no reload follows).
---@param path string
---@param text string
---@return true
function Plugin:write(path, text) end

---Reloads it from disk as an edit of its files would: the new instance replaces the old
---only if it loads (`error` says why otherwise).
function Plugin:reload() end

---Stops it: in-flight calls finish, then its `shutdown()` runs and its timers stop.
function Plugin:stop() end

---------------------------------------------------------------------------------------
-- Declaring tests
---------------------------------------------------------------------------------------

---A group of tests; groups nest, and their names prefix the tests'.
---@param name string
---@param fn fun()
function describe(name, fn) end

---A test. It fails at its first error or failed assertion, which is reported with the
---line of the test file.
---@param name string
---@param fn fun()
function it(name, fn) end

---Runs `fn` before each test of the enclosing `describe` (or of the file), outer blocks
---first.
---@param fn fun()
function before_each(fn) end

---Runs `fn` after each test of the enclosing `describe` (or of the file), even a failed
---one, inner blocks first.
---@param fn fun()
function after_each(fn) end

---Lua's own `assert(v, message)`, plus checks that print both sides when they fail.
---@class testing.assert
---@overload fun(v: any, message?: any, ...: any): any
assert = {}

---`actual == expected`.
---@param actual any
---@param expected any
---@param message? string
function assert.equal(actual, expected, message) end

---Deep equality: tables by content (metatables ignored); the first differing key is named.
---@param actual any
---@param expected any
---@param message? string
function assert.same(actual, expected, message) end

---`|actual - expected| <= tolerance` (default 1e-9).
---@param actual number
---@param expected number
---@param tolerance? number
---@param message? string
function assert.near(actual, expected, tolerance, message) end

---`fn` raises, with `text` in its message when given; returns the message.
---@param fn fun()
---@param text? string
---@param message? string
---@return string
function assert.error(fn, text, message) end

---@param v any
---@param message? string
function assert.truthy(v, message) end

---@param v any
---@param message? string
function assert.falsy(v, message) end

---------------------------------------------------------------------------------------
-- testing
---------------------------------------------------------------------------------------

---@class testing
testing = {}

---Loads the plugin under test as the server does (`init.lua`, `validate_config`,
---`setup`) in a config folder of its own, and raises at your line if it does not load
---(unless `opts.fails`).
---```lua
---local p = testing.plugin({ config = { listen = "127.0.0.1:9000" }, topology = testing.topology({...}) })
---```
---@param opts? testing.PluginOptions
---@return testing.Plugin
function testing.plugin(opts) end

---A topology in the single-file form, from a short description: rooms (a list, or a map
---by id) with `aisles` (racks by aisle) and `racks` (standalone). A rack is a nodeset
---(`"cn[001-004]"`), a list of names or nodesets, or `{ nodes = ..., name = ...,
---template = ..., device_template = ... }`; each node becomes a device of that name.
---```lua
---testing.topology({ rooms = { hall = { aisles = { ["hall-a"] = { r01 = "cn[001-004]" } },
---                                      racks = { r99 = { "login1" } } } } })
---```
---@param spec table
---@return table
function testing.topology(spec) end

---What was logged since the test began (all plugins, and the host about them).
---@return testing.LogLine[]
function testing.logs() end

---The fake Prometheus every plugin of the test file queries. A query no answer matches
---fails as `unreachable`, naming the query. The latest matching answer wins.
---@class testing.prometheus
testing.prometheus = {}

---Answers `query` (the exact text, or `{ pattern = "<regular expression>" }` found in
---it) with `data`: a list of series (`{ {labels}, value }`, a vector), or the `data` of a
---Prometheus answer (`testing.prometheus.vector/matrix/scalar`, or your own).
---`opts.delay` makes it take that many seconds on the test clock.
---@param query string|{pattern: string}
---@param data table
---@param opts? {delay?: number}
function testing.prometheus.answer(query, data, opts) end

---Makes `query` fail: `kind` is "unreachable" (default), "timeout" (after the configured
---timeout, on the test clock), "http", "query" or "malformed"; `message` replaces the
---kind's own.
---@param query string|{pattern: string}
---@param kind? string
---@param message? string
---@param opts? {delay?: number}
function testing.prometheus.fail(query, kind, message, opts) end

---An instant vector: `{ { {labels}, value }, ... }`.
---@param series table
---@return table
function testing.prometheus.vector(series) end

---A range matrix: `{ { {labels}, { {t, v}, ... } }, ... }`.
---@param series table
---@return table
function testing.prometheus.matrix(series) end

---@param value number
---@return table
function testing.prometheus.scalar(value) end

---The queries received since the test began.
---@return testing.Call[]
function testing.prometheus.calls() end

---Drops the test's answers and records.
function testing.prometheus.reset() end

---The test clock: `rackscope.now()`, `rackscope.every`, `rackscope.sleep`, request time
---limits and published answers all run on it. It starts at 1700000000 and only moves when
---the test advances it, or when everything waits on a timer (it then jumps to it).
---@class testing.clock
testing.clock = {}

---`rackscope.now()`.
---@return number
function testing.clock.now() end

---Sets the wall-clock time (`rackscope.now()`, `os.time()`); timers do not move.
---@param unix_seconds number
function testing.clock.set(unix_seconds) end

---Moves time forward: every timer that falls due meanwhile fires, in order, and what it
---starts runs. `advance(0)` lets background work (`rackscope.spawn`) run.
---@param seconds number
function testing.clock.advance(seconds) end
