"""``Stream``: the stream value (Redis 7.0's t_stream.c), with its consumer groups.

An entry ID is one Python int, ``ms << 64 | seq``, so IDs compare and sort as Redis's 128-bit
big-endian keys do. Entries live in ``entries`` (ID -> flat field/value tuple) with their IDs
in ``ids``, sorted, so a range is two bisections (O(log n)) and a slice.

Redis keeps entries in a radix tree of listpack nodes, and that layout is visible: MAXLEN ~
and MINID ~ only remove whole nodes, and XINFO reports the node count. So the nodes are
modelled too (``Node``: first and last ID, live and deleted counts, the listpack's size in
bytes): an XADD opens a new node when the tail one holds ``NODE_MAX_ENTRIES`` entries (live
or deleted) or when its bytes plus the new entry's field and value lengths reach
``NODE_MAX_BYTES`` (the defaults of stream-node-max-entries and stream-node-max-bytes). The
byte count follows the listpack encoding (integers as 1 to 9 bytes, strings with a 1, 2 or 5
byte header, each element with its back-length), so nodes split where Redis's do. XDEL of a
node's last live entry drops the node, as Redis does. (XINFO's radix-tree-nodes is counted
from the nodes' master IDs in server/commands/streams.py.)

Consumer groups hold a pending entries list (``Group.pel``: ID -> ``Nack``, with the sorted
IDs in ``pel_ids``) and consumers, each with its own sorted pending IDs. Redis keeps groups
and consumers in radix trees, so replies list them sorted by name; here they are dicts sorted
when listed. Every time stored (delivery, seen) is the ``now_ms`` of the command that set it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import Any

from resp.parser import string2ll
from server.keyspace import register_value_type

__all__ = [
    "MAX_ID",
    "NODE_MAX_BYTES",
    "NODE_MAX_ENTRIES",
    "Consumer",
    "Group",
    "Nack",
    "Node",
    "Stream",
    "format_id",
]

SEQ_MASK = (1 << 64) - 1
MAX_ID = (1 << 128) - 1
NODE_MAX_ENTRIES = 100  # stream-node-max-entries
NODE_MAX_BYTES = 4096  # stream-node-max-bytes
INVALID_ENTRIES_READ = -1  # SCG_INVALID_ENTRIES_READ


def format_id(i: int) -> bytes:
    return b"%d-%d" % (i >> 64, i & SEQ_MASK)


# -- listpack sizes -------------------------------------------------------------------------
def _backlen(n: int) -> int:
    return 1 if n <= 127 else 2 if n < 16383 else 3 if n < 2097151 else 4 if n < 268435455 else 5


def _int_size(v: int) -> int:
    if 0 <= v <= 127:
        return 2
    if -4096 <= v <= 4095:
        return 3
    if -32768 <= v <= 32767:
        return 4
    if -8388608 <= v <= 8388607:
        return 5
    if -(1 << 31) <= v < 1 << 31:
        return 6
    return 10


def _str_size(s: bytes) -> int:
    if len(s) <= 20:
        v = string2ll(s)
        if v is not None:
            return _int_size(v)
    n = len(s)
    enc = 1 + n if n < 64 else 2 + n if n < 4096 else 5 + n
    return enc + _backlen(enc)


def _i64(v: int) -> int:
    """A 64-bit difference as the C code stores it (wrapping to int64_t)."""
    v &= SEQ_MASK
    return v - (1 << 64) if v >= 1 << 63 else v


class Node:
    """One listpack node of Redis's radix tree: its master ID (``first``), the ID of the last
    entry appended (``last``, deleted or not), live and deleted entry counts, its size in
    bytes, and the master entry's field names."""

    __slots__ = ("first", "last", "live", "deleted", "size", "fields")

    def __init__(self, first: int, last: int, live: int, deleted: int, size: int, fields: tuple) -> None:
        self.first = first
        self.last = last
        self.live = live
        self.deleted = deleted
        self.size = size
        self.fields = fields


