-- The sandbox every script and function runs in, built once per engine by
-- walrus.drivers.lua.runtime (which compiles this chunk as "=walrus").
--
-- Called with one table of Python callables and numbers (`py`, below); they
-- stay upvalues of this chunk's closures, which scripts cannot reach (no
-- `debug`, no `getfenv`): a script only ever sees plain Lua values. Returns
-- the table of private entry points the Python side uses.
--
-- What a script sees is what Redis 7.0 gives it: the base functions, string,
-- table, math, coroutine, bit, cjson, cmsgpack, struct and redis, all
-- read-only ("Attempt to modify a readonly table"), and no way to create a
-- global. Read-only tables are empty proxies whose metatable points at the
-- real table; the raw-access functions (rawset, rawget, next, pairs,
-- setmetatable, getmetatable, table.insert ...) are wrapped to honour them.
local py = ...

local type, error, pcall, xpcall, select, tostring, tonumber =
  type, error, pcall, xpcall, select, tostring, tonumber
local next, rawget, rawset, setmetatable, getmetatable, unpack =
  next, rawget, rawset, setmetatable, getmetatable, unpack
local loadstring, setfenv = loadstring, setfenv
local getinfo, sethook = debug.getinfo, debug.sethook
local sformat, sfind, sgsub, srep, ssub, sbyte = string.format, string.find,
  string.gsub, string.rep, string.sub, string.byte
local concat = table.concat
local floor = math.floor
local co_create, co_resume, co_status = coroutine.create, coroutine.resume,
  coroutine.status

local SOURCE = getinfo(1, 'S').source -- frames of this chunk are internal
local READONLY = 'Attempt to modify a readonly table'

-- Private state of the running script: its name for error messages, and
-- whether write commands are refused (EVAL_RO, no-writes).
local api = {}

-- Time limit: a count hook asks Python whether the deadline passed. Once it
-- has, the hook fires on every instruction, so a script that catches the
-- error (pcall) cannot go on running.
local HOOK_COUNT = py.hook_count
local expired = py.expired
local function hook()
  if expired() then
    sethook(hook, '', 1)
    error('walrus: script time limit', 0)
  end
end
sethook(hook, '', HOOK_COUNT)
local function stop_now()
  sethook(hook, '', 1)
  error('walrus: script time limit', 0)
end

-- Read-only tables ----------------------------------------------------------
local backing_of = {} -- proxy -> the table it shows
local meta_view = {} -- proxy -> what getmetatable() answers for it

local function refuse_write() error(READONLY, 2) end

local function readonly(backing, view)
  local proxy = setmetatable({}, {
    __index = backing, __newindex = refuse_write, __metatable = false,
  })
  backing_of[proxy] = backing
  meta_view[proxy] = view
  return proxy
end

local function strict(what)
  return {__index = function(_, key)
    error(sformat("Script attempted to access nonexistent %s '%s'", what,
      tostring(key)), 2)
  end}
end

local function check_writable(t)
  if backing_of[t] then error(READONLY, 0) end
end

-- Pattern functions: Lua 5.1's matcher recurses once per quantifier or
-- capture item of a pattern, in C; a pattern with a hundred thousand of them
-- overflows the C stack. Patterns of more than 200 such items are refused as
-- Lua 5.2 does ("pattern too complex").
local function check_pattern(p)
  if type(p) == 'string' and #p > 200 then
    local _, items = sgsub(p, '[%?%*%+%-%(%)]', '')
    if items > 200 then error('pattern too complex', 3) end
  end
end

-- A C function called from a wrapper would name the wrapper's line in its
-- errors: the wrappers call it protected and raise its error again at the
-- script's line, under the function's name.
local function raised(name, ok, ...)
  if ok then return ... end
  local e = ...
  if type(e) == 'string' then
    e = sgsub(e, "to '%?'", "to '" .. name .. "'", 1)
    error(e, 3)
  end
  error(e, 0)
end

local function at_caller(name, fn)
  return function(...) return raised(name, pcall(fn, ...)) end
end

local function guard_pattern(name, fn, plain_at)
  return function(s, p, ...)
    if not (plain_at and select(plain_at - 2, ...)) then check_pattern(p) end
    return raised(name, pcall(fn, s, p, ...))
  end
end

