"""Access to a key holding a container value (list, set, sorted set), shared by the families.

A handler reads with ``read_typed`` (absent or expired -> None, another type -> WRONGTYPE),
takes a value to change with ``write_typed`` (an expired key is deleted first), and records
the change with ``changed`` (bumps the key's version; an emptied container is deleted).

Keyspace notifications (server.notify): ``changed`` announces ``event`` of class ``flag``
and then, as Redis does, ``del`` when the container was emptied; ``created`` announces a
key the command has just added (``new``, before the command's own event).
"""

from __future__ import annotations

from typing import Any

from server import errors
from server.commands.context import ExecContext, lookup_read
from server.notify import GENERIC, NEW


def read_typed(ctx: ExecContext, key: bytes, cls: type) -> Any:
    v = lookup_read(ctx, key)
    if v is None or type(v) is cls:
        return v
    raise errors.WRONGTYPE


def write_typed(ctx: ExecContext, key: bytes, cls: type) -> Any:
    v = ctx.db.get_for_write(key, ctx.now_ms, ctx.index)
    if v is None or type(v) is cls:
        return v
    raise errors.WRONGTYPE


def changed(ctx: ExecContext, key: bytes, value: Any, flag: int = 0, event: bytes = b"") -> None:
    if value:
        ctx.db.bump(key, ctx.index)
    else:
        ctx.db.delete(key, ctx.index)
    notify = ctx.notify
    if notify is not None and flag:
        notify(flag, event, key, ctx.db_index)
        if not value:
            notify(GENERIC, b"del", key, ctx.db_index)


def created(ctx: ExecContext, key: bytes, flag: int, event: bytes) -> None:
    """Announce a key the command created and its event (only while ``ctx.notify`` is set)."""
    notify = ctx.notify
    notify(NEW, b"new", key, ctx.db_index)
    notify(flag, event, key, ctx.db_index)
