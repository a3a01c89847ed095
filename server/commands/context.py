"""``ExecContext``: everything a READ or WRITE handler may look at besides its arguments.

One context is reused for every command (set the fields, call the handler), so running a
command allocates nothing for it.  For a WRITE being applied: ``index`` is the log index,
``now_ms`` the leader's timestamp carried in the entry, and ``rng`` is seeded from the index
on first use (seeding costs microseconds, and most writes never draw a random number).  For a
READ: ``index`` is 0, ``readonly`` is True, ``now_ms`` is the serving node's clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from server.keyspace import Database, Keyspace
from server.notify import KEY_MISS

__all__ = ["ExecContext", "counted", "lookup_read", "missed"]


class ExecContext:
    __slots__ = (
        "keyspace",
        "db",
        "db_index",
        "now_ms",
        "index",
        "readonly",
        "_rng",
        "rng_seed",
        "_rng_seeded",
        "in_exec",
        "publish",
        "spublish",
        "notify",
        "monitor",
        "checkpoint",
        "counting",
        "hits",
        "misses",
    )

    def __init__(
        self, keyspace: Keyspace, *, readonly: bool = False, rng: random.Random | None = None
    ) -> None:
        self.keyspace = keyspace
        self.db_index = 0
        self.db: Database = keyspace.dbs[0]
        self.now_ms = 0
        self.index = 0
        self.readonly = readonly
        self._rng = rng if rng is not None else random.Random(0)
        # None: use the generator as it is (reads); an int: seed with it before first use. A
        # log entry that carries several commands gives each its own seed, set here directly
        # (``(index << 20) | position``).
        self.rng_seed: int | None = None
        self._rng_seeded: int | None = None
        self.in_exec = False  # inside MULTI/EXEC: blocking commands answer at once
        # PUBLISH's delivery to this node's subscribers (returns how many got it); None
        # where there are no subscribers to deliver to.
        self.publish: Callable[[bytes, bytes], int] | None = None
        self.spublish: Callable[[bytes, bytes], int] | None = None  # SPUBLISH's, likewise
        # Keyspace notifications (server.notify.Notifier): ``notify(flag, event, key, db)``
        # after a change; None while notify-keyspace-events is empty, so a handler checks
        # ``if ctx.notify is not None`` and pays nothing more when they are off.
        self.notify: Callable[[int, bytes, bytes, int], None] | None = None
        # server.monitor.Monitors while a client of this node monitors it (scripts note the
        # commands they run for it), else None.
        self.monitor: Any = None
        # RAFTIS.DIGEST's hook (server.checks): ``checkpoint(token, index, deadline_ms)`` as the entry is
        # applied; None where nothing keeps digests (tests' executors).
        self.checkpoint = None
        # INFO's keyspace_hits and keyspace_misses: what ``lookup_read`` found while
        # ``counting`` (a read this node serves, or a write it applies for its own client;
        # not a write applied from the log on behalf of another node's client).
        self.counting = False
        self.hits = 0
        self.misses = 0

    def select(self, db_index: int) -> None:
        self.db_index = db_index
        self.db = self.keyspace.dbs[db_index]

    def for_write(self, index: int, now_ms: int, db_index: int) -> ExecContext:
        """Prepare to apply the log entry at ``index``."""
        self.index = index
        self.now_ms = now_ms
        self.readonly = False
        self.rng_seed = index
        if db_index != self.db_index or self.db is not self.keyspace.dbs[db_index]:
            self.select(db_index)
        return self

    def for_read(self, now_ms: int, db_index: int) -> ExecContext:
        """Prepare to run a read on local state."""
        self.index = 0
        self.now_ms = now_ms
        self.readonly = True
        self.counting = True
        self.rng_seed = None
        if db_index != self.db_index or self.db is not self.keyspace.dbs[db_index]:
            self.select(db_index)
        return self

    @property
    def rng(self) -> random.Random:
        seed = self.rng_seed
        if seed is not None and self._rng_seeded != seed:
            self._rng.seed(seed)
            self._rng_seeded = seed
        return self._rng

    @rng.setter
    def rng(self, value: random.Random) -> None:
        """Set a generator the caller has already seeded."""
        self._rng = value
        self.rng_seed = None
        self._rng_seeded = None


def lookup_read(ctx: ExecContext, key: bytes) -> Any:
    """Redis's ``lookupKeyRead``: the live value of ``key`` in the context's database (None
    when absent), counted as a keyspace hit or miss, a miss announced as ``keymiss``. For the
    lookups Redis makes to read a key, by reads and by the writes that read one (SET ... GET,
    GETDEL, COPY's source); a write's own lookups (``get_for_write``) are not counted."""
    v = ctx.db.get(key, ctx.now_ms)
    if ctx.counting:
        if v is None:
            missed(ctx, key)
        else:
            ctx.hits += 1
    return v


def counted(ctx: ExecContext, key: bytes, v: Any, announce: bool = True) -> Any:
    """Count ``v``, what a lookup of ``key`` found by other means, as ``lookup_read`` would
    (without the ``keymiss`` event if not ``announce``, as for Redis's OBJECT)."""
    if ctx.counting:
        if v is not None:
            ctx.hits += 1
        elif announce:
            missed(ctx, key)
        else:
            ctx.misses += 1
    return v


def missed(ctx: ExecContext, key: bytes) -> None:
    """A counted lookup found no ``key`` (call only while ``ctx.counting``)."""
    ctx.misses += 1
    if ctx.notify is not None:
        ctx.notify(KEY_MISS, b"keymiss", key, ctx.db_index)
