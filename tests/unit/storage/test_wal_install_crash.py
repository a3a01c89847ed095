"""Crash (or a failed unlink) inside `Wal.compact(index, term)` with ``index > last_index``,
the path a follower takes when it installs the leader's snapshot.

``compact`` then rolls to a new segment ``{seq+1}-{index+1}`` whose head carries the
snapshot marker (durable: tmp, fdatasync, rename, directory fsync), and only afterwards
unlinks the old segments and fsyncs the directory. Between the two the directory holds the
old segments (entries up to ``last``) and the new one starting at ``index + 1``. Recovery
checks the new segment's name against ``idx.last + 1`` before it reads the snapshot marker
in its head, so the WAL no longer opens: a crash at that instant (or an unlink that fails,
which ``_delete_old_segments`` only logs, saying "recovery replays it harmlessly") leaves a
node that cannot restart although nothing in the files is damaged.
"""

from __future__ import annotations

import errno
import os
import random

from storage_faults import FaultFs, ents

from storage import HardState, Wal


class _Killed(BaseException):
    """The process dies here (nothing after this point reaches the disk)."""


class _KillAtFirstUnlink(FaultFs):
    armed = False

    def unlink(self, path: str) -> None:
        if self.armed and path.endswith(".wal"):
            raise _Killed(path)
        super().unlink(path)


def _open(d: str, fs: FaultFs | None = None) -> Wal:
    return Wal.open(d, cluster_id="c", node_id=1, segment_size=1024, fs=fs, lock=False)


def _check_recovers(waldir: str) -> None:
    w = _open(waldir)  # today: CorruptWalError "segment starts at index 501, expected 40"
    try:
        r = w.recovered
        # Either state is fine: before the install (log 1..39) or after it (snapshot 500).
        if r.snapshot_index == 500:
            assert r.entries == []
        else:
            assert r.snapshot_index == 0 and [e.index for e in r.entries] == list(range(1, 40))
    finally:
        w.close()


def test_crash_between_new_segment_and_deleting_the_old_ones(tmp_path):
    waldir = str(tmp_path / "wal")
    fs = _KillAtFirstUnlink()
    w = _open(waldir, fs)
    w.append(ents(1, 40, size=40), HardState(1, 1, 30))
    w.sync()
    fs.armed = True
    try:
        w.compact(500, 2)  # the leader's snapshot, far past our log (already durable)
    except _Killed:
        pass
    w._close_fds()
    fs.crash(random.Random(1))  # nothing pending: the new segment's rename was fsync'd
    _check_recovers(waldir)


def test_failed_unlink_of_an_old_segment_after_install(tmp_path):
    waldir = str(tmp_path / "wal")
    fs = FaultFs()
    with _open(waldir, fs) as w:
        w.append(ents(1, 40, size=40), HardState(1, 1, 30))
        w.sync()
        fs.fail("unlink", errno.EACCES)  # logged as harmless by _delete_old_segments
        w.compact(500, 2)
        assert (w.first_index, w.last_index) == (501, 500)
    assert len([n for n in os.listdir(waldir) if n.endswith(".wal")]) >= 2
    _check_recovers(waldir)
