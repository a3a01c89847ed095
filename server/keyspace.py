"""The replicated state machine: 16 databases of keys.  It knows nothing of Raft.

Every node applies the same log entries in the same order to its ``Keyspace`` and must end in
the same state, so the rules are:

- Handlers never read the wall clock or module-level ``random``: time is the timestamp the
  leader put in the entry (``ExecContext.now_ms``) and randomness a ``random.Random`` seeded
  from the log index.
- No iteration order that differs between processes: containers are dicts (insertion order)
  or lists, never ``set``/``frozenset`` of bytes (bytes hashing is randomised per process).

Values: ``bytes`` for strings (integers are stored as their decimal text), ``Hash`` (field ->
value), ``List`` (deque), ``Set`` (member -> None, a dict so the order is deterministic),
``ZSet`` (a sorted set, ``server.sortedset``).  The family modules of ``server.commands``
may register further types with ``register_value_type`` so snapshots and TYPE know them.

Expiry: ``Database.expires`` maps a key to its absolute expiry in ms; a key is expired when
``now_ms > when`` (Redis's ``keyIsExpired``).  Reads treat an expired key as absent without
deleting it (a read must not change state).  A write that touches an expired key deletes it
first (deterministic: every node sees the same ``now_ms`` in the entry).  The leader finds
expired keys with ``Keyspace.expired_sample`` and proposes ``RAFTIS.EXPIRE``, which deletes
the keys that are still expired at that entry's time.

Versions (for WATCH): ``Database.versions[key]`` is the log index of the last change to the
key (write, delete, expiry-delete).  To keep memory flat only the most recent changes are
kept: every key missing from ``versions`` last changed at or before ``version_floor``.  So
"has key K changed since index I?" is ``versions.get(K, version_floor) > I``; a transaction
that watched a key long ago may abort when it did not need to, never the reverse.
FLUSHDB/FLUSHALL/SWAPDB change every key at once: they clear ``versions`` and raise the floor.
"""

from __future__ import annotations

import hashlib
import heapq
import struct
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import msgspec

from server.sortedset import ZSet

__all__ = [
    "NUM_DATABASES",
    "Database",
    "Hash",
    "Keyspace",
    "List",
    "Set",
    "copy_value",
    "register_value_type",
    "type_name",
]

NUM_DATABASES = 16
_EXPIRED = 1 << 8  # server.notify.EXPIRED (imported there from here would be a cycle)
VERSIONS_KEPT = 65536  # recent per-key versions kept per database (see module docstring)


class Hash(dict):
    """A hash value: field -> value, in insertion order."""

    __slots__ = ()


class Set(dict):
    """A set value: member -> None.  A dict, not a ``set``, so iteration order (SMEMBERS,
    SPOP, SRANDMEMBER) is the same on every node."""

    __slots__ = ()


class List(deque):
    """A list value."""

    __slots__ = ()


class _ValueType:
    __slots__ = ("cls", "name", "tag", "dump", "load", "copy")

    def __init__(
        self,
        cls: type,
        name: bytes,
        tag: int,
        dump: Callable[[Any], Any],
        load: Callable[[Any], Any],
        copy: Callable[[Any], Any],
    ):
        self.cls = cls
        self.name = name
        self.tag = tag
        self.dump = dump
        self.load = load
        self.copy = copy


_TYPES_BY_CLASS: dict[type, _ValueType] = {}
_TYPES_BY_TAG: dict[int, _ValueType] = {}


def register_value_type(
    cls: type,
    name: bytes,
    tag: int,
    dump: Callable[[Any], Any],
    load: Callable[[Any], Any],
    copy: Callable[[Any], Any] | None = None,
) -> None:
    """Make a value class known to TYPE (``name``), to snapshots (``tag`` is its stable
    number in the format; ``dump`` turns a value into msgpack-able data, ``load`` back) and to
    COPY (``copy``: a deep enough copy; default ``cls(value)``)."""
    if tag in _TYPES_BY_TAG and _TYPES_BY_TAG[tag].cls is not cls:
        raise ValueError(f"snapshot tag {tag} already used by {_TYPES_BY_TAG[tag].cls.__name__}")
    vt = _ValueType(cls, name, tag, dump, load, copy or cls)
    _TYPES_BY_CLASS[cls] = vt
    _TYPES_BY_TAG[tag] = vt


def _flatten(d: dict) -> list:
    out: list = []
    for k, v in d.items():
        out.append(k)
        out.append(v)
    return out


def _hash_load(flat: list) -> Hash:
    it = iter(flat)
    return Hash(zip(it, it, strict=True))


