---@meta rackscope.fs
-- LuaCATS definitions of `rackscope.fs` (see rackscope.lua in this folder for the
-- conventions and the core API). Never executed by the server.



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

---Reads a whole text file the plugin ships in its code folder (`rackscope.plugin.code_dir`),
---such as its default catalogs. Read-only; paths are relative to the code folder.
---
---```lua
---local text = rackscope.fs.read("catalog.yaml") or rackscope.fs.read_bundled("defaults/catalog.yaml")
---```
---@param path string
---@return string|nil text
---@return string|nil err
function rackscope.fs.read_bundled(path) end

---Reads the user's file from the config folder, or, when it does not exist there, the
---plugin's own default from its code folder: `text, "config"` or `text, "bundled"`, or
---`nil, err` naming both. A file that exists but cannot be read is that error.
---
---```lua
---local text, source = rackscope.fs.read_or_bundled("metrics/catalog.yaml", "catalogs/catalog.yaml")
---```
---@param path string
---@param bundled string
---@return string|nil text
---@return string|nil source_or_err
function rackscope.fs.read_or_bundled(path, bundled) end

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
