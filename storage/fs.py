"""The file layer every storage module writes through.

`OsFs` is a thin wrapper over ``os``; tests substitute a subclass that records how much of
each file is synced, injects errors (ENOSPC, EIO, EROFS) and simulates crashes. Files are
addressed by descriptor; the wrapper never buffers, so "written" means "handed to the
kernel" and only `fsync`/`fdatasync` make it durable.

New files are created owner-only (0600) and directories 0700.
"""

from __future__ import annotations

import os

FILE_MODE = 0o600
DIR_MODE = 0o700

# Test only (the fault-injection suite's power-loss fault): when this names a file, every
# fsync/fdatasync appends "<inode> <size>" to it, so after a SIGKILL the harness knows how much
# of each file was durable and can cut off the rest, as a power failure would.
_SYNC_LEDGER = os.environ.get("RAFTIS_TEST_SYNC_LEDGER", "")
_ledger_fd = -1


def _note_synced(fd: int, durable: int | None) -> None:
    global _ledger_fd
    if _ledger_fd < 0:
        _ledger_fd = os.open(_SYNC_LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    st = os.fstat(fd)
    os.write(_ledger_fd, b"%d %d\n" % (st.st_ino, st.st_size if durable is None else durable))


class OsFs:
    """Real files. Methods raise ``OSError`` unchanged."""

    def makedirs(self, path: str) -> list[str]:
        """Create ``path`` and any missing parents, each 0700 (``os.makedirs`` would
        give the parents the default mode); return the directories created, outermost first."""
        missing = []
        p = os.path.abspath(path)
        while not os.path.isdir(p):
            missing.append(p)
            p = os.path.dirname(p)
        for d in reversed(missing):
            try:
                os.mkdir(d, DIR_MODE)
            except FileExistsError:
                pass
        return missing[::-1]

    def make_dirs_durable(self, path: str) -> None:
        """Create ``path`` if needed and fsync each parent whose entries changed."""
        for d in self.makedirs(path):
            self.fsync_dir(os.path.dirname(d))

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def open_read(self, path: str) -> int:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)

    def open_write(self, path: str, *, create: bool = False) -> int:
        """Open for read/write; ``create`` makes a new file and fails if it exists."""
        flags = os.O_RDWR | os.O_CLOEXEC
        if create:
            flags |= os.O_CREAT | os.O_EXCL
        return os.open(path, flags, FILE_MODE)

    def close(self, fd: int) -> None:
        os.close(fd)

    def size(self, fd: int) -> int:
        return os.fstat(fd).st_size

    def write_at(self, fd: int, data: bytes | memoryview, offset: int) -> None:
        """Write all of ``data`` at ``offset`` (looping over short writes)."""
        view = memoryview(data)
        while view:
            n = os.pwrite(fd, view, offset)
            view = view[n:]
            offset += n

    def pread(self, fd: int, n: int, offset: int) -> bytes:
        chunks = []
        while n > 0:
            b = os.pread(fd, n, offset)
            if not b:
                break
            chunks.append(b)
            n -= len(b)
            offset += len(b)
        return b"".join(chunks) if len(chunks) != 1 else chunks[0]

    def read_all(self, path: str) -> bytes:
        fd = self.open_read(path)
        try:
            return self.pread(fd, self.size(fd), 0)
        finally:
            self.close(fd)

    def fdatasync(self, fd: int, durable: int | None = None) -> None:
        """``durable``: where the file's data ends, when preallocated zeros follow it (the
        test ledger then notes that instead of the file's length)."""
        os.fdatasync(fd)
        if _SYNC_LEDGER:
            _note_synced(fd, durable)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)
        if _SYNC_LEDGER:
            _note_synced(fd, None)

    def ftruncate(self, fd: int, length: int) -> None:
        os.ftruncate(fd, length)

    def rename(self, src: str, dst: str) -> None:
        os.rename(src, dst)

    def unlink(self, path: str) -> None:
        os.unlink(path)

    def fsync_dir(self, path: str) -> None:
        """Make creations, renames and deletions in ``path`` durable."""
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
