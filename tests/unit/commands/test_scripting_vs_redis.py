"""EVAL and its family against redis-server 7.0, reply for reply (RESP2 and RESP3): the
conversions between replies and Lua values, the errors scripts raise and get, the sandbox,
the script cache. Scripts here keep their redis.call()s out of tail position (``local r =
redis.call(...) return r``): a call in tail position reports no line in its error (see
tests/unit/commands/test_scripting.py)."""

from __future__ import annotations

import pytest
from commands_differential import against_redis

SCRIPTS = r"""
set s 1
rpush l a b c
hset h f v
zadd z 1.5 m 2 n
eval "return 1" 0
eval "return 'str'" 0
eval "return 3.99" 0
eval "return -3.7" 0
eval "return 1e300" 0
eval "return true" 0
eval "return false" 0
eval "return nil" 0
eval "return {1, 2, {3, 'x'}, nil, 5}" 0
eval "return {1, 'a', {ok='x'}, {err='e'}, true, false, 7}" 0
eval "return {ok='fine'}" 0
eval "local ok, e = pcall(redis.call, 'get', 'l') return {tostring(ok), type(e), e}" 0
eval "local ok, e = pcall(redis.call, 'nosuch') return {type(e), e}" 0
eval "local ok, e = pcall(redis.call) return {type(e), e}" 0
eval "local ok, e = pcall(function() local x = redis.call('get', 'l') return x end) return {type(e), e}" 0
eval "local e = redis.pcall('get', 'l') local t = {} for k, v in pairs(e) do t[#t + 1] = k .. '=' .. tostring(v) end table.sort(t) return t" 0
eval "local e = redis.pcall('nosuch') local t = {} for k in pairs(e) do t[#t + 1] = k end table.sort(t) return t" 0
eval "local e = redis.pcall() local t = {} for k in pairs(e) do t[#t + 1] = k end table.sort(t) return t" 0
eval "local ok, e = pcall(error, {err = 'x'}) return {type(e), e}" 0
eval "local ok, e = pcall(error, {err = 5}) return {type(e), e}" 0
eval "local ok, e = pcall(error, {foo = 1}) return type(e)" 0
eval "local ok, e = pcall(error, 'msg') return e" 0
eval "local ok, e = xpcall(function() error({err = 'x'}) end, function(e) return e end) return type(e)" 0
eval "local a, b, c = pcall(function() return 1, 2 end) return {tostring(a), b, c}" 0
eval "return {pcall(error, {err = 'x', line = 3})}" 0
eval "return redis.error_reply('x')" 0
eval "return redis.error_reply('-FOO bar')" 0
eval "return redis.error_reply('')" 0
eval "return redis.error_reply('-')" 0
eval "return redis.error_reply('a b')" 0
eval "return redis.error_reply('x\r\n')" 0
eval "local e = redis.error_reply(5) return e.err" 0
eval "local e = redis.error_reply() return e.err" 0
eval "local e = redis.status_reply(5) return e.err" 0
eval "local e = redis.status_reply('a', 'b') return e.err" 0
eval "local e = redis.sha1hex() return e" 0
eval "local ok, e = pcall(redis.sha1hex) return e" 0
eval "local x = redis.log() return x" 0
eval "local x = redis.log(redis.LOG_WARNING) return x" 0
eval "local x = redis.log('x', 'y') return x" 0
eval "local x = redis.log(99, 'y') return x" 0
eval "local x = redis.log('3', 'from a script') return x" 0
eval "local x = redis.setresp() return x" 0
eval "local x = redis.setresp(4) return x" 0
eval "local x = redis.setresp(2) return x" 0
eval "return {err='ERR my error'}" 0
eval "return {err='custom message'}" 0
eval "return redis.error_reply('MY err')" 0
eval "return redis.status_reply('FINE')" 0
eval "return redis.sha1hex('')" 0
eval "return redis.sha1hex('abc')" 0
eval "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}" 2 k1 k2 a1 a2
eval "return #ARGV" 0 a b c
eval "local r = redis.call('get', KEYS[1]) return r" 1 s
eval "local r = redis.call('get', KEYS[1]) return r" 1 nokey
eval "local r = redis.call('get', 'nokey') return type(r)" 0
eval "local r = redis.call('lrange', 'l', 0, -1) return r" 0
eval "local r = redis.call('hgetall', 'h') return r" 0
eval "local r = redis.call('zrange', 'z', 0, -1, 'withscores') return r" 0
eval "local r = redis.call('zscore', 'z', 'm') return r" 0
eval "local r = redis.call('set', 'k', 'v') return r" 0
eval "local r = redis.call('set', 'k', 'v') return r.ok" 0
eval "local r = redis.call('set', 'n', 1.5) return redis.call('get', 'n')" 0
eval "local r = redis.call('set', 'n', 10) r = redis.call('incrby', 'n', 5) return r" 0
eval "local r = redis.call('incrbyfloat', 'f', '1.5') return r" 0
eval "local r = redis.call('exists', 's', 'nokey', 'l') return r" 0
eval "local r = redis.call('ping') return r" 0
eval "local r = redis.call('ping', 'hi') return r" 0
eval "local r = redis.call('echo', 'e') return r" 0
eval "local r = redis.pcall('get', 'l') return r" 0
eval "local r = redis.pcall('get', 'l') return r.err" 0
eval "local r = redis.pcall('nosuchcommand') return r" 0
eval "local r = redis.pcall('get') return r" 0
eval "local r = redis.pcall('incr', 'l') return type(r)" 0
eval "local r = redis.call('get', 'l') return r" 0
eval "local r = redis.call('nosuch') return r" 0
eval "local r = redis.call('get') return r" 0
eval "local r = redis.call('get', {}) return r" 0
eval "local r = redis.call() return r" 0
eval "local r = redis.call('multi') return r" 0
eval "local r = redis.call('eval', 'return 1', 0) return r" 0
eval "local r = redis.call('script', 'load', 'return 1') return r" 0
eval "local r = redis.call('client', 'id') return r" 0
eval "local r = redis.call('subscribe', 'c') return r" 0
eval "local r = redis.call('blpop', 'nolist', 0) return r" 0
eval "local r = redis.call('blpop', 'l', 0) return r" 0
?same-shape eval "local ok, e = pcall(redis.call, 'get', 'l') return {ok and 1 or 0, e.err}" 0
eval "x = 5" 0
eval "return y" 0
eval "return string.x" 0
eval "string.x = 1" 0
eval "redis.x = 1" 0
eval "return 1 +" 0
eval "error('boom')" 0
eval "error({err='ERR raised table'})" 0
eval "return" -1
eval "return" 2 a
eval "return" x
eval "return" 1
eval "return tostring(os)" 0
eval "return tostring(io)" 0
eval "return type(loadstring)" 0
eval "return loadstring('return 7')()" 0
eval "local f, e = loadstring(string.dump(function() return 1 end)) return {tostring(f), e}" 0
eval "local s, i = string.dump(function() return 1 end), 0 local f, e = load(function() i = i + 1 if i == 1 then return s end end) return {tostring(f), e}" 0
eval "local i = 0 local f = load(function() i = i + 1 if i == 1 then return 'return 9' end end) return f()" 0
eval "local f, e = loadstring('return +', '=named') return e" 0
eval "local f = loadstring(nil) return f" 0
eval "local f = loadstring() return f" 0
eval "local f = loadstring('x', {}) return f" 0
eval "local f = load(5) return f" 0
eval "local f = load(function() end, {}) return f" 0
eval "return tostring(dofile)" 0
eval "return tostring(print)" 0
eval "return type(string.format)" 0
eval "local t = {} for k in pairs(string) do t[#t + 1] = k end table.sort(t) return t" 0
eval "local t = {} for k in pairs(math) do t[#t + 1] = k end table.sort(t) return t" 0
eval "local t = {} for k in pairs(table) do t[#t + 1] = k end table.sort(t) return t" 0
eval "return type(next(string))" 0
eval "return type(_G.cjson.encode)" 0
eval "return string.format('%d-%s', 5, 'x')" 0
eval "return table.concat({'a', 'b'}, ',')" 0
eval "return math.floor(3.7)" 0
eval "return tonumber('0x10')" 0
eval "return tostring(1e20)" 0
eval "local t = {} for i = 1, 100 do t[i] = i end return #t" 0
eval "local r = redis.call('set', 'from_script', 1) return redis.call('get', 'from_script')" 0
get from_script
eval "local r = redis.call('select', 1) r = redis.call('set', 'indb1', 'x') return redis.call('dbsize')" 0
dbsize
exists indb1
script load "return 'loaded'"
script load "return 1 +"
script exists b534286061d4b9e4026607613b95c06c06015ae8 0000000000000000000000000000000000000000
evalsha b534286061d4b9e4026607613b95c06c06015ae8 0
evalsha B534286061D4B9E4026607613B95C06C06015AE8 0
evalsha 0123456789012345678901234567890123456789 0
evalsha b534286061d4b9e4026607613b95c06c06015ae8 -1
eval_ro "local r = redis.call('get', 's') return r" 0
eval_ro "local r = redis.call('set', 'a', 'b') return r" 0
evalsha_ro b534286061d4b9e4026607613b95c06c06015ae8 0
script flush
script exists b534286061d4b9e4026607613b95c06c06015ae8
script flush async
script flush sync
script flush x
script flush a b
script kill
script nosuch
eval
eval "return 1"
evalsha
"""


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_scripts_match_redis(redis_server, resp3):
    problems = against_redis(redis_server, SCRIPTS, resp3=resp3, before=[("SCRIPT", "FLUSH")])
    assert not problems, "\n".join(problems)


