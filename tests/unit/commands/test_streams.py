"""Stream values in the state machine: snapshots, COPY, determinism, and what the blocking
forms hand to the node. Replies themselves are compared with redis-server in
test_streams_vs_redis.py."""

from __future__ import annotations

import io

from commands_harness import LocalExecutor

from server.commands.blocking import Blocked
from server.keyspace import Keyspace
from server.stream import Stream


class Clock:
    def __init__(self, now: int = 1_700_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _populate(ex: LocalExecutor, clock: Clock) -> None:
    for i in range(250):
        clock.now += 1
        ex.run("XADD", "s", "*", "f", i, *(["g", "x" * i] if i % 7 == 0 else []))
    ex.run("XDEL", "s", "1700000000005-0", "1700000000006-0")
    ex.run("XTRIM", "s", "MINID", "=", "1700000000003")
    ex.run("XGROUP", "CREATE", "s", "g", "0")
    ex.run("XGROUP", "CREATE", "s", "h", "$", "ENTRIESREAD", "250")
    ex.run("XGROUP", "CREATECONSUMER", "s", "h", "idle")
    clock.now += 10
    ex.run("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
    clock.now += 10
    ex.run("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">")
    ex.run("XCLAIM", "s", "g", "carol", "0", "1700000000007-0", "RETRYCOUNT", "5", "IDLE", "3")
    ex.run("XSETID", "s", "1700000009999-9", "ENTRIESADDED", "400", "MAXDELETEDID", "1700000000100-0")


def _state(ex: LocalExecutor) -> object:
    return ex.run("XINFO", "STREAM", "s", "FULL", "COUNT", "0")


def test_snapshot_round_trip_keeps_everything():
    clock = Clock()
    ex = LocalExecutor(clock)
    _populate(ex, clock)
    before = _state(ex)
    buf = io.BytesIO()
    ex.keyspace.snapshot_to(buf)
    restored = Keyspace()
    restored.restore_from(io.BytesIO(buf.getvalue()))
    ex2 = LocalExecutor(clock)
    ex2.keyspace.restore_from(io.BytesIO(buf.getvalue()))
    ex2.ctx.keyspace = ex2.keyspace
    assert _state(ex2) == before
    assert ex2.keyspace.dbs[0].data[b"s"].dump() == ex.keyspace.dbs[0].data[b"s"].dump()
    assert ex2.run("XINFO", "CONSUMERS", "s", "g") == ex.run("XINFO", "CONSUMERS", "s", "g")
    # nodes survive too: the same approximate trim removes the same entries
    assert ex.run("XTRIM", "s", "MAXLEN", "~", "120") == ex2.run("XTRIM", "s", "MAXLEN", "~", "120")
    assert ex.run("XRANGE", "s", "-", "+") == ex2.run("XRANGE", "s", "-", "+")


def test_copy_is_independent():
    clock = Clock()
    ex = LocalExecutor(clock)
    _populate(ex, clock)
    assert ex.run("COPY", "s", "t") == 1
    assert ex.run("XINFO", "STREAM", "t", "FULL") == ex.run("XINFO", "STREAM", "s", "FULL")
    ex.run("XACK", "t", "g", "1700000000003-0")
    ex.run("XADD", "t", "*", "a", "b")
    assert ex.run("XINFO", "STREAM", "t", "FULL") != ex.run("XINFO", "STREAM", "s", "FULL")
    assert ex.run("XPENDING", "s", "g")[0] == 5


def test_same_log_gives_same_state():
    a, b = LocalExecutor(Clock()), LocalExecutor(Clock())
    _populate(a, a.clock)
    _populate(b, b.clock)
    assert a.keyspace.dbs[0].data[b"s"].dump() == b.keyspace.dbs[0].data[b"s"].dump()


def test_xadd_star_uses_the_entry_time_and_never_goes_back():
    clock = Clock(5000)
    ex = LocalExecutor(clock)
    assert ex.run("XADD", "s", "*", "a", "1") == b"5000-0"
    assert ex.run("XADD", "s", "*", "a", "1") == b"5000-1"
    clock.now = 4000  # a leader with a clock behind the last ID
    assert ex.run("XADD", "s", "*", "a", "1") == b"5000-2"
    clock.now = 6000
    assert ex.run("XADD", "s", "*", "a", "1") == b"6000-0"


def test_xread_block_blocks_with_dollar_resolved():
    ex = LocalExecutor(Clock())
    ex.run("XADD", "s", "7-1", "a", "1")
    ex.index += 1
    ex.ctx.for_write(ex.index, 0, 0)
    from server.commands.streams import xread, xreadgroup

    got = xread(ex.ctx, [b"XREAD", b"BLOCK", b"100", b"STREAMS", b"s", b"nokey", b"$", b"$"])
    assert type(got) is Blocked
    assert got.keys == (b"s", b"nokey") and got.timeout_ms == 100
    # proposed again when woken, with $ as it was when it blocked
    assert got.argv == [b"raftis.xread-woken", b"XREAD", b"BLOCK", b"100", b"STREAMS", b"s", b"nokey", b"7-1", b"0-0"]
    served = xread(ex.ctx, [b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"0"])
    assert type(served) is not Blocked
    ex.run("XGROUP", "CREATE", "s", "g", "$")
    argv = [b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"s", b">"]
    got = xreadgroup(ex.ctx, argv)
    assert type(got) is Blocked and got.argv[1:] == argv and got.timeout_ms == 0
    ex.ctx.in_exec = True  # inside MULTI nothing blocks: a null array, as on timeout
    try:
        assert xread(ex.ctx, [b"XREAD", b"BLOCK", b"100", b"STREAMS", b"s", b"$"]).__class__.__name__ == "_NullArray"
    finally:
        ex.ctx.in_exec = False


def test_a_woken_reader_is_served_as_redis_serves_it():
    """Woken, the first key whose last ID (deleted entries included) passed the one waited
    for serves the client alone; a destroyed group is an error; nothing else wakes it."""
    ex = LocalExecutor(Clock())
    ex.run("XADD", "a", "5-1", "f", "v")
    ex.run("XADD", "b", "1-1", "f", "v")
    woken = ["raftis.xread-woken", "XREAD", "COUNT", "5", "BLOCK", "0", "STREAMS", "nokey", "a", "b", "0", "5-1", "0"]
    from server.commands.registry import lookup_internal

    def run(*argv):
        ex.index += 1
        ex.ctx.for_write(ex.index, ex.clock(), 0)
        a = [x.encode() if isinstance(x, str) else x for x in argv]
        return lookup_internal(a).handler(ex.ctx, a)

    got = run(*woken)
    assert got.resp2 == b"*1\r\n*2\r\n$1\r\nb\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    ex.run("XADD", "a", "6-1", "f", "v")
    ex.run("XDEL", "a", "6-1")
    got = run(*woken[:-3], "0", "5-1", "1-1")
    assert got.resp2 == b"*1\r\n*2\r\n$1\r\na\r\n*0\r\n"  # served, with nothing
    ex.run("SET", "nokey", "str")
    assert type(run(*woken[:-3], "0", "6-1", "1-1")) is Blocked
    ex.run("XGROUP", "CREATE", "a", "g", "$")
    grp = ["raftis.xread-woken", "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "a", ">"]
    assert type(run(*grp)) is Blocked
    ex.run("XGROUP", "DESTROY", "a", "g")
    assert str(run(*grp)) == "NOGROUP the consumer group this client was blocked on no longer exists"


def test_ranges_bisect_large_streams():
    s = Stream()
    for i in range(1, 20001):
        s.append(i << 64, (b"f", b"v"))
    assert len(s.nodes) == 200
    assert s.range(5000 << 64, 5002 << 64) == [5000 << 64, 5001 << 64, 5002 << 64]
    assert s.range(0, 1 << 128, 2, rev=True) == [20000 << 64, 19999 << 64]
    assert s.trim(15000, None, True, 0) == 5000
    assert len(s.nodes) == 150
