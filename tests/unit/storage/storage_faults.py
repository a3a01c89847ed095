"""A file layer for tests: injects I/O errors and simulates crashes.

`FaultFs` passes everything through to the real files and remembers, for every file, how
many bytes were covered by its last fsync, and which directory operations (create,
rename, unlink) have not been made durable by a directory fsync. ``crash()`` then turns
the directory into what a power cut could leave behind:

- each file keeps its synced bytes plus a random prefix of the unsynced rest (a torn
  write), optionally with the last sector of that prefix zeroed or garbage appended;
- a random prefix of the pending directory operations survives, the rest are undone in
  reverse order (a journaling file system keeps metadata operations in order).

Separately, ``flip_bit`` and ``zero_sector`` damage synced data (bit rot), which recovery
must report rather than skip.
"""

from __future__ import annotations

import errno
import os
import random
import tempfile

from storage import LogEntry
from storage.fs import OsFs


def ents(lo: int, hi: int, term: int = 1, size: int = 8) -> list[LogEntry]:
    """Entries lo..hi-1 whose data says which index and term they are."""
    return [LogEntry(i, term, i % 3, f"{i}:{term}:".encode().ljust(size, b".")) for i in range(lo, hi)]


class FaultFs(OsFs):
    def __init__(self, *, real_sync: bool = False) -> None:
        # Durability is modelled (``synced``, ``crash``), so the real fsyncs only cost
        # time; ``real_sync`` makes them anyway.
        self.real_sync = real_sync
        self.synced: dict[str, int] = {}  # path -> bytes covered by the last fsync
        self.pending_dir_ops: list[
            tuple
        ] = []  # ("create", path) / ("rename", src, dst) / ("unlink", path, data, synced)
        self._paths: dict[int, str] = {}
        self._faults: list[tuple[str, OSError, int]] = []  # (op, error, skip count)
        self.fsyncs = 0

    # ---------------------------------------------------------------- injection

    def fail(self, op: str, err: int, *, after: int = 0) -> None:
        """Make the ``after``-th next call of ``op`` fail with ``err``."""
        self._faults.append((op, OSError(err, os.strerror(err)), after))

    def clear_faults(self) -> None:
        self._faults.clear()

    def _check(self, op: str) -> None:
        for n, (fop, e, skip) in enumerate(self._faults):
            if fop == op:
                if skip:
                    self._faults[n] = (fop, e, skip - 1)
                    return
                del self._faults[n]
                raise e

    # ---------------------------------------------------------------- pass-through with tracking

    def open_write(self, path: str, *, create: bool = False) -> int:
        self._check("open")
        fd = super().open_write(path, create=create)
        self._paths[fd] = path
        if create:
            self.synced[path] = 0
            self.pending_dir_ops.append(("create", path))
        else:
            self.synced.setdefault(path, self.size(fd))
        return fd

    def open_read(self, path: str) -> int:
        fd = super().open_read(path)
        self._paths[fd] = path
        self.synced.setdefault(path, self.size(fd))
        return fd

    def close(self, fd: int) -> None:
        self._paths.pop(fd, None)
        super().close(fd)

    def write_at(self, fd: int, data, offset: int) -> None:
        for n, (fop, e, skip) in enumerate(self._faults):
            if fop == "write" and not skip:
                del self._faults[n]
                # A failing write may still have stored part of the data.
                super().write_at(fd, bytes(data)[: len(data) // 2], offset)
                raise e
        self._check("write")
        super().write_at(fd, data, offset)

    def _synced_now(self, fd: int, durable: int | None = None) -> None:
        path = self._paths.get(fd)
        if path is not None:
            self.synced[path] = self.size(fd) if durable is None else durable

    def fdatasync(self, fd: int, durable: int | None = None) -> None:
        self._check("fsync")
        if self.real_sync:
            super().fdatasync(fd, durable)
        self.fsyncs += 1
        self._synced_now(fd, durable)

    def fsync(self, fd: int) -> None:
        self._check("fsync")
        if self.real_sync:
            super().fsync(fd)
        self.fsyncs += 1
        self._synced_now(fd)

    def ftruncate(self, fd: int, length: int) -> None:
        self._check("ftruncate")
        super().ftruncate(fd, length)
        path = self._paths.get(fd)
        if path is not None and self.synced.get(path, 0) > length:
            self.synced[path] = length

    def rename(self, src: str, dst: str) -> None:
        self._check("rename")
        super().rename(src, dst)
        self.synced[dst] = self.synced.pop(src, 0)
        for fd, p in self._paths.items():
            if p == src:
                self._paths[fd] = dst
        self.pending_dir_ops.append(("rename", src, dst))

    def unlink(self, path: str) -> None:
        self._check("unlink")
        with open(path, "rb") as f:
            data = f.read()
        super().unlink(path)
        self.pending_dir_ops.append(("unlink", path, data, self.synced.pop(path, len(data))))

    def fsync_dir(self, path: str) -> None:
        self._check("fsync_dir")
        if self.real_sync:
            super().fsync_dir(path)
        self.fsyncs += 1
        d = os.path.abspath(path)
        self.pending_dir_ops = [
            op for op in self.pending_dir_ops if os.path.dirname(os.path.abspath(op[1])) != d
        ]

    # ---------------------------------------------------------------- crash and damage

    def crash(self, rng: random.Random, *, torn: bool = True) -> list[str]:
        """Leave the files as a power cut might; return a description of what was done."""
        notes = []
        keep = rng.randint(0, len(self.pending_dir_ops))
        for op in reversed(self.pending_dir_ops[keep:]):
            if op[0] == "create" and os.path.exists(op[1]):
                os.unlink(op[1])
                self.synced.pop(op[1], None)
                notes.append(f"undo create {op[1]}")
            elif op[0] == "rename" and os.path.exists(op[2]):
                os.rename(op[2], op[1])
                self.synced[op[1]] = self.synced.pop(op[2], 0)
                notes.append(f"undo rename {op[2]}")
            elif op[0] == "unlink":
                with open(op[1], "wb") as f:
                    f.write(op[2])
                self.synced[op[1]] = op[3]
                notes.append(f"undo unlink {op[1]}")
        self.pending_dir_ops.clear()
        for path, synced in list(self.synced.items()):
            if not os.path.exists(path):
                del self.synced[path]
                continue
            with open(path, "rb") as f:
                data = f.read()
            if len(data) <= synced:
                continue
            tail = data[synced:]
            if torn:
                tail = tail[: rng.randint(0, len(tail))]
                r = rng.random()
                if tail and r < 0.2:
                    cut = max(0, len(tail) - 512)
                    tail = tail[:cut] + bytes(len(tail) - cut)
                    notes.append(f"zeroed last sector of unsynced tail of {path}")
                elif r < 0.3:
                    tail += rng.randbytes(rng.randint(1, 64))
                    notes.append(f"garbage after {path}")
            with open(path, "r+b") as f:
                f.truncate(synced)
                f.seek(synced)
                f.write(tail)
            notes.append(f"{path}: kept {synced}+{len(tail)} of {len(data)} bytes")
        self._paths.clear()
        # Whatever survived the crash is on disk now.
        for path in list(self.synced):
            self.synced[path] = os.path.getsize(path)
        return notes

    @staticmethod
    def flip_bit(path: str, offset: int, bit: int = 0) -> None:
        with open(path, "r+b") as f:
            f.seek(offset)
            b = f.read(1)
            f.seek(offset)
            f.write(bytes([b[0] ^ (1 << bit)]))

    @staticmethod
    def zero_sector(path: str, offset: int) -> None:
        start = offset - offset % 512
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.seek(start)
            f.write(bytes(min(512, size - start)))


def scratch_dir(prefix: str) -> str:
    """A temp directory for tests that model durability themselves: in memory when the
    machine has /dev/shm, since every example pays for real metadata operations."""
    return tempfile.mkdtemp(prefix=prefix, dir="/dev/shm" if os.path.isdir("/dev/shm") else None)


ENOSPC = errno.ENOSPC
EIO = errno.EIO
EROFS = errno.EROFS
