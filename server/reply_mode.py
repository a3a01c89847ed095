"""CLIENT REPLY OFF|SKIP: a connection whose replies are dropped, without a check on the way of
every other connection's replies.

While a connection has replies to drop, its class is ``QuietConnection``, whose ``resolve``
drops them and then places an empty reply, so the ones after still go out in order; once
nothing is left to drop it is a plain ``ClientConnection`` again. Connections that never use
CLIENT REPLY never run any of this.

Which replies: a CONN command runs only when every request before it has its reply, so when
CLIENT REPLY runs, ``conn.next_out`` is its own request's number. OFF drops its own reply and
every later one until ON (whose reply goes out); SKIP drops its own and the next request's,
as in Redis (SKIP twice in a row: the second SKIP's and the request after it).
"""

from __future__ import annotations

from typing import Any

from server.connection import ClientConnection


class ReplyMode:
    __slots__ = ("off_from", "skips")

    def __init__(self) -> None:
        self.off_from: int | None = None  # OFF since this request; None: ON
        self.skips: set[int] = set()  # requests whose reply SKIP drops

    def drops(self, seq: int) -> bool:
        if seq in self.skips:
            self.skips.discard(seq)
            return True
        return self.off_from is not None and seq >= self.off_from

    @property
    def idle(self) -> bool:
        return self.off_from is None and not self.skips


class QuietConnection(ClientConnection):
    __slots__ = ()

    def resolve(self, seq: int, data: bytes) -> None:
        mode = self.session.extra.get("reply_mode")  # type: ignore[union-attr]
        if mode is not None and mode.drops(seq):
            data = b""
        ClientConnection.resolve(self, seq, data)
        if mode is None or (mode.idle and not self.early):
            _plain(self)


def _plain(conn: ClientConnection) -> None:
    conn.__class__ = ClientConnection
    conn.session.extra.pop("reply_mode", None)  # type: ignore[union-attr]


def set_reply_mode(session: Any, how: bytes) -> None:
    """CLIENT REPLY ON, OFF or SKIP (``how`` lower case) for the session's connection."""
    conn = session.extra.get("conn")
    if not isinstance(conn, ClientConnection):
        return
    seq = conn.next_out
    mode = session.extra.get("reply_mode")
    if how == b"on":
        if mode is not None:
            mode.off_from = None
            mode.skips.discard(seq)
            if mode.idle:
                _plain(conn)
        return
    if mode is None:
        mode = session.extra["reply_mode"] = ReplyMode()
    if how == b"off":
        if mode.off_from is None:
            mode.off_from = seq
    else:
        mode.skips.update((seq, seq + 1))
    conn.__class__ = QuietConnection
