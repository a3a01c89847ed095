"""Property tests: random histories, crashes at random points, damage at random places.

The model is `MemoryWal` fed the same calls: after a crash the file WAL must recover
exactly the state after some prefix of the records written, and that prefix must include
every record covered by a completed sync. Damage to synced data is reported unless it is
the very tail of the last segment (indistinguishable from a torn write, and cut there).
"""

from __future__ import annotations

import os
import random
import shutil

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis import given as hgiven
from storage_faults import FaultFs, scratch_dir

from storage import CorruptWalError, HardState, LogEntry, SnapshotStore, Wal
from storage import records as rec
from storage import segment as seg
from storage.logindex import LogIndex
from storage.memory import MemoryWal

SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

op = st.one_of(
    st.tuples(st.just("append"), st.integers(1, 12), st.integers(0, 120)),
    st.tuples(st.just("overwrite"), st.integers(1, 6), st.integers(1, 6)),
    st.tuples(st.just("truncate"), st.integers(1, 5)),
    st.tuples(st.just("hs"), st.integers(0, 3), st.floats(0, 1)),
    st.tuples(st.just("sync")),
    st.tuples(st.just("compact"), st.floats(0, 1)),
    st.tuples(st.just("install"), st.integers(1, 20)),
    st.tuples(st.just("crash")),
)


def state_of(idx: LogIndex) -> tuple:
    assert idx.objs is not None
    return (
        idx.hard_state,
        idx.snap_index,
        idx.snap_term,
        [(e.index, e.term, e.type, e.data) for e in idx.objs],
    )


def recovered_state(r) -> tuple:
    return (
        r.hard_state,
        r.snapshot_index,
        r.snapshot_term,
        [(e.index, e.term, e.type, e.data) for e in r.entries],
    )


def replay(records) -> tuple:
    idx = LogIndex(1, collect=True)
    for rtype, value in records:
        MemoryWal._apply(idx, rtype, value)
    return state_of(idx)


class Harness:
    def __init__(self, root: str, seed: int, preallocate: int = 0) -> None:
        self.preallocate = preallocate
        self.rng = random.Random(seed)
        self.fs = FaultFs()
        self.waldir = os.path.join(root, "wal")
        self.snapdir = os.path.join(root, "snap")
        self.model = MemoryWal()
        self.term = 1
        self.snaps: list[tuple[int, int]] = []  # committed snapshots (index, term)
        self.history: list[tuple] = []  # every record written, never pruned
        self.open()

    def open(self) -> None:
        self.wal = Wal.open(self.waldir, cluster_id="c", node_id=1, segment_size=700, fs=self.fs,
                            preallocate=self.preallocate)
        self.store = SnapshotStore(self.snapdir, keep=2, fs=self.fs)

    def entries(self, lo: int, n: int, size: int) -> list[LogEntry]:
        return [LogEntry(i, self.term, i % 2, self.rng.randbytes(size)) for i in range(lo, lo + n)]

    def both(self, method: str, *args) -> None:
        getattr(self.wal, method)(*args)
        n = len(self.model._records)
        getattr(self.model, method)(*args)
        if method == "compact":
            self.history.append((rec.SNAPSHOT, args))
        else:
            self.history += self.model._records[n:]

    def apply(self, o: tuple) -> None:
        w, m = self.wal, self.model
        hs = m.hard_state
        if o[0] == "append":
            self.both("append", self.entries(m.last_index + 1, o[1], o[2]))
        elif o[0] == "overwrite":
            lo = max(hs.commit + 1, m.last_index - o[1] + 1, m.first_index)
            self.term += 1
            self.both("append", self.entries(lo, o[2], 10))
        elif o[0] == "truncate":
            t = m.last_index - o[1] + 1
            if t > max(hs.commit, m.snapshot_index):
                self.both("truncate_suffix", t)
        elif o[0] == "hs":
            self.term += o[1] == 0
            commit = (
                hs.commit + int((m.last_index - hs.commit) * o[2]) if m.last_index > hs.commit else hs.commit
            )
            self.both("set_hard_state", HardState(self.term, o[1], commit))
        elif o[0] == "sync":
            assert w.sync() == m.sync()
        elif o[0] == "compact":
            if hs.commit > m.snapshot_index:
                index = m.snapshot_index + 1 + int((hs.commit - m.snapshot_index - 1) * o[1])
                self.snapshot(index, m.term(index))
        elif o[0] == "install":
            index = m.last_index + o[1]
            self.snapshot(index, self.term)
            self.both("set_hard_state", HardState(self.term, hs.vote, index))
        elif o[0] == "crash":
            self.crash_and_check()

    def snapshot(self, index: int, term: int) -> None:
        with self.store.create(index, term, b"members") as sw:
            sw.write(f"state through {index}".encode())
            sw.commit()
        self.snaps.append((index, term))
        self.both("compact", index, term)

    def crash_and_check(self) -> None:
        self.wal.close()  # closing descriptors persists nothing in the FaultFs model
        self.fs.crash(self.rng)
        self.open()
        got = recovered_state(self.wal.recovered)
        records = self.model._records
        synced = self.model._synced
        for j in range(len(records), synced - 1, -1):
            if replay(records[:j]) == got:
                break
        else:
            raise AssertionError(f"recovered state matches no prefix of the records from {synced} on: {got}")
        self.model._records = records[:j]
        self.model._synced = j
        self.model.crash()
        # Snapshots: the newest committed one is there and intact; the WAL never runs ahead of it.
        if self.snaps:
            latest = self.store.latest()
            assert latest is not None and (latest.index, latest.term) == self.snaps[-1]
            with self.store.open(latest, verify=True) as r:
                assert r.read_all() == f"state through {latest.index}".encode()
            assert self.wal.snapshot_index <= latest.index
        # Reads agree with recovery.
        if self.wal.last_index >= self.wal.first_index:
            assert (
                self.wal.entries(self.wal.first_index, self.wal.last_index + 1) == self.wal.recovered.entries
            )


