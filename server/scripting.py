"""Lua scripts (EVAL and its family), run the same way on every node.

A script that may write (EVAL, EVALSHA) is a write like any other: its text and arguments go
through the log, and every node runs it when it applies the entry, with the entry's index,
time and random seed. So a script must come out the same on every node, and the runtime sees
to what Redis leaves to chance:

- each run gets a fresh Lua state (nothing a script leaves behind reaches the next one, and a
  node that restarted from a snapshot runs the next script as the others do);
- ``math.random`` restarts from the same state at every run (Redis's ``lrand48`` sequence,
  as a freshly started redis-server gives it), and ``math.randomseed`` moves it;
- commands run with the entry's time (``TIME`` answers it) and random seed;
- a script is stopped after ``MAX_INSTRUCTIONS`` Lua instructions or ``MAX_CALLS`` calls of
  ``redis.call``/``redis.pcall``, or when its Lua state would pass ``MAX_MEMORY``: counts,
  not a clock, so every node stops it at the same point (what it wrote before stays, on
  every node, as Redis keeps a script's writes when it fails). A node busy with a script
  sends no heartbeats; the limits keep that short.

The cache of script texts (for EVALSHA and SCRIPT EXISTS) is replicated state too: EVAL and
SCRIPT LOAD add to it and SCRIPT FLUSH empties it as they are applied, and snapshots carry
it (``Keyspace.scripts``).

``tostring`` of a table or function numbers it rather than showing its address; iterating
with ``pairs`` over a table whose keys are tables or functions follows their addresses, and
may differ between nodes (scripts should not). As in Redis, one call of a Lua library
function is not interrupted (a string pattern that backtracks without end keeps the node
busy). Scripts need a user allowed every command on every key (``server.auth``).

Scripts never load Lua bytecode: the script's text, and every chunk given to ``loadstring``
or ``load``, is parsed as text (crafted bytecode reads and writes the process's memory).

The libraries Redis gives scripts, ``cjson``, ``cmsgpack``, ``bit`` and ``struct``, are
written in Lua here (``server/lua/``) to give Redis's output and errors byte for byte; they
run under the same budgets, and each is compiled the first time a script names it. cjson's
settings (``encode_number_precision`` and the like) last for one run, where Redis keeps them
from one script to the next. An error a library raises from a call in tail position
(``return cjson.decode(s)``) names no line, as for ``redis.call``.

Functions (FUNCTION LOAD, FCALL) run the same way: a library's code is kept in the replicated
state, and every FCALL runs it again in a fresh state (its top level sees only
``redis.register_function``, ``redis.log`` and the constants, as in Redis 7.0) and then the
function, with its keys and arguments.

What Redis offers and this does not: ``redis.setresp(3)``, ``redis.set_repl``/
``replicate_commands`` (a no-op in Redis 7 too), coroutines, SCRIPT KILL and FUNCTION KILL of
a running script (scripts are bounded instead).

A script may start with Redis 7's shebang line, ``#!lua flags=...`` (``shebang``): with
``no-writes`` it runs read-only (and EVAL_RO accepts it; EVAL_RO refuses a shebang without
it), and without ``no-writes`` or ``allow-oom`` it is refused while the node is over
``maxmemory``, as a function is (``server.limits``). EVAL of a ``no-writes`` script still
goes through the log, as FCALL of a ``no-writes`` function does; EVAL_RO is the read.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
from pathlib import Path
from typing import Any

import hiredis
from lupa import lua51

from resp.parser import split_args
from resp.types import NULL_ARRAY, Double, ErrorReply, Map, Push, Raw, SetReply, SimpleString, Verbatim
from server.info import REDIS_VERSION

log = logging.getLogger("raftis.scripts")

# redis.REDIS_VERSION: the version INFO and HELLO give.
_VERSION_NUM = "0x" + "".join(f"{int(x):02x}" for x in REDIS_VERSION.split("."))

MAX_INSTRUCTIONS = 50_000_000  # about 0.2 s of Lua here
MAX_CALLS = 50_000  # about half a second of commands here: a node running a script sends no heartbeats
MAX_MEMORY = 256 * 1024 * 1024  # Lua's own allocations; past it the script gets "not enough memory"
_HOOK_EVERY = 100_000  # the count hook fires this often; the limit is checked there
_RO_WRITE_FLAG = ErrorReply("ERR Can not execute a script with write flag using *_ro command.")

_PRELUDE = r"""
local pycall, pyrandom, pyseed, pylog, sha, max_count, sources = ...
local lib_pcall = pcall  -- Lua's own, for the libraries (scripts get Redis's, below)
local raw_setfenv = setfenv  -- for functions' environments (server/commands/functions.py)
-- The code a client sent: a script (EVAL) or a library of functions (FUNCTION LOAD).
local function is_user(source) return source == "@user_script" or source == "@user_function" end
local getinfo, sethook, select, type, tostring, error, setmetatable, rawget = debug.getinfo, debug.sethook, select, type, tostring, error, setmetatable, rawget

