"""Keyspace notifications against redis-server 7.0: one script of writes covering every data
type (and MULTI/EXEC, EVAL, FCALL, expiry) runs against both with notify-keyspace-events set
to several values, and the messages a RESP2 and a RESP3 pattern subscriber receive must be
the same, message for message and in the same order. Then a subscriber on a follower must
receive what a subscriber on the leader does for writes made through the leader.

Each server is shared by the whole test session: the setting is put back to empty at the end.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.cluster import wait_for
from tests.resp_conn import Conn

PATTERN = "__key*@*__:*"


class Subscriber(Conn):
    """A PSUBSCRIBE to every keyspace and keyevent channel; ``drain`` returns the messages
    the server sent before the pong of a PING sent now (a server writes earlier messages
    first)."""

    def __init__(self, port: int, resp3: bool) -> None:
        super().__init__(port, resp3)
        assert self.call("PSUBSCRIBE", PATTERN)[0] == b"psubscribe"

    def drain(self) -> list:
        return [self._message(m) for m in self.sync()]

    def wait_for(self, count: int, timeout: float) -> list:
        """At least ``count`` messages, waiting up to ``timeout`` seconds."""
        out: list = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            out += self.drain()
            if len(out) < count:
                time.sleep(0.02)
        return out

    @staticmethod
    def _message(reply) -> tuple:
        assert reply[0] == b"pmessage" and reply[1] == PATTERN.encode(), reply
        return (reply[2], reply[3])


def _lua_lib() -> str:
    return ("#!lua name=notifylib\n"
            "redis.register_function('bump', function(keys, args)\n"
            "  redis.call('incr', keys[1])\n"
            "  redis.call('hset', keys[2], 'f', args[1])\n"
            "  return redis.call('lpop', keys[3])\n"
            "end)\n")


# One step: a command for the writer, ("multi", [commands]) for a transaction, ("expired",)
# to wait until the selected database has no keys left (DBSIZE counts keys not reclaimed yet,
# so then the expired events have been sent), ("sleep", seconds), or ("blocked", blocking
# command, command): another client blocks, then the writer's command serves it.
SCRIPT: list = [
    # strings
    ("SET", "s1", "a"), ("SET", "s1", "b"), ("SET", "s2", "v", "PX", 100000, "GET"),
    ("SET", "s2", "w", "NX"), ("SET", "s3", "w", "XX"), ("SET", "s2", "x", "XX", "KEEPTTL"),
    ("SETEX", "s4", 100, "x"), ("PSETEX", "s5", 100000, "x"), ("SETNX", "s6", "1"), ("SETNX", "s6", "2"),
    ("MSET", "m1", "1", "s1", "2", "m2", "3"), ("MSETNX", "m3", "1", "m4", "2"), ("MSETNX", "m3", "1", "m9", "2"),
    ("GETSET", "s7", "1"), ("GETSET", "s7", "2"), ("INCR", "n"), ("DECR", "n"), ("INCRBY", "n", 5),
    ("DECRBY", "n2", 5), ("INCRBYFLOAT", "f", "1.5"), ("INCRBYFLOAT", "f", "1"), ("INCR", "s1"),
    ("APPEND", "ap", "x"), ("APPEND", "ap", "y"), ("SETRANGE", "sr", 3, "x"), ("SETRANGE", "sr", 0, ""),
    ("SETRANGE", "nosr", 0, ""), ("SETRANGE", "sr", 1, "yy"),
    ("GETEX", "s2", "PERSIST"), ("GETEX", "s2", "PERSIST"), ("GETEX", "s2", "EX", 100), ("GETEX", "s2"),
    ("GETEX", "s2", "PXAT", 1), ("GETEX", "nope", "EX", 1), ("GETDEL", "s1"), ("GETDEL", "s1"),
    # generic
    ("DEL", "m1", "m2", "zz"), ("UNLINK", "m3", "zz"), ("EXPIRE", "m4", 100), ("PEXPIRE", "m4", 100000, "NX"),
    ("EXPIREAT", "m4", 4000000000, "GT"), ("PEXPIREAT", "m4", 4000000000000), ("PERSIST", "m4"),
    ("PERSIST", "m4"), ("EXPIRE", "m4", -1), ("EXPIRE", "zz", 10), ("SET", "r1", "1"), ("EXPIRE", "r1", 100),
    ("RENAME", "r1", "r2"), ("RENAME", "r2", "r2"), ("SET", "r3", "x"), ("RENAME", "r2", "r3"),
    ("RENAMENX", "r3", "s6"), ("RENAMENX", "r3", "r4"), ("COPY", "r4", "r5"), ("COPY", "r4", "r5"),
    ("COPY", "r4", "r5", "REPLACE"), ("COPY", "r4", "r6", "DB", 1), ("MOVE", "r5", 1), ("MOVE", "r4", 1),
    ("SELECT", 1), ("DEL", "r4", "r5", "r6"), ("SELECT", 0), ("SWAPDB", 0, 1), ("SWAPDB", 0, 1),
    # lists
    ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "d"), ("LPUSHX", "l", "e"), ("RPUSHX", "nol", "e"),
    ("LPOP", "l"), ("RPOP", "l", 2), ("LPOP", "l", 0), ("LSET", "l", 0, "z"), ("LINSERT", "l", "BEFORE", "z", "y"),
    ("LINSERT", "l", "AFTER", "nope", "y"), ("LREM", "l", 0, "y"), ("LREM", "l", 0, "nope"), ("LTRIM", "l", 0, 0),
    ("LMOVE", "l", "l2", "LEFT", "RIGHT"), ("RPUSH", "l", "a", "b"), ("RPOPLPUSH", "l", "l"),
    ("LMPOP", 2, "nol", "l", "LEFT", "COUNT", 5), ("RPUSH", "l", "a", "b", "c"), ("BLPOP", "l", 0),
    ("BRPOP", "nol", "l", 0), ("BLMOVE", "l", "l2", "RIGHT", "LEFT", 0), ("BRPOPLPUSH", "l2", "l3", 0),
    ("BLMPOP", 0, 1, "l2", "RIGHT", "COUNT", 9), ("LTRIM", "l3", 5, 9), ("LPUSH", "s6", "x"),
    # hashes
    ("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "1"), ("HMSET", "h", "c", "3"), ("HSETNX", "h", "a", "2"),
    ("HSETNX", "h", "d", "4"), ("HSETNX", "h2", "d", "4"), ("HINCRBY", "h", "x", 1), ("HINCRBYFLOAT", "h", "y", "1.5"),
    ("HDEL", "h", "zz"), ("HDEL", "h", "a"), ("HDEL", "h", "b", "c", "d", "x", "y"),
    # sets
    ("SADD", "st", "a", "b", "c"), ("SADD", "st", "a"), ("SADD", "st", "d"), ("SREM", "st", "a", "zz"),
    ("SREM", "st", "zz"), ("SADD", "sp", "a"), ("SPOP", "sp"), ("SMOVE", "st", "st2", "zz"), ("SMOVE", "st", "st", "b"),
    ("SADD", "st", "b", "c", "d"), ("SMOVE", "st", "st2", "b"), ("SADD", "st2", "c"), ("SMOVE", "st", "st2", "c"),
    ("SPOP", "st", 0), ("SPOP", "st", 10), ("SADD", "s3", 1, 2, 3, 4), ("EVAL", "redis.call('spop', KEYS[1], 1) return 1", 1, "s3"),
    ("EVAL", "redis.call('spop', KEYS[1]) return 1", 1, "s3"),
    ("SINTERSTORE", "sd", "s3", "s3"), ("SINTERSTORE", "sd", "s3", "nos"), ("SUNIONSTORE", "sd", "s3", "nos"),
    ("SUNIONSTORE", "sd", "s3", "st2"), ("SDIFFSTORE", "sd", "s3", "s3"), ("SDIFFSTORE", "sd", "s3", "s3"),
    # sorted sets
    ("ZADD", "z", 1, "a", 2, "b", 3, "c"), ("ZADD", "z", 1, "a"), ("ZADD", "z", "XX", 5, "new"),
    ("ZADD", "nz", "XX", 5, "new"), ("ZADD", "z", "INCR", 5, "a"), ("ZADD", "z", "GT", "CH", 1, "a"),
    ("ZINCRBY", "z", 1, "b"), ("ZINCRBY", "z2", 1, "b"), ("ZREM", "z", "c", "zz"), ("ZREM", "z", "zz"),
    ("ZADD", "z", 4, "d", 5, "e", 6, "f", 7, "g"), ("ZREMRANGEBYRANK", "z", 0, 0), ("ZREMRANGEBYRANK", "z", 50, 60),
    ("ZREMRANGEBYSCORE", "z", 5, 5), ("ZREMRANGEBYSCORE", "z", 100, 200), ("ZADD", "z", 0, "aa", 0, "bb"),
    ("ZREMRANGEBYLEX", "z", "[aa", "[bb"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z", 2), ("ZPOPMIN", "z", 0),
    ("ZMPOP", 2, "nz", "z", "MIN", "COUNT", 10), ("ZADD", "z", 1, "a", 2, "b"), ("BZPOPMIN", "z", 0),
    ("BZPOPMAX", "z", "z2", 0), ("BZMPOP", 0, 1, "z2", "MAX"), ("ZADD", "z", 1, "a", 2, "b", 3, "c"),
    ("ZRANGESTORE", "zd", "z", 0, -1), ("ZRANGESTORE", "zd", "z", 5, 6), ("ZRANGESTORE", "zd", "z", 5, 6),
    ("ZUNIONSTORE", "zu", 2, "z", "z"), ("ZINTERSTORE", "zu", 2, "z", "nz"), ("ZDIFFSTORE", "zu", 1, "z"),
    ("ZDIFFSTORE", "zu", 2, "z", "z"),
    # geo
    ("GEOADD", "g", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"),
    ("GEOADD", "g", 13.361389, 38.115556, "Palermo"), ("GEOADD", "g", "XX", 13.5, 38.1, "Palermo"),
    ("GEORADIUS", "g", 15, 37, 200, "km", "STORE", "gs"), ("GEORADIUSBYMEMBER", "g", "Palermo", 1000, "km", "STOREDIST", "gs"),
    ("GEOSEARCHSTORE", "gs2", "g", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km"),
    ("GEOSEARCHSTORE", "gs2", "g", "FROMLONLAT", 0, 0, "BYRADIUS", 1, "km"),
    ("GEORADIUS", "nog", 15, 37, 200, "km", "STORE", "gs"),
    # bitmaps, HyperLogLog, SORT
    ("SETBIT", "b", 7, 1), ("SETBIT", "b", 7, 1), ("SETBIT", "b", 7, 0), ("SETBIT", "b", 100, 0),
    ("BITOP", "AND", "bd", "b", "b"), ("BITOP", "OR", "bd", "nob", "nob"), ("BITOP", "NOT", "bd", "b"),
    ("BITFIELD", "bf", "SET", "u8", 0, 255, "GET", "u8", 0), ("BITFIELD", "bf", "GET", "u8", 0),
    ("BITFIELD", "bf", "INCRBY", "u8", 0, 1), ("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 300), ("BITFIELD", "bf2", "OVERFLOW", "FAIL", "SET", "u8", 0, 300),
    ("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 300, "INCRBY", "u8", 8, 1),
    ("PFADD", "p", "a", "b", "c"), ("PFADD", "p", "a"), ("PFADD", "p2"), ("PFADD", "p2"), ("PFADD", "p3", "x"),
    ("PFMERGE", "p4", "p", "p3"), ("PFMERGE", "p4", "p"),
    ("RPUSH", "sl", 3, 1, 2), ("SORT", "sl", "STORE", "sls"), ("SORT", "sl"), ("SORT", "nosl", "STORE", "sls"),
    ("SORT", "nosl", "STORE", "sls"),
    # streams
    ("XADD", "x1", "1-1", "f", "v"), ("XADD", "x1", "MAXLEN", "1", "2-1", "f", "v"),
    ("XADD", "x1", "MAXLEN", "5", "3-1", "f", "v"), ("XADD", "nox", "NOMKSTREAM", "*", "f", "v"),
    ("XADD", "x1", "1-1", "f", "v"), ("XDEL", "x1", "3-1", "9-9"), ("XDEL", "x1", "9-9"),
    ("XTRIM", "x1", "MAXLEN", 0), ("XTRIM", "x1", "MAXLEN", 0), ("XSETID", "x1", "10-1"),
    ("XGROUP", "CREATE", "x1", "g", "$"), ("XGROUP", "CREATE", "x1", "g", "$"),
    ("XGROUP", "CREATE", "x2", "g", "$", "MKSTREAM"), ("XGROUP", "SETID", "x1", "g", 0),
    ("XGROUP", "CREATECONSUMER", "x1", "g", "c1"), ("XGROUP", "CREATECONSUMER", "x1", "g", "c1"),
    ("XADD", "x1", "11-1", "a", "b"), ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "x1", ">"),
    ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "x1", ">"), ("XACK", "x1", "g", "11-1"),
    ("XCLAIM", "x1", "g", "c3", 0, "11-1"), ("XAUTOCLAIM", "x1", "g", "c4", 0, 0),
    ("XGROUP", "DELCONSUMER", "x1", "g", "c1"), ("XGROUP", "DELCONSUMER", "x1", "g", "nosuch"),
    ("XGROUP", "DESTROY", "x1", "g"), ("XGROUP", "DESTROY", "x1", "g"), ("XADD", "x1", "12-1", "x", "y"),
    ("XGROUP", "CREATE", "x1", "g2", 0), ("XREADGROUP", "GROUP", "g2", "c9", "NOACK", "STREAMS", "x1", ">"),
    ("XDEL", "x1", "11-1", "12-1"), ("DEL", "x1"), ("XADD", "x3", "MINID", 5, "1-1", "a", "b"),
    ("XGROUP", "CREATE", "x4", "g3", "$", "MKSTREAM"),
    # errors change nothing and announce nothing
    ("LPUSH", "h2", "x"), ("INCR", "ap"), ("HSET", "h2"), ("ZADD", "z", "nan", "x"),
    # blocked clients served by a later write: the write's events, then the pop's
    ("blocked", ("BLPOP", "bl", 0), ("RPUSH", "bl", "a")),
    ("blocked", ("BRPOP", "bl", "bl2", 0), ("LPUSH", "bl2", "a", "b")),
    ("blocked", ("BLMOVE", "bl3", "bl4", "LEFT", "RIGHT", 0), ("RPUSH", "bl3", "a")),
    ("blocked", ("BLMPOP", 0, 1, "bl5", "LEFT", "COUNT", 5), ("RPUSH", "bl5", "a", "b")),
    ("blocked", ("BZPOPMIN", "bz", 0), ("ZADD", "bz", 1, "a", 2, "b")),
    ("blocked", ("BZMPOP", 0, 1, "bz2", "MAX", "COUNT", 9), ("ZADD", "bz2", 1, "a")),
    ("blocked", ("XREADGROUP", "GROUP", "g3", "c5", "BLOCK", 0, "STREAMS", "x4", ">"),
     ("XADD", "x4", "1-1", "a", "b")),
    # transactions, scripts and functions
    ("multi", [("SET", "t1", "1"), ("LPUSH", "t2", "a", "b"), ("RPOP", "t2"), ("DEL", "t1", "t2"), ("INCR", "t3")]),
    ("multi", [("SET", "t4", "1"), ("LPUSH", "t4", "x"), ("SET", "t5", "1")]),
    ("EVAL", "redis.call('set', KEYS[1], '1'); redis.call('lpush', KEYS[2], 'x', 'y'); "
             "redis.call('expire', KEYS[1], 100); return redis.call('del', KEYS[1])", 2, "e1", "e2"),
    ("EVAL", "return redis.call('rpop', KEYS[1])", 1, "e2"),
    ("EVAL", "redis.call('select', 2); redis.call('set', KEYS[1], 'x'); return redis.call('del', KEYS[1])", 1, "e3"),
    ("FUNCTION", "LOAD", "REPLACE", _lua_lib()), ("RPUSH", "fl", "a"),
    ("FCALL", "bump", 3, "fc", "fh", "fl", "v"), ("FCALL", "bump", 3, "fc", "fh", "fl", "w"),
    ("FUNCTION", "DELETE", "notifylib"), ("PUBLISH", "ch", "hello"),
    # expiry, in a database of its own: by time (the expired event), and a write reaching
    # an expired key (whichever of the two reclaims it, the messages are the same)
    ("SELECT", 3), ("SET", "x1", "v", "PX", 30), ("expired",),
    ("HSET", "x2", "a", "1"), ("PEXPIRE", "x2", 30), ("expired",),
    ("SET", "x3", "v", "PX", 30), ("sleep", 0.1), ("SET", "x3", "w"), ("SELECT", 0),
    ("FLUSHDB",), ("SET", "last", "1"), ("FLUSHALL",),
]

VARIANTS = ["KEA", "KEAn", "Kx", "Eg$", "KEn", "Elshz", "Kgxn", "AKE", "K", "A"]


def run(port: int, flags: str) -> tuple[list, list, list]:
    """The script against ``port`` with the setting ``flags``: (what the RESP2 subscriber
    got, what the RESP3 one got, the writer's replies)."""
    w = Conn(port)
    subs = [Subscriber(port, False), Subscriber(port, True)]
    got: list[list] = [[], []]
    replies = []
    try:
        assert w.call("FLUSHALL") == b"OK"
        assert w.call("FUNCTION", "FLUSH") == b"OK"
        assert w.call("CONFIG", "SET", "notify-keyspace-events", flags) == b"OK"
        for step in SCRIPT:
            if step[0] == "multi":
                replies.append(w.call("MULTI"))
                for cmd in step[1]:
                    replies.append(w.call(*cmd))
                replies.append(w.call("EXEC"))
            elif step[0] == "expired":
                wait_for(lambda: w.call("DBSIZE") == 0, 10, what="the keys to expire")
            elif step[0] == "sleep":
                time.sleep(step[1])
            elif step[0] == "blocked":
                b = Conn(port)
                try:
                    b.send(*step[1])
                    wait_for(lambda: b"blocked_clients:1" in w.call("INFO", "clients"), 10,
                             what="the client to block")
                    replies.append(w.call(*step[2]))
                    replies.append(b.one())
                finally:
                    b.close()
            else:
                replies.append(w.call(*step))
            for i, sub in enumerate(subs):
                got[i] += sub.drain()
    finally:
        w.call("CONFIG", "SET", "notify-keyspace-events", "")
        w.call("FUNCTION", "FLUSH")
        w.call("FLUSHALL")
        w.close()
        for s in subs:
            s.close()
    return got[0], got[1], replies


@pytest.mark.parametrize("flags", VARIANTS)
def test_notifications_match_redis(redis_server, single_node, flags):
    theirs = run(redis_server.port, flags)
    ours = run(single_node.nodes[1].port, flags)
    assert ours[2] == theirs[2], "the replies differ"
    if flags in ("KEA", "KEAn"):
        assert len(theirs[0]) > 300, "the script should announce plenty"
    for resp, mine, ref in (("RESP2", ours[0], theirs[0]), ("RESP3", ours[1], theirs[1])):
        if mine != ref:
            first = next((i for i, (a, b) in enumerate(zip(mine, ref, strict=False)) if a != b), min(len(mine), len(ref)))
            pytest.fail(f"{resp} {flags}: first difference at message {first}: "
                        f"raftis {mine[max(0, first - 3):first + 5]} vs redis {ref[max(0, first - 3):first + 5]} "
                        f"({len(mine)} vs {len(ref)} messages)")


def test_setting_matches_redis(redis_server, single_node):
    values = ["KEA", "KEAn", "Kx", "Eg$", "KEn", "AKEm", "KEg$lshzxetdn", "KEQ", "", "A", "n", "gK$", "xe", "KEt"]
    out = {}
    for port in (redis_server.port, single_node.nodes[1].port):
        c = Conn(port)
        seen = []
        try:
            for v in values:
                seen.append((v, c.call("CONFIG", "SET", "notify-keyspace-events", v),
                             c.call("CONFIG", "GET", "notify-keyspace-events")))
        finally:
            c.call("CONFIG", "SET", "notify-keyspace-events", "")
            c.close()
        out[port] = seen
    assert out[single_node.nodes[1].port] == out[redis_server.port]


def test_follower_subscribers_see_the_leaders_events(three_nodes):
    """Every node applies every write, so a subscriber on a follower gets, for writes made
    through the leader, the messages a subscriber on the leader gets, in the same order."""
    lead = three_nodes.leader()
    follower = three_nodes.follower()
    lp, fp = three_nodes.nodes[lead].port, three_nodes.nodes[follower].port
    conns = [Conn(lp), Conn(fp)]
    try:
        for c in conns:
            assert c.call("CONFIG", "SET", "notify-keyspace-events", "KEA") == b"OK"
        subs = [Subscriber(lp, False), Subscriber(fp, True)]
        w = conns[0]
        steps = [s for s in SCRIPT if s[0] not in ("multi", "expired", "sleep", "blocked")]
        w.call("FLUSHALL")
        for step in steps:
            w.call(*step)
        w.call("MULTI")
        w.call("SET", "t", "1")
        w.call("LPUSH", "t2", "x")
        w.call("EXEC")
        w.call("SET", "fx", "1", "PX", 20)
        on_leader = subs[0].drain()
        wait_for(lambda: w.call("EXISTS", "fx") == 0, 10, what="fx to expire")
        on_leader += subs[0].wait_for(2, 10)  # the expired event (keyspace and keyevent)
        assert (b"__keyevent@0__:expired", b"fx") in on_leader
        on_follower = subs[1].wait_for(len(on_leader), 15)
        assert on_follower == on_leader
        assert len(on_leader) > 300
        for s in subs:
            s.close()
    finally:
        for c in conns:
            c.call("CONFIG", "SET", "notify-keyspace-events", "")
            c.call("FLUSHALL")
            c.close()
