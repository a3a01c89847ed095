"""Pub/sub across the cluster.

PUBLISH is a write: it goes through the log, and when the entry is applied each node delivers
the message to its own subscribers. Every node applies the log in the same order, so every
subscriber, on whichever node, sees the messages in the same order. PUBLISH replies with the
number of subscribers on the node that proposed it (Redis Cluster also counts locally).

Subscriptions are per connection and per node: SUBSCRIBE and friends never touch the log.

Sharded pub/sub (SSUBSCRIBE, SPUBLISH) works the same way: Raftis is one shard owning every
slot, so a shard channel reaches its subscribers on every node, as in a single-shard Redis
Cluster. Shard channels are a namespace of their own: SPUBLISH reaches SSUBSCRIBE only, and
SSUBSCRIBE's counts are of the connection's shard channels only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resp.encoder import encode
from resp.types import Push
from server.commands.glob import glob_match

if TYPE_CHECKING:
    from server.session import Session

# What a subscription is to: channels, patterns, shard channels (the index into a connection's
# state and into _KINDS).
CHANNEL, PATTERN, SHARD = 0, 1, 2
_KINDS = ((b"subscribe", b"unsubscribe"), (b"psubscribe", b"punsubscribe"), (b"ssubscribe", b"sunsubscribe"))


class PubSub:
    def __init__(self) -> None:
        self.channels: dict[bytes, dict[Session, None]] = {}
        self.patterns: dict[bytes, dict[Session, None]] = {}
        self.shard_channels: dict[bytes, dict[Session, None]] = {}
        self._tables = (self.channels, self.patterns, self.shard_channels)

    # -- per connection ------------------------------------------------------------------------
    @staticmethod
    def state(conn: Session) -> tuple[dict[bytes, None], dict[bytes, None], dict[bytes, None]]:
        """The connection's channels, patterns and shard channels."""
        extra = conn.extra
        st = extra.get("pubsub")
        if st is None:
            st = extra["pubsub"] = ({}, {}, {})
        return st

    @staticmethod
    def count(conn: Session) -> int:
        """Every subscription of the connection (it is in subscribed mode while this is not 0)."""
        st = conn.extra.get("pubsub")
        return len(st[0]) + len(st[1]) + len(st[2]) if st else 0

    @staticmethod
    def _count_of(st: tuple, kind: int) -> int:
        # The count (UN)SUBSCRIBE replies carry: shard channels count apart, as in Redis 7.0.
        return len(st[2]) if kind == SHARD else len(st[0]) + len(st[1])

    def subscribe(self, conn: Session, names: list[bytes], kind: int) -> list[Push]:
        st = self.state(conn)
        mine = st[kind]
        table = self._tables[kind]
        word = _KINDS[kind][0]
        out = []
        for name in names:
            if name not in mine:
                mine[name] = None
                table.setdefault(name, {})[conn] = None
            out.append(Push([word, name, self._count_of(st, kind)]))
        return out

    def unsubscribe(self, conn: Session, names: list[bytes], kind: int) -> list[Push]:
        st = self.state(conn)
        mine = st[kind]
        table = self._tables[kind]
        word = _KINDS[kind][1]
        if not names:
            names = list(mine)
            if not names:
                return [Push([word, None, self._count_of(st, kind)])]
        out = []
        for name in names:
            if name in mine:
                del mine[name]
                subs = table.get(name)
                if subs is not None:
                    subs.pop(conn, None)
                    if not subs:
                        del table[name]
            out.append(Push([word, name, self._count_of(st, kind)]))
        return out

    def drop(self, conn: Session) -> None:
        st = conn.extra.get("pubsub")
        if st:
            for kind in (CHANNEL, PATTERN, SHARD):
                self.unsubscribe(conn, [], kind)

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

    def spublish(self, channel: bytes, message: bytes) -> int:
        subs = self.shard_channels.get(channel)
        if not subs:
            return 0
        enc: dict[bool, bytes] = {}
        for conn in list(subs):
            data = enc.get(conn.resp3)
            if data is None:
                data = enc[conn.resp3] = encode(Push([b"smessage", channel, message]), conn.resp3)
            conn.extra["conn"].push(data)
        return len(subs)

    # -- PUBSUB introspection -----------------------------------------------------------------
    def channel_names(self, pattern: bytes | None, shard: bool = False) -> list[bytes]:
        table = self.shard_channels if shard else self.channels
        return [c for c in table if pattern is None or glob_match(pattern, c)]

    def numsub(self, channels: list[bytes], shard: bool = False) -> list[Any]:
        table = self.shard_channels if shard else self.channels
        out: list[Any] = []
        for c in channels:
            out += [c, len(table.get(c, ()))]
        return out

    def numpat(self) -> int:
        return len(self.patterns)