-- Past the budget the hook fires at every instruction and raises each time, so a script
-- that catches the error with pcall and goes on is stopped again at once, until the error
-- reaches the top (where _SEAL clears the hook).
local over_budget = {err = "ERR the script went over its budget of Lua instructions and was stopped"}
local function over() error(over_budget) end
local count = 0
sethook(function()
  count = count + 1
  if count >= max_count then
    sethook(over, "", 1)
    error(over_budget)
  end
end, "", HOOK_EVERY)

local function call(raise, ...)
  local n = select('#', ...)
  local args = {}
  for i = 1, n do
    local v = select(i, ...)
    local t = type(v)
    if t == 'string' then
      args[i] = v
    elseif t == 'number' then
      args[i] = tostring(v)
    else
      args = nil
      break
    end
  end
  local reply = pycall(args, n)
  if not raise and type(reply) == 'table' and rawget(reply, 'command_error') then
    -- redis.pcall's error table for a command's error, built as Redis builds it
    local t = {}
    t.err = rawget(reply, 'err')
    t.ignore_error_stats_update = true
    return t
  end
  if raise and type(reply) == 'table' and rawget(reply, 'err') ~= nil then
    -- The script's line: the first frame of the script with one (a script that returns
    -- redis.call(...) tail-calls, and its own frame is gone).
    for level = 3, 12 do
      local info = getinfo(level, 'Sl')
      if info == nil then break end
      if is_user(info.source) and info.currentline > 0 then
        reply.line = info.currentline
        break
      end
    end
    error(reply, 0)
  end
  return reply
end

redis = {
  -- not tail calls, so the stack call() walks for the script's line keeps this frame
  call = function(...) local r = call(true, ...) return r end,
  pcall = function(...) local r = call(false, ...) return r end,
  -- As Redis 7: the first word is the error code ("ERR" when there is one word only), and a
  -- wrong argument gives an error table back; it raises nothing.
  error_reply = function(...)
    local msg = ...
    if select('#', ...) ~= 1 or type(msg) ~= 'string' then
      return {err = "ERR wrong number or type of arguments"}
    end
    if msg:sub(1, 1) ~= "-" then msg = "-" .. msg end
    local code, text = "ERR", msg:sub(2)
    local space = msg:find(" ", 1, true)
    if space then code, text = msg:sub(2, space - 1), msg:sub(space + 1) end
    text = text:gsub("^[\r\n]+", ""):gsub("[\r\n]+$", "")
    return {err = code .. " " .. text}
  end,
  status_reply = function(...)
    local msg = ...
    if select('#', ...) ~= 1 or type(msg) ~= 'string' then
      return {err = "ERR wrong number or type of arguments"}
    end
    return {ok = msg}
  end,
  sha1hex = function(...)
    local s = ...
    if select('#', ...) ~= 1 or (type(s) ~= 'string' and type(s) ~= 'number') then
      error({err = "ERR wrong number of arguments"})
    end
    return sha(tostring(s))
  end,
  log = function(...)
    local n, level = select('#', ...), ...
    if n < 2 then error({err = "ERR redis.log() requires two arguments or more."}) end
    if tonumber(level) == nil then error({err = "ERR First argument must be a number (log level)."}) end
    level = tonumber(level)
    if level < 0 or level > 3 then error({err = "ERR Invalid debug level."}) end
    local parts = {}
    for i = 2, n do parts[i - 1] = tostring((select(i, ...))) end
    pylog(level, table.concat(parts, " "))
  end,
  setresp = function(...)
    if select('#', ...) ~= 1 then error({err = "ERR redis.setresp() requires one argument."}) end
    local v = tonumber((...))
    if v ~= 2 and v ~= 3 then error({err = "ERR RESP version must be 2 or 3."}) end
    if v == 3 then error({err = "ERR RESP3 replies in scripts are not supported"}) end
  end,
  set_repl = function() end,
  replicate_commands = function() return true end,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_SLAVE = 1, REPL_REPLICA = 1, REPL_AOF = 2, REPL_ALL = 3,
  REDIS_VERSION = "@VERSION@", REDIS_VERSION_NUM = @VERSION_NUM@,
}

