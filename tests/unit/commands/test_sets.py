"""Set commands through the in-process executor: replies, errors, key versions (WATCH) and
determinism of the random commands across nodes."""

from __future__ import annotations

from commands_harness import LocalExecutor

from resp import ErrorReply
from resp.types import SetReply
from server.commands import COMMANDS, ExecContext
from server.keyspace import Keyspace, Set

WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")


def members(ex, key=b"s"):
    v = ex.keyspace.dbs[0].data.get(key)
    return None if v is None else list(v)


def version(ex, key=b"s"):
    return ex.keyspace.dbs[0].version(key)


def test_add_remove_and_reads(ex):
    assert ex.run("SADD", "s", "a", "b", "a") == 2
    assert type(ex.keyspace.dbs[0].data[b"s"]) is Set
    assert ex.run("SADD", "s", "b", "c") == 1
    assert ex.run("SCARD", "s") == 3 and ex.run("SCARD", "nokey") == 0
    assert ex.run("SISMEMBER", "s", "a") == 1 and ex.run("SISMEMBER", "s", "z") == 0
    assert ex.run("SMISMEMBER", "s", "a", "z", "c") == [1, 0, 1]
    assert ex.run("SMISMEMBER", "nokey", "a", "b") == [0, 0]
    assert ex.run("SMEMBERS", "s") == SetReply([b"a", b"b", b"c"])  # insertion order
    assert ex.run("SMEMBERS", "nokey") == SetReply([])
    assert ex.run("SREM", "s", "a", "z") == 1
    assert ex.run("SREM", "nokey", "a") == 0
    assert ex.run("SREM", "s", "b", "c") == 2
    assert members(ex) is None  # emptied sets are deleted


def test_versions_bump_only_on_change(ex):
    ex.run("SADD", "s", "a", "b")
    changed_at = ex.index
    assert version(ex) == changed_at
    for noop in (
        ("SADD", "s", "a"),
        ("SREM", "s", "z"),
        ("SMOVE", "s", "t", "z"),
        ("SMOVE", "s", "s", "a"),
        ("SPOP", "s", "0"),
    ):
        ex.run(*noop)
        assert version(ex) == changed_at, noop
    ex.run("SADD", "s", "c")
    assert version(ex) == ex.index
    ex.run("SMOVE", "s", "t", "c")
    assert version(ex) == version(ex, b"t") == ex.index
    ex.run("SPOP", "s")
    assert version(ex) == ex.index
    ex.run("SPOP", "s", "10")
    assert members(ex) is None and version(ex) == ex.index


def test_smove(ex):
    ex.run("SADD", "a", "x", "y")
    ex.run("SADD", "b", "y")
    assert ex.run("SMOVE", "a", "b", "y") == 1
    assert members(ex, b"a") == [b"x"] and members(ex, b"b") == [b"y"]
    assert ex.run("SMOVE", "a", "c", "x") == 1
    assert members(ex, b"a") is None and members(ex, b"c") == [b"x"]
    assert ex.run("SMOVE", "nokey", "c", "x") == 0
    ex.run("SET", "str", "v")
    assert ex.run("SMOVE", "c", "str", "x") == WRONGTYPE
    assert ex.run("SMOVE", "str", "c", "x") == WRONGTYPE
    assert ex.run("SMOVE", "nokey", "str", "x") == 0
    assert members(ex, b"c") == [b"x"]


