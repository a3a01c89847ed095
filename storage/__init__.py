"""Raftis storage: the write-ahead log, snapshots and their in-memory twins.

Knows nothing of Raft's types: entries are any objects with ``index``, ``term``, ``type``
(int) and ``data`` (bytes); hard states anything with ``term``, ``vote``, ``commit``.
Reads return `LogEntry` and `HardState`.

A tour::

    wal = Wal.open(dir, cluster_id="...", node_id=1)      # recovers; takes a DirLock
    r = wal.recovered         # hard_state, snapshot_index/term, entries, torn_tail, discarded
    wal.append(entries, hard_state)    # one write; truncates first if entries overlap
    wal.sync()                         # one fdatasync for everything written
    wal.entries(lo, hi); wal.term(i); wal.first_index; wal.last_index
    wal.compact(snap_index, snap_term) # after the snapshot is durable

    gc = GroupCommitter(wal, on_durable=cb)   # writer thread, one fsync per round
    fut = gc.submit(entries, hard_state)      # concurrent.futures.Future -> last index
    await asyncio.wrap_future(fut)            # from the event loop

    snaps = SnapshotStore(dir, keep=2)
    w = snaps.create(index, term, membership); w.write(b"..."); meta = w.commit()
    with snaps.open(snaps.latest(), verify=True) as r: r.read_chunk(0, 1 << 20)

`MemoryWal` and `MemorySnapshotStore` have the same methods, plus ``crash()``.
"""

from .dirlock import DirLock
from .errors import (
    CorruptWalError,
    DirLockedError,
    EntryUnavailableError,
    LogCompactedError,
    SnapshotCorruptError,
    StorageError,
    WalFailedError,
    WalIdentityError,
    WalWriteError,
)
from .fs import OsFs
from .group_commit import GroupCommitter
from .memory import MemorySnapshotStore, MemoryWal
from .records import HardState, LogEntry
from .snapshots import SnapshotMeta, SnapshotReader, SnapshotStore, SnapshotWriter
from .wal import Batch, Recovery, TornTail, Wal

__all__ = [
    "Batch",
    "CorruptWalError",
    "DirLock",
    "DirLockedError",
    "EntryUnavailableError",
    "GroupCommitter",
    "HardState",
    "LogCompactedError",
    "LogEntry",
    "MemorySnapshotStore",
    "MemoryWal",
    "OsFs",
    "Recovery",
    "SnapshotCorruptError",
    "SnapshotMeta",
    "SnapshotReader",
    "SnapshotStore",
    "SnapshotWriter",
    "StorageError",
    "TornTail",
    "Wal",
    "WalFailedError",
    "WalIdentityError",
    "WalWriteError",
]