local MAX_STRING = py.max_string -- string.rep refuses to build more
local srep_at_caller = at_caller('rep', srep)
local function rep(s, n)
  local count = tonumber(n)
  if count and count > 0 and (type(s) == 'string' or type(s) == 'number') then
    local size = #tostring(s)
    if size == 0 then return '' end
    if size * count > MAX_STRING then error('resulting string too large', 2) end
  end
  return srep_at_caller(s, n)
end

local string_lib = {}
for k, v in next, string do string_lib[k] = v end
string_lib.find = guard_pattern('find', string.find, 4)
string_lib.match = guard_pattern('match', string.match)
string_lib.gmatch = guard_pattern('gmatch', string.gmatch)
string_lib.gsub = guard_pattern('gsub', string.gsub)
string_lib.rep = rep

local table_lib = {}
for k, v in next, table do table_lib[k] = v end
for _, name in next, {'insert', 'remove', 'sort'} do
  local fn = at_caller(name, table[name])
  table_lib[name] = function(t, ...) check_writable(t) return fn(t, ...) end
end
local foreach = at_caller('foreach', table.foreach)
local foreachi = at_caller('foreachi', table.foreachi)
table_lib.foreach = function(t, f) return foreach(backing_of[t] or t, f) end
table_lib.foreachi = function(t, f) return foreachi(backing_of[t] or t, f) end

-- math.random and math.randomseed as Redis has them: a rand48 generator
-- (the same sequence as Redis for the same seed).
local rand48, srand48 = py.rand48, py.srand48
local math_lib = {}
for k, v in next, math do math_lib[k] = v end
math_lib.random = function(...)
  local r = rand48()
  local count = select('#', ...)
  if count == 0 then return r end
  local m = tonumber((...))
  if not m then
    error(sformat("bad argument #1 to 'random' (number expected, got %s)",
      type((...))), 2)
  end
  m = floor(m)
  if count == 1 then
    if m < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return floor(r * m) + 1
  end
  if count ~= 2 then error('wrong number of arguments', 2) end
  local u = tonumber((select(2, ...)))
  if not u then
    error(sformat("bad argument #2 to 'random' (number expected, got %s)",
      type((select(2, ...)))), 2)
  end
  u = floor(u)
  if m > u then error("bad argument #2 to 'random' (interval is empty)", 2) end
  return floor(r * (u - m + 1)) + m
end
math_lib.randomseed = function(seed)
  local n = tonumber(seed)
  if not n then
    error(sformat("bad argument #1 to 'randomseed' (number expected, got %s)",
      type(seed)), 2)
  end
  srand48(n)
end

-- Coroutines: a new coroutine gets the time-limit hook too (Lua 5.1 keeps a
-- hook function per thread).
local coroutine_lib = {}
for k, v in next, coroutine do coroutine_lib[k] = v end
local function hooked(f)
  return function(...)
    sethook(hook, '', HOOK_COUNT)
    return f(...)
  end
end
local function check_lua_function(f, name)
  if type(f) ~= 'function' or getinfo(f, 'S').what == 'C' then
    error(sformat("bad argument #1 to '%s' (Lua function expected)", name), 3)
  end
end
coroutine_lib.create = function(f)
  check_lua_function(f, 'create')
  return co_create(hooked(f))
end
local function wrapped_result(ok, ...)
  if ok then return ... end
  error((...), 0)
end
coroutine_lib.wrap = function(f)
  check_lua_function(f, 'wrap')
  local co = co_create(hooked(f))
  return function(...) return wrapped_result(co_resume(co, ...)) end
end

-- Base functions ---------------------------------------------------------------
local base = {
  assert = assert, error = error, ipairs = ipairs, select = select,
  tonumber = tonumber, tostring = tostring, type = type, unpack = unpack,
  rawequal = rawequal, xpcall = xpcall, gcinfo = gcinfo, _VERSION = _VERSION,
}

local rawset_, rawget_ = at_caller('rawset', rawset), at_caller('rawget', rawget)
local next_, pairs_ = at_caller('next', next), at_caller('pairs', pairs)
local setmetatable_ = at_caller('setmetatable', setmetatable)
base.rawset = function(t, k, v) check_writable(t) return rawset_(t, k, v) end
base.rawget = function(t, k) return rawget_(backing_of[t] or t, k) end
base.next = function(t, k) return next_(backing_of[t] or t, k) end
base.pairs = function(t)
  local backing = backing_of[t]
  if backing then
    return function(_, k) return next(backing, k) end, t, nil
  end
  return pairs_(t)
