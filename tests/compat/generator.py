"""A seeded generator of command sequences, valid and invalid, for the differential test.

Small key, field and value spaces make commands collide: wrong types, existing and missing
keys, counters at their limits, empty containers.  Arguments are drawn from good and bad
spellings alike (bad numbers, unknown options, wrong arity), and sequences open transactions
(MULTI/EXEC/DISCARD/RESET, WATCH, errors while queueing and at EXEC), switch databases and
protocols, and set expiry times that cannot run out during a run (long ones, or ones already
in the past, which delete at once).

Every step says how its reply is compared (``tests.compat.replies``).  Steps whose result is
random keep the two servers' data equal: SPOP is followed by DEL of the same key.  Only
commands in the command table are generated, so families that land later (sorted sets) join
in by themselves.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass

from server.commands import COMMANDS


@dataclass(frozen=True, slots=True)
class Step:
    argv: list[bytes]
    mode: str = "exact"
    fullscan: bool = False  # iterate SCAN/SSCAN/HSCAN/ZSCAN to the end; compare the union


KEYS = [b"a", b"b", b"c", b"d", b"e", b"{t}x", b"{t}y"]
FIELDS = [b"f1", b"f2", b"f3", b"f4"]
VALUES = [b"0", b"1", b"-1", b"10", b"abc", b"", b"3.5", b"x y", b"9223372036854775807",
          b"-9223372036854775808", b"1e3", b"\x00\xff", b"a" * 70]
MEMBERS = [b"1", b"2", b"3", b"-7", b"m1", b"m2", b"m3", b"100", b"", b"zz"]
INTS = [b"0", b"1", b"-1", b"2", b"5", b"100", b"x", b"1.5", b"9223372036854775807",
        b"-9223372036854775808", b"99999999999999999999", b" 1"]
SMALL = [b"0", b"1", b"2", b"3", b"-1", b"-2", b"-100", b"100", b"x"]
FLOATS = [b"0.1", b"-2.5", b"1e10", b"abc", b"inf", b"-inf", b"3", b"-0.0", b"1e-3", b"nan", b"1.5e308"]
# Relative expiry that cannot run out during a run, or is already over.
SECONDS = [b"0", b"-1", b"100000", b"200000", b"1000000", b"x", b"9223372036854775807", b"1.5"]
MILLIS = [b"0", b"-5", b"100000000", b"200000000", b"x", b"9223372036854775807"]
# Absolute: in the past (deletes at once) or in the year 2100.
AT_SECONDS = [b"1", b"0", b"4102444800", b"4102444801", b"-1", b"x"]
AT_MILLIS = [b"1", b"4102444800000", b"4102444800123", b"x"]
# SET with a time in the past keeps the key until expiry reclaims it, which happens at a
# moment neither server lets a client choose (DBSIZE, KEYS and SCAN would then differ).
FUTURE_AT_SECONDS = [b"4102444800", b"x", b"0", b"-1"]
FUTURE_AT_MILLIS = [b"4102444800000", b"4102444800123", b"x", b"0"]
JUNK_COMMANDS = [b"NOSUCHCOMMAND", b"get_", b"SETX", b"HGETX"]


def supported(name: bytes) -> bool:
    cmd = COMMANDS.get(name.lower())
    return cmd is not None and not cmd.internal


class SequenceGenerator:
    """``steps(n)`` -> about ``n`` steps (a transaction is finished even past ``n``)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        families: list[tuple[int, Callable[[], list[Step]]]] = [
            (10, self.strings), (6, self.keyspace), (4, self.expiry), (7, self.hashes), (7, self.lists),
            (7, self.sets), (2, self.scans), (1, self.junk), (2, self.select),
        ]
        if supported(b"zadd"):
            families.append((7, self.zsets))
        if supported(b"eval"):
            families.append((2, self.scripts))
        if supported(b"setbit"):
            families.append((3, self.bitmaps))
        if supported(b"pfadd"):
            families.append((2, self.hyperloglogs))
        if supported(b"sort"):
            families.append((2, self.sorts))
        if supported(b"geoadd"):
            families.append((3, self.geo))
        if supported(b"xadd"):
            families.append((6, self.streams))
        self.stream_ms = 1  # explicit stream IDs gather around this, which only rises
        self.families = families
        self.weights = [w for w, _ in families]

    # -- helpers ---------------------------------------------------------------------------
    def k(self) -> bytes:
        return self.rng.choice(KEYS)

    def pick(self, seq: list[bytes]) -> bytes:
        return self.rng.choice(seq)

    def some(self, seq: list[bytes], lo: int = 1, hi: int = 3) -> list[bytes]:
        return [self.rng.choice(seq) for _ in range(self.rng.randint(lo, hi))]

    def maybe(self, p: float = 0.5) -> bool:
        return self.rng.random() < p

    def one(self, *argv: bytes, mode: str = "exact") -> list[Step]:
        return [Step(list(argv), mode)]

    # -- sequences -----------------------------------------------------------------------
    def steps(self, n: int) -> list[Step]:
        out: list[Step] = []
        while len(out) < n:
            r = self.rng.random()
            if r < 0.07:
                out.extend(self.transaction())
            else:
                fam = self.rng.choices(self.families, self.weights)[0][1]
                out.extend(fam())
        return [s for s in out if supported(s.argv[0]) or s.argv[0] in JUNK_COMMANDS]

    def plain(self) -> list[Step]:
        """A non-transaction, non-scan step for use inside MULTI."""
        while True:
            fam = self.rng.choices(self.families, self.weights)[0][1]
            if fam in (self.scans, self.select):
                continue
            steps = [s for s in fam() if not s.fullscan]
            if steps:
                return steps

    def transaction(self) -> list[Step]:
        rng = self.rng
        out: list[Step] = []
        watched = []
        if self.maybe(0.5):
            watched = self.some(KEYS, 1, 2)
            out.append(Step([b"WATCH", *watched]))
            if self.maybe(0.4):  # touch a watched key (or not) before MULTI
                out.extend(self.plain())
            if self.maybe(0.1):
                out.append(Step([b"UNWATCH"]))
        out.append(Step([b"MULTI"]))
        for _ in range(rng.randint(0, 6)):
            r = rng.random()
            if r < 0.05:
                out.append(Step([b"MULTI"]))  # nested: an error, the transaction goes on
            elif r < 0.08:
                out.append(Step([b"WATCH", self.k()]))  # not allowed inside MULTI
            elif r < 0.11:
                out.append(Step([b"GET"]))  # wrong arity: EXEC aborts
            elif r < 0.13:
                out.append(Step([b"SELECT", self.pick([b"0", b"1", b"x"])]))
            else:
                out.extend(self.plain())
        end = rng.random()
        # RESET ends the transaction and forgets the watches (on a follower, also those it
        # relayed to the leader); it also goes back to db 0 and RESP2.
        out.append(Step([b"DISCARD"] if end < 0.12 else [b"RESET"] if end < 0.17 else [b"EXEC"]))
        if self.maybe(0.05):
            out.append(Step([self.pick([b"EXEC", b"DISCARD"])]))  # without MULTI
        return out

    def select(self) -> list[Step]:
        r = self.rng.random()
        if r < 0.1:
            return self.one(b"SELECT", self.pick([b"16", b"-1", b"x", b"1.0"]))
        if r < 0.2:
            return self.one(b"SWAPDB", self.pick([b"0", b"1"]), self.pick([b"1", b"2", b"x", b"16"]))
        db = self.pick([b"0", b"0", b"1", b"2"])
        return self.one(b"SELECT", db)

    def junk(self) -> list[Step]:
        r = self.rng.random()
        if r < 0.5:
            return self.one(self.pick(JUNK_COMMANDS), *self.some(KEYS, 0, 2))
        if r < 0.7:
            return self.one(self.pick([b"GET", b"SET", b"HSET", b"LPUSH", b"SADD", b"EXPIRE", b"DEL"]))
        return self.one(b"OBJECT", self.pick([b"NOSUCH", b"encodingx"]), self.k())

    # -- families ------------------------------------------------------------------------
    def strings(self) -> list[Step]:
        k, k2, v = self.k(), self.k(), self.pick(VALUES)
        rng = self.rng
        shapes: list[Callable[[], list[Step]]] = [
            lambda: self.one(b"SET", k, v),
            lambda: self.one(b"SET", k, v, *rng.sample([b"NX", b"XX", b"GET", b"KEEPTTL"], rng.randrange(3))),
            lambda: self.one(b"SET", k, v, *rng.choice([[b"EX", self.pick(SECONDS)], [b"PX", self.pick(MILLIS)],
                                                         [b"EXAT", self.pick(FUTURE_AT_SECONDS)],
                                                         [b"PXAT", self.pick(FUTURE_AT_MILLIS)], [b"EX"]])),
            lambda: self.one(b"GET", k),
            lambda: self.one(b"GETSET", k, v),
            lambda: self.one(b"GETDEL", k),
            lambda: self.one(b"GETEX", k, *rng.choice([[], [b"PERSIST"], [b"EX", self.pick(SECONDS)],
                                                      [b"PX", self.pick(MILLIS)], [b"EXAT", self.pick(AT_SECONDS)],
                                                      [b"FOO"], [b"EX"]])),
            lambda: self.one(b"SETNX", k, v),
            lambda: self.one(b"SETEX", k, self.pick(SECONDS), v),
            lambda: self.one(b"PSETEX", k, self.pick(MILLIS), v),
            lambda: self.one(b"MSET", k, v, k2, self.pick(VALUES)),
            lambda: self.one(b"MSET", k, v, k2),
            lambda: self.one(b"MSETNX", k, v, k2, v),
            lambda: self.one(b"MGET", k, k2, self.k()),
            lambda: self.one(b"INCR", k),
            lambda: self.one(b"DECR", k),
            lambda: self.one(b"INCRBY", k, self.pick(INTS)),
            lambda: self.one(b"DECRBY", k, self.pick(INTS)),
            lambda: self.one(b"INCRBYFLOAT", k, self.pick(FLOATS)),
            lambda: self.one(b"APPEND", k, v),
            lambda: self.one(b"STRLEN", k),
            lambda: self.one(b"GETRANGE", k, self.pick(SMALL), self.pick(SMALL)),
            lambda: self.one(b"SUBSTR", k, self.pick(SMALL), self.pick(SMALL)),
            lambda: self.one(b"SETRANGE", k, self.pick([b"0", b"1", b"3", b"-1", b"x", b"536870912"]), v),
        ]
        if supported(b"lcs"):
            shapes.append(lambda: self.one(b"LCS", k, k2, *rng.choice(
                [[], [b"LEN"], [b"IDX"], [b"IDX", b"WITHMATCHLEN"], [b"IDX", b"MINMATCHLEN", self.pick(SMALL)],
                 [b"LEN", b"IDX"], [b"MINMATCHLEN"], [b"FOO"]])))
        return rng.choice(shapes)()

    def keyspace(self) -> list[Step]:
        k, k2 = self.k(), self.k()
        rng = self.rng
        shapes: list[Callable[[], list[Step]]] = [
            lambda: self.one(b"DEL", *self.some(KEYS)),
            lambda: self.one(b"UNLINK", *self.some(KEYS)),
            lambda: self.one(b"EXISTS", *self.some(KEYS)),
            lambda: self.one(b"TOUCH", *self.some(KEYS)),
            lambda: self.one(b"TYPE", k),
            lambda: self.one(b"RENAME", k, k2),
            lambda: self.one(b"RENAMENX", k, k2),
            lambda: self.one(b"COPY", k, k2, *rng.choice([[], [b"REPLACE"], [b"DB", b"1"], [b"DB", b"x"],
                                                          [b"DB", b"1", b"REPLACE"], [b"FOO"]])),
            lambda: self.one(b"MOVE", k, self.pick([b"0", b"1", b"2", b"16", b"x"])),
            lambda: self.one(b"DBSIZE"),
            lambda: self.one(b"KEYS", self.pick([b"*", b"a*", b"{t}*", b"?", b"[a-c]", b"*x*"]), mode="unordered"),
            lambda: self.one(b"RANDOMKEY", mode="shape"),
            lambda: self.one(b"FLUSHDB") if self.maybe(0.2) else self.one(b"DBSIZE"),
        ]
        return rng.choice(shapes)()

    def expiry(self) -> list[Step]:
        k = self.k()
        rng = self.rng
        flags = [[], [], [b"NX"], [b"XX"], [b"GT"], [b"LT"], [b"NX", b"XX"], [b"GT", b"LT"], [b"FOO"]]

        def relative(name: bytes, amount: bytes, flag: list[bytes]) -> list[Step]:
            # GT or LT against an expiry set by the same relative amount compares two times
            # taken a moment apart: 0 or 1 depending on whether the millisecond turned.
            return self.one(name, k, amount, *flag, mode="shape" if flag in ([b"GT"], [b"LT"]) else "exact")

        shapes: list[Callable[[], list[Step]]] = [
            lambda: relative(b"EXPIRE", self.pick(SECONDS), rng.choice(flags)),
            lambda: relative(b"PEXPIRE", self.pick(MILLIS), rng.choice(flags)),
            lambda: self.one(b"EXPIREAT", k, self.pick(AT_SECONDS), *rng.choice(flags)),
            lambda: self.one(b"PEXPIREAT", k, self.pick(AT_MILLIS), *rng.choice(flags)),
            lambda: self.one(b"PERSIST", k),
            lambda: self.one(b"TTL", k, mode="ttl"),
            lambda: self.one(b"PTTL", k, mode="pttl"),
            lambda: self.one(b"EXPIRETIME", k, mode="abstime"),
            lambda: self.one(b"PEXPIRETIME", k, mode="pabstime"),
        ]
        return rng.choice(shapes)()

    def hashes(self) -> list[Step]:
        k, f, v = self.k(), self.pick(FIELDS), self.pick(VALUES)
        rng = self.rng
        shapes: list[Callable[[], list[Step]]] = [
            lambda: self.one(b"HSET", k, f, v),
            lambda: self.one(b"HSET", k, f, v, self.pick(FIELDS), self.pick(VALUES)),
            lambda: self.one(b"HSET", k, f),
            lambda: self.one(b"HMSET", k, f, v, self.pick(FIELDS), v),
            lambda: self.one(b"HSETNX", k, f, v),
            lambda: self.one(b"HGET", k, f),
            lambda: self.one(b"HMGET", k, f, self.pick(FIELDS)),
            lambda: self.one(b"HDEL", k, *self.some(FIELDS)),
            lambda: self.one(b"HEXISTS", k, f),
            lambda: self.one(b"HLEN", k),
            lambda: self.one(b"HSTRLEN", k, f),
            lambda: self.one(b"HINCRBY", k, f, self.pick(INTS)),
            lambda: self.one(b"HINCRBYFLOAT", k, f, self.pick(FLOATS)),
            lambda: self.one(b"HGETALL", k, mode="pairs"),
            lambda: self.one(b"HKEYS", k, mode="unordered"),
            lambda: self.one(b"HVALS", k, mode="unordered"),
            lambda: self.one(b"HRANDFIELD", k, *rng.choice([[], [self.pick(SMALL)],
                                                          [self.pick(SMALL), b"WITHVALUES"], [b"1", b"FOO"]]),
                             mode="shape"),
        ]
        return rng.choice(shapes)()

    def lists(self) -> list[Step]:
        k, k2, m = self.k(), self.k(), self.pick(MEMBERS)
        rng = self.rng
        end = [b"LEFT", b"RIGHT"]
        shapes: list[Callable[[], list[Step]]] = [
            lambda: self.one(self.pick([b"LPUSH", b"RPUSH"]), k, *self.some(MEMBERS, 1, 4)),
            lambda: self.one(self.pick([b"LPUSHX", b"RPUSHX"]), k, *self.some(MEMBERS)),
            lambda: self.one(self.pick([b"LPOP", b"RPOP"]), k, *rng.choice([[], [self.pick(SMALL)]])),
            lambda: self.one(b"LRANGE", k, self.pick(SMALL), self.pick(SMALL)),
            lambda: self.one(b"LLEN", k),
            lambda: self.one(b"LINDEX", k, self.pick(SMALL)),
            lambda: self.one(b"LSET", k, self.pick(SMALL), m),
            lambda: self.one(b"LINSERT", k, self.pick([b"BEFORE", b"AFTER", b"MIDDLE"]), self.pick(MEMBERS), m),
            lambda: self.one(b"LREM", k, self.pick(SMALL), m),
            lambda: self.one(b"LTRIM", k, self.pick(SMALL), self.pick(SMALL)),
            lambda: self.one(b"LPOS", k, m, *rng.choice([[], [b"RANK", self.pick(SMALL)], [b"COUNT", self.pick(SMALL)],
                                                         [b"MAXLEN", self.pick(SMALL)],
                                                         [b"RANK", b"-1", b"COUNT", b"0"], [b"FOO"]])),
            lambda: self.one(b"LMOVE", k, k2, self.pick(end), self.pick(end + [b"UP"])),
            lambda: self.one(b"RPOPLPUSH", k, k2),
            lambda: self.one(b"LMPOP", self.pick([b"1", b"2", b"0", b"x"]), k, k2,
                             self.pick(end + [b"UP"]), *rng.choice([[], [b"COUNT", self.pick(SMALL)]])),
            # Blocking forms with a short timeout: the reply is the same whether they wait or not.
            lambda: self.one(self.pick([b"BLPOP", b"BRPOP"]), k, k2, self.pick([b"0.01", b"-1", b"x"])),
            lambda: self.one(b"BLMOVE", k, k2, self.pick(end), self.pick(end), b"0.01"),
            lambda: self.one(b"BRPOPLPUSH", k, k2, self.pick([b"0.01", b"-1"])),
            lambda: self.one(b"BLMPOP", self.pick([b"0.01", b"-1", b"x"]), self.pick([b"1", b"2"]), k, k2,
                             self.pick(end), *rng.choice([[], [b"COUNT", self.pick(SMALL)]])),
        ]
        return rng.choice(shapes)()

    def sets(self) -> list[Step]:
        k, k2, m = self.k(), self.k(), self.pick(MEMBERS)
        rng = self.rng
        shapes: list[Callable[[], list[Step]]] = [
            lambda: self.one(b"SADD", k, *self.some(MEMBERS, 1, 5)),
            lambda: self.one(b"SREM", k, *self.some(MEMBERS)),
            lambda: self.one(b"SISMEMBER", k, m),
            lambda: self.one(b"SMISMEMBER", k, *self.some(MEMBERS)),
            lambda: self.one(b"SCARD", k),
            lambda: self.one(b"SMEMBERS", k, mode="unordered"),
            lambda: self.one(self.pick([b"SINTER", b"SUNION", b"SDIFF"]), k, *self.some(KEYS, 0, 2),
                             mode="unordered"),
            lambda: self.one(self.pick([b"SINTERSTORE", b"SUNIONSTORE", b"SDIFFSTORE"]), k, k2, *self.some(KEYS, 0, 2)),
            lambda: self.one(b"SINTERCARD", self.pick([b"1", b"2", b"0", b"x"]), k, k2,
                             *rng.choice([[], [b"LIMIT", self.pick(SMALL)]])),
            lambda: self.one(b"SMOVE", k, k2, m),
            lambda: [Step([b"SPOP", k, *rng.choice([[], [self.pick(SMALL)]])], "shape"), Step([b"DEL", k])],
            lambda: self.one(b"SRANDMEMBER", k, *rng.choice([[], [self.pick(SMALL)]]), mode="shape"),
        ]
        return rng.choice(shapes)()

    def zsets(self) -> list[Step]:
        k, k2, m = self.k(), self.k(), self.pick(MEMBERS)
        rng = self.rng
        score = [b"1", b"2", b"-1", b"0", b"1.5", b"inf", b"-inf", b"x", b"1e3"]
        rng_min = [b"-inf", b"+inf", b"0", b"(1", b"1", b"x"]
        lex = [b"-", b"+", b"[m", b"(m2", b"[", b"x"]
        opts = [[], [b"NX"], [b"XX"], [b"GT"], [b"LT"], [b"CH"], [b"INCR"], [b"NX", b"XX"], [b"GT", b"NX"],
                [b"XX", b"CH"], [b"GT", b"CH"], [b"LT", b"INCR"], [b"NX", b"INCR"]]
        limits = [[], [b"WITHSCORES"], [b"LIMIT", self.pick(SMALL), self.pick(SMALL)],
                  [b"LIMIT", b"0", b"-1", b"WITHSCORES"], [b"LIMIT", b"0"]]
        weights = [[], [b"WEIGHTS", b"2", b"0.5"], [b"WEIGHTS", b"1"], [b"AGGREGATE", self.pick([b"MIN", b"MAX",
                   b"SUM", b"AVG"])], [b"WEIGHTS", b"-1", b"x"], [b"WEIGHTS", b"inf", b"0", b"AGGREGATE", b"SUM"]]
        shapes: list[Callable[[], list[Step]]] = [
            lambda: self.one(b"ZADD", k, *rng.choice(opts), self.pick(score), m,
                             *rng.choice([[], [self.pick(score), self.pick(MEMBERS)]])),
            lambda: self.one(b"ZREM", k, *self.some(MEMBERS)),
            lambda: self.one(b"ZSCORE", k, m),
            lambda: self.one(b"ZMSCORE", k, *self.some(MEMBERS)),
            lambda: self.one(b"ZINCRBY", k, self.pick(score), m),
            lambda: self.one(b"ZCARD", k),
            lambda: self.one(b"ZCOUNT", k, self.pick(rng_min), self.pick(rng_min)),
            lambda: self.one(b"ZLEXCOUNT", k, self.pick(lex), self.pick(lex)),
            lambda: self.one(self.pick([b"ZRANK", b"ZREVRANK"]), k, m),
            lambda: self.one(b"ZRANGE", k, self.pick(SMALL), self.pick(SMALL), *rng.choice([[], [b"WITHSCORES"],
                                                                                            [b"REV"], [b"FOO"]])),
            lambda: self.one(b"ZRANGE", k, self.pick(rng_min), self.pick(rng_min), b"BYSCORE",
                             *rng.choice([[], [b"LIMIT", b"0", b"2"], [b"WITHSCORES"]])),
            lambda: self.one(b"ZRANGEBYSCORE", k, self.pick(rng_min), self.pick(rng_min)),
            lambda: self.one(b"ZREVRANGE", k, self.pick(SMALL), self.pick(SMALL)),
            lambda: self.one(b"ZRANGEBYLEX", k, self.pick(lex), self.pick(lex)),
            lambda: self.one(self.pick([b"ZPOPMIN", b"ZPOPMAX"]), k, *rng.choice([[], [self.pick(SMALL)]])),
            lambda: self.one(b"ZREMRANGEBYRANK", k, self.pick(SMALL), self.pick(SMALL)),
            lambda: self.one(b"ZREMRANGEBYSCORE", k, self.pick(rng_min), self.pick(rng_min)),
            lambda: self.one(self.pick([b"ZUNIONSTORE", b"ZINTERSTORE", b"ZDIFFSTORE"]), k,
                             self.pick([b"1", b"2", b"0"]), k2, self.k()),
            lambda: self.one(self.pick([b"ZUNION", b"ZINTER", b"ZDIFF"]), self.pick([b"1", b"2"]), k, k2,
                             *rng.choice([[], [b"WITHSCORES"]])),
            lambda: self.one(b"ZRANDMEMBER", k, *rng.choice([[], [self.pick(SMALL)]]), mode="shape"),
            lambda: self.one(self.pick([b"ZREVRANGEBYSCORE", b"ZRANGEBYSCORE"]), k, self.pick(rng_min),
                             self.pick(rng_min), *rng.choice(limits)),
            lambda: self.one(self.pick([b"ZREVRANGEBYLEX", b"ZRANGEBYLEX"]), k, self.pick(lex), self.pick(lex),
                             *rng.choice([[], [b"LIMIT", self.pick(SMALL), self.pick(SMALL)], [b"LIMIT", b"1"],
                                          [b"WITHSCORES"]])),
            lambda: self.one(b"ZREMRANGEBYLEX", k, self.pick(lex), self.pick(lex)),
            lambda: self.one(b"ZRANGE", k, self.pick(lex), self.pick(lex), b"BYLEX",
                             *rng.choice([[], [b"REV"], [b"LIMIT", self.pick(SMALL), self.pick(SMALL)],
                                          [b"REV", b"LIMIT", b"0", b"1"], [b"WITHSCORES"]])),
            lambda: self.one(b"ZRANGE", k, self.pick(rng_min), self.pick(rng_min), b"BYSCORE", b"REV",
                             *rng.choice(limits)),
            lambda: self.one(b"ZRANGESTORE", k2, k, *rng.choice(
                [[self.pick(SMALL), self.pick(SMALL)], [self.pick(rng_min), self.pick(rng_min), b"BYSCORE"],
                 [self.pick(lex), self.pick(lex), b"BYLEX", b"REV"], [b"0", b"-1", b"WITHSCORES"],
                 [self.pick(rng_min), self.pick(rng_min), b"BYSCORE", b"LIMIT", self.pick(SMALL), b"1"]])),
            lambda: self.one(b"ZINTERCARD", self.pick([b"1", b"2", b"0", b"x"]), k, k2,
                             *rng.choice([[], [b"LIMIT", self.pick(SMALL)], [b"FOO"]])),
            lambda: self.one(self.pick([b"ZUNIONSTORE", b"ZINTERSTORE"]), k, b"2", k2, self.k(),
                             *rng.choice(weights)),
            lambda: self.one(self.pick([b"ZUNION", b"ZINTER"]), b"2", k, k2, *rng.choice(weights),
                             *rng.choice([[], [b"WITHSCORES"]])),
            lambda: self.one(b"ZMPOP", self.pick([b"1", b"2", b"0", b"x"]), k, k2,
                             self.pick([b"MIN", b"MAX", b"MIDDLE"]), *rng.choice([[], [b"COUNT", self.pick(SMALL)]])),
            # Blocking forms with a short timeout: the reply is the same whether they wait or not.
            lambda: self.one(self.pick([b"BZPOPMIN", b"BZPOPMAX"]), k, k2, self.pick([b"0.01", b"-1", b"x"])),
            lambda: self.one(b"BZMPOP", self.pick([b"0.01", b"-1"]), self.pick([b"1", b"2", b"0"]), k, k2,
                             self.pick([b"MIN", b"MAX"]), *rng.choice([[], [b"COUNT", self.pick(SMALL)]])),
        ]
        return rng.choice(shapes)()

    # Scripts keep their redis.call()s out of tail position: an error from a call there names
    # no line here (tests/unit/commands/test_scripting.py).
    SCRIPTS = [
        b"local r = redis.call('get', KEYS[1]) return r",
        b"local r = redis.call('set', KEYS[1], ARGV[1]) return r",
        b"local r = redis.call('incrby', KEYS[1], ARGV[1]) return r",
        b"local r = redis.call('rpush', KEYS[1], ARGV[1], ARGV[1]) local l = redis.call('lrange', KEYS[1], 0, -1)"
        b" return {r, l}",
        b"local n = redis.call('exists', KEYS[1], KEYS[2]) if n > 0 then redis.call('del', KEYS[1]) end return n",
        b"local v = redis.call('get', KEYS[1]) if v == ARGV[1] then local r = redis.call('del', KEYS[1]) return r"
        b" end return 0",
        b"local r = redis.pcall('hset', KEYS[1], 'f', ARGV[1]) return r",
        b"local r = redis.call('zadd', KEYS[1], ARGV[1], 'm') local s = redis.call('zscore', KEYS[1], 'm')"
        b" return {r, s}",
        b"local r = redis.call('type', KEYS[1]) return r",
        b"local r = redis.call('ttl', KEYS[1]) return r",
        b"return {KEYS[1], ARGV[1], #KEYS, #ARGV}",
        b"return redis.error_reply('ERR from the script')",
        b"local t = redis.call('smembers', KEYS[1]) table.sort(t) return t",
        b"local v = redis.pcall('get', KEYS[1]) local r = cjson.encode({v, ARGV[1]}) return r",
        b"local r = cmsgpack.unpack(cmsgpack.pack({KEYS[1], ARGV[1], 1.5})) return r",
    ]

    def scripts(self) -> list[Step]:
        rng = self.rng
        k, k2 = self.k(), self.k()
        body = self.pick(self.SCRIPTS)
        arg = self.pick(VALUES + INTS)
        r = rng.random()

        def timed(script: bytes) -> str:
            # A TTL read in a script may fall either side of a second's boundary (as TTL does).
            return "ttl" if b"'ttl'" in script else "exact"

        if r < 0.6:
            return self.one(b"EVAL", body, b"2", k, k2, arg, mode=timed(body))
        if r < 0.7:
            ro = self.pick(self.SCRIPTS[:1] + self.SCRIPTS[8:10] + self.SCRIPTS[10:11])
            return self.one(b"EVAL_RO", ro, b"1", k, arg, mode=timed(ro))
        if r < 0.85:
            return [Step([b"SCRIPT", b"LOAD", body]),
                    Step([b"EVALSHA", hashlib.sha1(body).hexdigest().encode(), b"1", k, arg], timed(body))]
        return self.one(b"EVAL", body, self.pick([b"-1", b"3", b"x"]), k)

    def bitmaps(self) -> list[Step]:
        rng = self.rng
        k, k2 = self.k(), self.k()
        offset = self.pick([b"0", b"7", b"8", b"63", b"100", b"-1", b"x"])
        small = [b"0", b"1", b"2", b"-1", b"-3", b"x"]
        unit = rng.choice([[], [], [b"BIT"], [b"BYTE"], [b"WORD"]])
        enc = self.pick([b"u1", b"u8", b"i8", b"u13", b"i16", b"i64", b"u63", b"u64", b"x8"])
        where = self.pick([b"0", b"5", b"#1", b"#3", b"-1"])
        n = self.pick(INTS)
        shapes: list[Callable[[], list[Step]]] = [
            lambda: self.one(b"SETBIT", k, offset, self.pick([b"1", b"0", b"2"])),
            lambda: self.one(b"GETBIT", k, offset),
            lambda: self.one(b"BITCOUNT", k, *rng.choice([[], [self.pick(small), self.pick(small), *unit]])),
            lambda: self.one(b"BITPOS", k, self.pick([b"0", b"1", b"2"]),
                             *rng.choice([[], [self.pick(small)], [self.pick(small), self.pick(small), *unit]])),
            lambda: self.one(b"BITOP", self.pick([b"AND", b"OR", b"XOR", b"NOT"]), k, k2,
                             *rng.choice([[], [self.k()]])),
            lambda: self.one(b"BITFIELD", k, *rng.choice([[b"GET", enc, where], [b"SET", enc, where, n],
                                                          [b"INCRBY", enc, where, n],
                                                          [b"OVERFLOW", self.pick([b"SAT", b"FAIL", b"WRAP"]),
                                                           b"INCRBY", enc, where, n]])),
            lambda: self.one(b"BITFIELD_RO", k, b"GET", enc, where),
        ]
        return rng.choice(shapes)()

    def sorts(self) -> list[Step]:
        # ALPHA or BY a constant only: numeric SORT in redis-server fails for good once any
        # command has left errno at ERANGE (tests/unit/commands/test_sort_vs_redis.py
        # covers numeric sorting against a fresh one).
        rng = self.rng
        alpha = self.maybe(0.7)
        opts: list[bytes] = [b"ALPHA"] if alpha else [b"BY", b"nosort"]
        if self.maybe(0.3):
            opts.append(b"DESC")
        if alpha and self.maybe(0.3):  # (a LIMIT of a set BY nosort picks by hash order in Redis)
            opts += [b"LIMIT", self.pick(SMALL), self.pick(SMALL)]
        for _ in range(rng.randint(0, 2)):
            opts += [b"GET", self.pick([b"#", b"*", b"{t}*", b"*->f1", b"nostar"])]
        name = b"SORT_RO" if self.maybe(0.2) else b"SORT"
        if name == b"SORT" and self.maybe(0.3):
            opts += [b"STORE", self.k()]
        # A set BY a constant comes out in byte order here, in hash order from Redis 7.0.
        unordered = b"nosort" in opts and b"STORE" not in opts
        return self.one(name, self.k(), *opts, mode="unordered" if unordered else "exact")

    # Keys of their own: Redis's PFCOUNT stores the count in the value's header and Raftis's
    # does not (server/commands/hyperloglog.py), so a GET of these would differ after one.
    HLL_KEYS = [b"hll1", b"hll2", b"hll3"]

    def hyperloglogs(self) -> list[Step]:
        rng = self.rng
        h = self.pick(self.HLL_KEYS)
        members = [str(rng.randrange(rng.choice([20, 2000, 10**6]))).encode() for _ in range(rng.randint(0, 30))]
        r = rng.random()
        if r < 0.55:
            return self.one(b"PFADD", h, *members)
        if r < 0.8:
            return self.one(b"PFCOUNT", *self.some(self.HLL_KEYS + [b"nokey"], 1, 3))
        if r < 0.95:
            return self.one(b"PFMERGE", h, *self.some(self.HLL_KEYS + [b"nokey"], 0, 3))
        return self.one(self.pick([b"PFADD", b"PFMERGE"]), self.k(), *members[:2])

    # Valid and invalid coordinates: the limits, just past them, and a few places.
    LONGITUDES = [b"13.361389", b"15.087269", b"0", b"-180", b"180", b"179.9", b"-0.0", b"2.35", b"181", b"x",
                  b"1e1"]
    LATITUDES = [b"38.115556", b"37.502669", b"0", b"85.05112878", b"-85.05112878", b"84.9", b"48.85", b"85.06",
                 b"-90", b"nan"]
    DISTANCES = [b"0", b"1", b"100", b"500", b"5000", b"20000", b"-1", b"x", b"0.5"]
    UNITS = [b"m", b"km", b"km", b"mi", b"ft", b"KM", b"parsec"]

    def geo(self) -> list[Step]:
        rng = self.rng
        k = self.k()

        def place() -> list[bytes]:
            return [self.pick(self.LONGITUDES), self.pick(self.LATITUDES)]

        def options(store: bool) -> list[bytes]:
            groups: list[list[bytes]] = [[o] for o in (b"WITHDIST", b"WITHCOORD", b"WITHHASH")
                                         if not store and self.maybe(0.3)]
            groups += rng.choice([[], [[b"ASC"]], [[b"DESC"]]])
            if self.maybe(0.4):
                groups.append([b"COUNT", self.pick([b"1", b"2", b"5", b"0", b"x"])])
                if self.maybe(0.3):
                    groups.append([b"ANY"])
            if self.maybe(0.05):
                groups.append([b"FOO"])
            rng.shuffle(groups)
            return [w for g in groups for w in g]

        def centre() -> list[bytes]:
            return [b"FROMMEMBER", self.pick(MEMBERS)] if self.maybe() else [b"FROMLONLAT", *place()]

        def shape() -> list[bytes]:
            if self.maybe():
                return [b"BYRADIUS", self.pick(self.DISTANCES), self.pick(self.UNITS)]
            return [b"BYBOX", self.pick(self.DISTANCES), self.pick(self.DISTANCES), self.pick(self.UNITS)]

        shapes: list[Callable[[], list[Step]]] = [
            lambda: self.one(b"GEOADD", k, *rng.choice([[], [], [b"NX"], [b"XX"], [b"CH"], [b"XX", b"CH"]]),
                             *[w for _ in range(rng.randint(1, 4)) for w in (*place(), self.pick(MEMBERS))]),
            lambda: self.one(b"GEOPOS", k, *self.some(MEMBERS)),
            lambda: self.one(b"GEOHASH", k, *self.some(MEMBERS)),
            lambda: self.one(b"GEODIST", k, self.pick(MEMBERS), self.pick(MEMBERS),
                             *rng.choice([[], [self.pick(self.UNITS)]])),
            lambda: self.one(self.pick([b"GEORADIUS", b"GEORADIUS_RO"]), k, *place(), self.pick(self.DISTANCES),
                             self.pick(self.UNITS), *options(False)),
            lambda: self.one(self.pick([b"GEORADIUSBYMEMBER", b"GEORADIUSBYMEMBER_RO"]), k, self.pick(MEMBERS),
                             self.pick(self.DISTANCES), self.pick(self.UNITS), *options(False)),
            lambda: self.one(self.pick([b"GEORADIUS", b"GEORADIUSBYMEMBER"]), k,
                             *(place() if self.maybe() else [self.pick(MEMBERS)]), self.pick(self.DISTANCES),
                             self.pick(self.UNITS), *options(True), self.pick([b"STORE", b"STOREDIST"]), self.k()),
            lambda: self.one(b"GEOSEARCH", k, *centre(), *shape(), *options(False)),
            lambda: self.one(b"GEOSEARCHSTORE", self.k(), k, *centre(), *shape(), *options(True),
                             *rng.choice([[], [b"STOREDIST"]])),
        ]
        return rng.choice(shapes)()

    # Keys of their own, so streams grow and get groups, plus the shared keys now and then
    # (wrong types, and streams the other families then meet).
    STREAM_KEYS = [b"s1", b"s1", b"s2", b"s3"]
    GROUPS = [b"g1", b"g1", b"g2", b"nog"]
    CONSUMERS = [b"c1", b"c2", b"c3"]

    def _skey(self) -> bytes:
        return self.k() if self.maybe(0.1) else self.pick(self.STREAM_KEYS)

    def _sid(self, forms: str = "plain") -> bytes:
        """An explicit ID near the rising base: new ones, existing ones, too small ones; for
        ``forms`` "add" also ``ms-*`` and bare ``ms``; "range" also ``-``, ``+`` and ``(id``."""
        rng = self.rng
        r = rng.random()
        if r < 0.04:
            return self.pick([b"x", b"0-0", b"-1", b"1-x", b"18446744073709551615-18446744073709551615",
                              b"18446744073709551616", b""])
        ms = max(self.stream_ms + rng.randint(-4, 1), 0)
        seq = rng.choice([0, 0, 1, 2])
        if forms == "add" and r < 0.3:
            return b"%d-*" % ms if r < 0.2 else b"%d" % ms
        if forms == "range" and r < 0.35:
            if r < 0.15:
                return self.pick([b"-", b"+"])
            return b"(%d-%d" % (ms, seq)
        return b"%d-%d" % (ms, seq)

    def _trim_args(self) -> list[bytes]:
        rng = self.rng
        if self.maybe(0.5):
            args = [b"MAXLEN", *rng.choice([[], [b"="], [b"~"]]), self.pick([b"0", b"1", b"3", b"10", b"-1", b"x"])]
        else:
            args = [b"MINID", *rng.choice([[], [b"="], [b"~"]]), self._sid()]
        if self.maybe(0.15):
            args += [b"LIMIT", self.pick([b"0", b"1", b"5", b"-1"])]
        return args

    def streams(self) -> list[Step]:
        rng = self.rng
        key = self._skey()
        group = self.pick(self.GROUPS)
        consumer = self.pick(self.CONSUMERS)
        if self.maybe(0.12):  # a short scenario, so groups exist and have entries to hand out
            self.stream_ms += 2
            gid = self.pick([b"0", b"$"])
            steps = [Step([b"XGROUP", b"CREATE", key, group, gid, b"MKSTREAM"])]
            for _ in range(rng.randint(1, 3)):
                self.stream_ms += 1
                steps.append(Step([b"XADD", key, b"%d-*" % self.stream_ms, self.pick(FIELDS), self.pick(VALUES)]))
            steps.append(Step([b"XREADGROUP", b"GROUP", group, consumer, b"COUNT", self.pick([b"1", b"2", b"5"]),
                               b"STREAMS", key, b">"]))
            steps.append(Step([b"XPENDING", key, group]))
            other = self.pick(self.CONSUMERS)
            steps.append(rng.choice([
                Step([b"XAUTOCLAIM", key, group, other, b"0", b"0", b"COUNT", b"1"]),
                Step([b"XCLAIM", key, group, other, b"0", self._sid(), self._sid(), b"JUSTID"]),
                Step([b"XACK", key, group, self._sid(), self._sid()]),
                Step([b"XINFO", b"GROUPS", key]),
                Step([b"XINFO", b"STREAM", key, b"FULL"], "near"),
            ]))
            return steps
        r = rng.random()
        if r < 0.3:
            self.stream_ms += rng.choice([0, 1, 1, 2])
            opts: list[bytes] = []
            if self.maybe(0.05):
                opts.append(b"NOMKSTREAM")
            if self.maybe(0.2):
                opts += self._trim_args()
            fields = [x for _ in range(rng.choice([1, 1, 2])) for x in (self.pick(FIELDS), self.pick(VALUES))]
            if self.maybe(0.02):
                fields = fields[:1]  # odd: wrong arity
            return self.one(b"XADD", key, *opts, self._sid("add"), *fields)
        if r < 0.36:
            return self.one(b"XLEN", key) if r < 0.34 else self.one(b"XINFO", b"GROUPS", key)
        if r < 0.46:
            name = self.pick([b"XRANGE", b"XREVRANGE"])
            count = [b"COUNT", self.pick(SMALL)] if self.maybe(0.4) else []
            return self.one(name, key, self._sid("range"), self._sid("range"), *count)
        if r < 0.5:
            return self.one(b"XDEL", key, *[self._sid() for _ in range(rng.randint(1, 3))])
        if r < 0.53:
            return self.one(b"XTRIM", key, *self._trim_args())
        if r < 0.6:
            keys = [key] + ([self._skey()] if self.maybe(0.3) else [])
            opts = [b"COUNT", self.pick(SMALL)] if self.maybe(0.4) else []
            if self.maybe(0.1):  # blocks a millisecond when nothing is there (at once in MULTI)
                opts += [b"BLOCK", self.pick([b"1", b"x", b"-1"])]
            ids = [self.pick([b"$", b"0"]) if self.maybe(0.3) else self._sid() for _ in keys]
            return self.one(b"XREAD", *opts, b"STREAMS", *keys, *ids)
        if r < 0.68:
            sub = rng.random()
            if sub < 0.5:
                opts = rng.choice([[b"MKSTREAM"], [b"MKSTREAM"], [], [b"ENTRIESREAD", self.pick(SMALL)]])
                return self.one(b"XGROUP", b"CREATE", key, group, self.pick([b"$", b"0"]) if self.maybe(0.5)
                                else self._sid(), *opts)
            if sub < 0.65:
                extra = [b"ENTRIESREAD", self.pick(SMALL)] if self.maybe(0.3) else []
                return self.one(b"XGROUP", b"SETID", key, group, self.pick([b"$", b"0"]) if self.maybe(0.5)
                                else self._sid(), *extra)
            if sub < 0.7:
                return self.one(b"XGROUP", b"DESTROY", key, group)
            return self.one(b"XGROUP", self.pick([b"CREATECONSUMER", b"DELCONSUMER"]), key, group, consumer)
        if r < 0.8:
            opts = [b"COUNT", self.pick(SMALL)] if self.maybe(0.4) else []
            if self.maybe(0.15):
                opts.append(b"NOACK")
            if self.maybe(0.05):
                opts += [b"BLOCK", b"1"]
            ident = b">" if self.maybe(0.7) else self.pick([b"0", self._sid()])
            return self.one(b"XREADGROUP", b"GROUP", group, consumer, *opts, b"STREAMS", key, ident)
        if r < 0.85:
            return self.one(b"XACK", key, group, *[self._sid() for _ in range(rng.randint(1, 3))])
        if r < 0.9:
            if self.maybe(0.5):
                return self.one(b"XPENDING", key, group)
            extra = [consumer] if self.maybe(0.3) else []
            idle = [b"IDLE", self.pick([b"0", b"100000"])] if self.maybe(0.2) else []
            return self.one(b"XPENDING", key, group, *idle, self._sid("range"), self._sid("range"),
                            self.pick(SMALL), *extra, mode="near")
        if r < 0.95:
            if self.maybe(0.5):
                opts = []
                for opt in rng.sample([b"JUSTID", b"FORCE", b"RETRYCOUNT", b"LASTID", b"IDLE"], rng.randint(0, 2)):
                    opts += [opt] if opt in (b"JUSTID", b"FORCE") else [opt, self._sid() if opt == b"LASTID"
                                                                        else self.pick([b"0", b"5", b"x"])]
                return self.one(b"XCLAIM", key, group, consumer, self.pick([b"0", b"0", b"100000", b"x"]),
                                *[self._sid() for _ in range(rng.randint(1, 3))], *opts)
            opts = [b"COUNT", self.pick([b"1", b"2", b"100", b"0"])] if self.maybe(0.5) else []
            if self.maybe(0.3):
                opts.append(b"JUSTID")
            return self.one(b"XAUTOCLAIM", key, group, consumer, self.pick([b"0", b"100000"]),
                            self._sid("range"), *opts)
        if r < 0.97:
            full = rng.choice([[], [b"FULL"], [b"FULL", b"COUNT", self.pick(SMALL)]])
            return self.one(b"XINFO", b"STREAM", key, *full, mode="near")
        if r < 0.98:
            return self.one(b"XINFO", b"CONSUMERS", key, group, mode="near")
        return self.one(b"XSETID", key, self._sid(), *([b"ENTRIESADDED", self.pick(SMALL)] if self.maybe(0.3)
                                                       else []))

    def scans(self) -> list[Step]:
        rng = self.rng
        opts = rng.choice([[], [b"COUNT", b"2"], [b"MATCH", b"*"], [b"MATCH", b"{t}*", b"COUNT", b"1"],
                           [b"MATCH", b"f[12]"], [b"MATCH", b"m*"]])
        r = rng.random()
        if r < 0.1:  # invalid: compared exactly (the error is deterministic)
            return self.one(self.pick([b"SCAN", b"SSCAN", b"HSCAN"]),
                            *rng.choice([[b"x"], [self.k(), b"0", b"COUNT", b"0"], [b"0", b"FOO"],
                                         [self.k(), b"0", b"MATCH"]]))
        if r < 0.4:
            scan_opts = opts + rng.choice([[], [b"TYPE", self.pick([b"string", b"hash", b"list", b"set", b"zset",
                                                                    b"stream", b"nosuch"])]])
            return [Step([b"SCAN", b"0", *scan_opts], fullscan=True)]
        family = [b"SSCAN", b"HSCAN"] + ([b"ZSCAN"] if supported(b"zscan") else [])
        return [Step([self.pick(family), self.k(), b"0", *opts], fullscan=True)]