@SETTINGS
@hgiven(ops=st.lists(op, min_size=1, max_size=40), seed=st.integers(0, 2**32 - 1),
        preallocate=st.sampled_from([0, 0, 64, 300]))
def test_random_histories_survive_crashes(ops, seed, preallocate):
    """Any history of writes, syncs, compactions and crashes (unsynced data cut, zeroed or
    followed by garbage), with and without zeros written ahead of the records."""
    root = scratch_dir("walprop-")
    try:
        h = Harness(root, seed, preallocate)
        for o in ops:
            h.apply(o)
        h.crash_and_check()
        h.wal.close()
    finally:
        shutil.rmtree(root)


def record_spans(buf: bytes) -> list[tuple[int, int]]:
    spans, pos = [], seg.HEADER_SIZE
    while pos < len(buf):
        _, _, size = rec.decode_at(buf, pos)
        spans.append((pos, pos + size))
        pos += size
    return spans


@SETTINGS
@hgiven(
    ops=st.lists(op.filter(lambda o: o[0] not in ("crash", "install")), min_size=1, max_size=30),
    seed=st.integers(0, 2**32 - 1),
    zero=st.booleans(),
)
def test_damage_to_synced_data_is_reported_not_skipped(ops, seed, zero):
    root = scratch_dir("waldmg-")
    try:
        h = Harness(root, seed)
        for o in ops:
            h.apply(o)
        h.both("sync")
        paths = h.wal.segment_paths
        h.wal.close()
        rng = random.Random(seed)
        n = rng.randrange(len(paths))
        path = paths[n]
        with open(path, "rb") as f:
            before = f.read()
        offset = rng.randrange(len(before))
        if zero:
            FaultFs.zero_sector(path, offset)
        else:
            FaultFs.flip_bit(path, offset, rng.randrange(8))
        with open(path, "rb") as f:
            after = f.read()
        changed = [i for i in range(len(before)) if before[i] != after[i]]
        if not changed:
            return
        first, last = changed[0], changed[-1]
        spans = record_spans(before)
        intact_after = any(start > last for start, _ in spans)
        tail_damage = n == len(paths) - 1 and first >= seg.HEADER_SIZE and not intact_after
        try:
            w = Wal.open(h.waldir, cluster_id="c", node_id=1, segment_size=700)
        except CorruptWalError as e:
            assert not tail_damage, f"tail damage should be cut, got {e}"
            assert e.path is not None and os.path.basename(e.path) in str(e)
            return
        try:
            assert tail_damage, "damage before the tail was skipped"
            t = w.recovered.torn_tail
            assert t is not None and t.path == path
            damaged_start = max(s for s, _ in spans if s <= first) if first >= spans[0][0] else first
            assert t.offset == damaged_start
            got = recovered_state(w.recovered)
            assert any(replay(h.history[:j]) == got for j in range(len(h.history) + 1))
        finally:
            w.close()
    finally:
        shutil.rmtree(root)
