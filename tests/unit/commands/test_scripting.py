"""What scripts do here beyond Redis's replies (tests/unit/commands/test_scripting_vs_redis.py):
the same result on every node (fresh state, fixed random sequence, the entry's time), budgets
that stop a runaway script at the same point everywhere, a sandbox a script cannot crash
the process from, and the script cache in snapshots."""

from __future__ import annotations

import io

import pytest
from commands_harness import LocalExecutor

from resp.types import ErrorReply, SimpleString
from server import scripting
from server.auth import User
from server.commands import lookup
from server.keyspace import Keyspace


def _run(ex: LocalExecutor, *args: object):
    return ex.run(*args)


def test_each_run_starts_from_the_same_state():
    ex = LocalExecutor()
    script = "return {math.random(100), math.random(100), math.random(5, 9)}"
    # The first numbers of a freshly started redis-server's lrand48 sequence, every time.
    assert _run(ex, "eval", script, 0) == [40, 85, 6]
    assert _run(ex, "eval", script, 0) == [40, 85, 6]
    assert _run(ex, "eval", "math.randomseed(7) return math.random(1000)", 0) == \
        _run(ex, "eval", "math.randomseed(7) return math.random(1000)", 0)
    # A global a script tried to leave behind is refused, and nothing else carries over.
    assert "Attempt to modify a readonly table" in str(_run(ex, "eval", "leftover = 1", 0))
    err = _run(ex, "eval", "return leftover", 0)
    assert isinstance(err, ErrorReply) and "nonexistent global variable 'leftover'" in str(err)


def test_time_and_random_commands_come_from_the_entry():
    # Every node applies the entry with the leader's timestamp and a seed from its index.
    a, b = LocalExecutor(clock=lambda: 1_700_000_000_123), LocalExecutor(clock=lambda: 1_700_000_000_123)
    for ex in (a, b):
        ex.run("sadd", "s", *range(50))
    script = "local t = redis.call('time') local m = redis.call('spop', 's', 3) return {t[1], t[2], m}"
    ra, rb = a.run("eval", script, 0), b.run("eval", script, 0)
    assert ra == rb
    assert ra[:2] == [b"1700000000", b"123000"]
    assert a.run("smembers", "s").items == b.run("smembers", "s").items


def test_a_runaway_script_is_stopped_at_its_budget_and_keeps_its_writes():
    ex = LocalExecutor()
    err = ex.run("eval", "redis.call('set', 'before', 1) while true do end", 0)
    assert isinstance(err, ErrorReply)
    assert str(err).startswith("ERR the script went over its budget of Lua instructions")
    assert ex.run("get", "before") == b"1"
    err = ex.run("eval", "for i = 1, 1e9 do redis.call('incr', 'n') end", 0)
    assert str(err).startswith("ERR the script went over its budget of Redis calls")
    assert ex.run("get", "n") == str(scripting.MAX_CALLS).encode()


@pytest.mark.parametrize("body", [
    "while true do pcall(function() while true do end end) end",
    "pcall(function() while true do pcall(function() while true do end end) end end) return 5",
    "local ok = false while not ok do ok = pcall(function() while true do end end) end",
])
def test_a_script_that_catches_the_budget_error_is_stopped_all_the_same(body):
    # Each node must stop the script at the same point: catching the error and going on
    # would otherwise loop for ever, on every node at once.
    ex = LocalExecutor()
    err = ex.run("eval", body, 0)
    assert str(err).startswith("ERR the script went over its budget of Lua instructions")
    assert ex.run("eval", "return 1", 0) == 1


@pytest.mark.parametrize("body", [
    "return setmetatable({}, {__index = function() error('x') end})",
    "return setmetatable({}, {__index = function() while true do end end})",
    "error(setmetatable({}, {__index = function() error('x') end}))",
    "local t = {} t[1] = t return t",
    "return coroutine.wrap(function() while true do end end)()",
    "return string.rep('x', 10):upper() .. tostring(nosuch_global_read_by_the_runtime)",
    "local r = redis.call('get', 'k') return r[1]",
    "return redis.call('set', 'k')",
])
def test_hostile_scripts_get_an_error_or_a_value_never_a_crash(body):
    # A Lua error outside a protected call aborts the whole process, on every node applying
    # the entry: a script must not be able to cause one.
    ex = LocalExecutor()
    reply = ex.run("eval", body, 0)
    assert isinstance(reply, ErrorReply | list | bytes | int) or reply is None
    assert ex.run("ping") == SimpleString(b"PONG")


