"""Clients parked by blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...).

A blocking command is an ordinary write in the log. When its handler finds nothing to
serve, it returns ``Blocked`` and changes nothing; the node that proposed it (the leader:
followers relay these commands) parks the client here with the versions of the keys it
waits on. After each applied batch, a parked client whose keys changed, one of them now
holding the type it pops, is proposed again, with the same argv, in the order the clients
blocked; the handler then serves it or blocks it again. When its timeout runs out, the
client gets the reply Redis gives on timeout. So the outcome is decided by the log, the
same way on every node; only the waiting is local.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from consensus.messages import Role
from resp.encoder import encode
from resp.types import NULL_ARRAY, ErrorReply
from server.keyspace import List
from server.sortedset import ZSet
from server.stream import Stream

LEADER_LOST = ErrorReply("TRYAGAIN leadership changed while the client was blocked; nothing was popped")

if TYPE_CHECKING:
    from server.connection import ClientConnection
    from server.node import Node


# The value type each blocking command pops: a change that leaves no such value behind does
# not wake its clients.
_POPS: dict[bytes, type] = {
    **dict.fromkeys((b"blpop", b"brpop", b"blmove", b"brpoplpush", b"blmpop"), List),
    **dict.fromkeys((b"bzpopmin", b"bzpopmax", b"bzmpop"), ZSet),
    **dict.fromkeys((b"xread", b"xreadgroup", b"raftis.xread-woken"), Stream),
}


UNBLOCKED = ErrorReply("UNBLOCKED client unblocked via CLIENT UNBLOCK")


def _mark(db: Any, key: bytes) -> tuple[int, int]:
    """What tells a parked client that ``key`` may serve it now: the key's version (any write
    WATCH sees) and, for a stream, its count of the other changes that wake readers."""
    return db.version(key), getattr(db.data.get(key), "wakes", 0)


@dataclass(slots=True)
class Parked:
    conn: ClientConnection
    seq: int
    db: int
    argv: list[bytes]
    keys: tuple[bytes, ...]
    versions: tuple[tuple[int, int], ...]  # _mark of each key
    deadline: float  # monotonic; 0 = never


class BlockedClients:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.parked: list[Parked] = []
        # Deadlines of clients proposed again, keyed by (connection, request), so a client
        # that blocks again keeps its original timeout. Keyed by the connection itself, not
        # its id(): a new connection at a closed one's address must not inherit its deadline.
        # An entry goes when the command blocks again or is answered (``settled``).
        self.retrying: dict[tuple[ClientConnection, int], float] = {}

    def __len__(self) -> int:
        return len(self.parked)

    def park(self, conn: ClientConnection, seq: int, db: int, argv: list[bytes], blocked: Any,
             first_deadline: float | None = None) -> None:
        if self.node.raft.role != Role.LEADER:
            # Applied after this node stepped down (``fail_all`` has run, and no write here
            # will wake it): answer as the others were.
            self._answer(Parked(conn, seq, db, argv, tuple(blocked.keys), (), 0.0), LEADER_LOST)
            return
        database = self.node.keyspace.dbs[db]
        versions = tuple(_mark(database, k) for k in blocked.keys)
        if first_deadline is None:
            first_deadline = time.monotonic() + blocked.timeout_ms / 1000 if blocked.timeout_ms else 0.0
        if blocked.argv is not None:
            argv = blocked.argv
        self.parked.append(Parked(conn, seq, db, argv, tuple(blocked.keys), versions, first_deadline))

    def deadline_of(self, conn: ClientConnection, seq: int) -> float | None:
        return self.retrying.pop((conn, seq), None)

    def settled(self, conn: ClientConnection, seq: int) -> None:
        """Request ``seq`` of ``conn`` was answered (a client proposed again was served);
        callers check ``retrying`` is not empty first."""
        self.retrying.pop((conn, seq), None)

    def after_apply(self) -> None:
        """Propose again every parked client that one of its keys may now serve, oldest
        first. As in Redis, only a key that now holds the type the command pops wakes it: a
        key deleted, or set to another type (a string for BLPOP), leaves it waiting."""
        if not self.parked:
            return
        dbs = self.node.keyspace.dbs
        still: list[Parked] = []
        retry: list[Parked] = []
        for p in self.parked:
            if p.conn.closing:
                continue
            db = dbs[p.db]
            versions = tuple(_mark(db, k) for k in p.keys)
            if versions == p.versions:
                still.append(p)
                continue
            wanted = _POPS.get(p.argv[0].lower())
            data = db.data
            if wanted is None or any(type(data.get(k)) is wanted
                                     for k, v, was in zip(p.keys, versions, p.versions, strict=True) if v != was):
                retry.append(p)
            else:
                p.versions = versions
                still.append(p)
        self.parked = still
        for p in retry:
            self.retrying[(p.conn, p.seq)] = p.deadline
            self.node.propose(p.conn, p.db, p.argv, p.seq)

    def expire(self) -> None:
        """Answer the clients whose timeout ran out."""
        if self.retrying:  # a proposal lost with its connection leaves its entry behind
            self.retrying = {k: d for k, d in self.retrying.items() if not k[0].closing}
        if not self.parked:
            return
        now = time.monotonic()
        keep = []
        for p in self.parked:
            if p.conn.closing:
                continue
            if p.deadline and now >= p.deadline:
                # Redis answers a timeout with a null array, BLMOVE and BRPOPLPUSH included.
                self._answer(p, NULL_ARRAY)
            else:
                keep.append(p)
        self.parked = keep

    def unblock(self, client_id: int, error: bool) -> bool:
        """CLIENT UNBLOCK: answer the parked command of the client with this id as if it had
        timed out, or with -UNBLOCKED; False if that client is not parked here (a follower's
        client's blocking command is parked on the leader, under the follower's link)."""
        for i, p in enumerate(self.parked):
            session = p.conn.session
            if session is not None and session.id == client_id and not p.conn.closing:
                del self.parked[i]
                self._answer(p, UNBLOCKED if error else NULL_ARRAY)
                return True
        return False

    def fail_all(self, err: ErrorReply) -> None:
        parked, self.parked = self.parked, []
        for p in parked:
            if not p.conn.closing:
                self._answer(p, err)

    def _answer(self, p: Parked, reply: Any) -> None:
        conn = p.conn
        conn.resolve(p.seq, encode(reply, conn.session.resp3))
        conn.done_one()
        self.node.mark_dirty(conn)
