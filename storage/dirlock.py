"""`DirLock`: one process per data directory.

``fcntl.flock`` on a ``LOCK`` file inside the directory. The kernel drops the lock when
the process dies, so a crash never leaves the directory locked. The holder writes its pid
into the file so that the refusal can name it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import weakref

from .errors import DirLockedError
from .fs import FILE_MODE

LOCK_NAME = "LOCK"


class DirLock:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, LOCK_NAME)
        self._fd: int | None = None

    def acquire(self) -> DirLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            try:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            finally:
                os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                who = f"pid {holder}" if holder else "another process"
                raise DirLockedError(f"data directory {self.directory} is in use by {who}") from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        _HELD.add(self)
        return self

    def release(self) -> None:
        if self._fd is not None:
            # The pid is left in place: clearing it would race with the next holder.
            os.close(self._fd)
            self._fd = None
        _HELD.discard(self)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> DirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


_HELD: weakref.WeakSet[DirLock] = weakref.WeakSet()


def close_inherited_locks() -> None:
    """In a forked child: close the child's copies of the parent's lock files. A flock is
    held while any copy of its file is open, so without this a child that outlives a killed
    parent (a snapshot writer) would keep the data directory locked against a restart; the
    parent's own copy keeps its lock."""
    for lock in list(_HELD):
        if lock._fd is not None:
            os.close(lock._fd)
            lock._fd = None
