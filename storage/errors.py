"""Exceptions raised by the storage layer.

Every message names the file (and offset, where there is one) so that an operator can
find the damage without reading code.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every storage failure."""


class CorruptWalError(StorageError):
    """The WAL holds damage that recovery must not skip: a bad checksum before the tail,
    a gap in the indexes, a missing segment, or a segment header that does not match."""

    def __init__(self, message: str, *, path: str | None = None, offset: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f" [{path}" + (f" at offset {offset}" if offset is not None else "") + "]"
        super().__init__(message + where)
        self.path = path
        self.offset = offset


class WalIdentityError(CorruptWalError):
    """A segment belongs to another cluster or another node."""


class WalWriteError(StorageError):
    """A write or sync failed (ENOSPC, EIO, EROFS, ...). The batch it carried is not written;
    the files on disk stay recoverable. The original ``OSError`` is ``__cause__``."""


class WalFailedError(WalWriteError):
    """The WAL could not restore a known-good state after a write error; reopen it."""


class EntryUnavailableError(LookupError, StorageError):
    """An index outside ``[snapshot_index, last_index]`` was asked for."""


class LogCompactedError(EntryUnavailableError):
    """The index is covered by a snapshot and its entry was dropped."""


class SnapshotCorruptError(StorageError):
    """A snapshot file fails its checksum or has a malformed header."""


class DirLockedError(StorageError):
    """Another process holds the lock of this data directory."""
