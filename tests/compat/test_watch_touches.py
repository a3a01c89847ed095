"""Which writes touch a watched key, against redis-server: one connection WATCHes every key,
another runs one command, then the first runs MULTI / PING / EXEC. EXEC must abort exactly
when Redis's does: a write Redis counts as a change that Raftis misses would let a
check-and-set overwrite it, and a no-op Raftis counts as one aborts transactions Redis runs.
On the single node and through a follower (WATCH and EXEC then run on the leader)."""

from __future__ import annotations

import shlex

from tests.compat.targets import RawConn

SETUP = ["SET s abc", "SET n 5", "HSET h f 1", "RPUSH l a b c", "SADD st a b", "ZADD z 1 a 2 b",
         "SET t x EX 1000", "XADD x 1-1 a 1", "XADD x 2-1 b 2", "XGROUP CREATE x g 0",
         "XREADGROUP GROUP g c COUNT 1 STREAMS x >"]
KEYS = [b"s", b"n", b"h", b"l", b"st", b"z", b"t", b"st2", b"st3", b"z3", b"q", b"x", b"x2"]
# Mostly writes that change nothing (Redis does not signal those), and some that do.
CASES = [
    "SETNX s x", "SETRANGE s 0 ''", "SETRANGE s 1 b", "APPEND s ''", "GETEX s", "GETEX s PERSIST",
    "GETDEL nokey", "MSETNX s 1 q 2", "EXPIRE nokey 10", "PERSIST s", "PERSIST t", "EXPIRE s 100 XX",
    "EXPIRE t 2000 LT", "EXPIRE t 10 GT", "HDEL h nof", "HDEL h f", "HSETNX h f 2", "HSET h f 1",
    "HINCRBY h f 0", "LREM l 0 z", "LTRIM l 0 -1", "LSET l 0 a", "RPUSHX nokey a", "LINSERT l BEFORE zz q",
    "LPOP nokey", "SREM st z", "SMOVE st st2 z", "ZREM z q", "ZADD z XX 1 q", "ZADD z 1 a", "ZADD z NX 5 a",
    "ZINCRBY z 0 a", "ZREMRANGEBYSCORE z 10 20", "ZPOPMIN nokey", "DEL nokey", "UNLINK nokey", "RENAME s s",
    "RENAMENX s n", "COPY s n", "COPY nokey n", "MOVE nokey 1", "MOVE s 1", "SWAPDB 0 0", "FLUSHDB",
    "INCRBYFLOAT n 0", "INCRBY n 0", "SET s abc", "SET s abc NX", "SET s abc XX", "SET s abc GET",
    "SINTERSTORE st nokey", "SINTERSTORE st3 nokey", "ZUNIONSTORE z3 1 nokey", "LMOVE nokey l LEFT RIGHT",
    "SPOP nokey", "HINCRBYFLOAT h f 0", "EXPIREAT t 1", "PEXPIRE s 0",
    "XADD x 3-1 a 1", "XADD x 1-1 a 1", "XADD x2 NOMKSTREAM * a 1", "XTRIM x MAXLEN 10", "XTRIM x MAXLEN 1",
    "XTRIM x MAXLEN ~ 1", "XDEL x 9-9", "XDEL x 1-1", "XSETID x 2-1", "XSETID x 5-1", "XGROUP CREATE x g2 0",
    "XGROUP CREATE x g 0", "XGROUP CREATE x2 g 0 MKSTREAM", "XGROUP SETID x g 0", "XGROUP SETID x g 1-1",
    "XGROUP DESTROY x nog", "XGROUP DESTROY x g", "XGROUP CREATECONSUMER x g d", "XGROUP CREATECONSUMER x g c",
    "XGROUP DELCONSUMER x g nobody", "XGROUP DELCONSUMER x g c", "XREADGROUP GROUP g c STREAMS x >",
    "XREADGROUP GROUP g c STREAMS x 0", "XREADGROUP GROUP g c STREAMS x 5-1", "XREADGROUP GROUP g d NOACK STREAMS x >",
    "XACK x g 9-9", "XACK x g 1-1", "XCLAIM x g d 0 1-1", "XCLAIM x g d 100000 1-1", "XCLAIM x g d 0 9-9",
    "XAUTOCLAIM x g d 0 0", "XAUTOCLAIM x g d 100000 0", "XREAD STREAMS x 0",
]


def _argv(line: str) -> list[bytes]:
    return [w.encode() for w in shlex.split(line)]


def _aborts(port: int) -> list[bool]:
    watcher, writer = RawConn(port), RawConn(port)
    try:
        out = []
        for case in CASES:
            watcher.call(b"FLUSHALL")
            watcher.pipeline([_argv(x) for x in SETUP])
            watcher.call(b"WATCH", *KEYS)
            writer.call(*_argv(case))
            out.append(watcher.pipeline([[b"MULTI"], [b"PING"], [b"EXEC"]])[2].raw in (b"*-1\r\n", b"_\r\n"))
        return out
    finally:
        watcher.close()
        writer.close()


def test_watch_sees_the_writes_redis_sees(redis_server, target_port):
    theirs, ours = _aborts(redis_server.port), _aborts(target_port)
    differ = [f"{case}: redis {'aborts' if a else 'runs'}, raftis {'aborts' if b else 'runs'}"
              for case, a, b in zip(CASES, theirs, ours, strict=True) if a != b]
    assert not differ, "\n".join(differ)
    assert sum(theirs) > 10 and not all(theirs)  # the cases do both