def test_algebra(ex):
    ex.run("SADD", "a", "1", "2", "3", "4")
    ex.run("SADD", "b", "3", "4", "5")
    ex.run("SADD", "c", "4", "5", "6")
    assert sorted(ex.run("SINTER", "a", "b").items) == [b"3", b"4"]
    assert ex.run("SINTER", "a", "b", "c").items == [b"4"]
    assert ex.run("SINTER", "a", "nokey").items == []
    assert sorted(ex.run("SUNION", "a", "c", "nokey").items) == [b"1", b"2", b"3", b"4", b"5", b"6"]
    assert ex.run("SDIFF", "a", "b", "c").items == [b"1", b"2"]
    assert ex.run("SDIFF", "nokey", "a").items == []
    assert ex.run("SINTERCARD", "2", "a", "b") == 2
    assert ex.run("SINTERCARD", "2", "a", "b", "LIMIT", "1") == 1
    assert ex.run("SINTERCARD", "1", "a", "LIMIT", "0") == 4
    assert ex.run("SINTERCARD", "0", "a") == ErrorReply("ERR numkeys should be greater than 0")
    assert ex.run("SINTERCARD", "3", "a") == ErrorReply(
        "ERR Number of keys can't be greater than number of args"
    )
    assert ex.run("SINTERCARD", "1", "a", "LIMIT", "-1") == ErrorReply("ERR LIMIT can't be negative")
    assert ex.run("SINTERCARD", "1", "a", "FOO") == ErrorReply("ERR syntax error")


def test_store_commands(ex):
    ex.run("SADD", "a", "1", "2", "3")
    ex.run("SADD", "b", "2", "3", "4")
    ex.run("SET", "d", "string")
    ex.run("EXPIRE", "d", "100")
    assert ex.run("SINTERSTORE", "d", "a", "b") == 2
    assert sorted(members(ex, b"d")) == [b"2", b"3"]
    assert ex.run("TTL", "d") == -1  # the result replaces the key, TTL and all
    assert version(ex, b"d") == ex.index
    assert ex.run("SUNIONSTORE", "d", "a", "b") == 4
    assert ex.run("SDIFFSTORE", "d", "a", "b") == 1 and members(ex, b"d") == [b"1"]
    assert ex.run("SDIFFSTORE", "a", "a", "b") == 1 and members(ex, b"a") == [b"1"]  # in place
    assert ex.run("SINTERSTORE", "d", "a", "nokey") == 0
    assert members(ex, b"d") is None and version(ex, b"d") == ex.index
    before = version(ex, b"d")
    assert ex.run("SUNIONSTORE", "d", "nokey") == 0
    assert version(ex, b"d") == before  # nothing was there to delete


def test_wrongtype(ex):
    ex.run("SET", "str", "v")
    ex.run("SADD", "s", "a")
    for cmd in (
        ("SADD", "str", "a"),
        ("SREM", "str", "a"),
        ("SMEMBERS", "str"),
        ("SISMEMBER", "str", "a"),
        ("SMISMEMBER", "str", "a"),
        ("SCARD", "str"),
        ("SPOP", "str"),
        ("SPOP", "str", "1"),
        ("SRANDMEMBER", "str"),
        ("SRANDMEMBER", "str", "-2"),
        ("SINTER", "nokey", "str"),  # every key is checked, even after an empty one
        ("SINTERCARD", "2", "nokey", "str"),
        ("SUNION", "s", "str"),
        ("SDIFF", "s", "str"),
        ("SINTERSTORE", "d", "s", "str"),
        ("SSCAN", "str", "0"),
    ):
        assert ex.run(*cmd) == WRONGTYPE, cmd
    assert b"d" not in ex.keyspace.dbs[0].data