class Nack:
    """A pending entry: who has it, when it was last delivered, and how many times."""

    __slots__ = ("consumer", "delivery_time", "delivery_count")

    def __init__(self, consumer: Consumer, delivery_time: int, delivery_count: int = 1) -> None:
        self.consumer = consumer
        self.delivery_time = delivery_time
        self.delivery_count = delivery_count


class Consumer:
    __slots__ = ("name", "seen_time", "pel")

    def __init__(self, name: bytes, seen_time: int) -> None:
        self.name = name
        self.seen_time = seen_time
        self.pel: list[int] = []  # sorted IDs this consumer has pending


class Group:
    __slots__ = ("last_id", "entries_read", "pel", "pel_ids", "consumers")

    def __init__(self, last_id: int, entries_read: int) -> None:
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel: dict[int, Nack] = {}
        self.pel_ids: list[int] = []  # sorted keys of pel
        self.consumers: dict[bytes, Consumer] = {}

    def sorted_consumers(self) -> list[Consumer]:
        return [self.consumers[n] for n in sorted(self.consumers)]

    def add_pending(self, id_: int, nack: Nack) -> None:
        self.pel[id_] = nack
        insort(self.pel_ids, id_)
        insort(nack.consumer.pel, id_)

    def remove_pending(self, id_: int) -> Nack | None:
        nack = self.pel.pop(id_, None)
        if nack is not None:
            _remove_sorted(self.pel_ids, id_)
            _remove_sorted(nack.consumer.pel, id_)
        return nack

    def move_pending(self, id_: int, nack: Nack, to: Consumer) -> None:
        if nack.consumer is not to:
            _remove_sorted(nack.consumer.pel, id_)
            nack.consumer = to
            insort(to.pel, id_)

    def delete_consumer(self, name: bytes) -> int:
        consumer = self.consumers.pop(name, None)
        if consumer is None:
            return 0
        for id_ in consumer.pel:
            del self.pel[id_]
            _remove_sorted(self.pel_ids, id_)
        return len(consumer.pel)


def _remove_sorted(ids: list[int], id_: int) -> None:
    i = bisect_left(ids, id_)
    if i < len(ids) and ids[i] == id_:
        del ids[i]


