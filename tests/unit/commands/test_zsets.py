"""Sorted-set commands on the in-process executor: replies, errors, key versions, expiry,
blocking, snapshots and determinism.  (Byte-for-byte agreement with redis-server is in
test_zsets_vs_redis.py.)"""

from __future__ import annotations

import bisect
import io
import random

import pytest
from commands_harness import LocalExecutor

from resp import encode
from resp.types import NULL_ARRAY, Double, ErrorReply
from server.commands import ExecContext, lookup
from server.commands.blocking import BLOCKING_COMMANDS, Blocked, blocked_keys
from server.keyspace import Keyspace, Set
from server.sortedset import SortedPairs, ZSet


def err(text: str) -> ErrorReply:
    return ErrorReply(text)


def scores(ex: LocalExecutor, key: str) -> list[tuple[bytes, float]]:
    z = ex.keyspace.dbs[0].data[key.encode()]
    return [(m, s) for s, m in z.order]


# --- ZADD / ZINCRBY ----------------------------------------------------------------------------


def test_zadd_adds_updates_and_counts(ex):
    assert ex.run("ZADD", "z", 1, "a", 2, "b") == 2
    assert ex.run("ZADD", "z", 3, "a", 4, "c") == 1
    assert ex.run("ZADD", "z", "CH", 5, "a", 5, "d", 4, "c") == 2
    assert scores(ex, "z") == [(b"b", 2.0), (b"c", 4.0), (b"a", 5.0), (b"d", 5.0)]
    assert ex.run("TYPE", "z").value == b"zset"


@pytest.mark.parametrize(
    "args, reply",
    [
        (["NX", 9, "a", 9, "new"], 1),  # a exists: untouched
        (["XX", 9, "a", 9, "new"], 0),  # a updated, new not added
        (["XX", "CH", 9, "a", 9, "new"], 1),
        (["GT", "CH", 0, "a", 9, "b"], 1),  # a not lowered, b raised
        (["LT", "CH", 0, "a", 9, "b"], 1),
        (["GT", "XX", "CH", 9, "a", 9, "new"], 1),
    ],
)
def test_zadd_conditions(ex, args, reply):
    ex.run("ZADD", "z", 5, "a", 5, "b")
    assert ex.run("ZADD", "z", *args) == reply


def test_zadd_incr_and_zincrby(ex):
    assert ex.run("ZADD", "z", "INCR", 1.5, "a") == Double(1.5)
    assert ex.run("ZINCRBY", "z", 2, "a") == Double(3.5)
    assert ex.run("ZADD", "z", "NX", "INCR", 1, "a") is None
    assert ex.run("ZADD", "z", "GT", "INCR", -1, "a") is None
    assert ex.run("ZADD", "z", "LT", "INCR", -1, "a") == Double(2.5)
    assert ex.run("ZADD", "z", "XX", "INCR", 1, "nope") is None
    assert ex.run("ZADD", "nokey", "XX", 1, "a") == 0
    assert ex.run("EXISTS", "nokey") == 0
    assert ex.wire("ZINCRBY", "z", "0.1", "b") == b"$19\r\n0.10000000000000001\r\n"


@pytest.mark.parametrize(
    "args, error",
    [
        (["NX", "XX", 1, "a"], "ERR XX and NX options at the same time are not compatible"),
        (["GT", "LT", 1, "a"], "ERR GT, LT, and/or NX options at the same time are not compatible"),
        (["NX", "GT", 1, "a"], "ERR GT, LT, and/or NX options at the same time are not compatible"),
        (["INCR", 1, "a", 2, "b"], "ERR INCR option supports a single increment-element pair"),
        ([1, "a", 2], "ERR syntax error"),
        (["NX", "GT"], "ERR syntax error"),
        (["x", "a"], "ERR value is not a valid float"),
        (["nan", "a"], "ERR value is not a valid float"),
        ([1, "a", "bad", "b"], "ERR value is not a valid float"),
    ],
)
def test_zadd_errors_change_nothing(ex, args, error):
    ex.run("ZADD", "z", 1, "keep")
    assert ex.run("ZADD", "z", *args) == err(error)
    assert scores(ex, "z") == [(b"keep", 1.0)]


