from __future__ import annotations

import os
import random
import stat

import pytest
from crc32c import crc32c
from storage_faults import ENOSPC, FaultFs

from storage import MemorySnapshotStore, SnapshotCorruptError, SnapshotStore


@pytest.fixture(params=["file", "memory"])
def store(request, tmp_path):
    if request.param == "memory":
        return MemorySnapshotStore(keep=2)
    return SnapshotStore(str(tmp_path / "snap"), keep=2)


def payload(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def test_stream_write_commit_and_read_back(store):
    data = payload(300_000)
    w = store.create(10, 2, b"voters=1,2,3")
    for off in range(0, len(data), 7_777):
        w.write(data[off : off + 7_777])
    meta = w.commit()
    assert (meta.index, meta.term, meta.membership, meta.size, meta.crc) == (
        10,
        2,
        b"voters=1,2,3",
        len(data),
        crc32c(data),
    )
    assert store.latest() == meta
    with store.open(meta, verify=True) as r:
        assert r.read_chunk(1000, 10) == data[1000:1010]
        assert r.read_chunk(len(data) - 5, 100) == data[-5:]
        assert b"".join(r.chunks(65536)) == data
        assert r.read(100) + r.read() == data
        assert r.read_all() == data


def test_chunks_from_a_leader_at_arbitrary_sizes_with_resends(store):
    data = payload(100_000, 1)
    rng = random.Random(2)
    w = store.create(7, 1)
    off = 0
    while off < len(data):
        n = rng.randint(1, 9000)
        back = rng.choice([0, 0, 0, rng.randint(0, off)])  # sometimes a re-sent or overlapping chunk
        start = off - back
        off = w.write_chunk(start, data[start : start + n])
    with pytest.raises(ValueError, match="gap"):
        w.write_chunk(off + 1, b"x")
    meta = w.commit(expected_size=len(data), expected_crc=crc32c(data))
    with store.open(meta) as r:
        assert r.read_all() == data


def test_leader_checksum_mismatch_is_refused(store):
    w = store.create(7, 1)
    w.write(b"abc")
    with pytest.raises(SnapshotCorruptError):
        w.commit(expected_crc=crc32c(b"abd"))
    assert store.latest() is None


def test_abort_and_context_manager_discard(store):
    with store.create(5, 1) as w:
        w.write(b"partial")
    w2 = store.create(6, 1)
    w2.write(b"x")
    w2.abort()
    assert store.latest() is None and store.list() == []


def test_keeps_newest_two(store):
    for i in range(1, 5):
        w = store.create(i * 10, 1)
        w.write(payload(100, i))
        w.commit()
    assert [m.index for m in store.list()] == [30, 40]
    assert store.latest().index == 40


def test_empty_snapshot(store):
    w = store.create(3, 1, b"m")
    meta = w.commit()
    assert meta.size == 0
    with store.open(meta, verify=True) as r:
        assert r.read_all() == b""


def test_corrupt_payload_is_refused(tmp_path):
    store = SnapshotStore(str(tmp_path / "snap"))
    w = store.create(10, 2)
    w.write(payload(10_000))
    meta = w.commit()
    path = os.path.join(store.directory, meta.name)
    FaultFs.flip_bit(path, os.path.getsize(path) - 5000)
    with pytest.raises(SnapshotCorruptError, match="checksum"):
        store.open(meta, verify=True)
    with store.open(meta) as r, pytest.raises(SnapshotCorruptError):
        r.read_all()
    FaultFs.flip_bit(path, 12)  # in the header
    with pytest.raises(SnapshotCorruptError, match=meta.name):
        store.latest()
    mem = MemorySnapshotStore()
    w = mem.create(1, 1)
    w.write(b"hello")
    m = w.commit()
    mem.corrupt(m.name)
    with pytest.raises(SnapshotCorruptError):
        mem.open(m, verify=True)


def test_truncated_file_is_refused(tmp_path):
    store = SnapshotStore(str(tmp_path / "snap"))
    w = store.create(10, 2)
    w.write(payload(1000))
    meta = w.commit()
    path = os.path.join(store.directory, meta.name)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 1)
    with pytest.raises(SnapshotCorruptError, match="bytes"):
        store.latest()


def test_files_are_owner_only_and_crash_leftovers_are_cleaned(tmp_path):
    d = str(tmp_path / "snap")
    store = SnapshotStore(d)
    w = store.create(10, 2)
    w.write(b"a" * 100)
    meta = w.commit()
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(d, meta.name)).st_mode) == 0o600
    leftover = store.create(11, 2)
    leftover.write(b"b" * (2 << 20))  # past the buffer: really on disk
    assert any(n.endswith(".tmp") for n in os.listdir(d))
    store2 = SnapshotStore(d)  # as after a crash
    assert len(store2.removed_temp_files) == 1
    assert not any(n.endswith(".tmp") for n in os.listdir(d))
    assert store2.latest() == meta


def test_crash_before_the_directory_fsync_keeps_the_previous_snapshot(tmp_path):
    fs = FaultFs()
    d = str(tmp_path / "snap")
    store = SnapshotStore(d, keep=1, fs=fs)
    w = store.create(10, 1)
    w.write(b"old")
    old = w.commit()
    fs.fail("fsync_dir", ENOSPC)
    w = store.create(20, 1)
    w.write(b"new")
    with pytest.raises(OSError):
        w.commit()
    assert store.latest() == old  # a commit that failed is not visible
    # keep=1, yet the old snapshot was not deleted: the new one never became durable.
    fs.crash(random.Random(0))
    store = SnapshotStore(d, keep=1)
    latest = store.latest()
    assert latest is not None and latest.index in (10, 20)
    if latest.index == 10:
        assert latest == old
    with store.open(latest, verify=True) as r:
        assert r.read_all() in (b"old", b"new")


def test_memory_store_crash_drops_unfinished_writers():
    mem = MemorySnapshotStore()
    w = mem.create(1, 1)
    w.write(b"x")
    mem.crash()
    with pytest.raises(Exception, match="finished"):
        w.write(b"y")
    assert mem.latest() is None
