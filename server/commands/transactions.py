"""Registration of MULTI, EXEC, DISCARD, WATCH and UNWATCH. The node routes EXEC (a write
carrying the queued commands) and WATCH (a read that records versions) itself; see
``server.transactions`` for the semantics."""

from __future__ import annotations

from typing import Any

from resp.types import ErrorReply
from server import transactions
from server.commands.registry import CONN, READ, command


@command("multi", 1, "noscript loading stale fast allow_busy", kind=CONN, group="transactions",
         summary="Starts a transaction.")
def multi(session: Any, argv: list[bytes]) -> Any:
    return transactions.multi(session)


@command("exec", 1, "noscript loading stale skip_slowlog", kind=CONN, group="transactions",
         summary="Executes all commands in a transaction.")
def exec_(session: Any, argv: list[bytes]) -> Any:
    # The connection routes EXEC through the log; reaching this handler means no MULTI.
    item = transactions.exec_item(session)
    if isinstance(item, ErrorReply):
        return item
    return ErrorReply("ERR EXEC could not be routed")


@command("discard", 1, "noscript loading stale fast allow_busy", kind=CONN, group="transactions",
         summary="Discards a transaction.")
def discard(session: Any, argv: list[bytes]) -> Any:
    return transactions.discard(session)


@command("watch", -2, "noscript loading stale fast allow_busy", 1, -1, 1, kind=READ, group="transactions",
         summary="Monitors changes to keys to determine the execution of a transaction.")
def watch(ctx: Any, argv: list[bytes]) -> Any:
    # Needs the session: the node runs server.transactions.watch instead.
    return ErrorReply("ERR WATCH could not be routed")


@command("unwatch", 1, "noscript loading stale fast allow_busy", kind=CONN, group="transactions",
         summary="Forgets about watched keys of a transaction.")
def unwatch(session: Any, argv: list[bytes]) -> Any:
    return transactions.unwatch(session)
