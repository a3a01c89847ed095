"""MULTI / EXEC / DISCARD / WATCH / UNWATCH.

A transaction is one log entry: EXEC proposes the queued commands together with the
versions of the watched keys, and every node applies it the same way, all or nothing:

- WATCH runs as a linearizable read: it records, per key, the log index that last changed
  it and whether it was live. EXEC aborts (null reply) when any watched key has changed
  since, including by expiring: at apply time a key that was live when watched but is
  expired by the entry's time counts as changed, on every node alike.
- Commands are checked when they are queued (unknown command, wrong arity); an error there
  makes EXEC answer ``EXECABORT``, as Redis does. Errors at run time (WRONGTYPE, ...) are
  part of EXEC's reply and do not roll back the others, as in Redis.
- On a follower, the whole transaction (WATCH included) goes to the leader over the
  connection's forwarding link, so the leader holds the transaction state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resp.types import NULL_ARRAY, OK, PONG, QUEUED, ErrorReply
from server import limits
from server.commands.arguments import string2ll
from server.commands.registry import CONN, READ, lookup, lookup_internal

if TYPE_CHECKING:
    from server.node import Node

TX_NAMES = frozenset((b"multi", b"exec", b"discard", b"watch", b"unwatch"))
# Connection commands that may be queued: their replies do not depend on the connection.
QUEUEABLE_CONN = frozenset((b"ping", b"echo", b"select"))

EXECABORT = ErrorReply("EXECABORT Transaction discarded because of previous errors.")


class TxState:
    __slots__ = ("queued", "dirty", "db", "start_db")

    def __init__(self, db: int) -> None:
        self.queued: list[list] = []  # [db, argv]
        self.dirty = False
        self.db = db  # SELECT inside MULTI changes the db of the commands after it
        self.start_db = db

    def __len__(self) -> int:
        return len(self.queued)


def queue_command(session: Any, argv: list[bytes]) -> Any:
    """A command sent between MULTI and EXEC: check it and queue it."""
    tx: TxState = session.multi
    cmd = lookup(argv)
    if isinstance(cmd, ErrorReply):
        tx.dirty = True
        return cmd
    name = cmd.name
    if name in limits.PROTECTED:
        denied = limits.protected_denial(session, name)
        if denied is not None:
            tx.dirty = True
            return denied
    if cmd.kind == CONN:
        base = name.split(b"|")[0]
        if base not in QUEUEABLE_CONN:
            tx.dirty = True
            return ErrorReply(f"ERR Command not allowed inside a transaction: '{base.decode()}'")
        if base == b"select":
            # As in Redis, a bad index is an error in EXEC's reply, not when queueing.
            tx.queued.append([tx.db, [b"select", argv[1]]])
            db = _select_index(argv[1])
            if not isinstance(db, ErrorReply):
                tx.db = db
            return QUEUED
    tx.queued.append([tx.db, argv])
    return QUEUED


def _select_index(arg: bytes) -> int | ErrorReply:
    """SELECT's argument checks (Redis: a 32-bit integer, then the range)."""
    db = string2ll(arg)
    if db is None or not -(2**31) <= db < 2**31:
        return ErrorReply("ERR value is not an integer or out of range")
    if not 0 <= db < 16:
        return ErrorReply("ERR DB index is out of range")
    return db


def multi(session: Any) -> Any:
    if session.multi is not None:
        return ErrorReply("ERR MULTI calls can not be nested")
    session.multi = TxState(session.db_index)
    return OK


def discard(session: Any) -> Any:
    if session.multi is None:
        return ErrorReply("ERR DISCARD without MULTI")
    session.multi = None
    session.watched = {}
    return OK


def unwatch(session: Any) -> Any:
    session.watched = {}
    return OK


def watch(node: Node, session: Any, argv: list[bytes]) -> Any:
    """Runs as a read, after the linearizable read check."""
    if session.multi is not None:
        return ErrorReply("ERR WATCH inside MULTI is not allowed")
    db_index = session.db_index
    db = node.keyspace.dbs[db_index]
    now = node.read_now_ms()
    watched = session.watched
    for key in argv[1:]:
        if (db_index, key) not in watched:  # as Redis: a key already watched keeps its first look
            watched[(db_index, key)] = (db.version(key), db.exists(key, now))
    return OK


def exec_item(session: Any) -> tuple[list, list] | ErrorReply:
    """What EXEC proposes: (queued commands, watches); or the error to answer at once."""
    tx: TxState | None = session.multi
    if tx is None:
        return ErrorReply("ERR EXEC without MULTI")
    session.multi = None
    session.extra.pop("exec_db", None)
    watches = [[db, key, ver, 1 if live else 0] for (db, key), (ver, live) in session.watched.items()]
    session.watched = {}
    if tx.dirty:
        return EXECABORT
    if tx.db != session.db_index:
        # Redis moves the connection to the SELECTed db only if the transaction runs, which is
        # known once the entry is applied (``Node.apply_entries``): it may yet be refused
        # (over max-write-size), fail to commit, or abort on a watched key.
        session.extra["exec_db"] = tx.db
    return tx.queued, watches


def apply_exec(node: Node, ctx: Any, queued: list, watches: list) -> Any:
    """Apply a transaction entry (on every node). Returns EXEC's reply."""
    keyspace = node.keyspace
    now = ctx.now_ms
    for db_index, key, version, live in watches:
        db = keyspace.dbs[db_index]
        if db.version(key) != version or db.exists(key, now) != bool(live):
            return NULL_ARRAY
    replies: list[Any] = []
    index = ctx.index
    ctx.in_exec = True
    try:
        _run_queued(ctx, queued, index, now, replies)
    finally:
        ctx.in_exec = False
    return replies


def _run_queued(ctx: Any, queued: list, index: int, now: int, replies: list) -> None:
    for db_index, argv in queued:
        ctx.for_write(index, now, db_index)
        name = argv[0].lower()
        if name == b"select":
            err = _select_index(argv[1])
            replies.append(err if isinstance(err, ErrorReply) else OK)
            continue
        if name == b"ping":
            replies.append(PONG if len(argv) == 1 else argv[1])
            continue
        if name == b"echo":
            replies.append(argv[1])
            continue
        cmd = lookup_internal(argv)
        if isinstance(cmd, ErrorReply):
            replies.append(cmd)
            continue
        if cmd.kind == READ:
            ctx.readonly = True
        replies.append(cmd.handler(ctx, argv))
        ctx.readonly = False
