"""Keyspace notifications (Redis's ``notify-keyspace-events``).

A write that changes a key announces it, as Redis's ``notifyKeyspaceEvent`` does, on
``__keyspace@<db>__:<key>`` (message: the event) and ``__keyevent@<db>__:<event>`` (message:
the key), to the pub/sub subscribers of the node that applies it. Every node applies every
write, so a subscriber on any node, leader or follower, sees the same events in log order.

The setting is per node and never changes state: a handler calls ``ctx.notify(flag, event,
key, db)`` only when ``ctx.notify`` is not None, which it is while the setting is empty, so
applying costs one attribute check per change when notifications are off. Where that check
does not matter (commands off the hot path), ``announce(ctx, flag, event, key)`` does both in
one line, e.g. ``announce(ctx, STREAM, b"xadd", key)`` (after ``announce(ctx, NEW, b"new",
key)`` when the command created the key, as Redis's dbAdd does).

Differences from Redis, all from reads never changing anything in Raftis: a key whose time
has come is deleted (event ``expired``) when the ``RAFTIS.EXPIRE`` entry the leader proposes
is applied, or when a later write touches it, never by a read; ``m`` (key-miss events of
reads) is accepted and never fires; ``e`` (evicted) never fires (there is no eviction).
"""

from __future__ import annotations

from typing import Any

import click

__all__ = [
    "EXPIRED", "GENERIC", "HASH", "KEYEVENT", "KEYSPACE", "LIST", "NEW", "SET", "STREAM", "STRING",
    "ZSET", "KeyspaceEvents", "Notifier", "announce", "parse_flags",
]

# Redis's NOTIFY_* bits (server.h).
KEYSPACE = 1 << 0  # K
KEYEVENT = 1 << 1  # E
GENERIC = 1 << 2  # g
STRING = 1 << 3  # $
LIST = 1 << 4  # l
SET = 1 << 5  # s
HASH = 1 << 6  # h
ZSET = 1 << 7  # z
EXPIRED = 1 << 8  # x
EVICTED = 1 << 9  # e
STREAM = 1 << 10  # t
KEY_MISS = 1 << 11  # m
MODULE = 1 << 12  # d
NEW = 1 << 13  # n
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE  # A

_LETTERS = {
    "A": ALL, "g": GENERIC, "$": STRING, "l": LIST, "s": SET, "h": HASH, "z": ZSET, "x": EXPIRED,
    "e": EVICTED, "K": KEYSPACE, "E": KEYEVENT, "t": STREAM, "m": KEY_MISS, "d": MODULE, "n": NEW,
}
# keyspaceEventsFlagsToString's order: the classes (or A), then K, E, m. As in Redis, ``n``
# is shown only when not all of A is set (CONFIG SET KEAn reads back AKE, with n still on).
_CLASS_ORDER = ((GENERIC, "g"), (STRING, "$"), (LIST, "l"), (SET, "s"), (HASH, "h"), (ZSET, "z"),
                (EXPIRED, "x"), (EVICTED, "e"), (STREAM, "t"), (MODULE, "d"), (NEW, "n"))
INVALID = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."


def parse_flags(text: str) -> int:
    """keyspaceEventsStringToFlags: the bits of a setting's text; ValueError on a bad letter."""
    flags = 0
    for ch in text:
        bit = _LETTERS.get(ch)
        if bit is None:
            raise ValueError(INVALID)
        flags |= bit
    return flags


def flags_text(flags: int) -> str:
    """keyspaceEventsFlagsToString: CONFIG GET's spelling."""
    if flags & ALL == ALL:
        out = "A"
    else:
        out = "".join(letter for bit, letter in _CLASS_ORDER if flags & bit)
    if flags & KEYSPACE:
        out += "K"
    if flags & KEYEVENT:
        out += "E"
    if flags & KEY_MISS:
        out += "m"
    return out


class KeyspaceEvents(int):
    """The setting's value: its bits, shown (CONFIG GET, CONFIG REWRITE) as Redis shows them."""

    def __str__(self) -> str:
        return flags_text(self)

    __repr__ = __str__


class KeyspaceEventsType(click.ParamType):
    name = "classes"

    def convert(self, value: Any, param: Any, ctx: Any) -> KeyspaceEvents:
        if isinstance(value, KeyspaceEvents):
            return value
        try:
            return KeyspaceEvents(parse_flags(str(value)))
        except ValueError as e:
            self.fail(str(e), param, ctx)


class Notifier:
    """Delivers the events of the classes in ``flags`` through ``publish(channel, message)``
    (the node's pub/sub delivery). A handler calls it as ``notify(flag, event, key, db)``."""

    __slots__ = ("flags", "publish")

    def __init__(self, flags: int, publish: Any) -> None:
        self.flags = flags
        self.publish = publish

    def __call__(self, flag: int, event: bytes, key: bytes, db: int) -> None:
        flags = self.flags
        if not flags & flag:
            return
        if flags & KEYSPACE:
            self.publish(b"__keyspace@%d__:%s" % (db, key), event)
        if flags & KEYEVENT:
            self.publish(b"__keyevent@%d__:%s" % (db, event), key)


def notifier_for(flags: int, publish: Any) -> Notifier | None:
    """What ``ExecContext.notify`` should be for the setting ``flags``: None when no event
    can be delivered (no class, or neither K nor E)."""
    if not flags & (KEYSPACE | KEYEVENT) or not flags & (ALL | NEW | KEY_MISS):
        return None
    return Notifier(int(flags), publish)


def announce(ctx: Any, flag: int, event: bytes, key: bytes) -> None:
    """Announce ``event`` on ``key`` in the context's database, if notifications are on."""
    notify = ctx.notify
    if notify is not None:
        notify(flag, event, key, ctx.db_index)
