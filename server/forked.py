"""Work on the keyspace as it is at one moment, done in a forked child while the node goes on
serving: what a snapshot's writer does (server/raft.py), for work whose result is wanted back
(DEBUG DIGEST, an RDB file for SYNC). Python takes seconds over a large dataset, and a leader
whose loop stopped that long would miss its heartbeats and lose its leadership."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from storage.dirlock import close_inherited_locks

__all__ = ["run_in_child"]


async def run_in_child(work: Callable[[], bytes]) -> bytes:
    """``work()`` run in a forked child, on the data as it is now, while this process goes on
    serving; its result. Raises OSError if the child could not be made or failed."""
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        raise
    if pid == 0:  # child: compute, write, leave without running any of the parent's cleanup
        code = 1
        try:
            os.close(r)
            close_inherited_locks()
            data = work()
            view = memoryview(data)
            while view:
                view = view[os.write(w, view):]
            code = 0
        except BaseException:  # noqa: BLE001 - the child must always _exit
            pass
        os._exit(code)
    os.close(w)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    chunks: list[bytes] = []

    def readable() -> None:
        chunk = os.read(r, 65536)
        if chunk:
            chunks.append(chunk)
        elif not done.done():
            done.set_result(None)

    loop.add_reader(r, readable)
    try:
        await done
    finally:
        loop.remove_reader(r)
        os.close(r)
    _, status = await loop.run_in_executor(None, os.waitpid, pid, 0)
    if status != 0:
        raise OSError(f"the child process failed (status {status})")
    return b"".join(chunks)
