"""SAVE, BGSAVE, BGREWRITEAOF and LASTSAVE: Redis's persistence commands as Raft snapshots of
this node.

A node's durable state is its Raft log plus its newest snapshot; a snapshot (RAFT.SNAPSHOT)
writes the applied state in a forked child, like BGSAVE, and then compacts the log. SAVE takes
one and replies when it is durable; BGSAVE starts one and replies at once, and so does
BGREWRITEAOF (the node's append-only file is its log, which a snapshot makes shorter). Each acts on the
node that gets it only (every node snapshots on its own schedule). LASTSAVE is the wall clock
time of the newest snapshot on this node (after a restart, its file's time); a SAVE or BGSAVE
with nothing applied since the newest snapshot has nothing to write, and counts as a save now.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from resp.types import OK, ErrorReply, SimpleString
from server import errors
from server.commands.registry import CONN, command

log = logging.getLogger("raftis.persistence")

IN_PROGRESS = ErrorReply("ERR Background save already in progress")
_background: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks


async def _snapshot(raft: Any) -> None:
    from server.raft import AdminError

    try:
        await raft.snapshot_now()
    except AdminError as e:
        raise ErrorReply(str(e)) from None


@command("save", 1, "admin noscript no_async_loading no_multi", kind=CONN, group="server", since="1.0.0")
def save(session: Any, argv: list[bytes]) -> Any:
    """Synchronously save the dataset to disk"""
    raft = session.server.raft
    if raft._snapshot_child:
        return IN_PROGRESS

    async def run() -> Any:
        await _snapshot(raft)
        return OK

    return run()


async def _in_background(raft: Any, after_current: bool) -> None:
    try:
        if after_current:
            while raft._snapshot_child:
                await asyncio.sleep(0.05)
        await _snapshot(raft)
    except ErrorReply as e:
        log.warning("BGSAVE: %s", e)


@command("bgsave", -1, "admin noscript no_async_loading", kind=CONN, group="server", since="1.0.0")
def bgsave(session: Any, argv: list[bytes]) -> Any:
    """Asynchronously save the dataset to disk"""
    schedule = False
    if len(argv) > 1:
        if len(argv) > 2 or argv[1].lower() != b"schedule":
            return errors.SYNTAX
        schedule = True
    raft = session.server.raft
    if raft._snapshot_child:
        if not schedule:
            return IN_PROGRESS
        _start(_in_background(raft, True))
        return SimpleString(b"Background saving scheduled")
    _start(_in_background(raft, False))
    return SimpleString(b"Background saving started")


def _start(coro: Any) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


@command("bgrewriteaof", 1, "admin noscript no_async_loading", kind=CONN, group="server", since="1.0.0")
def bgrewriteaof(session: Any, argv: list[bytes]) -> Any:
    """Asynchronously rewrite the append-only file to disk"""
    # The node's append-only file is its Raft log, and what rewrites it shorter is a snapshot
    # (the log before it is dropped). As Redis while a child is saving: after it.
    raft = session.server.raft
    if raft._snapshot_child:
        _start(_in_background(raft, True))
        return SimpleString(b"Background append only file rewriting scheduled")
    _start(_in_background(raft, False))
    return SimpleString(b"Background append only file rewriting started")


@command("lastsave", 1, "loading stale fast", kind=CONN, group="server", since="1.0.0", acl="@admin @dangerous")
def lastsave(session: Any, argv: list[bytes]) -> Any:
    """Get the UNIX time stamp of the last successful save to disk"""
    when = session.server.raft.last_snapshot_time
    return int(when) if when else int(session.server.started)
