-- The example plugin: every part of the rackscope plugin API in one small file.
-- Enable it with `plugins: { hello: { enabled: true } }` in app.yaml and copy this
-- folder under `paths.plugins`. Its config lives in `<dir of app.yaml>/plugins/hello/config.yml`.

local util = require("lib.util")

return {
  id = "hello",
  name = "Hello",
  version = "1.0.0",
  description = "Greets people; shows routes, menus, status maps and config.",

  -- Called with the config before setup, and for every POST /api/plugins/hello/config.
  -- Return true, or nil and a reason (the API answers 422 with it).
  validate_config = function(config)
    if config.greeting ~= nil and type(config.greeting) ~= "string" then
      return nil, "greeting must be a string"
    end
    return true
  end,

  setup = function(config)
    local greeting = config.greeting or "hello"

    rackscope.route("GET", "/api/hello/{name}", function(req)
      if req.params.name == "nobody" then
        error(rackscope.http_error(404, "no such person"))
      end
      return {
        message = util.greet(greeting, req.params.name, req.query.punct),
        greeting = config.greeting,
      }
    end)

    rackscope.route("POST", "/api/hello", function(req)
      if type(req.body) ~= "table" or type(req.body.name) ~= "string" then
        return 422, { detail = "body must be {\"name\": \"...\"}" }
      end
      return 201, { created = req.body.name, by = req.user }
    end)

    rackscope.status_map("hello", { OK = { "happy" }, WARN = { "grumpy" }, CRIT = { "asleep" } })
    rackscope.route("GET", "/api/hello/{name}/mood/{mood}", function(req)
      return { name = req.params.name, severity = rackscope.status.severity("hello", req.params.mood) }
    end)

    rackscope.menu({
      id = "hello", label = "Hello", icon = "Smile", order = 10,
      items = { { id = "hello-home", label = "Home", path = "/hello", icon = "Home" } },
    })
  end,
}
