"""INFO's ``keyspace_hits`` and ``keyspace_misses``, and the ``keymiss`` notification, against
redis-server 7.0: every command of a script covering each data type runs against both, and
the change it makes to the two counters must be the same, command by command. Redis counts a
lookup made to read a key (``lookupKeyRead``), by read commands and by the writes that read a
key (SET ... GET, GETDEL, COPY's source, BITOP's sources, SORT), and not the lookups of
writes; a miss is announced as ``keymiss`` to subscribers of the ``m`` class.

In a cluster the node that serves a read counts it, and a write is counted by the leader
that applies it for its client (as Redis counts on the master, where the command ran), not
by each member as it applies the log.
"""

from __future__ import annotations

import pytest

from tests.integration.cluster import wait_for
from tests.resp_conn import Conn

DB = 11

SETUP: list = [
    ("SET", "s", "hello"), ("SET", "n", "10"), ("HSET", "h", "f", "1", "g", "2"),
    ("RPUSH", "l", "a", "b", "c"), ("SADD", "st", "a", "b"), ("SADD", "st2", "b", "c"),
    ("ZADD", "z", "1", "a", "2", "b"), ("ZADD", "z2", "3", "b"), ("XADD", "x", "1-1", "f", "v"),
    ("PFADD", "p", "a", "b"), ("PFADD", "p2", "c"), ("SETBIT", "bm", "3", "1"),
    ("GEOADD", "g", "13.361389", "38.115556", "palermo", "15.087269", "37.502669", "catania"),
    ("SET", "w_a", "3"), ("SET", "w_b", "1"), ("HSET", "wh_a", "k", "9"),
]

