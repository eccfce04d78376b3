-- The simulator's running state, kept in a JSON file of its config folder (state_path,
-- default state/state.json) so that a plugin reload or a server restart carries it on:
-- the tick number, the incident state and what it was rolled for, the last good
-- overrides list, and the counters (node_exporter, switch ports, PDU energy), which
-- therefore never go backwards. It is written after every tick of the timer (not by the
-- tick that runs inside setup, so loading the plugin aside, as `rackscope check` and
-- config validation do, changes nothing on disk). A missing or unreadable file starts
-- afresh.

local M = {}

M.VERSION = 1

function M.read(path)
  local text = rackscope.fs.read(path)
  if not text then return {} end
  local doc = rackscope.json.decode(text)
  if type(doc) ~= "table" or doc.version ~= M.VERSION then
    rackscope.log.warn("simulator state file " .. path .. " is unreadable; starting afresh")
    return {}
  end
  return doc
end

function M.write(path, doc)
  doc.version = M.VERSION
  local ok, err = rackscope.fs.write(path, rackscope.json.encode(doc))
  if not ok then
    rackscope.log.warn("cannot save the simulator state: " .. tostring(err))
  end
end

return M
