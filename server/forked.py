"""Work on the keyspace as it is at one moment, done in a forked child while the node goes on
serving: what a snapshot's writer does (server/raft.py), for work whose result is wanted back
(DEBUG DIGEST, an RDB file for SYNC, the digests RAFT.CHECK compares). Python takes seconds
over a large dataset, and a leader whose loop stopped that long would miss its heartbeats and
lose its leadership."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from resp.types import ErrorReply
from storage.dirlock import close_inherited_locks

__all__ = ["FORKS", "child_reply", "fork", "start_in_child"]


class ForkStats:
    """This process's forks, for INFO (``total_forks``, ``latest_fork_usec``): how long the
    parent was stopped in fork() grows with the memory it maps."""

    __slots__ = ("total", "latest_usec")

    def __init__(self) -> None:
        self.total = 0
        self.latest_usec = 0


FORKS = ForkStats()


def fork() -> int:
    """``os.fork()``, counted in ``FORKS`` (in the parent)."""
    t0 = time.perf_counter_ns()
    pid = os.fork()
    if pid:
        FORKS.total += 1
        FORKS.latest_usec = (time.perf_counter_ns() - t0) // 1000
    return pid


def start_in_child(work: Callable[[], bytes]) -> asyncio.Future[bytes]:
    """Fork now (the child sees the data as it is at this call) and run ``work()`` there; the
    future gets its result, or OSError if the child failed. Raises OSError if there could be
    no child. Needs a running event loop."""
    loop = asyncio.get_running_loop()
    r, w = os.pipe()
    try:
        pid = fork()
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
    result: asyncio.Future[bytes] = loop.create_future()
    chunks: list[bytes] = []

    def reaped(waited: asyncio.Future) -> None:
        _, status = waited.result()
        if result.cancelled():
            return
        if status != 0:
            result.set_exception(OSError(f"the child process failed (status {status})"))
        else:
            result.set_result(b"".join(chunks))

    def readable() -> None:
        chunk = os.read(r, 65536)
        if chunk:
            chunks.append(chunk)
            return
        loop.remove_reader(r)
        os.close(r)
        loop.run_in_executor(None, os.waitpid, pid, 0).add_done_callback(reaped)

    loop.add_reader(r, readable)
    return result



def child_reply(work: Callable[[], bytes], failure: str, make_reply: Callable[[bytes], Any]) -> Any:
    """A command's reply made from what ``work()`` computes in a child forked now (the data
    as it is when the command runs): a coroutine for the connection to await, giving
    ``make_reply(result)``, or ``ERR <failure>: <why>`` if there is no result."""
    try:
        child = start_in_child(work)
    except OSError as e:
        return ErrorReply(f"ERR {failure}: {e}")

    async def reply() -> Any:
        try:
            data = await child
        except OSError as e:
            return ErrorReply(f"ERR {failure}: {e}")
        return make_reply(data)

    return reply()
