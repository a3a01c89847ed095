"""SHUTDOWN: stop this node the way SIGTERM does.

The node hands leadership to another voter first (if it leads), lets in-flight commands
finish, and exits with status 0. Raft needs no save: every acknowledged write is already in
the fsync'd log of a majority, so SAVE and NOSAVE are accepted and mean the same.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from resp.types import ErrorReply
from server.commands.registry import CONN, command

log = logging.getLogger("raftis.node")

_OPTIONS = {b"nosave", b"save", b"now", b"force", b"abort"}


@command("shutdown", -1, "admin noscript loading stale no_multi allow_busy", kind=CONN, group="server",
         summary="Hand over leadership, finish in-flight commands and stop the node")
def shutdown(session: Any, argv: list[bytes]) -> Any:
    opts = [a.lower() for a in argv[1:]]
    if any(o not in _OPTIONS for o in opts) or (b"save" in opts and b"nosave" in opts):
        return ErrorReply("ERR syntax error")
    if b"abort" in opts:
        return ErrorReply("ERR No shutdown in progress.")
    stop = getattr(session.server, "shutdown_requested", None)
    if stop is None:
        return ErrorReply("ERR Errors trying to SHUTDOWN. Check logs.")
    log.info("SHUTDOWN requested by client %s", session.addr)
    stop.set()

    async def wait_for_exit() -> Any:
        # No reply on success (as Redis): the connection closes when the process exits.
        await asyncio.Event().wait()

    return wait_for_exit()
