-- What the Simulator's routes take and answer, for the server's API document
-- (GET /api/openapi.json): the description each rackscope.route call in lib/routes.lua
-- passes as its fourth argument, the same for the routes that serve while the simulator
-- cannot load (register_down). Shapes are the contract's ("Simulator Plugin" in the API
-- reference), as JSON Schema written as Lua tables.
--
-- Error answers given as a string get the host's error shape ({"detail": ...}).

local M = {}

local MODES = { "full_ok", "light", "medium", "heavy", "chaos", "custom" }

local NOT_RUNNING = "The simulator is not running (it failed to load, or its listener is closed): `detail` says why"

-- One override, as GET /api/simulator/overrides lists it.
local OVERRIDE = {
  type = "object",
  required = { "id", "instance", "rack_id", "metric", "value", "expires_at" },
  properties = {
    id = { type = { "string", "null" }, description = "Override identifier" },
    instance = { type = { "string", "null" }, description = "Target node instance name" },
    rack_id = { type = { "string", "null" }, description = "Target rack ID (rack-level overrides)" },
    aisle_id = { type = "string", description = "Target aisle (aisle_cooling incidents only)" },
    metric = { type = { "string", "null" }, description = "Metric name to override" },
    value = { type = { "number", "null" }, description = "Override value" },
    expires_at = {
      type = { "integer", "null" },
      description = "Unix timestamp when the override expires, or null if permanent",
    },
  },
}

local OVERRIDES = {
  type = "object",
  required = { "overrides" },
  properties = { overrides = { type = "array", items = OVERRIDE } },
  description = "The active overrides",
}

-- Answers of the routes that write the overrides file.
local function writes(answers)
  answers[409] = "The overrides file on disk is invalid: fix it, or clear it with DELETE /api/simulator/overrides"
  answers[500] = "The overrides file could not be written"
  return answers
end

M.status = {
  summary = "Simulator status",
  description = "Whether the simulator runs, its scrape endpoint and settings. While it cannot load, "
    .. "`running` is false and `error` says why.",
  responses = {
    [200] = {
      type = "object",
      required = { "running", "endpoint", "update_interval", "incident_mode", "changes_per_hour",
        "overrides_count" },
      properties = {
        running = { type = "boolean", description = "Its scrape listener is open and it ticked recently" },
        endpoint = { type = "string", description = "Scrape endpoint used by Prometheus" },
        update_interval = { type = "integer", description = "Metric refresh interval in seconds" },
        incident_mode = { type = "string", enum = MODES, description = "Active incident mode" },
        changes_per_hour = { type = "number", description = "How many times per hour incidents are reshuffled" },
        overrides_count = { type = "integer", minimum = 0, description = "Number of active overrides" },
        tick = { type = { "integer", "null" }, description = "Ticks so far" },
        last_tick_seconds = { type = { "number", "null" }, description = "How long the last tick took" },
        error = { type = { "string", "null" }, description = "Why the simulator is not running" },
        catalogs = {
          type = "array",
          description = "The metric catalogs in use and where each was read from",
          items = {
            type = "object",
            properties = {
              id = { type = "string" },
              path = { type = "string" },
              source = { type = { "string", "null" }, description = "`config` or `bundled`" },
            },
          },
        },
      },
    },
  },
}

M.restart = {
  summary = "Restart the simulator",
  description = "Re-initialises the simulator (re-reading its catalogs and overrides paths).",
  responses = {
    [200] = {
      type = "object",
      required = { "status" },
      properties = { status = { type = "string", const = "restarting" } },
    },
    [503] = NOT_RUNNING,
  },
}

M.incidents = {
  summary = "Trigger an incident",
  description = "Stores the incident as an override that expires after `duration` seconds: `rack_down` "
    .. "brings a rack down, `aisle_cooling` runs an aisle hot.",
  body = {
    type = "object",
    required = { "type", "target_id" },
    properties = {
      type = { type = "string", enum = { "rack_down", "aisle_cooling" } },
      target_id = { type = "string", description = "Rack ID (rack_down) or aisle ID (aisle_cooling)" },
      duration = { type = "integer", minimum = 0, description = "Seconds (default 300); 0 = permanent" },
    },
    example = { type = "rack_down", target_id = "r01-01", duration = 300 },
  },
  responses = writes({
    [200] = {
      type = "object",
      required = { "status", "incident_type", "target_id", "duration", "expires_at" },
      properties = {
        status = { type = "string", const = "triggered" },
        incident_type = { type = "string", enum = { "rack_down", "aisle_cooling" } },
        target_id = { type = "string" },
        duration = { type = "integer" },
        expires_at = { type = { "integer", "null" }, description = "Unix time; null if permanent" },
      },
    },
    [400] = "A field missing or invalid, or a target not in the topology",
    [422] = "The body is not a JSON object",
    [503] = NOT_RUNNING,
  }),
}

M.overrides = {
  summary = "Active overrides",
  responses = { [200] = OVERRIDES, [503] = NOT_RUNNING },
}

M.add_override = {
  summary = "Add an override",
  description = "Forces a metric of a node (`instance`) or a rack (`rack_id`) to `value`, for "
    .. "`ttl_seconds` (0 = permanent; omitted: the plugin's `default_ttl_seconds`). `metric` is an id of "
    .. "GET /api/simulator/metrics or the Prometheus name it emits.",
  body = {
    type = "object",
    required = { "metric", "value" },
    properties = {
      instance = { type = "string", description = "Target node instance name; either instance or rack_id" },
      rack_id = { type = "string", description = "Target rack ID; either instance or rack_id" },
      metric = { type = "string", description = "Metric to override (see GET /api/simulator/metrics)" },
      value = { type = "number", description = "Value to inject" },
      ttl_seconds = { type = "integer", minimum = 0, description = "Duration in seconds; 0 = permanent" },
      id = { type = "string", description = "The override's id (default: made from target, metric and time)" },
    },
    example = { instance = "compute001", metric = "up", value = 0, ttl_seconds = 0 },
  },
  responses = writes({
    [200] = OVERRIDES,
    [400] = "A field missing or invalid, an unknown metric, or a target not in the topology",
    [422] = "The body is not a JSON object",
    [503] = NOT_RUNNING,
  }),
}

M.clear_overrides = {
  summary = "Clear every override",
  responses = { [200] = OVERRIDES, [500] = "The overrides file could not be written", [503] = NOT_RUNNING },
}

M.delete_override = {
  summary = "Delete one override",
  params = { override_id = { type = "string", description = "The override ID returned by GET /api/simulator/overrides" } },
  responses = writes({
    [200] = OVERRIDES,
    [404] = "No override with that id",
    [503] = NOT_RUNNING,
  }),
}

M.metrics = {
  summary = "Metrics available for overrides",
  responses = {
    [200] = {
      type = "object",
      required = { "metrics" },
      properties = {
        metrics = {
          type = "array",
          items = {
            type = "object",
            required = { "id", "name", "unit", "category" },
            properties = {
              id = { type = "string", description = "Metric identifier used in override requests" },
              name = { type = "string", description = "Human-readable metric name" },
              unit = { type = "string", description = "Measurement unit (empty if dimensionless)" },
              category = { type = "string", description = "Grouping category (compute, temperature, power, ...)" },
              metric = { type = "string", description = "The Prometheus metric it changes" },
            },
          },
        },
      },
    },
  },
}

return M