def test_count_errors(ex):
    ex.run("SADD", "s", "a", "b")
    positive = ErrorReply("ERR value is out of range, must be positive")
    assert ex.run("SPOP", "s", "-1") == positive
    assert ex.run("SPOP", "s", "x") == positive
    assert ex.run("SPOP", "s", "1", "2") == ErrorReply("ERR syntax error")
    assert ex.run("SRANDMEMBER", "s", "x") == ErrorReply("ERR value is not an integer or out of range")
    assert ex.run("SRANDMEMBER", "s", "-9223372036854775808") == ErrorReply(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    assert members(ex) == [b"a", b"b"]


def test_spop_and_srandmember(ex):
    ex.run("SADD", "s", *[str(i) for i in range(20)])
    popped = ex.run("SPOP", "s", "5")
    assert isinstance(popped, SetReply) and len(set(popped.items)) == 5
    assert ex.run("SCARD", "s") == 15 and not set(popped.items) & set(members(ex))
    one = ex.run("SPOP", "s")
    assert one not in members(ex) and ex.run("SCARD", "s") == 14
    assert ex.run("SPOP", "nokey") is None and ex.run("SPOP", "nokey", "3") == SetReply([])
    got = ex.run("SRANDMEMBER", "s", "5")
    assert len(set(got)) == 5 and set(got) <= set(members(ex))
    got = ex.run("SRANDMEMBER", "s", "-50")
    assert len(got) == 50 and set(got) <= set(members(ex))  # repeats allowed
    assert sorted(ex.run("SRANDMEMBER", "s", "100")) == sorted(members(ex))
    assert ex.run("SRANDMEMBER", "s") in members(ex)
    assert ex.run("SRANDMEMBER", "nokey") is None and ex.run("SRANDMEMBER", "nokey", "-3") == []
    assert ex.run("SCARD", "s") == 14  # SRANDMEMBER never removes


def _apply(keyspace: Keyspace, index: int, *args: str):
    ctx = ExecContext(keyspace)
    ctx.for_write(index, 1_000, 0)
    argv = [a.encode() for a in args]
    return COMMANDS[argv[0].lower()].handler(ctx, argv)


def test_spop_is_deterministic_across_nodes():
    """Two nodes applying the same entries pop the same members: the RNG is seeded from the
    log index, never from process state (dict order of bytes is not hash-randomised)."""
    results = []
    for _ in range(2):
        ks = Keyspace()
        _apply(ks, 1, "SADD", "s", *[f"m{i}" for i in range(100)])
        out = [
            _apply(ks, 2, "SPOP", "s").__repr__(),
            _apply(ks, 3, "SPOP", "s", "7").__repr__(),
            _apply(ks, 4, "SPOP", "s", "7").__repr__(),
        ]
        results.append((out, list(ks.dbs[0].data[b"s"])))
    assert results[0] == results[1]
    # A different index draws differently (the seed really is the index).
    ks = Keyspace()
    _apply(ks, 1, "SADD", "s", *[f"m{i}" for i in range(100)])
    assert repr(_apply(ks, 99, "SPOP", "s", "7")) != results[0][0][1]


def test_sscan(ex):
    ex.run("SADD", "i", "10", "2", "-3")
    assert ex.run("SSCAN", "i", "0", "COUNT", "1") == [b"0", [b"-3", b"2", b"10"]]  # an intset
    assert ex.run("SSCAN", "nokey", "0") == [b"0", []]
    assert ex.run("SSCAN", "i", "x") == ErrorReply("ERR invalid cursor")
    ex.run("SADD", "big", *[f"m{i}" for i in range(300)])
    seen: list[bytes] = []
    cursor = b"0"
    while True:
        cursor, batch = ex.run("SSCAN", "big", cursor, "COUNT", "40")
        seen.extend(batch)
        if cursor == b"0":
            break
    assert sorted(seen) == sorted(f"m{i}".encode() for i in range(300))
    assert ex.run("SSCAN", "big", "0", "MATCH", "m1?", "COUNT", "1000") == [
        b"0",
        [f"m{i}".encode() for i in range(10, 20)],
    ]


def test_snapshot_keeps_sets():
    import io

    ex = LocalExecutor()
    ex.run("SADD", "s", "b", "a", "c")
    buf = io.BytesIO()
    ex.keyspace.snapshot_to(buf)
    buf.seek(0)
    other = Keyspace()
    other.restore_from(buf)
    restored = other.dbs[0].data[b"s"]
    assert type(restored) is Set and list(restored) == [b"b", b"a", b"c"]
