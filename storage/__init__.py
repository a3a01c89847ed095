"""Raftis storage: the write-ahead log, snapshots and their in-memory twins.

Knows nothing of Raft's types: entries are any objects with ``index``, ``term``, ``type``
(int) and ``data`` (bytes); reads return `LogEntry`.
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