-- cjson.null: a userdata that shows as Redis's (a null pointer's) does.
local cjson_null = newproxy(false)

-- tostring of a table or function shows its address, which differs between nodes: it
-- shows a number given in the order the script first asked instead.
do
  local raw, ids, next_id = tostring, setmetatable({}, {__mode = 'k'}), 0
  local find, format = string.find, string.format
  _G.tostring = function(v)
    if v == cjson_null then return "userdata: (nil)" end
    local s = raw(v)
    local t = type(v)
    if (t == 'table' or t == 'function' or t == 'userdata' or t == 'thread') and find(s, ': 0x%x+$') then
      local id = ids[v]
      if id == nil then
        next_id = next_id + 1
        id = next_id
        ids[v] = id
      end
      return format('%s: 0x%08x', t, id)
    end
    return s
  end
end

math.random = function(m, n)
  local r = pyrandom()
  if m == nil then return r end
  if n == nil then
    if m < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return math.floor(r * m) + 1
  end
  if m > n then error("bad argument #2 to 'random' (interval is empty)", 2) end
  return math.floor(r * (n - m + 1)) + m
end
math.randomseed = function(s) pyseed(s) end

-- Lua 5.1 loads precompiled bytecode as readily as text, and crafted bytecode reads and
-- writes the process's memory at will. As in Redis, every chunk is parsed as text: one that
-- starts with bytecode's escape byte fails to compile, with the parser's own message.
local raw_loadstring = loadstring  -- for the libraries below: our own compiled chunks
do
  local raw_loadstring, raw_load, sub, select = loadstring, load, string.sub, select
  -- The checks the library functions make, raised at the script's line (level 2).
  local function check(fname, n, v, want, given)
    local t = type(v)
    if t == want or (want == 'string' and t == 'number') or (n == 2 and v == nil) then return end
    error("bad argument #" .. n .. " to '" .. fname .. "' (" .. want .. " expected, got "
          .. ((n == 1 and given == 0) and "no value" or t) .. ")", 3)
  end
  loadstring = function(...)
    local s, name = ...
    check('loadstring', 1, s, 'string', select('#', ...))
    check('loadstring', 2, name, 'string')
    if type(s) == 'string' and sub(s, 1, 1) == "\27" then
      return raw_loadstring(" " .. s, name or s)
    end
    return raw_loadstring(s, name)
  end
  load = function(...)
    local reader, name = ...
    check('load', 1, reader, 'function', select('#', ...))
    check('load', 2, name, 'string')
    local first = true
    return raw_load(function()
      local piece = reader()
      if first and type(piece) == 'string' and piece ~= "" then
        first = false
        if sub(piece, 1, 1) == "\27" then return " " .. piece end
      end
      return piece
    end, name)
  end
end

-- Redis 7's pcall: an error that is an error table ({err = text}) comes back as its text.
do
  local raw_pcall = pcall
  local function settle(ok, ...)
    if ok then return ok, ... end
    local e = ...
    if type(e) == 'table' then
      local text = e.err
      local t = type(text)
      if t == 'string' or t == 'number' then return false, text end
    end
    return false, e
  end
  pcall = function(...) return settle(raw_pcall(...)) end
end

-- The libraries are read-only views of their tables; pairs and next see through a view.
local views = setmetatable({}, {__mode = 'k'})
local function readonly(t)
  local view = setmetatable({}, {
    __index = t,
    __newindex = function() error("Attempt to modify a readonly table", 2) end,
    __metatable = false,
  })
  views[view] = t
  return view
end
do
  local raw_next, raw_pairs = next, pairs
  next = function(t, k) return raw_next(views[t] or t, k) end
  pairs = function(t)
    local real = views[t]
    if real then return raw_next, real, nil end
    return raw_pairs(t)
  end
end
for _, lib in ipairs({'string', 'table', 'math', 'redis'}) do _G[lib] = readonly(_G[lib]) end

-- An error of a library function, raised where the script called it (as a C library's
-- luaL_error does): "user_script:<line>: <message>", or the bare message when it was called
-- through pcall or in tail position.
local function fail(msg)
  for level = 2, 20 do
    local info = getinfo(level, 'Sl')
    if info == nil or info.what == 'C' then break end
    if is_user(info.source) then
      if info.currentline > 0 then error(info.source:sub(2) .. ":" .. info.currentline .. ": " .. msg, 0) end
      break
    end
  end
  error(msg, 0)
end