# Redis 7's shebang line: its errors, no-writes (read-only, and what EVAL_RO needs), the line
# numbers it keeps, and the cache (the digest is of the whole text).
SHEBANG = r"""
set a 1
eval "#!lua flags=no-writes\nlocal r = redis.call('set', 'a', '2') return r" 0
eval "#!lua flags=no-writes\nlocal r = redis.call('get', 'a') return r" 0
eval "#!lua flags=no-writes\nlocal r = redis.call('get', KEYS[1]) return r" 1 a
eval "#!lua\nlocal r = redis.call('set', 'a', '3') return r" 0
get a
eval "#!lua\r\nreturn 1" 0
eval "#!lua flags=\nreturn 1" 0
eval "#!lua flags=no-writes,allow-oom\nreturn 1" 0
eval "#!lua flags=no-writes,no-writes\nreturn 1" 0
eval "#!lua flags=no-cluster,allow-stale,allow-cross-slot-keys\nreturn 1" 0
eval "#!lua  flags=no-writes  \nreturn 1" 0
eval "#!lua flags=\"no-writes\"\nreturn 1" 0
eval "#!python\nreturn 1" 0
eval "#!\nreturn 1" 0
eval "#!lua flags=bad\nreturn 1" 0
eval "#!lua flags=no-writes,\nreturn 1" 0
eval "#!lua flags=no-writes allow-oom\nreturn 1" 0
eval "#!lua foo=bar\nreturn 1" 0
eval "#!lua name=x\nreturn 1" 0
eval "#!lua \"flags=no-writes\nreturn 1" 0
eval "#!lua flags=no-writes" 0
eval "#!lua flags=no-writes\nerror('x')" 0
eval "#!lua flags=no-writes\n\nlocal r = redis.call('nosuch') return r" 0
eval "#!lua flags=no-writes\nreturn 1" 5
eval_ro "#!lua\nreturn 1" 0
eval_ro "#!lua flags=allow-oom\nreturn 1" 0
eval_ro "#!lua flags=no-writes\nlocal r = redis.call('get', 'a') return r" 0
eval_ro "#!lua flags=no-writes\nlocal r = redis.call('del', 'a') return r" 0
eval_ro "#!lua flags=bad\nreturn 1" 0
script load "#!lua flags=bad\nreturn 1"
script load "#!python\nreturn 1"
script load "#!lua flags=no-writes\nlocal r = redis.call('set', 'b', 1) return r"
evalsha d970bed796b1d6c97d7a72ebe9ee701c82ce0580 0
evalsha_ro d970bed796b1d6c97d7a72ebe9ee701c82ce0580 0
script load "#!lua\nlocal r = redis.call('set', 'b', 1) return r"
evalsha_ro 1cead29949a6f41221987e33a7fb04cc2fc8bdfc 0
evalsha 1cead29949a6f41221987e33a7fb04cc2fc8bdfc 0
get b
"""


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_shebang_lines_match_redis(redis_server, resp3):
    problems = against_redis(redis_server, SHEBANG, resp3=resp3, before=[("SCRIPT", "FLUSH")])
    assert not problems, "\n".join(problems)