class Stream:
    """A stream value. Invariants: ``ids`` is sorted and equals ``entries``'s keys; every
    live ID lies in exactly one node (``nodes`` ordered, ``firsts`` their master IDs);
    ``last_id`` >= every ID; ``entries_added`` counts every entry ever added (or what
    XSETID set)."""

    __slots__ = ("ids", "entries", "nodes", "firsts", "last_id", "entries_added", "max_deleted", "groups", "wakes")

    ENCODING = b"stream"

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.entries: dict[int, tuple[bytes, ...]] = {}
        self.nodes: list[Node] = []
        self.firsts: list[int] = []
        self.last_id = 0
        self.entries_added = 0
        self.max_deleted = 0
        self.groups: dict[bytes, Group] = {}
        # Bumped by changes that wake blocked readers without being changes WATCH sees (a
        # group destroyed). Only the node that parks clients looks at it, so it is not in
        # snapshots: a restored stream starts again at 0, which at worst wakes a reader once.
        self.wakes = 0

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def first_id(self) -> int:
        """Redis's ``first_id`` (XINFO's recorded-first-entry-id): 0-0 when empty."""
        return self.ids[0] if self.ids else 0

    def last_valid_id(self) -> int:
        """``streamLastValidID``: the last live entry's ID, 0-0 when empty."""
        return self.ids[-1] if self.ids else 0

    # -- entries --------------------------------------------------------------------------
    def append(self, id_: int, flat: tuple[bytes, ...]) -> None:
        """Add an entry whose ID is above ``last_id`` (the caller checked)."""
        nodes = self.nodes
        node = nodes[-1] if nodes else None
        if node is not None:
            if node.size + sum(len(x) for x in flat) >= NODE_MAX_BYTES:
                node = None
            elif node.live + node.deleted >= NODE_MAX_ENTRIES:
                node = None
        fields = flat[0::2]
        n = len(fields)
        if node is None:
            size = 6 + 1 + 2 + 2 + _int_size(n) + sum(_str_size(f) for f in fields) + 2
            node = Node(id_, id_, 0, 0, size, fields)
            nodes.append(node)
            self.firsts.append(id_)
        same = fields == node.fields
        master = node.first
        size = 2 + _int_size(_i64((id_ >> 64) - (master >> 64))) + _int_size(_i64((id_ & SEQ_MASK) - (master & SEQ_MASK)))
        if same:
            size += sum(_str_size(v) for v in flat[1::2]) + _int_size(n + 3)
        else:
            size += _int_size(n) + sum(_str_size(x) for x in flat) + _int_size(2 * n + 4)
        node.size += size
        node.live += 1
        node.last = id_
        self.ids.append(id_)
        self.entries[id_] = flat
        self.last_id = id_
        self.entries_added += 1

    def range(self, start: int, end: int, count: int = 0, rev: bool = False) -> list[int]:
        """IDs in [start, end], at most ``count`` (0: all), backwards when ``rev``."""
        ids = self.ids
        lo = bisect_left(ids, start)
        hi = bisect_right(ids, end)
        if hi <= lo:
            return []
        if rev:
            if count and hi - lo > count:
                lo = hi - count
            return ids[lo:hi][::-1]
        if count and hi - lo > count:
            hi = lo + count
        return ids[lo:hi]

    def delete(self, id_: int) -> bool:
        """XDEL of one ID; True when it was there."""
        if self.entries.pop(id_, None) is None:
            return False
        _remove_sorted(self.ids, id_)
        i = bisect_right(self.firsts, id_) - 1
        node = self.nodes[i]
        if node.live == 1:  # its last live entry: the whole node goes
            del self.nodes[i]
            del self.firsts[i]
        else:
            node.live -= 1
            node.deleted += 1
        return True

    def _drop_head(self, k: int) -> None:
        for id_ in self.ids[:k]:
            del self.entries[id_]
        del self.ids[:k]

    def trim(self, maxlen: int | None, minid: int | None, approx: bool, limit: int) -> int:
        """``streamTrim``: drop the oldest entries while the stream is longer than ``maxlen``
        (or while they are below ``minid``); with ``approx`` only whole nodes, at most
        ``limit`` entries (0: no limit). Returns how many went."""
        deleted = 0
        nodes = self.nodes
        removed_nodes = 0
        for node in nodes:
            if maxlen is not None and len(self.ids) <= maxlen:
                break
            entries = node.live
            if limit and deleted + entries > limit:
                break
            if maxlen is not None:
                remove = len(self.ids) - entries >= maxlen
            else:
                remove = node.last < minid  # type: ignore[operator]
            if remove:
                self._drop_head(entries)
                removed_nodes += 1
                deleted += entries
                continue
            if approx:
                break
            k = len(self.ids) - maxlen if maxlen is not None else bisect_left(self.ids, minid)  # type: ignore[arg-type]
            k = min(k, entries)
            if k > 0:
                self._drop_head(k)
                node.live -= k
                node.deleted += k
                deleted += k
            break
        if removed_nodes:
            del nodes[:removed_nodes]
            del self.firsts[:removed_nodes]
        return deleted

    # -- consumer groups -------------------------------------------------------------------
    def has_tombstones(self, start: int, end: int = MAX_ID) -> bool:
        """``streamRangeHasTombstones``."""
        if not self.ids or not self.max_deleted:
            return False
        if self.first_id > self.max_deleted:
            return False
        return start <= self.max_deleted <= end

    def estimate_read(self, id_: int) -> int:
        """``streamEstimateDistanceFromFirstEverEntry``: the entries_read counter of ``id_``,
        or -1 when it cannot be known."""
        if not self.entries_added:
            return 0
        if not self.ids and id_ <= self.last_id:
            return self.entries_added
        if id_ == self.last_id:
            return self.entries_added
        if id_ > self.last_id:
            return INVALID_ENTRIES_READ
        first = self.first_id
        if not self.max_deleted or self.max_deleted < first:
            if id_ < first:
                return self.entries_added - len(self.ids)
            if id_ == first:
                return self.entries_added - len(self.ids) + 1
        return INVALID_ENTRIES_READ

    def lag(self, group: Group) -> int | None:
        """XINFO's lag of ``group``: None when it cannot be known."""
        if not self.entries_added:
            return 0
        if group.entries_read != INVALID_ENTRIES_READ and not self.has_tombstones(group.last_id):
            return self.entries_added - group.entries_read
        read = self.estimate_read(group.last_id)
        if read != INVALID_ENTRIES_READ:
            return self.entries_added - read
        return None

    def deliver(self, group: Group, id_: int) -> None:
        """A new entry handed to a group: advance its last ID and read counter."""
        if id_ > group.last_id:
            if group.entries_read != INVALID_ENTRIES_READ and not self.has_tombstones(id_):
                group.entries_read += 1
            elif self.entries_added:
                group.entries_read = self.estimate_read(id_)
            group.last_id = id_

    # -- snapshots ---------------------------------------------------------------------------
    def dump(self) -> list:
        """msgpack-able form (IDs split into ms and seq: msgpack integers are 64-bit)."""
        def pair(i: int) -> list[int]:
            return [i >> 64, i & SEQ_MASK]

        groups = []
        for name, g in self.groups.items():
            consumers = [[c.name, c.seen_time] for c in g.consumers.values()]
            pel = [[*pair(i), g.pel[i].consumer.name, g.pel[i].delivery_time, g.pel[i].delivery_count]
                   for i in g.pel_ids]
            groups.append([name, *pair(g.last_id), g.entries_read, consumers, pel])
        return [
            *pair(self.last_id),
            self.entries_added,
            *pair(self.max_deleted),
            [[*pair(i), list(self.entries[i])] for i in self.ids],
            [[*pair(n.first), *pair(n.last), n.live, n.deleted, n.size, list(n.fields)] for n in self.nodes],
            groups,
        ]

    @classmethod
    def load(cls, data: list) -> Stream:
        s = cls()
        last_ms, last_seq, s.entries_added, del_ms, del_seq, entries, nodes, groups = data
        s.last_id = last_ms << 64 | last_seq
        s.max_deleted = del_ms << 64 | del_seq
        for ms, seq, flat in entries:
            i = ms << 64 | seq
            s.ids.append(i)
            s.entries[i] = tuple(flat)
        for fms, fseq, lms, lseq, live, deleted, size, fields in nodes:
            first = fms << 64 | fseq
            s.nodes.append(Node(first, lms << 64 | lseq, live, deleted, size, tuple(fields)))
            s.firsts.append(first)
        for name, lms, lseq, entries_read, consumers, pel in groups:
            g = Group(lms << 64 | lseq, entries_read)
            for cname, seen in consumers:
                g.consumers[cname] = Consumer(cname, seen)
            for ms, seq, cname, when, count in pel:
                i = ms << 64 | seq
                consumer = g.consumers[cname]
                g.pel[i] = Nack(consumer, when, count)
                g.pel_ids.append(i)
                consumer.pel.append(i)
            s.groups[name] = g
        return s

    def copy(self) -> Stream:
        return Stream.load(self.dump())

    def __repr__(self) -> str:
        return f"Stream(len={len(self.ids)}, last={format_id(self.last_id)!r})"


register_value_type(Stream, b"stream", 5, Stream.dump, Stream.load, Stream.copy)


def entry_reply(stream: Stream, id_: int) -> list[Any]:
    """``[id, [field, value, ...]]``."""
    return [format_id(id_), list(stream.entries[id_])]
