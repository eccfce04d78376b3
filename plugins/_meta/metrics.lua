---@meta rackscope.metrics
-- LuaCATS definitions of `rackscope.metrics` (see rackscope.lua in this folder for the
-- conventions and the core API). Never executed by the server.

---A metric family, returned by `rackscope.metrics.gauge` / `counter`. Call its methods with `:`.
---`labels` is a table keyed by label name (`{node = "n1"}`) or a list of values in
---declaration order (`{"n1"}`); nil when the family has no labels. Values are strings,
---numbers or booleans (written as `tostring` writes them).
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

---------------------------------------------------------------------------------------
-- rackscope.metrics
---------------------------------------------------------------------------------------

---Metrics the plugin publishes in the Prometheus exposition format, on a listener of its own.
---@class rackscope.metrics
rackscope.metrics = {}

---Asks the host to serve this plugin's metrics at `http://<addr>/metrics` (only during setup).
---While the address is taken by another process, the host tries again every second.
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
---asked for, not open yet (during setup), or its address is taken (tried again every second).
---@return string|nil
function rackscope.metrics.listening() end