def test_nan_results_are_refused(ex):
    ex.run("ZADD", "z", "inf", "a")
    assert ex.run("ZINCRBY", "z", "-inf", "a") == err("ERR resulting score is not a number (NaN)")
    assert ex.run("ZADD", "z", "INCR", "-inf", "a") == err("ERR resulting score is not a number (NaN)")
    assert ex.run("ZSCORE", "z", "a") == Double(float("inf"))
    assert ex.wire("ZSCORE", "z", "a") == b"$3\r\ninf\r\n"


def test_wrongtype(ex):
    ex.run("SET", "s", "x")
    wrong = err("WRONGTYPE Operation against a key holding the wrong kind of value")
    for args in (
        ["ZADD", "s", 1, "a"],
        ["ZSCORE", "s", "a"],
        ["ZRANGE", "s", 0, -1],
        ["ZPOPMIN", "s"],
        ["ZUNION", 1, "s"],
        ["ZSCAN", "s", 0],
        ["BZPOPMIN", "s", 0],
        ["ZRANDMEMBER", "s"],
    ):
        assert ex.run(*args) == wrong, args


# --- reads -------------------------------------------------------------------------------------


def test_score_rank_count(ex):
    ex.run("ZADD", "z", 1, "a", 2, "b", 3, "c", 3, "d")
    assert ex.run("ZCARD", "z") == 4 and ex.run("ZCARD", "nokey") == 0
    assert ex.run("ZSCORE", "z", "b") == Double(2.0)
    assert ex.run("ZSCORE", "z", "x") is None
    assert ex.run("ZMSCORE", "z", "a", "x") == [Double(1.0), None]
    assert ex.run("ZMSCORE", "nokey", "a", "b") == [None, None]
    assert ex.run("ZRANK", "z", "c") == 2 and ex.run("ZREVRANK", "z", "c") == 1
    assert ex.run("ZRANK", "z", "x") is None and ex.run("ZRANK", "nokey", "a") is None
    assert ex.run("ZCOUNT", "z", "(1", "3") == 3
    assert ex.run("ZCOUNT", "z", "-inf", "(3") == 2
    assert ex.run("ZCOUNT", "z", "3", "1") == 0
    assert ex.run("ZCOUNT", "z", "x", "1") == err("ERR min or max is not a float")
    assert ex.run("ZCOUNT", "z", "(nan", "1") == err("ERR min or max is not a float")
    assert ex.run("ZCOUNT", "z", "", "(") == 0  # strtod of "" is 0, as in Redis


def test_lex_ranges(ex):
    ex.run("ZADD", "z", *[x for m in "abcdefg" for x in (0, m)])
    assert ex.run("ZLEXCOUNT", "z", "-", "+") == 7
    assert ex.run("ZLEXCOUNT", "z", "[b", "(e") == 3
    assert ex.run("ZRANGEBYLEX", "z", "(b", "[e") == [b"c", b"d", b"e"]
    assert ex.run("ZRANGEBYLEX", "z", "-", "+", "LIMIT", 2, 2) == [b"c", b"d"]
    assert ex.run("ZREVRANGEBYLEX", "z", "[e", "(b") == [b"e", b"d", b"c"]
    assert ex.run("ZRANGE", "z", "[e", "(b", "BYLEX", "REV", "LIMIT", 1, 5) == [b"d", b"c"]
    assert ex.run("ZRANGEBYLEX", "z", "b", "+") == err("ERR min or max not valid string range item")
    assert ex.run("ZRANGEBYLEX", "z", "+x", "+") == err("ERR min or max not valid string range item")
    assert ex.run("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES") == err(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    )
    assert ex.run("ZREMRANGEBYLEX", "z", "[a", "[c") == 3
    assert ex.run("ZRANGE", "z", 0, -1) == [b"d", b"e", b"f", b"g"]


