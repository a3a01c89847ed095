"""ENOSPC, EIO and a read-only file system: a clear error, recoverable files, and the WAL
carries on once the cause is gone."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
from storage_faults import EIO, ENOSPC, EROFS, FaultFs, ents

from storage import GroupCommitter, HardState, StorageError, Wal, WalFailedError, WalWriteError


def open_wal(d, fs=None, **kw):
    return Wal.open(d, cluster_id="c", node_id=1, fs=fs, **kw)


@pytest.mark.parametrize(
    "err, text", [(ENOSPC, "No space left"), (EIO, "Input/output error"), (EROFS, "Read-only")]
)
def test_failed_write_is_not_written_and_wal_continues(waldir, err, text):
    fs = FaultFs()
    with open_wal(waldir, fs) as w:
        w.append(ents(1, 11))
        w.sync()
        fs.fail("write", err)
        with pytest.raises(WalWriteError, match=text) as ei:
            w.append(ents(11, 21), HardState(2, 1, 5))
        assert isinstance(ei.value.__cause__, OSError)
        assert w.last_index == 10 and w.hard_state == HardState()
        w.append(ents(11, 16))  # the disk is back
        w.sync()
    with open_wal(waldir) as w:
        assert [e.index for e in w.recovered.entries] == list(range(1, 16))
        assert w.recovered.torn_tail is None


def test_failed_sync_rolls_back_to_the_last_synced_state(waldir):
    fs = FaultFs()
    with open_wal(waldir, fs) as w:
        w.append(ents(1, 11))
        w.sync()
        w.append(ents(11, 21))
        fs.fail("fsync", EIO)
        with pytest.raises(WalWriteError, match="sync .* failed"):
            w.sync()
        assert w.last_index == 10 and w.durable_index == 10
        w.append(ents(11, 13, term=2))
        w.sync()
    with open_wal(waldir) as w:
        assert [(e.index, e.term) for e in w.recovered.entries][-3:] == [(10, 1), (11, 2), (12, 2)]


def test_wal_refuses_writes_when_it_cannot_restore_a_known_state(waldir):
    fs = FaultFs()
    with open_wal(waldir, fs) as w:
        w.append(ents(1, 11))
        w.sync()
        fs.fail("write", EIO)
        fs.fail("ftruncate", EIO)
        with pytest.raises(WalFailedError):
            w.append(ents(11, 21))
        with pytest.raises(WalFailedError, match="reopen"):
            w.append(ents(11, 12))
    # The half-written tail is unsynced garbage: reopening cuts it.
    with open_wal(waldir) as w:
        assert w.recovered.entries[-1].index in (10, 11, 12, 13, 14, 15)
        assert [e.index for e in w.recovered.entries][:10] == list(range(1, 11))


def test_failed_segment_roll_leaves_no_half_segment(waldir):
    fs = FaultFs()
    with open_wal(waldir, fs, segment_size=1024) as w:
        w.append(ents(1, 20, size=40))
        w.sync()
        fs.fail("write", ENOSPC)  # the new segment's header
        with pytest.raises(WalWriteError, match="new WAL segment"):
            w.append(ents(20, 40, size=40))
        assert len(w.segment_paths) == 1 and w.last_index == 19
        assert not [n for n in os.listdir(waldir) if n.endswith(".tmp")]
        w.append(ents(20, 40, size=40))
        w.sync()
        assert len(w.segment_paths) == 2
    with open_wal(waldir, segment_size=1024) as w:
        assert w.last_index == 39


def test_group_commit_reports_errors_through_futures_and_callback(waldir):
    fs = FaultFs()
    errors = []
    with open_wal(waldir, fs) as w:
        gc = GroupCommitter(w, on_error=lambda tok, e: errors.append((tok, e)))
        assert gc.submit(ents(1, 5)).result(5) == 4
        fs.fail("write", ENOSPC)
        fut = gc.submit(ents(5, 9), token="t1")
        with pytest.raises(WalWriteError, match="No space left"):
            fut.result(5)
        assert errors and errors[0][0] == "t1" and isinstance(errors[0][1], WalWriteError)
        assert gc.submit(ents(5, 9)).result(5) == 8
        gc.close()
    with open_wal(waldir) as w:
        assert w.last_index == 8


def test_read_only_directory_gives_a_clear_error(waldir):
    with open_wal(waldir) as w:
        w.append(ents(1, 3))
        w.sync()
    fs = FaultFs()
    fs.fail("open", EROFS)
    with pytest.raises(StorageError, match="Read-only file system"):
        open_wal(waldir, fs, lock=False)
    with open_wal(waldir) as w:
        assert w.last_index == 2


@pytest.fixture
def tiny_tmpfs(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mnt)], capture_output=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {r.stderr.decode().strip()}")
    try:
        yield str(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_real_enospc_on_a_full_tmpfs_then_space_comes_back(tiny_tmpfs):
    d = os.path.join(tiny_tmpfs, "wal")
    acked = 0
    with open_wal(d, segment_size=256 << 10) as w:
        gc = GroupCommitter(w)
        failure = None
        for i in range(1, 100_000, 50):
            try:
                acked = gc.submit(ents(i, i + 50, size=200)).result(10)
            except WalWriteError as e:
                failure = e
                break
        assert failure is not None and "No space left" in str(failure)
        assert w.last_index == acked
        gc.close()
        # Space comes back (here: a snapshot lets old segments go), and the WAL carries on.
        w.compact(acked - 100, 1)
        w.append(ents(acked + 1, acked + 51, size=200))
        w.sync()
    with open_wal(d, segment_size=256 << 10) as w:
        assert w.last_index == acked + 50
        assert w.recovered.torn_tail is None
        assert w.recovered.snapshot_index == acked - 100


def test_read_only_remount_gives_a_clear_error_and_files_stay_recoverable(tiny_tmpfs):
    d = os.path.join(tiny_tmpfs, "wal")
    with open_wal(d) as w:
        w.append(ents(1, 10))
        w.sync()
    r = subprocess.run(["mount", "-o", "remount,ro", tiny_tmpfs], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot remount read-only: {r.stderr.decode().strip()}")
    try:
        with pytest.raises(StorageError, match="Read-only file system"):
            open_wal(d)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", tiny_tmpfs], check=True)
    with open_wal(d) as w:
        assert w.last_index == 9


def test_unique_cluster_ids_fit(waldir):
    with open_wal(waldir) as w:
        assert w.last_index == 0
    Wal.open(waldir + "2", cluster_id=str(uuid.uuid4()), node_id=3).close()


@pytest.mark.parametrize("after", [0, 2, 4])
def test_a_large_write_failing_part_way_leaves_nothing_of_it(waldir, after):
    # A write of a megabyte or more goes out piece by piece (the pieces are not joined into
    # one buffer first); a failure at any piece cuts the segment back to where it began.
    fs = FaultFs()
    with open_wal(waldir, fs) as w:
        w.append(ents(1, 3))
        w.sync()
        fs.fail("write", EIO, after=after)
        with pytest.raises(WalWriteError, match="Input/output error"):
            w.append(ents(3, 5, size=3 << 20))
        assert w.last_index == 2
        w.append(ents(3, 5, size=3 << 20))
        w.sync()
    with open_wal(waldir) as w:
        assert [(e.index, len(e.data)) for e in w.recovered.entries] == [(1, 8), (2, 8), (3, 3 << 20), (4, 3 << 20)]
        assert w.recovered.entries[3].data.startswith(b"4:1:")
        assert w.recovered.torn_tail is None
