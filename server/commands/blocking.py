"""``Blocked``: what a blocking command's handler returns when it cannot be served yet.

A blocking command (BZPOPMIN, BLPOP, ...) is a WRITE: at apply time it either serves at once
and returns its normal reply, or returns ``Blocked(keys, timeout_ms)`` so the node parks the
client until one of ``keys`` changes or ``timeout_ms`` (relative; 0 = forever) runs out.
Inside MULTI/EXEC a handler never blocks: it gives the timed-out reply instead.
"""

from __future__ import annotations

__all__ = ["Blocked"]


class Blocked:
    __slots__ = ("keys", "timeout_ms")

    def __init__(self, keys: list[bytes], timeout_ms: int) -> None:
        self.keys = keys
        self.timeout_ms = timeout_ms

    def __eq__(self, other: object) -> bool:
        return type(other) is Blocked and other.keys == self.keys and other.timeout_ms == self.timeout_ms

    def __repr__(self) -> str:
        return f"Blocked({self.keys!r}, {self.timeout_ms!r})"
