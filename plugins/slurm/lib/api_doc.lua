-- What the Slurm plugin's routes take and answer, for the server's API document
-- (GET /api/openapi.json): the description each rackscope.route call in lib/routes.lua
-- passes as its fourth argument. Shapes are the contract's ("Slurm Plugin" in the API
-- reference) plus the names Rackscope's frontend reads (D5), as JSON Schema written as
-- Lua tables.
--
-- Error answers given as a string get the host's error shape ({"detail": ...}).

local M = {}

local SEVERITY = { type = "string", enum = { "OK", "INFO", "WARN", "CRIT", "UNKNOWN" },
  description = "Mapped severity" }
local STRINGS = { type = "array", items = { type = "string" } }
local COUNTS = { type = "object", additionalProperties = { type = "integer", minimum = 0 } }
local ROOM_ECHO = { type = { "string", "null" }, description = "The room asked for; null for all rooms" }
local PROMETHEUS_DOWN = "Prometheus cannot be reached or failed the query: `detail` says why"
local NO_ROOM = "No room with that id in the topology"

local ROOM_QUERY = {
  room_id = { type = "string", description = "Scope to one room; omit for the whole cluster" },
}

-- A {type, loc, msg, input} problem list, as the plugin answers a refused body.
local PROBLEMS = {
  type = "object",
  required = { "detail" },
  description = "The body was refused: each problem with where it is",
  properties = {
    detail = {
      anyOf = {
        { type = "string" },
        {
          type = "array",
          items = {
            type = "object",
            required = { "type", "loc", "msg" },
            properties = {
              type = { type = "string" },
              loc = { type = "array", items = { type = { "string", "integer" } } },
              msg = { type = "string" },
              input = {},
              ctx = { type = "object", description = "The rule's parameters, when it has any" },
            },
          },
        },
      },
    },
  },
}

local NODE_STATE = {
  type = "object",
  required = { "status", "severity", "statuses", "partitions" },
  properties = {
    status = { type = "string", description = "Primary Slurm status (the worst of the node's)" },
    severity = SEVERITY,
    statuses = { type = "array", items = { type = "string" }, description = "All Slurm statuses reported" },
    partitions = { type = "array", items = { type = "string" }, description = "Partitions the node belongs to" },
  },
}

local NODE_ENTRY = {
  type = "object",
  required = { "node", "status", "severity", "statuses", "partitions", "site_id", "room_id", "aisle_id",
    "rack_id", "device_id" },
  properties = {
    node = { type = "string", description = "Slurm node name (after the node mapping)" },
    status = { type = "string" },
    severity = SEVERITY,
    statuses = STRINGS,
    partitions = STRINGS,
  },
}
for _, key in ipairs({ "site_id", "site_name", "room_id", "room_name", "aisle_id", "rack_id", "rack_name",
  "device_id", "device_name" }) do
  NODE_ENTRY.properties[key] = { type = { "string", "null" }, description = "Topology placement; null outside it" }
end

local MAPPING_ENTRY = {
  type = "object",
  required = { "node", "instance" },
  properties = {
    node = { type = "string", description = "Slurm node name or pattern (`*` wildcards)" },
    instance = { type = "string", description = "Topology instance name or pattern" },
  },
}

local CATALOG_ITEM = {
  type = "object",
  required = { "path" },
  properties = {
    id = { type = "string" },
    path = { type = "string", description = "Relative to the plugin's config folder" },
    enabled = { type = "boolean" },
  },
}

M.room_nodes = {
  summary = "Slurm node states of one room",
  description = "Every node of the room, keyed by instance name (nodes Slurm does not report are `unknown`).",
  params = { room_id = { type = "string", description = "The room identifier from the topology" } },
  responses = {
    [200] = {
      type = "object",
      required = { "room_id", "nodes" },
      properties = {
        room_id = { type = "string" },
        nodes = { type = "object", additionalProperties = NODE_STATE, description = "Instance name to node state" },
      },
    },
    [404] = NO_ROOM,
    [503] = PROMETHEUS_DOWN,
  },
}

M.summary = {
  summary = "Node counts by status and severity",
  query = ROOM_QUERY,
  responses = {
    [200] = {
      type = "object",
      required = { "room_id", "total_nodes", "by_status", "by_severity" },
      properties = {
        room_id = ROOM_ECHO,
        total_nodes = { type = "integer", minimum = 0 },
        by_status = COUNTS,
        by_severity = COUNTS,
      },
    },
    [404] = NO_ROOM,
    [503] = PROMETHEUS_DOWN,
  },
}