def test_zrange_forms(ex):
    ex.run("ZADD", "z", 1, "a", 2, "b", 3, "c", 4, "d")
    assert ex.run("ZRANGE", "z", 1, -2) == [b"b", b"c"]
    assert ex.run("ZRANGE", "z", 0, 0, "REV") == [b"d"]
    assert ex.run("ZREVRANGE", "z", -1, 100) == [b"a"]
    assert ex.run("ZRANGE", "z", 5, 10) == []
    assert ex.run("ZRANGE", "z", "(1", 3, "BYSCORE") == [b"b", b"c"]
    assert ex.run("ZRANGE", "z", 3, "(1", "BYSCORE", "REV", "LIMIT", 1, 1) == [b"b"]
    assert ex.run("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", 1, -1) == [b"b", b"c", b"d"]
    assert ex.run("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", -1, 2) == []
    assert ex.run("ZREVRANGEBYSCORE", "z", "+inf", 2) == [b"d", b"c", b"b"]
    assert ex.wire("ZRANGE", "z", 0, 1, "WITHSCORES") == b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    ex.run("HELLO", 3)
    assert ex.wire("ZRANGE", "z", 0, 0, "WITHSCORES") == b"*1\r\n*2\r\n$1\r\na\r\n,1\r\n"
    assert ex.run("ZRANGE", "z", 0, 1, "LIMIT", 0, 1) == err(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    )
    assert ex.run("ZRANGE", "z", 0, 1, "REV", "REV") == err("ERR syntax error")
    assert ex.run("ZRANGEBYSCORE", "z", 0, 1, "BYSCORE") == err("ERR syntax error")
    assert ex.run("ZRANGE", "nokey", 0, -1) == []


def test_zrangestore(ex):
    ex.run("ZADD", "src", 1, "a", 2, "b", 3, "c")
    ex.run("SET", "dst", "old", "EX", 100)
    assert ex.run("ZRANGESTORE", "dst", "src", 1, -1) == 2
    assert scores(ex, "dst") == [(b"b", 2.0), (b"c", 3.0)]
    assert ex.run("TTL", "dst") == -1
    assert ex.run("ZRANGESTORE", "dst", "src", 5, 6) == 0
    assert ex.run("EXISTS", "dst") == 0
    assert ex.run("ZRANGESTORE", "dst", "src", 0, -1, "WITHSCORES") == err("ERR syntax error")


# --- removals and pops -------------------------------------------------------------------------