def test_precompiled_lua_is_never_loaded():
    # Crafted Lua 5.1 bytecode reads and writes the process's memory: a script body, or a
    # chunk given to loadstring or load, is always parsed as text (as Redis does).
    dump = scripting._runtime().execute("return string.dump(function() return 42 end)")
    assert dump[:1] == b"\x1b"
    ex = LocalExecutor()
    for cmd in (("eval", dump, 0), ("script", "load", dump)):
        assert str(ex.run(*cmd)) == ("ERR Error compiling script (new function): user_script:1: "
                                     "unexpected symbol near 'char(27)'")
    assert ex.run("eval", "local f = loadstring(ARGV[1]) return f and f() or 'refused'", 0, dump) == b"refused"
    body = "local i = 0 local f = load(function() i = i + 1 if i == 1 then return ARGV[1] end end) return f and f() or 'refused'"
    assert ex.run("eval", body, 0, dump) == b"refused"
    assert ex.run("eval", "return loadstring('return 6')()", 0) == 6


def test_library_settings_last_for_one_run():
    # Redis keeps cjson's settings in its Lua state from one script to the next: a script's
    # output would then depend on what ran before it on that node.
    ex = LocalExecutor()
    assert ex.run("eval", "cjson.encode_number_precision(3) return cjson.encode(1/3)", 0) == b"0.333"
    assert ex.run("eval", "return cjson.encode(1/3)", 0) == b"0.33333333333333"


@pytest.mark.parametrize("body", [
    "while true do local s = cjson.encode({1, 2, {a = 'b'}}) end",
    "while true do local v = cmsgpack.unpack(cmsgpack.pack({1, 2, 3})) end",
    "while true do local v = bit.bxor(bit.band(-1, 12345), 77) end",
    "while true do local v = struct.unpack('>i', struct.pack('>i', 7)) end",
])
def test_library_work_counts_against_the_budget(body):
    err = LocalExecutor().run("eval", body, 0)
    assert str(err).startswith("ERR the script went over its budget of Lua instructions")


@pytest.mark.parametrize("body", [
    "return cmsgpack.pack(setmetatable({1, 2}, {__index = function() error('x') end}))",
    "return cmsgpack.pack(setmetatable({}, {__index = function() while true do end end}))",
    "return cjson.encode(setmetatable({}, {__index = function() error('x') end, __len = function() return 5 end}))",
    "local t = {} t[1] = t return cmsgpack.pack(t)",
    "return cjson.decode(string.rep('[', 100000))",
    "return cmsgpack.unpack(string.rep('\\145', 100000))",
    "return {struct.unpack('c0', 'abc')}",
    "return struct.pack('i', 2^70)",
])
def test_libraries_get_an_error_or_a_value_never_a_crash(body):
    ex = LocalExecutor()
    reply = ex.run("eval", body, 0)
    assert isinstance(reply, ErrorReply | list | bytes | int) or reply is None
    assert ex.run("ping") == SimpleString(b"PONG")


def test_an_error_from_a_call_in_tail_position_names_no_line():
    ex = LocalExecutor()
    ex.run("rpush", "l", "a")
    sha = scripting.sha1hex(b"return redis.call('get', 'l')").decode()
    assert str(ex.run("eval", "return redis.call('get', 'l')", 0)) == (
        f"WRONGTYPE Operation against a key holding the wrong kind of value script: {sha}, on @user_script.")


def test_eval_ro_cannot_write_and_does_not_fill_the_cache():
    ex = LocalExecutor()
    assert "Write commands are not allowed" in str(ex.run("eval_ro", "redis.call('set', 'a', 1)", 0))
    assert ex.run("exists", "a") == 0
    sha = scripting.sha1hex(b"return 1")
    ex.run("eval_ro", "return 1", 0)
    assert ex.run("script", "exists", sha) == [0]
    ex.run("eval", "return 1", 0)
    assert ex.run("script", "exists", sha) == [1]


