"""Follower forwarding: relay a client's commands to the leader and its replies back.

Each client connection on a follower that needs the leader gets its own pipelined RESP
connection to the leader's client port (opened on first use). Commands go out in request
order and replies come back in the same order, so the relay is a pipe, not a round trip
per command. Replies are passed on byte for byte; the link only finds where each ends.

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
    def __init__(self, conn: ClientConnection, leader_id: int, host: str, port: int, node_id: int) -> None:
        self.conn = conn
        self.leader_id = leader_id
        self.host = host
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.framer = ReplyFramer()
        self.expect: deque[int] = deque()  # seq per outstanding reply, INTERNAL for our own
        self.backlog: list[bytes] = []  # written before the connection is up
        self.db = 0
        self.resp3 = False
        self.closed = False
        self.on_reply: dict[int, Callable[[bytes], None]] = {}
        auth = conn.node.guard.users.internal_auth()
        if auth is not None:  # the leader requires clients to authenticate: nodes do as a node
            self.backlog.append(_command(auth))
            self.expect.append(INTERNAL)
        self.backlog.append(_command([b"RAFT.FORWARDED", str(node_id).encode()]))
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
        if self.backlog:
            self.transport.write(b"".join(self.backlog))
            self.backlog.clear()

    def _write(self, data: bytes) -> None:
        if self.transport is None:
            self.backlog.append(data)
        else:
            self.transport.write(data)

    def send(self, db: int, resp3: bool, argv: list[bytes], seq: int,
             on_reply: Callable[[bytes], None] | None = None) -> None:
        """Relay ``argv``; ``on_reply`` sees the raw reply before the client does."""
        if resp3 != self.resp3:
            self._write(_command([b"HELLO", b"3" if resp3 else b"2"]))
            self.expect.append(INTERNAL)
            self.resp3 = resp3
        if db != self.db:
            self._write(_command([b"SELECT", str(db).encode()]))
            self.expect.append(INTERNAL)
            self.db = db
        self._write(_command(argv))
        self.expect.append(seq)
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
        conn = self.conn
        for raw in replies:
            if not self.expect:
                log.warning("leader %d sent an unexpected reply", self.leader_id)
                self.close()
                return
            seq = self.expect.popleft()
            if seq == INTERNAL:
                continue
            if self.on_reply:
                hook = self.on_reply.pop(seq, None)
                if hook is not None:
                    hook(raw)
            conn.resolve(seq, raw)
            conn.done_one()
        conn.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail_all()

    def _fail_all(self) -> None:
        self.closed = True
        conn = self.conn
        if conn.upstream is self:
            conn.upstream = None
        pending = [s for s in self.expect if s != INTERNAL]
        self.expect.clear()
        reply = UNREACHED if self.transport is None else LOST
        for seq in pending:
            conn.resolve(seq, reply)
        for _ in pending:
            conn.done_one()
        if pending:
            conn.flush()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