def test_removals_delete_emptied_keys(ex):
    ex.run("ZADD", "z", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e")
    assert ex.run("ZREM", "z", "a", "nope") == 1
    assert ex.run("ZREMRANGEBYRANK", "z", -1, -1) == 1
    assert ex.run("ZREMRANGEBYSCORE", "z", "(2", 3) == 1
    assert ex.run("ZRANGE", "z", 0, -1) == [b"b", b"d"]
    assert ex.run("ZREMRANGEBYRANK", "z", "x", 1) == err("ERR value is not an integer or out of range")
    assert ex.run("ZREMRANGEBYSCORE", "z", "x", 1) == err("ERR min or max is not a float")
    assert ex.run("ZREM", "z", "b", "d") == 2
    assert ex.run("EXISTS", "z") == 0
    assert ex.run("ZREM", "z", "b") == 0


def test_pops(ex):
    ex.run("ZADD", "z", 1, "a", 2, "b", 3, "c", 4, "d")
    assert ex.run("ZPOPMIN", "z") == [b"a", Double(1)]
    assert ex.wire("ZPOPMAX", "z", 2) == b"*4\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n"
    assert ex.run("ZPOPMIN", "z", -1) == err("ERR value is out of range, must be positive")
    assert ex.run("ZPOPMIN", "z", 0) == []
    assert ex.run("ZPOPMIN", "z", 1, 2) == err("ERR syntax error")
    ex.run("HELLO", 3)
    assert ex.wire("ZPOPMIN", "z", 5) == b"*1\r\n*2\r\n$1\r\nb\r\n,2\r\n"
    assert ex.run("EXISTS", "z") == 0
    assert ex.run("ZPOPMIN", "z") == []


def test_zmpop(ex):
    ex.run("ZADD", "b", 1, "x", 2, "y", 3, "z")
    assert ex.run("ZMPOP", 2, "a", "b", "MAX", "COUNT", 2) == [b"b", [[b"z", Double(3)], [b"y", Double(2)]]]
    assert ex.run("ZMPOP", 1, "a", "MIN") is NULL_ARRAY
    assert ex.run("ZMPOP", 0, "a", "MIN") == err("ERR numkeys should be greater than 0")
    assert ex.run("ZMPOP", 2, "a", "MIN") == err("ERR syntax error")
    assert ex.run("ZMPOP", 1, "a", "MIDDLE") == err("ERR syntax error")
    assert ex.run("ZMPOP", 1, "a", "MIN", "COUNT", 0) == err("ERR count should be greater than 0")
    assert ex.run("ZMPOP", 1, "a", "MIN", "COUNT", 1, "COUNT", 1) == err("ERR syntax error")


# --- blocking pops -----------------------------------------------------------------------------


def test_blocking_pops_serve_at_once(ex):
    ex.run("ZADD", "b", 1, "x", 2, "y")
    assert ex.run("BZPOPMIN", "a", "b", 0) == [b"b", b"x", Double(1)]
    assert ex.run("BZPOPMAX", "b", 5) == [b"b", b"y", Double(2)]
    ex.run("ZADD", "b", 1, "x", 2, "y")
    assert ex.run("BZMPOP", 1, 2, "a", "b", "MIN", "COUNT", 5) == [
        b"b",
        [[b"x", Double(1)], [b"y", Double(2)]],
    ]
    assert ex.run("EXISTS", "b") == 0


def test_blocking_pops_block_on_empty_keys(ex):
    assert ex.run("BZPOPMIN", "a", "b", "1.5") == Blocked((b"a", b"b"), 1500)
    assert ex.run("BZPOPMAX", "a", 0) == Blocked((b"a",), 0)
    argv = [b"bzmpop", b"0.25", b"2", b"a", b"b", b"max"]
    assert ex.run(*argv) == Blocked((b"a", b"b"), 250)
    assert blocked_keys(argv) == [b"a", b"b"]
    assert blocked_keys([b"bzpopmin", b"a", b"b", b"0"]) == [b"a", b"b"]
    assert {b"bzpopmin", b"bzpopmax", b"bzmpop"} <= set(BLOCKING_COMMANDS)


@pytest.mark.parametrize(
    "timeout, error",
    [
        ("-1", "ERR timeout is negative"),
        ("inf", "ERR timeout is negative"),
        ("1e300", "ERR timeout is negative"),
        ("abc", "ERR timeout is not a float or out of range"),
    ],
)
def test_blocking_timeout_errors(ex, timeout, error):
    assert ex.run("BZPOPMIN", "a", timeout) == err(error)
    assert ex.run("BZMPOP", timeout, 1, "a", "MIN") == err(error)


class _ExecContextInExec(ExecContext):
    __slots__ = ("in_exec",)


def test_blocking_pops_inside_exec_answer_null():
    ctx = _ExecContextInExec(Keyspace())
    ctx.in_exec = True
    ctx.for_write(1, 1000, 0)
    for argv in ([b"bzpopmin", b"a", b"0"], [b"bzpopmax", b"a", b"0"], [b"bzmpop", b"0", b"1", b"a", b"min"]):
        cmd = lookup(argv)
        assert cmd.handler(ctx, argv) is NULL_ARRAY  # type: ignore[union-attr]
    assert encode(NULL_ARRAY, False) == b"*-1\r\n"


# --- set operations ----------------------------------------------------------------------------


def test_union_inter_diff(ex):
    ex.run("ZADD", "a", 1, "x", 2, "y")
    ex.run("ZADD", "b", 10, "y", 20, "z")
    assert ex.run("ZUNION", 2, "a", "b") == [b"x", b"y", b"z"]
    assert ex.run("ZINTER", 2, "a", "b", "WEIGHTS", 2, 1, "AGGREGATE", "MIN") == [b"y"]
    assert ex.run("ZDIFF", 2, "a", "b") == [b"x"]
    assert ex.run("ZINTERCARD", 2, "a", "b") == 1
    assert ex.run("ZINTERCARD", 2, "a", "b", "LIMIT", -1) == err("ERR LIMIT can't be negative")
    assert ex.run("ZUNIONSTORE", "d", 2, "a", "b", "WEIGHTS", 1, 2) == 3
    assert scores(ex, "d") == [(b"x", 1.0), (b"y", 22.0), (b"z", 40.0)]
    assert ex.run("ZINTERSTORE", "d", 2, "a", "nokey") == 0
    assert ex.run("EXISTS", "d") == 0
    assert ex.run("ZDIFFSTORE", "d", 1, "a") == 2
    assert ex.run("ZUNION", 0, "a") == err("ERR at least 1 input key is needed for 'zunion' command")
    assert ex.run("ZUNIONSTORE", "d", 3, "a") == err("ERR syntax error")
    assert ex.run("ZUNION", 2, "a", "b", "WEIGHTS", 1, "x") == err("ERR weight value is not a float")
    assert ex.run("ZDIFF", 2, "a", "b", "WEIGHTS", 1, 1) == err("ERR syntax error")
    assert ex.run("ZUNIONSTORE", "d", 1, "a", "WITHSCORES") == err("ERR syntax error")


def test_plain_sets_count_as_score_one(ex):
    ex.keyspace.dbs[0].data[b"s"] = Set.fromkeys([b"x", b"q"])
    ex.run("ZADD", "a", 5, "x")
    assert ex.run("ZUNION", 2, "a", "s", "WITHSCORES") == ex.run("ZUNION", 2, "s", "a", "WITHSCORES")
    assert scores(ex, "a") == [(b"x", 5.0)]
    assert ex.run("ZUNIONSTORE", "d", 2, "a", "s") == 2
    assert scores(ex, "d") == [(b"q", 1.0), (b"x", 6.0)]


def test_infinities_cancel_to_zero(ex):
    ex.run("ZADD", "i", "inf", "a")
    assert ex.run("ZUNIONSTORE", "d", 2, "i", "i", "WEIGHTS", 1, -1) == 1
    assert ex.run("ZSCORE", "d", "a") == Double(0.0)
    assert ex.run("ZUNIONSTORE", "d", 2, "i", "i", "WEIGHTS", 0, 1) == 1
    assert ex.run("ZSCORE", "d", "a") == Double(float("inf"))


# --- ZRANDMEMBER / ZSCAN -----------------------------------------------------------------------


def test_zrandmember_shapes_and_errors(ex):
    ex.run("ZADD", "z", 1, "a", 2, "b", 3, "c")
    assert ex.run("ZRANDMEMBER", "z") in (b"a", b"b", b"c")
    assert sorted(ex.run("ZRANDMEMBER", "z", 10)) == [b"a", b"b", b"c"]
    picked = ex.run("ZRANDMEMBER", "z", 2)
    assert len(picked) == 2 and len(set(picked)) == 2
    assert len(ex.run("ZRANDMEMBER", "z", -7)) == 7
    assert ex.run("ZRANDMEMBER", "z", 0) == []
    assert ex.run("ZRANDMEMBER", "nokey") is None
    assert ex.run("ZRANDMEMBER", "nokey", 3) == []
    assert ex.run("ZRANDMEMBER", "z", 3, "WITHSCORES", "x") == err("ERR syntax error")
    assert ex.run("ZRANDMEMBER", "z", 2**62, "WITHSCORES") == err("ERR value is out of range")
    wire = ex.wire("ZRANDMEMBER", "z", 3, "WITHSCORES")
    assert wire.startswith(b"*6\r\n")
    ex.run("HELLO", 3)
    assert ex.wire("ZRANDMEMBER", "z", 1, "WITHSCORES").startswith(b"*1\r\n*2\r\n")


def _randmember_run(seed: int) -> list:
    ctx = ExecContext(Keyspace())
    ctx.for_write(1, 0, 0)
    argv = [b"zadd", b"z"] + [x for i in range(50) for x in (b"%d" % i, b"m%d" % i)]
    lookup(argv).handler(ctx, argv)  # type: ignore[union-attr]
    ctx.for_read(0, 0)
    ctx.rng = random.Random(seed)
    out = []
    for args in (
        [b"zrandmember", b"z"],
        [b"zrandmember", b"z", b"5"],
        [b"zrandmember", b"z", b"-5", b"withscores"],
    ):
        reply = lookup(args).handler(ctx, args)  # type: ignore[union-attr]
        out.append(encode(reply, False))
    return out


def test_zrandmember_is_deterministic_for_a_seed():
    assert _randmember_run(7) == _randmember_run(7)
    assert _randmember_run(7) != _randmember_run(8)


def test_zrandmember_picks_the_same_on_two_executors_in_the_same_state():
    a, b = LocalExecutor(), LocalExecutor()
    for ex in (a, b):
        ex.run("ZADD", "z", *[x for i in range(30) for x in (i, f"m{i}")])
    assert [a.run("ZRANDMEMBER", "z", 5) for _ in range(5)] == [
        b.run("ZRANDMEMBER", "z", 5) for _ in range(5)
    ]


def test_zscan_small_and_large(ex):
    ex.run("ZADD", "z", 1, "a", 2, "b", "0.5", "c")
    assert ex.run("ZSCAN", "z", 0) == [b"0", [b"c", b"0.5", b"a", b"1", b"b", b"2"]]
    assert ex.run("ZSCAN", "z", 0, "MATCH", "[ab]") == [b"0", [b"a", b"1", b"b", b"2"]]
    assert ex.run("ZSCAN", "z", "x") == err("ERR invalid cursor")
    assert ex.run("ZSCAN", "z", 0, "COUNT", 0) == err("ERR syntax error")
    assert ex.run("ZSCAN", "nokey", 0) == [b"0", []]
    ex.run("ZADD", "big", *[x for i in range(300) for x in (i, f"m{i}")])
    seen: dict[bytes, bytes] = {}
    cursor = b"0"
    while True:
        cursor, items = ex.run("ZSCAN", "big", cursor, "COUNT", 50)
        seen.update(zip(items[::2], items[1::2], strict=True))
        if cursor == b"0":
            break
    assert len(seen) == 300 and seen[b"m299"] == b"299"


# --- encoding, versions, expiry, snapshots, COPY -----------------------------------------------


def test_encoding_follows_listpack_limits(ex):
    ex.run("ZADD", "z", *[x for i in range(128) for x in (i, f"m{i}")])
    assert ex.run("OBJECT", "ENCODING", "z") == b"listpack"
    ex.run("ZADD", "z", 1000, "one-more")
    assert ex.run("OBJECT", "ENCODING", "z") == b"skiplist"
    ex.run("ZREMRANGEBYRANK", "z", 0, -3)
    assert ex.run("OBJECT", "ENCODING", "z") == b"skiplist"  # Redis never converts back
    ex.run("ZADD", "long", 1, "x" * 65)
    assert ex.run("OBJECT", "ENCODING", "long") == b"skiplist"


def test_negative_zero_is_kept_only_outside_listpacks(ex):
    assert ex.wire("ZADD", "z", "INCR", "-0", "a") == b"$2\r\n-0\r\n"  # the reply, not the stored value
    assert ex.wire("ZSCORE", "z", "a") == b"$1\r\n0\r\n"
    ex.run("ZADD", "long", 1, "x" * 65, "-0", "b")
    assert ex.wire("ZSCORE", "long", "b") == b"$2\r\n-0\r\n"


def test_versions_bump_only_on_change(ex):
    db = ex.keyspace.dbs[0]
    ex.run("ZADD", "z", 1, "a")
    v = db.version(b"z")
    assert v == ex.index
    ex.run("ZADD", "z", "NX", 5, "a")
    ex.run("ZADD", "z", 1, "a")
    ex.run("ZREM", "z", "nope")
    ex.run("ZPOPMIN", "z", 0)
    assert db.version(b"z") == v
    ex.run("ZINCRBY", "z", 1, "a")
    assert db.version(b"z") == ex.index
    ex.run("ZPOPMIN", "z")
    assert db.version(b"z") == ex.index and b"z" not in db.data
    ex.run("ZUNIONSTORE", "d", 1, "nokey")
    assert db.version(b"d") == 0  # nothing existed, nothing changed


def test_expired_zset_is_absent():
    now = [1000]
    ex = LocalExecutor(lambda: now[0])
    ex.run("ZADD", "z", 1, "a")
    ex.run("PEXPIRE", "z", 10)
    now[0] += 11
    assert ex.run("ZCARD", "z") == 0
    assert ex.run("ZADD", "z", "XX", 2, "a") == 0
    assert b"z" not in ex.keyspace.dbs[0].data  # the write deleted the expired key
    assert ex.run("ZADD", "z", 2, "b") == 1


def test_snapshot_round_trip():
    ex = LocalExecutor()
    ex.run("ZADD", "small", 1, "a", "-inf", "b", "0.1", "c")
    ex.run("ZADD", "big", *[x for i in range(200) for x in (i % 3, f"m{i}")])
    ex.run("ZADD", "big", "-0", "neg-zero")
    buf = io.BytesIO()
    ex.keyspace.snapshot_to(buf)
    restored = Keyspace()
    restored.restore_from(io.BytesIO(buf.getvalue()))
    for key in (b"small", b"big"):
        a, b = ex.keyspace.dbs[0].data[key], restored.dbs[0].data[key]
        assert type(b) is ZSet
        assert a.order == b.order and a.scores == b.scores and a.compact == b.compact
    assert str(restored.dbs[0].data[b"big"].scores[b"neg-zero"]) == "-0.0"
    again = io.BytesIO()
    restored.snapshot_to(again)
    assert again.getvalue() == buf.getvalue()


def test_copy_is_independent(ex):
    ex.run("ZADD", "z", 1, "a")
    assert ex.run("COPY", "z", "c") == 1
    ex.run("ZADD", "c", 2, "b")
    assert ex.run("ZCARD", "z") == 1 and ex.run("ZCARD", "c") == 2


# --- the structure itself, against a naive model ------------------------------------------------


def test_sortedset_matches_a_naive_model():
    rng = random.Random(42)
    z = ZSet(compact=False)
    model: dict[bytes, float] = {}
    for _ in range(3000):
        m = b"m%d" % rng.randrange(60)
        op = rng.randrange(4)
        if op == 0 and m not in model:
            model[m] = z.add(m, rng.choice([0.0, 1.0, -1.0, rng.random(), float("inf")]))
        elif op == 1 and m in model:
            s = rng.random()
            z.update(m, s)
            model[m] = s
        elif op == 2:
            assert z.remove(m) == (model.pop(m, None) is not None)
        elif op == 3 and model:
            expected = sorted((s, k) for k, s in model.items())
            assert z.order == expected
            assert z.rank(m) == (expected.index((model[m], m)) if m in model else None)
            lo = rng.random()
            assert z.score_start(lo, False) == sum(1 for s, _ in expected if s < lo)
            assert z.score_stop(lo, True) == sum(1 for s, _ in expected if s < lo)
    assert len(z) == len(model)


class _TinyBuckets(SortedPairs):
    __slots__ = ()
    LOAD = 3  # splits and empties buckets all the time


def test_sorted_pairs_buckets_match_a_plain_sorted_list():
    rng = random.Random(5)
    pairs = _TinyBuckets()
    model: list[tuple[float, bytes]] = []
    for _ in range(4000):
        op = rng.randrange(6)
        item = (float(rng.randrange(20)), b"m%d" % rng.randrange(40))
        if op <= 1 and item not in model:
            pairs.add(item)
            bisect.insort(model, item)
        elif op == 2 and model:
            victim = rng.choice(model)
            pairs.remove(victim)
            model.remove(victim)
        elif op == 3 and model:
            i = rng.choice([0, -1, rng.randrange(len(model))])
            assert pairs.pop(i) == model.pop(i)
        elif op == 4 and model:
            a = rng.randrange(len(model) + 1)
            b = rng.randrange(a, len(model) + 1)
            assert pairs.delete_range(a, b) == model[a:b]
            del model[a:b]
        else:
            assert list(pairs) == model and len(pairs) == len(model)
            assert list(reversed(pairs)) == model[::-1]
            for _ in range(5):
                if model:
                    i = rng.randrange(len(model))
                    assert pairs[i] == model[i] and pairs.index(model[i]) == i
                a, b = rng.randrange(-2, len(model) + 3), rng.randrange(-2, len(model) + 3)
                assert pairs.range(a, b) == model[max(a, 0) : max(b, 0)]
                s = float(rng.randrange(-1, 22))
                assert pairs.bisect_score(s, False) == sum(1 for x in model if x[0] < s)
                assert pairs.bisect_score(s, True) == sum(1 for x in model if x[0] <= s)
    assert pairs == model
