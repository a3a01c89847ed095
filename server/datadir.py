"""The node's claim on its data directory: owner-only, and one process at a time.

``claim(path)`` runs before anything reads or writes the directory: it creates it with mode
0700 (or tightens an existing one that others can read, with a warning), then takes a
``DirLock`` on it, so a second node started on the same directory stops at once with the
holder's pid instead of racing the first for ``raftis.meta`` and the WAL.  The process umask
is 077, so every file the node creates later (WAL segments, snapshots written by a child,
temporary files) is owner-only as well.
"""

from __future__ import annotations

import logging
import os
import stat

from storage import DirLock, DirLockedError

log = logging.getLogger("raftis")

__all__ = ["claim"]


def claim(path: str) -> DirLock:
    os.umask(0o077)
    os.makedirs(path, mode=0o700, exist_ok=True)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        log.warning("data directory %s was accessible to other users (mode %o); making it owner-only", path, mode)
        os.chmod(path, mode & 0o700 | 0o700)
    meta = os.path.join(path, "raftis.meta")
    if os.path.exists(meta) and stat.S_IMODE(os.stat(meta).st_mode) & 0o077:
        os.chmod(meta, 0o600)
    try:
        return DirLock(path).acquire()
    except DirLockedError as e:
        raise SystemExit(f"refusing to start: {e}") from None