_STRING_TAG = 0
register_value_type(bytes, b"string", _STRING_TAG, lambda v: v, bytes, lambda v: v)
register_value_type(Hash, b"hash", 1, _flatten, _hash_load)
register_value_type(List, b"list", 2, list, List)
register_value_type(Set, b"set", 3, list, Set.fromkeys)
register_value_type(ZSet, b"zset", 4, ZSet.dump, ZSet.load, ZSet.copy)


def type_name(value: object) -> bytes:
    """TYPE's answer for a stored value."""
    return _TYPES_BY_CLASS[type(value)].name


def copy_value(value: Any) -> Any:
    """An independent copy of a stored value (COPY)."""
    return _TYPES_BY_CLASS[type(value)].copy(value)


class Database:
    """One numbered database.  ``data`` and ``expires`` are read directly by the hot handlers;
    everything that must also keep versions or the expiry index goes through the methods."""

    __slots__ = ("index", "data", "expires", "versions", "version_floor", "_expiry_heap", "touched", "flushed",
                 "notify")

    def __init__(self, index: int) -> None:
        self.index = index
        self.data: dict[bytes, Any] = {}
        self.expires: dict[bytes, int] = {}  # key -> absolute ms; every key here is in data
        self.versions: dict[bytes, int] = {}
        self.version_floor = 0
        # Built on demand by expired_sample (only the leader asks), then kept up to date.
        self._expiry_heap: list[tuple[int, bytes]] | None = None
        # Told of every change while clients track keys (server.tracking): a key changed, or
        # every key may have (FLUSHDB, SWAPDB).
        self.touched: Callable[[bytes], None] | None = None
        self.flushed: Callable[[], None] | None = None
        # Keyspace notifications (server.notify.Notifier) or None: a write reclaiming an
        # expired key announces it ("expired"), as Redis's expireIfNeeded does.
        self.notify: Callable[[int, bytes, bytes, int], None] | None = None

    def __len__(self) -> int:
        return len(self.data)

    # --- reads (never change anything) -----------------------------------------------------
    def get(self, key: bytes, now_ms: int) -> Any:
        """The live value of ``key`` or ``None`` (absent or expired)."""
        v = self.data.get(key)
        if v is not None and self.expires:
            when = self.expires.get(key)
            if when is not None and now_ms > when:
                return None
        return v

    def exists(self, key: bytes, now_ms: int) -> bool:
        return self.get(key, now_ms) is not None

    def is_expired(self, key: bytes, now_ms: int) -> bool:
        when = self.expires.get(key)
        return when is not None and now_ms > when

    def ttl_ms(self, key: bytes, now_ms: int) -> int | None:
        """Remaining ms (clamped at 0) or ``None`` when the key has no expiry."""
        when = self.expires.get(key)
        if when is None:
            return None
        return max(when - now_ms, 0)

    def live_keys(self, now_ms: int) -> Iterable[bytes]:
        expires = self.expires
        if not expires:
            return iter(self.data)
        return (k for k in self.data if not (k in expires and now_ms > expires[k]))

    def live_count(self, now_ms: int) -> int:
        """DBSIZE.  Redis counts keys not yet reclaimed; we count only live keys, which is
        what Redis reports once its active expiry has run."""
        expires = self.expires
        if not expires:
            return len(self.data)
        expired = sum(1 for w in expires.values() if now_ms > w)
        return len(self.data) - expired

    def version(self, key: bytes) -> int:
        """Log index of the last change to ``key`` (an upper bound when not tracked)."""
        return self.versions.get(key, self.version_floor)

    def changed_since(self, key: bytes, index: int) -> bool:
        """WATCH's question at EXEC time: may ``key`` have changed after log ``index``?
        (True can be a false alarm for a key watched long ago, never a missed change.)"""
        return self.versions.get(key, self.version_floor) > index

    # --- writes (apply time only) ----------------------------------------------------------
    def get_for_write(self, key: bytes, now_ms: int, index: int) -> Any:
        """Like ``get`` but deletes ``key`` first when it has expired."""
        v = self.data.get(key)
        if v is not None and self.expires:
            when = self.expires.get(key)
            if when is not None and now_ms > when:
                self.delete(key, index)
                if self.notify is not None:
                    self.notify(_EXPIRED, b"expired", key, self.index)
                return None
        return v

    def bump(self, key: bytes, index: int) -> None:
        """Record that ``key`` changed at log ``index``."""
        versions = self.versions
        versions[key] = index
        if len(versions) > 2 * VERSIONS_KEPT:
            self._trim_versions()
        if self.touched is not None:
            self.touched(key)

    def _trim_versions(self) -> None:
        ordered = sorted(self.versions.values())
        cut = ordered[len(ordered) - VERSIONS_KEPT - 1]
        self.version_floor = max(self.version_floor, cut)
        self.versions = {k: v for k, v in self.versions.items() if v > cut}

    def set(self, key: bytes, value: Any, index: int) -> None:
        """Store ``value`` and drop any expiry (SET semantics)."""
        self.data[key] = value
        if self.expires:
            self.expires.pop(key, None)
        self.bump(key, index)

    def set_keep_ttl(self, key: bytes, value: Any, index: int) -> None:
        self.data[key] = value
        self.bump(key, index)

    def delete(self, key: bytes, index: int) -> bool:
        if self.data.pop(key, None) is None:
            return False
        if self.expires:
            self.expires.pop(key, None)
        self.bump(key, index)
        return True

    def set_expire(self, key: bytes, when_ms: int, index: int) -> None:
        self.expires[key] = when_ms
        heap = self._expiry_heap
        if heap is not None:
            heapq.heappush(heap, (when_ms, key))
        self.bump(key, index)

    def persist(self, key: bytes, index: int) -> bool:
        if self.expires.pop(key, None) is None:
            return False
        self.bump(key, index)
        return True

    def clear(self, index: int, tell: bool = True) -> None:
        """FLUSHDB. As in Redis, the keys that existed change (a WATCH on them aborts); a
        watched key that did not exist is untouched."""
        self._changed_all(self.data, index)
        self.data = {}
        self.expires = {}
        self._expiry_heap = None
        if tell and self.flushed is not None:
            self.flushed()

    def _changed_all(self, keys: dict[bytes, Any], index: int) -> None:
        if len(keys) + len(self.versions) <= VERSIONS_KEPT:
            versions = self.versions
            for k in keys:
                versions[k] = index
        else:  # too many to track one by one: every key counts as changed (never misses one)
            self.versions = {}
            self.version_floor = index

    def take_contents(self, other: Database, index: int) -> None:
        """Swap contents with ``other`` (SWAPDB); every key that exists in either changes at
        ``index`` (in both databases, as Redis touches watched keys of both)."""
        for db in (self, other):
            db._changed_all(self.data, index)
            db._changed_all(other.data, index)
        self.data, other.data = other.data, self.data
        self.expires, other.expires = other.expires, self.expires
        for db in (self, other):
            db._expiry_heap = None
        if self.flushed is not None:
            self.flushed()

    # --- expiry index (leader side) ----------------------------------------------------------
    def expired_keys(self, now_ms: int, limit: int) -> list[bytes]:
        heap = self._expiry_heap
        expires = self.expires
        if heap is None or len(heap) > 2 * len(expires) + 1024:
            heap = [(w, k) for k, w in expires.items()]
            heapq.heapify(heap)
            self._expiry_heap = heap
        out: list[bytes] = []
        while heap and len(out) < limit and now_ms > heap[0][0]:
            when, key = heapq.heappop(heap)
            if expires.get(key) == when:
                out.append(key)
        return out


