"""FUNCTION and FCALL against redis-server 7.0, reply for reply: loading libraries (their
metadata line, what their code may reach while it loads, register_function's forms and
errors), calling functions (keys and arguments, flags, FCALL_RO), and managing libraries.

Functions here keep their redis.call()s out of tail position, as the script tests do (a
call in tail position names no line in its error here)."""

from __future__ import annotations

import pytest
from commands_differential import against_redis

LIB = ('#!lua name=mylib\\n'
       'redis.register_function("f1", function(keys, args) return {keys[1], args[1], #keys, #args} end)\\n'
       'redis.register_function{function_name="f2", callback=function(keys, args) '
       'local r = redis.call("set", keys[1], args[1]) return r end, flags={"no-writes"}, description="d2"}')

SCRIPT = rf"""
function load "{LIB}"
fcall f1 1 k a
fcall f1 2 k1 k2 a1 a2 a3
fcall f2 1 k v
fcall_ro f1 1 k a
fcall_ro f2 1 k v
fcall nof 0
fcall f1 -1
fcall f1 5 a
fcall f1 x
fcall F1 0
function list
function list withcode
function list libraryname my*
function list libraryname MYLIB withcode
function list libraryname nomatch*
function list libraryname
function list bad
function stats
function load "#!lua name=mylib\nredis.register_function('f3', function() return 1 end)"
function load "redis.register_function('f3', function() return 1 end)"
function load "#!lua\nredis.register_function('f3', function() return 1 end)"
function load "#!js name=x\nreturn 1"
function load "#!LUA name=lib_up\nredis.register_function('fup', function() return 'up' end)"
fcall fup 0
function load "#!lua name=x foo=bar\nreturn 1"
function load "#!lua name=a name=b\nreturn 1"
function load "#!lua name=x"
function load "#!lua name=x-y\nreturn 1"
function load "#!lua name=\nreturn 1"
function load "#!lua name=x\nreturn 1"
function load "#!lua name=x\nreturn +"
function load "#!lua name=x\nerror('boom')"
function load "#!lua name=x\nlocal x = string"
function load "#!lua name=x\nlocal x = redis.call"
function load "#!lua name=x\nlocal x = redis.setresp"
function load "#!lua name=x\nlocal x = nil + 1"
function load "#!lua name=x\nx = 1"
function load "#!lua name=x\nredis.register_function('f1', function() return 1 end)"
function load "#!lua name=x\nredis.register_function('bad name', function() return 1 end)"
function load "#!lua name=x\nredis.register_function('g', function() return 1 end)\nredis.register_function('g', function() return 1 end)"
function load "#!lua name=x\nredis.register_function{{function_name='g', callback=function() end, flags={{'nope'}}}}"
function load "#!lua name=x\nredis.register_function{{function_name='g', callback=function() end, flags='x'}}"
function load "#!lua name=x\nredis.register_function{{function_name='a', callback=function() end, foo=1}}"
function load "#!lua name=x\nredis.register_function{{callback=function() end}}"
function load "#!lua name=x\nredis.register_function{{function_name='a'}}"
function load "#!lua name=x\nredis.register_function{{function_name='a', callback=5}}"
function load "#!lua name=x\nredis.register_function(5)"
function load "#!lua name=x\nredis.register_function()"
function load "#!lua name=x\nredis.register_function('g', 5)"
function load "#!lua name=x\nredis.register_function({{}}, function() end)"
function load foo "#!lua name=x\nreturn 1"
function load replace
function load "#!lua name=lib2\nredis.register_function{{function_name='g2', callback=function(k, a) local x = redis.call('nosuch') return x end, flags={{'NO-WRITES', 'allow-oom'}}, description='two'}}"
fcall g2 0
function list libraryname lib2
function load replace "#!lua name=lib2\nredis.register_function('g3', function(k, a) error('boom') end)"
fcall g3 0
fcall g2 0
function load replace "#!lua name=lib2\nredis.register_function('g4', function(k, a) local x = nosuch return x end)"
fcall g4 0
function load replace "#!lua name=lib2\nredis.register_function('g5', function(k, a) return {{type(KEYS), #k, #a, cjson.encode(a), string.upper('x'), type(redis.call)}} end)"
fcall g5 2 a b c
function load replace "#!lua name=lib2\nlocal helper = function(x) return x * 2 end\nredis.register_function('g6', function(k, a) return helper(tonumber(a[1])) end)"
fcall g6 0 21
function load replace "#!lua name=lib2\nredis.register_function('g7', function(k, a) local r = redis.call('incrby', k[1], a[1]) local s = redis.call('get', k[1]) return {{r, s}} end)"
fcall g7 1 counter 5
fcall g7 1 counter 5
get counter
fcall_ro g7 1 counter 5
function load replace "#!lua name=lib2\nredis.register_function{{function_name='g8', callback=function(k, a) local r = redis.call('get', k[1]) return r end, flags={{'no-writes'}}}}"
fcall_ro g8 1 counter
function delete nolib
function delete lib2
fcall g8 1 counter
function kill
function flush bad
function flush async
function list
function stats
function nosuch
fcall
"""


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_functions_match_redis(redis_server, resp3):
    problems = against_redis(redis_server, SCRIPT, resp3=resp3, before=[("FUNCTION", "FLUSH")])
    assert not problems, "\n".join(problems)