end
base.setmetatable = function(t, m) check_writable(t) return setmetatable_(t, m) end
base.getmetatable = function(v)
  if backing_of[v] then return meta_view[v] end
  return getmetatable(v)
end
local collect = collectgarbage
base.collectgarbage = function(option, ...)
  if option == 'stop' then return 0 end -- the collector stays on between scripts
  return collect(option, ...)
end

-- Redis's pcall: an error table {err=...} is caught as its message.
local function caught(ok, ...)
  if ok then return true, ... end
  local e = ...
  if type(e) == 'table' then
    local message = e.err
    if type(message) == 'string' or type(message) == 'number' then e = message end
  end
  return false, e
end
base.pcall = function(f, ...) return caught(pcall(f, ...)) end

-- loadstring and load compile text only (Lua 5.1 does not verify bytecode:
-- a crafted chunk crashes it), and the chunk runs in the script's globals.
local eval_env, function_env -- set below

local function compile_text(code, chunkname, env)
  if sbyte(code, 1) == 27 then -- a binary chunk: refused as the lexer would
    code = ' ' .. code
  end
  local fn, message = loadstring(code, chunkname)
  if not fn then return nil, message end
  return setfenv(fn, env)
end

local function loaders(env)
  local function load_string(code, chunkname)
    if type(code) ~= 'string' and type(code) ~= 'number' then
      error(sformat("bad argument #1 to 'loadstring' (string expected, got %s)",
        type(code)), 2)
    end
    code = tostring(code)
    return compile_text(code, chunkname or code, env)
  end
  local function load_reader(reader, chunkname)
    if type(reader) ~= 'function' then
      error(sformat("bad argument #1 to 'load' (function expected, got %s)",
        type(reader)), 2)
    end
    local parts = {}
    while true do
      local piece = reader()
      if piece == nil or piece == '' then break end
      if type(piece) ~= 'string' then
        return nil, 'reader function must return a string'
      end
      parts[#parts + 1] = piece
    end
    return compile_text(concat(parts), chunkname or '=(load)', env)
  end
  return load_string, load_reader
end

-- The redis library ---------------------------------------------------------
local bridge = py.call
local TIMED_OUT = 2

local function call(...)
  local reply, failed = bridge(...)
  if failed then
    if failed == TIMED_OUT then stop_now() end
    error({err = reply})
  end
  return reply
end

local function pcall_(...)
  local reply, failed = bridge(...)
  if failed then
    if failed == TIMED_OUT then stop_now() end
    return {err = reply}
  end
  return reply
end

-- The error table of redis.error_reply and of a refused command.
local function error_table(message)
  if ssub(message, 1, 1) ~= '-' then message = '-' .. message end
  local space = sfind(message, ' ', 1, true)
  local code, text
  if space then
    code, text = ssub(message, 2, space - 1), ssub(message, space + 1)
  else
    code, text = 'ERR', ssub(message, 2)
  end
  text = sgsub(text, '[\r\n]+$', '')
  return {err = code .. ' ' .. text}
end

local BAD_REPLY_ARGS = {err = 'ERR wrong number or type of arguments'}
local function reply_helper(field)
  return function(...)
    local text = ...
    if select('#', ...) ~= 1 or type(text) ~= 'string' then
      return {err = BAD_REPLY_ARGS.err}
    end
    if field == 'err' then return error_table(text) end
    return {ok = text}
  end
end

local sha1hex_py = py.sha1hex
local function sha1hex(...)
  if select('#', ...) ~= 1 then error('wrong number of arguments', 0) end
  local value = ...
  if type(value) == 'number' then
    value = tostring(value)
  elseif type(value) ~= 'string' then
    value = ''
  end
  return sha1hex_py(value)
end

local log_py = py.log
local function log(...)
  local count = select('#', ...)
  if count < 2 then error('redis.log() requires two arguments or more.', 0) end
  local level = ...
  if type(level) ~= 'number' then error('First argument must be a number (log level).', 0) end
  if level < 0 or level > 3 then error('Invalid debug level.', 0) end
  local parts = {}
  for i = 2, count do
    local part = select(i, ...)
    if type(part) == 'string' or type(part) == 'number' then
      parts[#parts + 1] = tostring(part)
    end
  end
  log_py(level, concat(parts, ' '))
end

local setresp_py = py.setresp
local function setresp(...)
  if select('#', ...) ~= 1 then error('redis.setresp() requires one argument.', 0) end
  local version = tonumber((...))
  if version ~= 2 and version ~= 3 then error('RESP version must be 2 or 3.', 0) end
  setresp_py(version)
end

local function set_repl(...)
  if select('#', ...) ~= 1 then error('redis.set_repl() requires two arguments.', 0) end
  local flags = tonumber((...))
  if not flags or flags < 0 or flags > 3 or flags ~= floor(flags) then
    error('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.', 0)
  end
end

local acl_check_py = py.acl_check_cmd
local function acl_check_cmd(...)
  if select('#', ...) == 0 then
    error('Please specify at least one argument for this redis lib call', 0)
  end
  local ok = acl_check_py(...)
  if not ok then error('Invalid command passed to redis.acl_check_cmd()', 0) end
  return true
end

local redis_constants = {
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  REDIS_VERSION = py.redis_version, REDIS_VERSION_NUM = py.redis_version_num,
}

local redis_lib = {
  call = call, pcall = pcall_, sha1hex = sha1hex, log = log,
  error_reply = reply_helper('err'), status_reply = reply_helper('ok'),
  setresp = setresp, set_repl = set_repl, acl_check_cmd = acl_check_cmd,
  replicate_commands = function() return true end,
  breakpoint = function() return false end,
  debug = function() end,
}
for k, v in next, redis_constants do redis_lib[k] = v end

-- The libraries written in Lua (cjson, cmsgpack) get the private helpers.
local helpers = {
  next = base.next, readonly = readonly, float_bytes = py.float_bytes,
  read_float = py.read_float,
}
local cjson_lib = py.cjson(helpers)
local cmsgpack_lib = py.cmsgpack(helpers)

-- Python functions answer (true, results...) or (false, message): a refusal
-- becomes a Lua error at the caller's line, as a C library's would.
local function python_result(ok, ...)
  if ok then return ... end
  error((...), 3) -- level 2 is the library function, 3 the script
end

local function python_library(functions)
  local lib = {}
  for name, fn in next, functions do
    lib[name] = function(...) return python_result(fn(...)) end
  end
  return lib
end

local bit_lib = python_library(py.bit)
local struct_lib = python_library(py.struct)

-- The environments ------------------------------------------------------------
local libraries = {
  string = readonly(string_lib), table = readonly(table_lib),
  math = readonly(math_lib), coroutine = readonly(coroutine_lib),
  bit = readonly(bit_lib), struct = readonly(struct_lib),
  cjson = cjson_lib, cmsgpack = cmsgpack_lib,
  redis = readonly(redis_lib),
}

local function globals()
  local g = {}
  for k, v in next, base do g[k] = v end
  for k, v in next, libraries do g[k] = v end
  return g
end

local eval_globals = setmetatable(globals(), strict('global variable'))
local function_globals = setmetatable(globals(), strict('global variable'))

-- EVAL: KEYS and ARGV are set before each run.
eval_env = readonly(eval_globals)
eval_globals._G = eval_env
eval_globals.loadstring, eval_globals.load = loaders(eval_env)
meta_view[eval_env] = readonly({__index = eval_env})

-- FUNCTION: one environment for a library's code and its functions; while
-- a library loads, its globals are only the load-time redis table.
local function_meta = {__newindex = refuse_write, __metatable = false}
function_env = setmetatable({}, function_meta)
backing_of[function_env] = function_globals
function_globals._G = function_env
function_globals.loadstring, function_globals.load = loaders(function_env)
meta_view[function_env] = readonly({__index = function_env})

local registered -- the functions a loading library registers, or nil
local load_redis = {log = log, register_function = nil}
for k, v in next, redis_constants do
  if ssub(k, 1, 4) == 'LOG_' or ssub(k, 1, 5) == 'REDIS' then load_redis[k] = v end
end
local load_globals = setmetatable({
  redis = readonly(setmetatable(load_redis, strict('global variable'))),
}, strict('global variable'))

-- The string metatable: methods come from the read-only string library.
local string_meta = getmetatable('')
string_meta.__index = libraries.string
string_meta.__metatable = readonly({__index = libraries.string})

-- Errors and replies (replies.lua): the message handler of every run, and a
-- run's result as RESP2 text.
local replies = py.replies({source = SOURCE, max_depth = py.max_depth})
local handler, finish = replies.handler, replies.finish

-- Entry points for Python --------------------------------------------------------
function api.compile(code, chunkname, for_functions)
  return compile_text(code, chunkname, for_functions and function_env or eval_env)
end

-- A compiled script's bytecode, and that bytecode (patched by Python:
-- walrus.drivers.lua.bytecode) loaded back. Never offered to scripts.
local dump = string.dump
function api.dump(fn) return dump(fn) end
function api.load_binary(code, for_functions)
  local fn = loadstring(code)
  return setfenv(fn, for_functions and function_env or eval_env)
end

function api.run_eval(fn, name, numkeys, ...)
  local keys, argv = {...}, {}
  for i = numkeys + 1, select('#', ...) do
    argv[i - numkeys] = keys[i]
    keys[i] = nil
  end
  rawset(eval_globals, 'KEYS', keys)
  rawset(eval_globals, 'ARGV', argv)
  return finish(name, xpcall(fn, handler))
end

function api.run_function(fn, name, numkeys, ...)
  local keys, argv = {...}, {}
  for i = numkeys + 1, select('#', ...) do
    argv[i - numkeys] = keys[i]
    keys[i] = nil
  end
  return finish(name, xpcall(function() return fn(keys, argv) end, handler))
end

-- Run a library's code (compiled by api.compile for functions) with the
-- load-time globals; returns the registered functions {name, callback,
-- flags, description} or nil and the error message.
local FLAGS = {['no-writes'] = true, ['allow-oom'] = true, ['allow-stale'] = true,
  ['no-cluster'] = true, ['allow-cross-slot-keys'] = true}
local ARGUMENTS = {function_name = true, callback = true, flags = true, description = true}
local register_error = py.register_error

local function register_function(...)
  local count = select('#', ...)
  local name, callback, flags, description
  if count == 1 then
    local named = ...
    if type(named) ~= 'table' then
      error({err = 'ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).'})
    end
    for k in next, named do
      if not ARGUMENTS[k] then
        error({err = 'ERR unknown argument given to redis.register_function'})
      end
    end
    name, callback = named.function_name, named.callback
    flags, description = named.flags, named.description
    if name == nil then
      error({err = 'ERR redis.register_function must get a function name argument'})
    end
    if callback == nil then
      error({err = 'ERR redis.register_function must get a callback argument'})
    end
  elseif count == 2 then
    name, callback = ...
  else
    error({err = 'ERR wrong number of arguments to redis.register_function'})
  end
  if type(callback) ~= 'function' then
    error({err = 'ERR second argument to redis.register_function must be a function'})
  end
  if type(name) ~= 'string' then
    error({err = 'ERR function_name argument given to redis.register_function must be a string'})
  end
  if description ~= nil and type(description) ~= 'string' then
    error({err = 'ERR description argument given to redis.register_function must be a string'})
  end
  local flag_list = {}
  if flags ~= nil then
    if type(flags) ~= 'table' then
      error({err = 'ERR flags argument to redis.register_function must be a table representing function flags'})
    end
    for _, flag in next, flags do
      if not FLAGS[flag] then error({err = 'ERR unknown flag given'}) end
      flag_list[#flag_list + 1] = flag
    end
  end
  local refused = register_error(name)
  if refused then error({err = refused}) end
  for _, seen in next, registered do
    if seen[1] == name then
      error({err = 'ERR Function already exists in the library'})
    end
  end
  registered[#registered + 1] = {name, callback, flag_list, description}
end

function api.load_library(fn)
  registered = {}
  load_redis.register_function = register_function
  function_meta.__index = load_globals
  local ok, e = xpcall(fn, handler)
  function_meta.__index = function_globals
  load_redis.register_function = nil
  local functions = registered
  registered = nil
  if ok then return functions, nil end
  if type(e) ~= 'table' then return nil, 'ERR ' .. tostring(e) end
  return nil, e.err
end
function_meta.__index = function_globals

-- After a script was stopped by the time limit: the normal hook again, and
-- no library half-loaded.
function api.rearm()
  sethook(hook, '', HOOK_COUNT)
  function_meta.__index = function_globals
  load_redis.register_function = nil
  registered = nil
end

return api
