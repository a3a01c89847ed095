"""Access to a key holding a container value (list, set, sorted set), shared by the families.

A handler reads with ``read_typed`` (absent or expired -> None, another type -> WRONGTYPE),
takes a value to change with ``write_typed`` (an expired key is deleted first), and records
the change with ``changed`` (bumps the key's version; an emptied container is deleted).
"""

from __future__ import annotations

from typing import Any

from server import errors
from server.commands.context import ExecContext


def read_typed(ctx: ExecContext, key: bytes, cls: type) -> Any:
    v = ctx.db.get(key, ctx.now_ms)
    if v is None or type(v) is cls:
        return v
    raise errors.WRONGTYPE


def write_typed(ctx: ExecContext, key: bytes, cls: type) -> Any:
    v = ctx.db.get_for_write(key, ctx.now_ms, ctx.index)
    if v is None or type(v) is cls:
        return v
    raise errors.WRONGTYPE


def changed(ctx: ExecContext, key: bytes, value: Any) -> None:
    if value:
        ctx.db.bump(key, ctx.index)
    else:
        ctx.db.delete(key, ctx.index)