SCRIPT: list = [
    # strings
    ("GET", "s"), ("GET", "nope"), ("GET", "h"), ("MGET", "s", "nope", "n", "h"), ("STRLEN", "s"),
    ("STRLEN", "nope"), ("GETRANGE", "s", "0", "2"), ("GETRANGE", "nope", "0", "2"), ("SUBSTR", "s", "0", "1"),
    ("LCS", "s", "n"), ("LCS", "s", "nope"), ("SET", "s2", "v", "GET"), ("SET", "s2", "w", "GET"),
    ("SET", "s2", "x"), ("SET", "s2", "y", "NX"), ("SETNX", "s3", "1"), ("GETSET", "s3", "2"),
    ("GETSET", "nope2", "2"), ("GETDEL", "nope"), ("GETDEL", "nope2"), ("GETEX", "s2", "EX", "100"),
    ("GETEX", "nope"), ("INCR", "n"), ("INCRBYFLOAT", "n", "1.5"), ("APPEND", "s3", "x"),
    ("SETRANGE", "s3", "1", "y"), ("MSET", "a1", "1", "a2", "2"), ("MSETNX", "a1", "1", "a3", "3"),
    # keys
    ("EXISTS", "s", "nope", "h", "s"), ("TYPE", "s"), ("TYPE", "nope"), ("TTL", "s2"), ("TTL", "nope"),
    ("PTTL", "s"), ("EXPIRETIME", "s2"), ("PEXPIRETIME", "nope"), ("TOUCH", "s", "nope"),
    ("OBJECT", "ENCODING", "s"), ("OBJECT", "ENCODING", "nope"), ("OBJECT", "REFCOUNT", "h"),
    ("DUMP", "s"), ("DUMP", "nope"), ("COPY", "s", "s4"), ("COPY", "nope", "s5"), ("RENAME", "s4", "s6"),
    ("RENAMENX", "s6", "s"), ("MOVE", "s6", "12"), ("DEL", "nope", "a1"), ("UNLINK", "a2"),
    ("EXPIRE", "a3", "100"), ("EXPIRE", "nope", "100"), ("PERSIST", "a3"), ("RANDOMKEY",),
    ("SCAN", "0", "COUNT", "100", "TYPE", "string"), ("KEYS", "s*"), ("DBSIZE",),
    ("SORT", "l", "ALPHA"), ("SORT", "nope"), ("SORT", "l", "BY", "w_*", "GET", "#", "GET", "wh_*->k", "ALPHA"),
    ("SORT_RO", "l", "ALPHA", "LIMIT", "0", "2"), ("SORT", "l", "ALPHA", "STORE", "sorted"),
    # hashes
    ("HGET", "h", "f"), ("HGET", "h", "zz"), ("HGET", "nope", "f"), ("HMGET", "h", "f", "zz"),
    ("HGETALL", "h"), ("HGETALL", "nope"), ("HLEN", "h"), ("HEXISTS", "nope", "f"), ("HKEYS", "h"),
    ("HVALS", "nope"), ("HSTRLEN", "h", "f"), ("HRANDFIELD", "h"), ("HRANDFIELD", "nope", "2"),
    ("HSCAN", "h", "0"), ("HSCAN", "nope", "0"), ("HSET", "h", "k", "3"), ("HINCRBY", "h", "f", "1"),
    ("HDEL", "h", "zz"), ("HSETNX", "h", "f", "2"), ("HGET", "s", "f"),
    # lists
    ("LRANGE", "l", "0", "-1"), ("LRANGE", "nope", "0", "-1"), ("LLEN", "l"), ("LINDEX", "l", "1"),
    ("LPOS", "l", "b"), ("LPOS", "nope", "b"), ("LPUSH", "l", "z"), ("RPOP", "l"), ("LPOP", "nope"),
    ("LMOVE", "l", "l2", "LEFT", "RIGHT"), ("LMOVE", "nope", "l2", "LEFT", "RIGHT"), ("RPOPLPUSH", "l2", "l"),
    ("LSET", "l", "0", "q"), ("LINSERT", "l", "BEFORE", "q", "r"), ("LREM", "l", "0", "r"), ("LTRIM", "l", "0", "5"),
    ("LMPOP", "2", "nope", "l", "LEFT"), ("BLPOP", "l", "0"), ("BLPOP", "nope", "l", "0"),
    # sets
    ("SMEMBERS", "st"), ("SMEMBERS", "nope"), ("SISMEMBER", "st", "a"), ("SMISMEMBER", "nope", "a"),
    ("SCARD", "st"), ("SRANDMEMBER", "st"), ("SINTER", "st", "st2", "nope"), ("SUNION", "st", "nope", "st2"),
    ("SDIFF", "st", "st2"), ("SINTERCARD", "2", "st", "st2"), ("SSCAN", "st", "0"), ("SADD", "st", "c"),
    ("SREM", "st", "zz"), ("SMOVE", "st", "st3", "c"), ("SINTERSTORE", "d1", "st", "st2"),
    ("SUNIONSTORE", "d2", "st", "nope"), ("SDIFFSTORE", "d3", "st", "st2"), ("SPOP", "st3"),
    # sorted sets
    ("ZSCORE", "z", "a"), ("ZSCORE", "nope", "a"), ("ZMSCORE", "z", "a", "q"), ("ZRANGE", "z", "0", "-1"),
    ("ZRANGE", "nope", "0", "-1"), ("ZRANGEBYSCORE", "z", "-inf", "inf"), ("ZREVRANGE", "z", "0", "0"),
    ("ZRANK", "z", "b"), ("ZREVRANK", "nope", "b"), ("ZCARD", "z"), ("ZCOUNT", "z", "0", "5"),
    ("ZLEXCOUNT", "z", "-", "+"), ("ZRANDMEMBER", "z"), ("ZSCAN", "z", "0"), ("ZUNION", "2", "z", "nope"),
    ("ZINTER", "2", "z", "z2"), ("ZDIFF", "2", "z", "z2"), ("ZINTERCARD", "2", "z", "z2"),
    ("ZUNIONSTORE", "zd", "2", "z", "nope"), ("ZINTERSTORE", "zd2", "2", "z", "z2"),
    ("ZDIFFSTORE", "zd3", "2", "z", "z2"), ("ZRANGESTORE", "zd4", "z", "0", "-1"),
    ("ZRANGESTORE", "zd5", "nope", "0", "-1"), ("ZADD", "z", "5", "c"), ("ZINCRBY", "z", "1", "a"),
    ("ZREM", "z", "q"), ("ZPOPMIN", "zd"), ("ZMPOP", "2", "nope", "zd2", "MIN"),
    # streams
    ("XRANGE", "x", "-", "+"), ("XRANGE", "nope", "-", "+"), ("XREVRANGE", "x", "+", "-"), ("XLEN", "x"),
    ("XLEN", "nope"), ("XREAD", "STREAMS", "x", "nope", "0", "0"), ("XINFO", "STREAM", "x"),
    ("XADD", "x", "2-1", "f", "w"), ("XGROUP", "CREATE", "x", "grp", "0"),
    ("XREADGROUP", "GROUP", "grp", "c1", "STREAMS", "x", ">"), ("XPENDING", "x", "grp"),
    ("XINFO", "GROUPS", "x"), ("XACK", "x", "grp", "1-1"), ("XCLAIM", "x", "grp", "c2", "0", "2-1"),
    ("XAUTOCLAIM", "x", "grp", "c3", "0", "0"), ("XTRIM", "x", "MAXLEN", "5"), ("XDEL", "x", "9-9"),
    # hyperloglog, bitmaps, geo
    ("PFCOUNT", "p"), ("PFCOUNT", "nope"), ("PFCOUNT", "p", "p2", "nope"), ("PFADD", "p", "z"),
    ("PFMERGE", "pd", "p", "p2", "nope"), ("GETBIT", "bm", "3"), ("GETBIT", "nope", "3"),
    ("BITCOUNT", "bm"), ("BITCOUNT", "nope"), ("BITPOS", "bm", "1"), ("BITFIELD_RO", "bm", "GET", "u4", "0"),
    ("BITFIELD", "bm", "GET", "u4", "0"), ("BITFIELD", "bm2", "SET", "u4", "0", "3"),
    ("BITOP", "AND", "bd", "bm", "nope"), ("SETBIT", "bm", "5", "1"), ("GEOPOS", "g", "palermo"),
    ("GEOPOS", "nope", "x"), ("GEODIST", "g", "palermo", "catania"), ("GEOHASH", "g", "palermo"),
    ("GEOSEARCH", "g", "FROMMEMBER", "palermo", "BYRADIUS", "500", "km"),
    ("GEOSEARCH", "nope", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km"),
    ("GEORADIUS", "g", "15", "37", "200", "km"), ("GEORADIUSBYMEMBER_RO", "g", "palermo", "1", "km"),
    ("GEOSEARCHSTORE", "gd", "g", "FROMMEMBER", "palermo", "BYRADIUS", "500", "km"),
    # scripts and transactions
    ("EVAL", "redis.call('get', KEYS[1]); return redis.call('get', KEYS[2])", "2", "s", "nope"),
    ("EVAL_RO", "return redis.call('hget', KEYS[1], 'f')", "1", "h"),
    ("EVAL", "redis.call('set', KEYS[1], 'v'); return redis.call('exists', KEYS[1])", "1", "ev"),
    ("multi", [("GET", "s"), ("GET", "nope"), ("SET", "t1", "1", "GET"), ("HGETALL", "h")]),
]


def _counts(c: Conn) -> tuple[int, int]:
    info = c.call("INFO", "stats").decode()
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    return int(fields["keyspace_hits"]), int(fields["keyspace_misses"])


def _run(c: Conn, step) -> object:
    if step[0] == "multi":
        assert c.call("MULTI") == b"OK"
        for cmd in step[1]:
            assert c.call(*cmd) == b"QUEUED"
        return c.call("EXEC")
    return c.call(*step)


def _deltas(port: int) -> list:
    c = Conn(port)
    assert c.call("SELECT", DB) == b"OK"
    c.call("FLUSHDB")
    c.call("SELECT", 12)
    c.call("FLUSHDB")
    c.call("SELECT", DB)
    for cmd in SETUP:
        r = c.call(*cmd)
        assert not (isinstance(r, tuple) and r[0] == "error"), (cmd, r)
    out = []
    before = _counts(c)
    for step in SCRIPT:
        reply = _run(c, step)
        after = _counts(c)
        out.append((step, (after[0] - before[0], after[1] - before[1]),
                    "error" if isinstance(reply, tuple) and reply[0] == "error" else "ok"))
        before = after
    c.call("FLUSHDB")
    c.close()
    return out


def test_hits_and_misses_command_by_command(redis_server, single_node):
    theirs = _deltas(redis_server.port)
    ours = _deltas(single_node.nodes[1].port)
    assert len(ours) == len(theirs)
    diffs = [(step, t, o) for (step, t, _), (_, o, _) in zip(theirs, ours, strict=True) if t != o]
    assert not diffs, "\n".join(f"{step}: redis {t}, raftis {o}" for step, t, o in diffs)
    # The script exercises both counters (it would pass trivially if neither moved).
    assert sum(d[1][0] for d in ours) > 100 and sum(d[1][1] for d in ours) > 50


def test_config_resetstat_zeroes_them(single_node):
    c = Conn(single_node.nodes[1].port)
    c.call("GET", "hits-reset-nope")
    assert _counts(c)[1] > 0
    assert c.call("CONFIG", "RESETSTAT") == b"OK"
    assert _counts(c) == (0, 0)
    c.close()


@pytest.mark.parametrize("flags", ["Km", "Em", "KEA", "KEAm"])
def test_keymiss_events(redis_server, single_node, flags):
    """A miss is announced only with ``m`` ("A" does not include it), for reads and for the
    writes that read (GETDEL), and never for the lookups of plain writes."""
    steps = [("GET", "km1"), ("SET", "km1", "v"), ("GET", "km1"), ("HGET", "km2", "f"),
             ("GETDEL", "km3"), ("INCR", "km4"), ("DEL", "km4", "km1"), ("EXISTS", "km5")]

    def messages(port: int) -> list:
        c = Conn(port)
        c.call("SELECT", DB)
        assert c.call("CONFIG", "SET", "notify-keyspace-events", flags) == b"OK"
        sub = Conn(port)
        assert sub.call("PSUBSCRIBE", "__key*@*__:*")[0] == b"psubscribe"
        for step in steps:
            c.call(*step)
        got = [(m[2], m[3]) for m in sub.sync()]
        c.call("CONFIG", "SET", "notify-keyspace-events", "")
        c.call("FLUSHDB")
        c.close()
        sub.close()
        return got

    theirs = messages(redis_server.port)
    ours = messages(single_node.nodes[1].port)
    assert ours == theirs
    if "m" in flags:
        assert any(b"keymiss" in (ch + msg) for ch, msg in ours)


def test_cluster_counts_where_the_command_ran(three_nodes):
    """A read on the leader is counted there; a GETDEL applied on every member is counted
    once, by the leader, not by the followers that apply it from the log."""
    leader = three_nodes.leader()
    followers = [i for i in three_nodes.nodes if i != leader]
    conns = {i: Conn(three_nodes.nodes[i].port) for i in three_nodes.nodes}
    for c in conns.values():
        c.call("CONFIG", "RESETSTAT")
    lc = conns[leader]
    lc.call("SET", "cl-hit", "1")
    lc.call("GET", "cl-hit")
    lc.call("GET", "cl-miss")
    lc.call("GETDEL", "cl-hit")
    assert _counts(lc) == (2, 1)
    # The followers applied the SET and the GETDEL too: they counted nothing.
    index = int(three_nodes.raft_info(leader)["applied_index"])
    for f in followers:
        wait_for(lambda f=f: int(three_nodes.raft_info(f)["applied_index"]) >= index, timeout=10)
    for f in followers:
        assert _counts(conns[f]) == (0, 0)
    # A follower's READONLY read runs there, and is counted there.
    f = conns[followers[0]]
    assert f.call("READONLY") == b"OK"
    f.call("GET", "cl-miss")
    assert _counts(f) == (0, 1)
    for c in conns.values():
        c.close()