def test_the_script_cache_is_in_the_snapshot():
    ex = LocalExecutor()
    sha = ex.run("script", "load", "return ARGV[1]")
    ex.run("set", "k", "v")
    buf = io.BytesIO()
    ex.keyspace.snapshot_to(buf)
    restored = Keyspace()
    restored.restore_from(io.BytesIO(buf.getvalue()))
    assert restored.scripts == {sha: b"return ARGV[1]"}
    # A snapshot without scripts (as before they existed) restores an empty cache.
    empty = Keyspace()
    buf2 = io.BytesIO()
    empty.snapshot_to(buf2)
    restored.restore_from(io.BytesIO(buf2.getvalue()))
    assert restored.scripts == {}


def test_function_libraries_are_in_the_snapshot():
    ex = LocalExecutor()
    code = ("#!lua name=lib\nredis.register_function{function_name='double', callback=function(k, a) "
            "return tonumber(a[1]) * 2 end, flags={'no-writes'}, description='twice'}")
    assert ex.run("function", "load", code) == b"lib"
    buf = io.BytesIO()
    ex.keyspace.snapshot_to(buf)
    restored = LocalExecutor()
    restored.keyspace.restore_from(io.BytesIO(buf.getvalue()))
    assert restored.keyspace.functions == ex.keyspace.functions
    assert restored.run("fcall_ro", "double", "0", "21") == 42
    assert restored.run("function", "stats")  # one library, one function
    restored.keyspace.restore_from(io.BytesIO(_empty_snapshot()))
    assert restored.keyspace.functions == {}
    assert str(restored.run("fcall", "double", "0", "1")) == "ERR Function not found"


def _empty_snapshot() -> bytes:
    buf = io.BytesIO()
    Keyspace().snapshot_to(buf)
    return buf.getvalue()


def test_a_function_runs_its_library_afresh_each_call():
    # A library's top level runs again at every FCALL, in a fresh state: a function sees the
    # same world on every node, and nothing one call leaves behind reaches the next.
    ex = LocalExecutor()
    code = ("#!lua name=rnd\nredis.register_function('r', function(k, a) "
            "return {math.random(100), math.random(100)} end)")
    ex.run("function", "load", code)
    assert ex.run("fcall", "r", "0") == ex.run("fcall", "r", "0") == [40, 85]
    err = ex.run("function", "load", "#!lua name=loop\nwhile true do end")
    assert str(err).startswith("ERR Error registering functions: ERR the script went over its budget")


def test_a_user_limited_by_acl_may_not_run_scripts():
    # Its redis.call()s would not be checked: a script would reach every command and key.
    limited = User("app").apply(["on", "nopass", "~app:*", "+@all"])
    full = User("admin").apply(["on", "nopass", "~*", "+@all"])
    argv = [b"eval", b"return redis.call('flushall')", b"0"]
    cmd = lookup(argv)
    assert "scripts need a user allowed every command on every key" in str(limited.check(cmd, argv))
    assert full.check(cmd, argv) is None


def test_a_script_cannot_take_more_than_its_memory():
    ex = LocalExecutor()
    err = ex.run("eval", "local s = string.rep('x', 1e9) return #s", 0)
    assert isinstance(err, ErrorReply) and "not enough memory" in str(err)
    assert ex.run("eval", "return #string.rep('x', 1000)", 0) == 1000


def test_tostring_of_a_table_shows_no_address():
    # An address differs between nodes; a value built from it would make them diverge.
    ex = LocalExecutor()
    script = ("local a, b = {}, {} "
              "return {tostring(a), tostring(b), tostring(a), tostring(tostring), tostring(1.5)}")
    assert ex.run("eval", script, 0) == [b"table: 0x00000001", b"table: 0x00000002", b"table: 0x00000001",
                                          b"function: 0x00000003", b"1.5"]


def test_redis_version_in_scripts_is_the_one_info_gives():
    from server.info import REDIS_VERSION

    major, minor, patch = (int(x) for x in REDIS_VERSION.split("."))
    assert LocalExecutor().run("eval", "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}", 0) == [
        REDIS_VERSION.encode(), (major << 16) | (minor << 8) | patch]
