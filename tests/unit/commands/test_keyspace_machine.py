"""The state machine: expiry, versions, snapshots, determinism."""

from __future__ import annotations

import io
import random

from commands_harness import LocalExecutor

from resp import OK, encode
from server.commands import WRITE, ExecContext, lookup, lookup_internal
from server.keyspace import VERSIONS_KEPT, Database, Hash, Keyspace, List, Set


class Clock:
    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_reads_hide_expired_keys_without_deleting():
    clock = Clock()
    ex = LocalExecutor(clock)
    ex.run("SET", "k", "v", "PX", 100)
    clock.now += 100
    assert ex.run("GET", "k") == b"v"  # expired means now > when
    clock.now += 1
    assert ex.run("GET", "k") is None
    assert ex.run("EXISTS", "k") == 0
    assert ex.run("TTL", "k") == -2
    assert b"k" in ex.keyspace.dbs[0].data  # a read does not change state
    assert ex.run("DBSIZE") == 1  # as in Redis until the key is reclaimed


def test_write_deletes_expired_key_it_touches_and_bumps_version():
    clock = Clock()
    ex = LocalExecutor(clock)
    ex.run("SET", "k", "v", "PX", 10)
    clock.now += 11
    assert ex.run("SETNX", "k", "new") == 1
    db = ex.keyspace.dbs[0]
    assert db.data[b"k"] == b"new" and b"k" not in db.expires
    assert db.version(b"k") == ex.index


def test_expired_sample_and_raftis_expire():
    clock = Clock()
    ex = LocalExecutor(clock)
    for i in range(10):
        ex.run("SET", f"k{i}", "v", "PX", 10 + i)
    ex.run("SELECT", 3)
    ex.run("SET", "other", "v", "PX", 5)
    ex.run("SELECT", 0)
    clock.now += 15
    sample = ex.keyspace.expired_sample(clock.now, 100)
    assert sorted(sample) == [(0, b"k0"), (0, b"k1"), (0, b"k2"), (0, b"k3"), (0, b"k4"), (3, b"other")]
    assert ex.keyspace.expired_sample(clock.now, 100) == []  # each key is handed out once
    # k3 is rewritten before the proposal applies: RAFTIS.EXPIRE must spare it.
    ex.run("SET", "k3", "again")
    argv = [b"RAFTIS.EXPIRE", b"0", b"k0", b"k1", b"k2", b"k3", b"k4"]
    assert isinstance(lookup(argv), type(lookup([b"nosuch"])))  # clients cannot send it
    cmd = lookup_internal(argv)
    assert cmd.kind == WRITE
    ex.index += 1
    ex.ctx.for_write(ex.index, clock.now, 0)
    assert cmd.handler(ex.ctx, argv) == 4
    assert set(ex.keyspace.dbs[0].data) == {b"k3", b"k5", b"k6", b"k7", b"k8", b"k9"}


def test_expire_in_the_past_deletes_now():
    ex = LocalExecutor(Clock())
    ex.run("SET", "k", "v")
    assert ex.run("EXPIRE", "k", -1) == 1
    assert ex.keyspace.dbs[0].data == {}


def test_versions_stay_bounded_and_conservative():
    db = Database(0)
    n = 2 * VERSIONS_KEPT + 10
    for i in range(1, n + 1):
        db.set(b"k%d" % i, b"v", i)
    assert len(db.versions) <= 2 * VERSIONS_KEPT
    # Every key reports a version >= its true last change: never a missed change.
    for i in range(1, n + 1, 997):
        assert db.version(b"k%d" % i) >= i
    assert db.version(b"k%d" % n) == n


def test_flush_and_swapdb_change_the_keys_that_exist():
    # As Redis: a WATCH on a key that existed aborts; one on a key that did not is untouched.
    ex = LocalExecutor(Clock())
    ex.run("SET", "a", "1")
    before = ex.keyspace.dbs[0].version(b"absent")
    ex.run("FLUSHALL")
    assert ex.keyspace.dbs[0].version(b"a") == ex.index
    assert ex.keyspace.dbs[0].version(b"absent") == before
    ex.run("SELECT", 1)
    ex.run("SET", "x", "1")
    ex.run("SWAPDB", 1, 2)
    assert ex.keyspace.dbs[1].version(b"x") == ex.index == ex.keyspace.dbs[2].version(b"x")
    assert ex.keyspace.dbs[2].version(b"absent") < ex.index


def _fill(ks: Keyspace) -> None:
    db = ks.dbs[0]
    for i in range(3000):
        db.set(b"key:%d" % i, b"value:%d" % i, i + 1)
    db.set_expire(b"key:7", 123456789, 5000)
    h = Hash({b"f1": b"v1", b"f2": b"v2"})
    db.set(b"hash", h, 5001)
    ks.dbs[2].set(b"list", List([b"a", b"b"]), 5002)
    ks.dbs[15].set(b"set", Set.fromkeys([b"m2", b"m1"]), 5003)
    ks.dbs[9].clear(4242)