-- cjson, bit and cmsgpack are compiled the first time a script names them (most scripts
-- never do, and every run starts a fresh state).
local library
do
  local compile, loaded = raw_loadstring, {}
  library = function(name)
    local lib = loaded[name]
    if lib == nil then
      local source = sources[name]
      if source == nil then return nil end
      lib = readonly(compile(source)(fail, cjson_null, lib_pcall))
      loaded[name] = lib
    end
    return lib
  end
end

-- Not coroutine (the instruction budget's hook is per coroutine), nor collectgarbage and
-- gcinfo (what they answer could differ between nodes).
for _, name in ipairs({'os', 'io', 'debug', 'package', 'require', 'module', 'dofile', 'loadfile',
                       'print', 'collectgarbage', 'gcinfo', 'newproxy', 'coroutine',
                       'getfenv', 'setfenv'}) do
  _G[name] = nil
end
return library, raw_setfenv, is_user
"""
_PRELUDE = (_PRELUDE.replace("HOOK_EVERY", str(_HOOK_EVERY)).replace("@VERSION_NUM@", _VERSION_NUM)
            .replace("@VERSION@", REDIS_VERSION))

# Runs the user's function; the globals are sealed only now, so the prelude could set them.
# Its result (or error) is copied into plain tables before Python looks at it: reading a
# script's own table from Python could run a metamethod outside a protected call, which
# aborts the process. Reading an unknown global is an error for the script only: lupa reads
# globals too (unprotected), and must get nil.
_SEAL = r"""
local f, G, getinfo, sethook, library, is_user = ...
local rawget, rawset, type, pcall, xpcall, error, tostring = rawget, rawset, type, pcall, xpcall, error, tostring
setmetatable(G, {
  __index = function(_, name)
    local lib = library(name)
    if lib ~= nil then
      rawset(G, name, lib)
      return lib
    end
    local info = getinfo(2, "S")
    if info and is_user(info.source) then
      error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
    end
    return nil
  end,
  __newindex = function() error("Attempt to modify a readonly table", 2) end,
  __metatable = false,
})
local function plain(v, depth)
  local t = type(v)
  if t == 'string' or t == 'number' or t == 'boolean' then return v end
  if t ~= 'table' then return nil end
  if depth > 100 then error({err = "ERR reached lua stack limit"}) end
  local e = rawget(v, 'err')
  if type(e) == 'string' then return {err = e, line = rawget(v, 'line')} end
  local ok = rawget(v, 'ok')
  if type(ok) == 'string' then return {ok = ok} end
  local out = {}
  local i = 1
  while true do
    local x = rawget(v, i)
    if x == nil then break end
    out[i] = plain(x, depth + 1)
    if out[i] == nil then out[i] = false end
    i = i + 1
  end
  return {array = out}
end
-- Runs where the error was raised, before the stack unwinds: an error table raised by the
-- script itself gets the script's line there.
local function script_line()
  for level = 3, 24 do
    local info = getinfo(level, 'Sl')
    if info == nil then break end
    if is_user(info.source) and info.currentline > 0 then return info.currentline end
  end
end
-- An error that names no line of the script (error("x", 0), a library's error in tail
-- position) is given the line where it was raised, as Redis's error handler does.
local function at_error(e)
  sethook()  -- only an error no pcall of the script caught gets here
  if type(e) == 'table' and type(rawget(e, 'err')) == 'string' and rawget(e, 'line') == nil then
    local line = script_line()
    if line then return {err = rawget(e, 'err'), line = line} end
  elseif type(e) == 'string' and not e:find("user_[a-z]+:%d+:") then
    local line = script_line()
    if line then return {err = "ERR " .. e, line = line} end
  end
  return e
end
local ok, res = xpcall(f, at_error)
sethook()
local ok2, flat = pcall(plain, res, 0)
if not ok2 then return false, plain(flat, 0) end
return ok, flat
"""

# Runs a library's code (FUNCTION LOAD, and again at each FCALL): its top level sees only
# redis.register_function, redis.log and the constants, as in Redis 7.0; the functions it
# registers see every global when they run. Returns true and the functions (name, flags,
# description, callback) in the order they were registered, or false, the stage ("compile"
# or "register") and the message.
_FLOAD = r"""
local code, G, getinfo, sethook, library, setfenv, is_user, redis_log = ...
local rawget, rawset, type, tostring, select, error, next, xpcall, setmetatable, find, lower, sub =
  rawget, rawset, type, tostring, select, error, next, xpcall, setmetatable, string.find, string.lower, string.sub
local loading = true
local FLAGS = {"no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"}

local function nonexistent(name)
  local info = getinfo(3, "S")
  if info and is_user(info.source) then
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 3)
  end
end
local function readonly_error() error("Attempt to modify a readonly table", 2) end