M.partitions = {
  summary = "Node counts per partition and status",
  query = ROOM_QUERY,
  responses = {
    [200] = {
      type = "object",
      required = { "room_id", "partitions" },
      properties = {
        room_id = ROOM_ECHO,
        partitions = { type = "object", additionalProperties = COUNTS, description = "Partition to status to count" },
      },
    },
    [404] = NO_ROOM,
    [503] = PROMETHEUS_DOWN,
  },
}

M.nodes = {
  summary = "Every node with its Slurm state and placement",
  description = "Sorted by node name.",
  query = ROOM_QUERY,
  responses = {
    [200] = {
      type = "object",
      required = { "room_id", "nodes" },
      properties = { room_id = ROOM_ECHO, nodes = { type = "array", items = NODE_ENTRY } },
    },
    [404] = NO_ROOM,
    [503] = PROMETHEUS_DOWN,
  },
}

M.mapping = {
  summary = "The node mapping in use",
  description = "Slurm node name to topology instance; `error` says why the file on disk is not in use, if it is not.",
  responses = {
    [200] = {
      type = "object",
      required = { "mapping_path", "entries" },
      properties = {
        mapping_path = { type = { "string", "null" } },
        entries = { type = "array", items = MAPPING_ENTRY },
        error = { type = "string" },
      },
    },
  },
}

M.save_mapping = {
  summary = "Replace the node mapping",
  description = "Writes the entries to the configured mapping file and uses them at once.",
  body = {
    type = "object",
    required = { "entries" },
    properties = { entries = { type = "array", items = MAPPING_ENTRY } },
    example = { entries = { { node = "n*", instance = "compute*" } } },
  },
  responses = {
    [200] = {
      type = "object",
      required = { "ok", "saved" },
      properties = { ok = { type = "boolean" }, saved = { type = "integer", minimum = 0 } },
    },
    [400] = "mapping_path is not configured, or cannot be used",
    [422] = PROBLEMS,
    [500] = "The mapping file could not be written",
  },
}

M.catalog = {
  summary = "The Slurm metric catalog",
  responses = {
    [200] = {
      type = "object",
      required = { "metrics", "loaded_files", "available_files" },
      properties = {
        metrics = { type = "array", items = { type = "object" }, description = "Metric definitions, as the catalog files hold them" },
        loaded_files = {
          type = "array",
          items = {
            type = "object",
            required = { "id", "path", "enabled" },
            properties = { id = { type = "string" }, path = { type = "string" }, enabled = { type = "boolean" } },
          },
        },
        available_files = {
          type = "array",
          items = {
            type = "object",
            required = { "name", "path" },
            properties = { name = { type = "string" }, path = { type = "string" } },
          },
        },
      },
    },
  },
}

M.catalog_config = {
  summary = "Choose the catalog files",
  description = "Saves which catalog files are used into the plugin's config and reloads the catalog.",
  body = {
    type = "object",
    properties = {
      metrics_catalogs = {
        type = "array",
        items = { anyOf = { { type = "string" }, CATALOG_ITEM } },
        description = "File names, or {id, path, enabled} objects",
      },
    },
    example = { metrics_catalogs = { "metrics.yaml" } },
  },
  responses = {
    [200] = {
      type = "object",
      required = { "ok", "metrics_catalogs" },
      properties = {
        ok = { type = "boolean" },
        metrics_catalogs = { type = "array", items = { anyOf = { { type = "string" }, CATALOG_ITEM } } },
      },
    },
    [422] = PROBLEMS,
    [500] = "The plugin config could not be written",
  },
}

M.metric_data = {
  summary = "One catalog metric from Prometheus",
  query = {
    metric_id = { type = "string", required = true, description = "Metric ID from the Slurm metrics catalog" },
    scope = { type = "string", description = "Optional scope filter" },
  },
  responses = {
    [200] = {
      type = "object",
      required = { "metric_id", "name", "unit", "scope", "data" },
      properties = {
        metric_id = { type = "string" },
        name = { type = "string" },
        unit = { type = "string" },
        scope = { type = "string" },
        data = { type = "array", description = "Prometheus's result: [{metric, value}]" },
      },
    },
    [404] = "No metric with that id in the catalog",
    [422] = PROBLEMS,
    [503] = PROMETHEUS_DOWN,
  },
}

return M
