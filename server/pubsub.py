"""Pub/sub across the cluster.

PUBLISH is a write: it goes through the log, and when the entry is applied each node delivers
the message to its own subscribers. Every node applies the log in the same order, so every
subscriber, on whichever node, sees the messages in the same order. PUBLISH replies with the
number of subscribers on the node that proposed it (Redis Cluster also counts locally).

Subscriptions are per connection and per node: SUBSCRIBE and friends never touch the log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resp.encoder import encode
from resp.types import Push
from server.commands.glob import glob_match

if TYPE_CHECKING:
    from server.session import Session

class PubSub:
    def __init__(self) -> None:
        self.channels: dict[bytes, dict[Session, None]] = {}
        self.patterns: dict[bytes, dict[Session, None]] = {}

    # -- per connection ------------------------------------------------------------------------
    @staticmethod
    def state(conn: Session) -> tuple[dict[bytes, None], dict[bytes, None]]:
        extra = conn.extra
        st = extra.get("pubsub")
        if st is None:
            st = extra["pubsub"] = ({}, {})
        return st

    @staticmethod
    def count(conn: Session) -> int:
        st = conn.extra.get("pubsub")
        return len(st[0]) + len(st[1]) if st else 0

    def subscribe(self, conn: Session, names: list[bytes], pattern: bool) -> list[Push]:
        mine = self.state(conn)[1 if pattern else 0]
        table = self.patterns if pattern else self.channels
        kind = b"psubscribe" if pattern else b"subscribe"
        out = []
        for name in names:
            if name not in mine:
                mine[name] = None
                table.setdefault(name, {})[conn] = None
            out.append(Push([kind, name, self.count(conn)]))
        return out

    def unsubscribe(self, conn: Session, names: list[bytes], pattern: bool) -> list[Push]:
        mine = self.state(conn)[1 if pattern else 0]
        table = self.patterns if pattern else self.channels
        kind = b"punsubscribe" if pattern else b"unsubscribe"
        if not names:
            names = list(mine)
            if not names:
                return [Push([kind, None, self.count(conn)])]
        out = []
        for name in names:
            if name in mine:
                del mine[name]
                subs = table.get(name)
                if subs is not None:
                    subs.pop(conn, None)
                    if not subs:
                        del table[name]
            out.append(Push([kind, name, self.count(conn)]))
        return out

    def drop(self, conn: Session) -> None:
        st = conn.extra.get("pubsub")
        if st:
            self.unsubscribe(conn, [], False)
            self.unsubscribe(conn, [], True)

    # -- delivery (at apply time, on every node) -------------------------------------------------
    def publish(self, channel: bytes, message: bytes) -> int:
        n = 0
        subs = self.channels.get(channel)
        if subs:
            p2 = p3 = None
            for conn in list(subs):
                if conn.resp3:
                    p3 = p3 or encode(Push([b"message", channel, message]), True)
                    conn.extra["conn"].push(p3)
                else:
                    p2 = p2 or encode(Push([b"message", channel, message]), False)
                    conn.extra["conn"].push(p2)
                n += 1
        for pattern, subs in list(self.patterns.items()):
            if glob_match(pattern, channel):
                msg = Push([b"pmessage", pattern, channel, message])
                for conn in list(subs):
                    conn.extra["conn"].push(encode(msg, conn.resp3))
                    n += 1
        return n

    # -- PUBSUB introspection -----------------------------------------------------------------
    def channel_names(self, pattern: bytes | None) -> list[bytes]:
        return [c for c in self.channels if pattern is None or glob_match(pattern, c)]

    def numsub(self, channels: list[bytes]) -> list[Any]:
        out: list[Any] = []
        for c in channels:
            out += [c, len(self.channels.get(c, ()))]
        return out

    def numpat(self) -> int:
        return len(self.patterns)