local registered = {}
local by_name = {}
local function fail(msg) error({err = "ERR " .. msg}) end
local function as_string(v)
  local t = type(v)
  if t == 'string' then return v end
  if t == 'number' then return tostring(v) end
end
local function read_flags(t)
  local out, j = {}, 1
  while true do
    local v = t[j]
    if v == nil then break end
    if type(v) ~= 'string' and type(v) ~= 'number' then return nil end
    local known = false
    for i = 1, #FLAGS do
      if lower(tostring(v)) == FLAGS[i] then out[FLAGS[i]] = true known = true end
    end
    if not known then return nil end
    j = j + 1
  end
  local list = {}
  for i = 1, #FLAGS do if out[FLAGS[i]] then list[#list + 1] = FLAGS[i] end end
  return list
end
local function register(...)
  if not loading then fail("redis.register_function can only be called on FUNCTION LOAD command") end
  local n = select('#', ...)
  if n < 1 or n > 2 then fail("wrong number of arguments to redis.register_function") end
  local name, callback, flags, desc
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      fail("calling redis.register_function with a single argument is only applicable to Lua table " ..
           "(representing named arguments).")
    end
    for k, v in next, t do
      if type(k) ~= 'string' and type(k) ~= 'number' then
        fail("named argument key given to redis.register_function is not a string")
      end
      local key = lower(tostring(k))
      if key == 'function_name' then
        name = as_string(v)
        if not name then fail("function_name argument given to redis.register_function must be a string") end
      elseif key == 'description' then
        desc = as_string(v)
        if not desc then fail("description argument given to redis.register_function must be a string") end
      elseif key == 'callback' then
        if type(v) ~= 'function' then
          fail("callback argument given to redis.register_function must be a function")
        end
        callback = v
      elseif key == 'flags' then
        if type(v) ~= 'table' then
          fail("flags argument to redis.register_function must be a table representing function flags")
        end
        flags = read_flags(v)
        if not flags then fail("unknown flag given") end
      else
        fail("unknown argument given to redis.register_function")
      end
    end
    if not name then fail("redis.register_function must get a function name argument") end
    if not callback then fail("redis.register_function must get a callback argument") end
  else
    local a, b = ...
    name = as_string(a)
    if not name then fail("first argument to redis.register_function must be a string") end
    if type(b) ~= 'function' then fail("second argument to redis.register_function must be a function") end
    callback = b
  end
  if name == "" or find(name, "[^%w_]") then
    -- (Redis's words, for a function's name too)
    fail("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
  end
  if by_name[name] then fail("Function already exists in the library") end
  by_name[name] = true
  registered[#registered + 1] = {name, flags or {}, desc, callback}
end

local load_api = {
  register_function = register, log = redis_log, REDIS_VERSION = rawget(G, 'redis').REDIS_VERSION,
  REDIS_VERSION_NUM = rawget(G, 'redis').REDIS_VERSION_NUM,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
}
local load_redis = setmetatable({}, {
  __index = function(_, name)
    local v = load_api[name]
    if v == nil then nonexistent(name) end
    return v
  end,
  __newindex = readonly_error, __metatable = false,
})
-- The library's globals: while it loads, only `redis` (the API above); when its functions
-- run, everything a script sees.
local env = setmetatable({}, {
  __index = function(_, name)
    if loading then
      if name == 'redis' then return load_redis end
      nonexistent(name)
      return nil
    end
    local v = rawget(G, name)
    if v ~= nil then return v end
    local lib = library(name)
    if lib ~= nil then return lib end
    nonexistent(name)
    return nil
  end,
  __newindex = readonly_error, __metatable = false,
})

if sub(code, 1, 1) == "\27" then code = " " .. code end  -- text only
local chunk, cerr = loadstring(code, "@user_function")
if not chunk then return false, "compile", cerr end
setfenv(chunk, env)
local ok, e = xpcall(chunk, function(e)
  sethook()  -- the load failed: the budget's hook must not fire in this handler
  if type(e) == 'table' then
    local text = rawget(e, 'err')
    if type(text) == 'string' then return text end
    return "ERR (error object is a table value)"
  end
  return "ERR " .. tostring(e)
end)
loading = false
if not ok then return false, "register", e end
return true, registered
"""

# Compiles a script: (function, false) or (false, message).
_LOAD = """
local body = ...
if body:sub(1, 1) == "\\27" then body = " " .. body end  -- text only (see the prelude)
local f, e = loadstring(body, "@user_script")
if f then return f, false end
return false, e
"""

_LRAND48_A = 0x5DEECE66D
_LRAND48_MASK = (1 << 48) - 1
_LRAND48_START = 0x1234ABCD330E  # lrand48's state before any srand48 (redis-server's at start)
_LRAND48_MAX = 2147483647
_LINE = re.compile(rb"user_(?:script|function):(\d+):")


def sha1hex(body: bytes) -> bytes:
    return hashlib.sha1(body).hexdigest().encode()


class _Rand48:
    """Redis's ``redisLrand48``: the 48-bit linear congruential generator of lrand48."""

    __slots__ = ("x",)

    def __init__(self) -> None:
        self.x = _LRAND48_START

    def random(self) -> float:
        self.x = (_LRAND48_A * self.x + 0xB) & _LRAND48_MASK
        return ((self.x >> 17) % _LRAND48_MAX) / _LRAND48_MAX

    def seed(self, value: Any) -> None:
        try:
            v = int(value) & 0xFFFFFFFF
        except (TypeError, ValueError, OverflowError):
            v = 0
        self.x = (v << 16) | 0x330E


_LIBRARIES = ("cjson", "bit", "cmsgpack", "struct")


@functools.cache
def _compiled() -> dict[str, bytes]:
    """Our own chunks (the prelude, _SEAL, _LOAD, the libraries), compiled once per process
    to Lua bytecode: every run starts a fresh Lua state, and loading bytecode costs a third
    of parsing the text. Only this code loads them; scripts can never load bytecode."""
    here = Path(__file__).parent / "lua"
    texts = {"prelude": _PRELUDE.encode(), "seal": _SEAL.encode(), "load": _LOAD.encode(),
             "fload": _FLOAD.encode()}
    for name in _LIBRARIES:
        texts[name] = (here / f"{name}.lua").read_bytes()
    rt = lua51.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
    dump = rt.eval("function(text, name) return string.dump(assert(loadstring(text, name))) end")
    return {name: dump(text, b"=" + name.encode()) for name, text in texts.items()}


def _library_sources(rt: Any) -> Any:
    compiled = _compiled()
    return rt.table_from({name.encode(): compiled[name] for name in _LIBRARIES})


def shebang(body: bytes) -> tuple[int, frozenset[str] | None]:
    """Redis 7's first line ``#!lua flags=...``: (the line's length, the flags it names) for a
    script that starts with ``#!``, (0, None) for one that does not (Redis's compatibility
    mode: a script that may write, with no flags). Raises the ErrorReply Redis gives for a
    line it refuses. The flags are a function's (``FUNCTION_FLAGS``)."""
    if not body.startswith(b"#!"):
        return 0, None
    end = body.find(b"\n")
    if end < 0:
        raise ErrorReply("ERR Invalid script shebang")
    parts = split_args(body[:end])
    if not parts:
        raise ErrorReply("ERR Invalid engine in script shebang")
    if parts[0] != b"#!lua":
        raise ErrorReply(b"ERR Unexpected engine in script shebang: " + parts[0])
    flags: set[str] = set()
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise ErrorReply(b"ERR Unknown lua shebang option: " + part)
        if len(part) > 6:
            for flag in part[6:].split(b","):
                name = flag.decode("latin-1")
                if name not in FUNCTION_FLAGS:
                    raise ErrorReply(b"ERR Unexpected flag in script shebang: " + flag)
                flags.add(name)
    return end, frozenset(flags)


def _source(body: bytes) -> tuple[bytes, frozenset[str] | None]:
    """The Lua text of a script (its shebang line left out, its line feed kept, so that line
    numbers stay the script's) and the shebang's flags."""
    end, flags = shebang(body)
    return (body[end:] if end else body), flags


def compile_error(body: bytes) -> ErrorReply | None:
    """The error SCRIPT LOAD (and EVAL) gives for a script that does not compile, or None."""
    try:
        source, _ = _source(body)
    except ErrorReply as e:
        return e
    fn, msg = _runtime().execute(_compiled()["load"], source)
    if fn is False:
        return ErrorReply(b"ERR Error compiling script (new function): " + _text(msg))
    return None


def _runtime() -> Any:
    return lua51.LuaRuntime(encoding=None, register_eval=False, register_builtins=False, max_memory=MAX_MEMORY)


class _Run:
    """A fresh Lua state with the prelude run: what a script or a function runs in."""

    def __init__(self, name: str, readonly: bool, execute: Any) -> None:
        self.name = name
        rt = self.rt = _runtime()
        self.g = rt.globals()
        self.rand = _Rand48()
        self.calls = 0
        self.readonly = readonly
        self.execute = execute

    def start(self) -> None:
        """Run the prelude (after the globals the code must see are set)."""
        rt, g = self.rt, self.g
        self.getinfo, self.sethook = g.debug.getinfo, g.debug.sethook
        self.library, self.setfenv, self.is_user = rt.execute(
            _compiled()["prelude"], self.pycall, self.rand.random, self.rand.seed, self.pylog,
            lambda s: sha1hex(s), MAX_INSTRUCTIONS // _HOOK_EVERY, _library_sources(rt))

    def pycall(self, argt: Any, n: int) -> Any:
        rt = self.rt
        self.calls += 1
        if self.calls > MAX_CALLS:
            return rt.table_from({b"err": b"ERR the script went over its budget of Redis calls and was stopped"})
        if argt is None:
            return _lua_error(rt, b"ERR Lua redis lib command arguments must be strings or integers")
        if n == 0:
            return _lua_error(rt, b"ERR Please specify at least one argument for this redis lib call")
        argv = [argt[i] for i in range(1, n + 1)]
        try:
            reply = self.execute(argv, self.readonly)
            if type(reply) is ErrorReply:
                return rt.table_from({b"err": reply.data, b"command_error": True})
            return _to_lua(rt, reply)
        except Exception as exc:  # a bug in a command: an error for the script, as for a client
            log.exception("script %s: %r failed", self.name[:12], argv[:1])
            return _lua_error(rt, f"ERR internal error: {type(exc).__name__}".encode())

    def pylog(self, level: Any, text: bytes) -> None:
        log.info("script %s: %s", self.name[:12], _text(text).decode("utf-8", "replace"))

    def seal_and_call(self, fn: Any, source: str) -> Any:
        ok, result = self.rt.execute(_compiled()["seal"], fn, self.g, self.getinfo, self.sethook, self.library,
                                     self.is_user)
        if ok:
            return _from_lua(result)
        return _failure(result, self.name, source)


def run(ctx: Any, body: bytes, keys: list[bytes], args: list[bytes], *, readonly: bool,
        execute: Any) -> Any:
    """Run the script ``body`` with KEYS and ARGV; its reply, converted as Redis does.
    ``execute(argv, readonly)`` runs one command for ``redis.call`` and returns its reply
    (an ``ErrorReply`` for an error). ``readonly`` is EVAL_RO's: a script whose shebang line
    does not say ``no-writes`` is refused; one that says it runs read-only either way."""
    try:
        source, flags = _source(body)
    except ErrorReply as e:
        return e
    if flags is not None:
        if "no-writes" in flags:
            readonly = True
        elif readonly:
            return _RO_WRITE_FLAG
    r = _Run(sha1hex(body).decode(), readonly, execute)
    fn, msg = r.rt.execute(_compiled()["load"], source)
    if fn is False:
        return ErrorReply(b"ERR Error compiling script (new function): " + _text(msg))
    r.g.KEYS = r.rt.table_from(keys)
    r.g.ARGV = r.rt.table_from(args)
    r.start()
    return r.seal_and_call(fn, "@user_script")


# -- functions (FUNCTION LOAD, FCALL) ------------------------------------------------------------
FUNCTION_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")


def _load_library(r: _Run, code: bytes) -> tuple[bool, Any]:
    """Run a library's code in ``r``: (True, Lua list of {name, flags, description, callback})
    or (False, the error reply)."""
    try:
        ok, *rest = r.rt.execute(_compiled()["fload"], code, r.g, r.getinfo, r.sethook, r.library, r.setfenv,
                                 r.is_user, r.g.redis.log)
    except lua51.LuaError as e:  # not expected: every error of the library's is caught in Lua
        log.warning("loading a function library failed outside its protected call: %s", e)
        return False, ErrorReply(b"ERR Error registering functions: ERR " + str(e).encode(errors="replace")[:200])
    if ok:
        return True, rest[0]
    stage, msg = rest
    if stage == b"compile":
        return False, ErrorReply(b"ERR Error compiling function: " + _text(msg))
    return False, ErrorReply(b"ERR Error registering functions: " + _text(msg))


def library_functions(code: bytes) -> list[tuple[bytes, tuple[str, ...], bytes | None]] | ErrorReply:
    """FUNCTION LOAD's check of a library's code (after its metadata line): the functions it
    registers, (name, flags, description) in order, or the error reply."""
    r = _Run("function load", False, lambda argv, ro: _NO_CALLS)
    r.start()
    ok, registered = _load_library(r, code)
    if not ok:
        return registered
    out = []
    i = 1
    while registered[i] is not None:
        entry = registered[i]
        flags = entry[2]
        out.append((entry[1], tuple(flags[j].decode() for j in range(1, len(flags) + 1)), entry[3]))
        i += 1
    return out


_NO_CALLS = ErrorReply(b"ERR redis.call is not available while a library loads")


def run_function(code: bytes, name: bytes, keys: list[bytes], args: list[bytes], *, readonly: bool,
                 execute: Any) -> Any:
    """FCALL: run the library's code again in a fresh state, then its function ``name`` with
    the keys and arguments (as Redis passes them, not as KEYS and ARGV)."""
    r = _Run(name.decode("utf-8", "replace"), readonly, execute)
    r.start()
    ok, registered = _load_library(r, code)
    if not ok:
        return registered
    i = 1
    while registered[i] is not None:
        entry = registered[i]
        if entry[1] == name:
            runner = r.rt.eval("function(f, k, a) return function() return f(k, a) end end")
            return r.seal_and_call(runner(entry[4], r.rt.table_from(keys), r.rt.table_from(args)),
                                   "@user_function")
        i += 1
    return ErrorReply(b"ERR Function not found")


def _text(msg: Any) -> bytes:
    if isinstance(msg, bytes):
        return msg
    if isinstance(msg, float) and msg.is_integer():
        msg = int(msg)
    return str(msg).encode()


def _lua_error(rt: Any, message: bytes) -> Any:
    return rt.table_from({b"err": message})


def _failure(err: Any, sha: str, source: str = "@user_script") -> ErrorReply:
    """The reply for a script (or function, ``sha`` its name) that raised ``err`` (a string,
    or an error table)."""
    suffix = f" script: {sha}, on {source}:".encode()
    if _is_table(err):
        text = err[b"err"]
        if isinstance(text, bytes):
            line = err[b"line"]
            if line is None:
                m = _LINE.search(text)
                if m is None:
                    return ErrorReply(text + f" script: {sha}, on {source}.".encode())
                line = int(m.group(1))
            return ErrorReply(text + suffix + b"%d." % int(line))
        err = b"(error object is a table value)"  # Redis's words for error({}) too
    text = _text(err) if err is not None else b"unknown error"
    m = _LINE.search(text)
    return ErrorReply(b"ERR " + text + suffix + (m.group(1) if m else b"0") + b".")


def _is_table(v: Any) -> bool:
    return lua51.lua_type(v) == "table"


def _from_lua(v: Any) -> Any:
    """A Lua value, as ``_SEAL`` copied it -> a reply (Redis's Lua to RESP2 conversion)."""
    if v is None or v is False:
        return None
    if v is True:
        return 1
    if isinstance(v, bytes):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if not math.isfinite(v) or not -(2**63) <= v < 2**63:
            return -(2**63)
        return int(v)
    err = v[b"err"]
    if err is not None:
        return ErrorReply(err)
    ok = v[b"ok"]
    if ok is not None:
        return SimpleString(ok)
    items = v[b"array"]
    out = []
    i = 1
    while True:
        item = items[i]
        if item is None:
            return out
        out.append(_from_lua(item))
        i += 1


def _to_lua(rt: Any, reply: Any) -> Any:
    """A command's reply -> a Lua value (Redis's RESP2 to Lua conversion)."""
    return _plain(rt, reply)


def _plain(rt: Any, r: Any) -> Any:
    t = type(r)
    if t is bytes or t is int:
        return r
    if t is bool:
        return 1 if r else 0
    if r is None or r is NULL_ARRAY:
        return False
    if t is list or t is tuple:
        return rt.table_from([_plain(rt, x) for x in r])
    if t is SimpleString:
        return rt.table_from({b"ok": r.value})
    if t is ErrorReply:
        return rt.table_from({b"err": r.data})
    if t is Double:
        from resp.encoder import _format_double

        return _format_double(r.value)
    if t is Map:
        flat: list[Any] = []
        for k, v in r.items():
            flat.append(_plain(rt, k))
            flat.append(_plain(rt, v))
        return rt.table_from(flat)
    if t is SetReply or t is Push:
        return rt.table_from([_plain(rt, x) for x in r.items])
    if t is Verbatim:
        return r.data
    if t is Raw:
        reader = hiredis.Reader(errors="surrogateescape")
        reader.feed(r.resp2)
        return _plain(rt, _from_hiredis(reader.gets()))
    if isinstance(r, str):
        return r.encode()
    return False


def _from_hiredis(v: Any) -> Any:
    if isinstance(v, hiredis.ReplyError):
        return ErrorReply(str(v))
    if isinstance(v, list):
        return [_from_hiredis(x) for x in v]
    return v