class SnapshotReader(Protocol):
    def read(self, n: int, /) -> bytes: ...


class SnapshotWriter(Protocol):
    def write(self, data: bytes, /) -> Any: ...


_MAGIC = b"RAFTISKS\x01"
_FRAME = struct.Struct(">I")
_CHUNK_KEYS = 1024
_END = 0
_DB = 1
_KEYS = 2
_SCRIPTS = 3  # the Lua script cache (after the databases; older snapshots have none)
_FUNCTIONS = 4  # function libraries (FUNCTION LOAD), likewise


class Keyspace:
    """All databases, plus snapshotting.  Command handlers work on ``Database`` objects through
    an ``ExecContext``; this class holds what spans databases."""

    __slots__ = ("dbs", "scripts", "functions", "time_ms")

    def __init__(self, databases: int = NUM_DATABASES) -> None:
        self.dbs = [Database(i) for i in range(databases)]
        # The time (ms) of the newest entry applied: the log's clock, which never goes back
        # (a new entry's time is at least this). Snapshots carry it, so a node restarted
        # from one, or that installs one, never stamps an entry earlier than what it holds.
        self.time_ms = 0
        # Lua scripts by SHA1 (hex): EVAL and SCRIPT LOAD add, SCRIPT FLUSH empties. Replicated
        # state like the data, so EVALSHA finds the same scripts on every node.
        self.scripts: dict[bytes, bytes] = {}
        # Function libraries (FUNCTION LOAD), replicated likewise: name -> (code, functions),
        # each function (name, flags, description) (server/commands/functions.py).
        self.functions: dict[bytes, tuple[bytes, list[tuple[bytes, tuple[str, ...], bytes | None]]]] = {}

    def __len__(self) -> int:
        return sum(len(db.data) for db in self.dbs)

    def expired_sample(self, now_ms: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` keys expired at ``now_ms`` (earliest expiry first), for the leader to
        propose ``RAFTIS.EXPIRE``.  A key is returned once; if that proposal is lost the key
        stays logically absent and is found again after the index is rebuilt."""
        out: list[tuple[int, bytes]] = []
        for db in self.dbs:
            if db.expires and len(out) < limit:
                out.extend((db.index, k) for k in db.expired_keys(now_ms, limit - len(out)))
        return out

    def stats(self) -> list[tuple[int, int, int]]:
        """(db index, keys, keys with an expiry) for each non-empty database: INFO keyspace."""
        return [(db.index, len(db.data), len(db.expires)) for db in self.dbs if db.data]

    def flush_all(self, index: int) -> None:
        for db in self.dbs:
            db.clear(index, tell=False)
        tell = self.dbs[0].flushed
        if tell is not None:
            tell()

    # --- snapshots -----------------------------------------------------------------------------
    def snapshot_to(self, writer: SnapshotWriter) -> None:
        """Stream every database to ``writer.write``: a magic header, then length-prefixed
        msgpack frames of at most ``_CHUNK_KEYS`` keys, then an end frame.  Needs no threads
        and keeps memory bounded, so a forked child can run it."""
        enc = msgspec.msgpack.Encoder()
        write = writer.write
        write(_MAGIC)

        def frame(obj: object) -> None:
            payload = enc.encode(obj)
            write(_FRAME.pack(len(payload)))
            write(payload)

        types = _TYPES_BY_CLASS
        for db in self.dbs:
            if db.index == 0:
                # Always written for db 0, with the log's clock last (older readers ignore it).
                frame((_DB, 0, db.version_floor, list(db.versions.items()), self.time_ms))
            elif not db.data and not db.versions and not db.version_floor:
                continue
            else:
                frame((_DB, db.index, db.version_floor, list(db.versions.items())))
            expires = db.expires
            chunk: list = []
            for key, value in db.data.items():
                vt = types[type(value)]
                chunk.append((key, vt.tag, vt.dump(value), expires.get(key)))
                if len(chunk) >= _CHUNK_KEYS:
                    frame((_KEYS, db.index, chunk))
                    chunk = []
            if chunk:
                frame((_KEYS, db.index, chunk))
        if self.scripts:
            frame((_SCRIPTS, sorted(self.scripts.values())))
        if self.functions:
            frame((_FUNCTIONS, [(name, code, [list(f) for f in fns]) for name, (code, fns) in self.functions.items()]))
        frame((_END,))

    def restore_from(self, reader: SnapshotReader) -> None:
        """Replace the whole keyspace with a snapshot written by ``snapshot_to``."""
        magic = _read_exact(reader, len(_MAGIC))
        if magic != _MAGIC:
            raise ValueError("not a Raftis keyspace snapshot (bad magic)")
        dec = msgspec.msgpack.Decoder()
        # Built aside and swapped in at the end, into the existing Database objects (contexts
        # hold references to them), so a bad snapshot leaves the keyspace untouched.
        fresh = [Database(i) for i in range(len(self.dbs))]
        scripts: dict[bytes, bytes] = {}
        functions: dict = {}
        time_ms = 0
        tags = _TYPES_BY_TAG
        while True:
            (size,) = _FRAME.unpack(_read_exact(reader, _FRAME.size))
            rec = dec.decode(_read_exact(reader, size))
            kind = rec[0]
            if kind == _END:
                break
            if kind == _SCRIPTS:
                scripts = {hashlib.sha1(body).hexdigest().encode(): body for body in rec[1]}
                continue
            if kind == _FUNCTIONS:
                functions = {name: (code, [(f[0], tuple(f[1]), f[2]) for f in fns]) for name, code, fns in rec[1]}
                continue
            db = fresh[rec[1]]
            if kind == _DB:
                db.version_floor = rec[2]
                db.versions = {k: v for k, v in rec[3]}
                if len(rec) > 4:
                    time_ms = rec[4]
            elif kind == _KEYS:
                data = db.data
                expires = db.expires
                for key, tag, payload, when in rec[2]:
                    # A string's payload is the value itself (msgpack gives bytes): no call per
                    # key, a third of the time restoring a million small strings takes.
                    data[key] = payload if tag == _STRING_TAG else tags[tag].load(payload)
                    if when is not None:
                        expires[key] = when
            else:
                raise ValueError(f"unknown snapshot frame kind {kind}")
        for db, new in zip(self.dbs, fresh, strict=True):
            db.data = new.data
            db.expires = new.expires
            db.versions = new.versions
            db.version_floor = new.version_floor
            db._expiry_heap = None
        self.scripts = scripts
        self.functions = functions
        self.time_ms = time_ms


def _read_exact(reader: SnapshotReader, n: int) -> bytes:
    data = reader.read(n)
    if len(data) == n:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        more = reader.read(n - got)
        if not more:
            raise ValueError("truncated keyspace snapshot")
        parts.append(more)
        got += len(more)
    return b"".join(parts)