def test_snapshot_roundtrip():
    ks = Keyspace()
    _fill(ks)
    buf = io.BytesIO()
    ks.snapshot_to(buf)
    restored = Keyspace()
    held = restored.dbs[0]
    restored.dbs[0].set(b"stale", b"x", 1)
    buf.seek(0)
    restored.restore_from(buf)
    assert restored.dbs[0] is held  # contexts keep valid references
    for a, b in zip(ks.dbs, restored.dbs, strict=True):
        assert list(a.data.items()) == list(b.data.items())  # order included
        assert {k: type(v) for k, v in a.data.items()} == {k: type(v) for k, v in b.data.items()}
        assert a.expires == b.expires
        assert a.versions == b.versions and a.version_floor == b.version_floor
    assert b"stale" not in restored.dbs[0].data


def test_snapshot_chunked_reader_and_truncation():
    ks = Keyspace()
    _fill(ks)
    buf = io.BytesIO()
    ks.snapshot_to(buf)
    data = buf.getvalue()

    class Trickle:
        def __init__(self, data: bytes) -> None:
            self.data = data
            self.pos = 0

        def read(self, n: int) -> bytes:
            n = min(n, 7)
            out = self.data[self.pos : self.pos + n]
            self.pos += len(out)
            return out

    restored = Keyspace()
    restored.restore_from(Trickle(data))
    assert len(restored) == len(ks)
    broken = Keyspace()
    broken.dbs[0].set(b"keep", b"me", 1)
    try:
        broken.restore_from(io.BytesIO(data[: len(data) // 2]))
    except ValueError:
        pass
    else:
        raise AssertionError("a truncated snapshot must be refused")
    assert broken.dbs[0].data == {b"keep": b"me"}  # unchanged


def _apply_log(seed: int) -> bytes:
    """Apply the same random write log on a fresh keyspace and return a state digest."""
    rng = random.Random(seed)
    ks = Keyspace()
    ctx = ExecContext(ks)
    replies = []
    now = 1_700_000_000_000
    for index in range(1, 400):
        now += rng.randrange(0, 50)
        k = b"k%d" % rng.randrange(20)
        op = rng.choice(
            [
                [b"SET", k, b"v%d" % index],
                [b"SET", k, b"v", b"PX", b"%d" % rng.randrange(1, 100)],
                [b"INCR", k],
                [b"HSET", k, b"f%d" % rng.randrange(5), b"x"],
                [b"DEL", k],
                [b"EXPIRE", k, b"%d" % rng.randrange(-1, 3)],
                [b"RENAME", k, b"k%d" % rng.randrange(20)],
                [b"APPEND", k, b"z"],
                [b"HRANDFIELD", k, b"-3"],
            ]
        )
        cmd = lookup(op)
        if cmd.kind == WRITE:
            ctx.for_write(index, now, 0)
        else:
            ctx.for_read(now, 0)
            ctx.rng = random.Random(index)
        replies.append(encode(cmd.handler(ctx, op)))
    buf = io.BytesIO()
    ks.snapshot_to(buf)
    return b"".join(replies) + buf.getvalue()


def test_apply_is_deterministic():
    assert _apply_log(7) == _apply_log(7)
    assert _apply_log(8) != _apply_log(7)


def test_write_rng_is_seeded_from_the_index():
    ks = Keyspace()
    a = ExecContext(ks)
    b = ExecContext(ks)
    a.for_write(42, 0, 0)
    b.for_read(0, 0)
    b.rng.random()
    b.for_write(42, 0, 0)
    assert a.rng.random() == b.rng.random()


def test_set_plain_is_minimal():
    ex = LocalExecutor(Clock())
    assert ex.run("SET", "k", "v") is OK


def test_changed_since_for_watch():
    ex = LocalExecutor(Clock())
    ex.run("SET", "w", "1")
    seen = ex.index
    db = ex.keyspace.dbs[0]
    assert not db.changed_since(b"w", seen)
    ex.run("SET", "other", "1")
    assert not db.changed_since(b"w", seen)
    ex.run("DEL", "w")
    assert db.changed_since(b"w", seen)
    assert ex.keyspace.stats() == [(0, 1, 0)]


def test_a_seed_per_command_gives_each_command_of_an_entry_its_own_stream():
    ks = Keyspace()
    a = ExecContext(ks)
    a.for_write(7, 0, 0)
    a.rng_seed = (7 << 20) | 0
    first = a.rng.random()
    a.for_write(7, 0, 0)
    a.rng_seed = (7 << 20) | 1
    second = a.rng.random()
    b = ExecContext(ks)
    b.for_write(7, 0, 0)
    b.rng_seed = (7 << 20) | 1
    assert b.rng.random() == second != first
