"""Follower forwarding: relay a client's commands to the leader and its replies back.

Each client connection on a follower that needs the leader gets its own pipelined RESP
connection to the leader's client port (opened on first use). Commands go out in request
order and replies come back in the same order, so the relay is a pipe, not a round trip
per command. Replies are passed on byte for byte; the link only finds where each ends.

Commands that need nothing of the leader's session but the database and the protocol (a
plain SET, INCR, EVAL, ...) from every client of this node share one link instead (``shared``):
what a loop turn forwards goes up in one write and the replies come back in one read, so the
leader sees one busy connection instead of a socket read and write per command per client. A
client's commands that keep state on the leader (MULTI, WATCH and the rest of a transaction,
blocking commands) go on the client's own link; a client switches links only when nothing
of it is outstanding on the other, so its commands still reach the leader in order.

A forwarded command is sent once and never retried: if the link drops before the reply
arrives, the client is told the outcome is unknown (``-TIMEOUT``), so a forwarded write is
applied at most once. The link announces itself with ``RAFT.FORWARDED <node-id>`` so that
the receiving node never forwards it again (a node that is not the leader any more answers
``-TRYAGAIN`` instead of bouncing it on).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from resp.framer import FramingError, ReplyFramer

if TYPE_CHECKING:
    from server.connection import ClientConnection
    from server.node import Node

log = logging.getLogger("raftis.forward")

LOST = b"-TIMEOUT connection to the leader was lost; the command may or may not have been applied\r\n"
# The connection to the leader never came up: nothing was sent, so nothing was applied.
UNREACHED = b"-TRYAGAIN the leader could not be reached; the command was not applied\r\n"
INTERNAL = -1  # placeholder seq for replies to the link's own SELECT/HELLO


def _command(argv: list[bytes]) -> bytes:
    parts = [b"*%d\r\n" % len(argv)]
    for a in argv:
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


class LeaderLink(asyncio.Protocol):
    """One connection to the leader's client port: a client's own (``conn``), or shared by
    every client of the node (``conn`` None; each command says whose it is)."""

    def __init__(self, node: Node, conn: ClientConnection | None, leader_id: int, host: str, port: int) -> None:
        self.node = node
        self.conn = conn
        self.leader_id = leader_id
        self.host = host
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.framer = ReplyFramer()
        # (connection, seq) per outstanding reply, INTERNAL for the link's own commands
        self.expect: deque[tuple[ClientConnection, int] | int] = deque()
        self.backlog: list[bytes] = []  # written before the connection is up
        self.wbuf: list[bytes] = []  # this loop turn's commands (written by flush)
        self._dirty = False
        self.db = 0
        self.resp3 = False
        self.closed = False
        self.on_reply: dict[int, Callable[[bytes], None]] = {}
        auth = node.guard.users.internal_auth()
        if auth is not None:  # the leader requires clients to authenticate: nodes do as a node
            self.backlog.append(_command(auth))
            self.expect.append(INTERNAL)
        self.backlog.append(_command([b"RAFT.FORWARDED", str(node.cfg.node_id).encode()]))
        self.expect.append(INTERNAL)
        asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.create_connection(lambda: self, self.host, self.port), 5.0)
        except (TimeoutError, OSError) as e:
            log.warning("cannot reach leader %d at %s:%d: %s", self.leader_id, self.host, self.port, e)
            self._fail_all()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.closed:
            self.transport.close()
            return
        if self.backlog or self.wbuf:
            self.transport.write(b"".join(self.backlog + self.wbuf))
            self.backlog.clear()
            self.wbuf.clear()

    def _write(self, data: bytes) -> None:
        if self.transport is None:
            self.backlog.append(data)
            return
        self.wbuf.append(data)
        if not self._dirty:
            self._dirty = True
            self.node.mark_dirty(self)  # type: ignore[arg-type]

    def flush(self) -> None:
        """Write this loop turn's commands (the node calls it with its clients' replies)."""
        self._dirty = False
        wbuf = self.wbuf
        if wbuf and self.transport is not None and not self.closed:
            self.transport.write(b"".join(wbuf) if len(wbuf) > 1 else wbuf[0])
        wbuf.clear()

    def send(self, db: int, resp3: bool, argv: list[bytes], conn: ClientConnection, seq: int,
             on_reply: Callable[[bytes], None] | None = None) -> None:
        """Relay ``argv`` for ``conn``; ``on_reply`` sees the raw reply before the client does."""
        if resp3 != self.resp3:
            self._write(_command([b"HELLO", b"3" if resp3 else b"2"]))
            self.expect.append(INTERNAL)
            self.resp3 = resp3
        if db != self.db:
            self._write(_command([b"SELECT", str(db).encode()]))
            self.expect.append(INTERNAL)
            self.db = db
        self._write(_command(argv))
        self.expect.append((conn, seq))
        if on_reply is not None:
            self.on_reply[seq] = on_reply

    def send_internal(self, argv: list[bytes]) -> None:
        """A command of the link's own (DISCARD, UNWATCH), in the database and protocol the
        link is in; its reply is not relayed."""
        self._write(_command(argv))
        self.expect.append(INTERNAL)

    @property
    def idle(self) -> bool:
        return not self.expect or all(s == INTERNAL for s in self.expect)

    def data_received(self, data: bytes) -> None:
        try:
            replies = self.framer.feed(data)
        except (FramingError, ValueError) as e:
            log.warning("leader %d sent a malformed reply: %s", self.leader_id, e)
            self.close()
            return
        expect = self.expect
        shared = self.conn is None
        for raw in replies:
            if not expect:
                log.warning("leader %d sent an unexpected reply", self.leader_id)
                self.close()
                return
            entry = expect.popleft()
            if entry == INTERNAL:
                continue
            conn, seq = entry  # type: ignore[misc]
            if self.on_reply:
                hook = self.on_reply.pop(seq, None)
                if hook is not None:
                    hook(raw)
            if shared:
                conn.shared_out -= 1
            conn.resolve(seq, raw)
            conn.done_one()
        if self.conn is not None:
            self.conn.flush()
        else:
            self.node.flush_dirty()
            if not expect and self.node.shared_link is not self:
                self.close()  # a link to a former leader, now drained

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail_all()

    def _fail_all(self) -> None:
        self.closed = True
        conn = self.conn
        if conn is not None and conn.upstream is self:
            conn.upstream = None
        if self.node.shared_link is self:
            self.node.shared_link = None
        pending = [e for e in self.expect if e != INTERNAL]
        self.expect.clear()
        self.wbuf.clear()
        reply = UNREACHED if self.transport is None else LOST
        for c, seq in pending:  # type: ignore[misc]
            if conn is None:
                c.shared_out -= 1
            c.resolve(seq, reply)
        for c, _ in pending:  # type: ignore[misc]
            c.done_one()
        if pending:
            if conn is not None:
                conn.flush()
            else:
                self.node.flush_dirty()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
