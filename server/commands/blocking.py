"""Blocking list commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) in a replicated keyspace.

A blocking command is a WRITE: its argv goes through the log like any other.  At apply time
the handler either serves it at once, exactly as the non-blocking form would (BLPOP replies
``[key, value]``), or, when every key it waits on is empty, returns ``Blocked``.  The node,
not the handler, then parks the client, re-proposes the same argv when one of
``Blocked.keys`` changes, and answers a null array when ``timeout_ms`` runs out.  Handlers
therefore never wait and never look at a clock other than the entry's ``now_ms``.

Inside MULTI/EXEC Redis never blocks (``CLIENT_DENY_BLOCKING``): when the context carries
``in_exec`` set, the handlers answer what a timeout would (null array, or null bulk for
BLMOVE/BRPOPLPUSH) instead of returning ``Blocked``.

``BLOCKING_COMMANDS`` tells the node which argv positions of each blocking command are the
keys to watch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from resp.types import ErrorReply
from server.commands.arguments import LLONG_MAX, _round_ld, parse_long_double

__all__ = ["BLOCKING_COMMANDS", "Blocked", "blocked_keys", "in_exec", "parse_timeout"]


@dataclass(frozen=True, slots=True)
class Blocked:
    """A blocking command found nothing to serve.  ``keys`` are the keys to wait on, in the
    command's order; ``timeout_ms`` is relative to the entry's time, 0 meaning forever."""

    keys: tuple[bytes, ...]
    timeout_ms: int
    # The command to propose again when a key changes, when it is not the one that blocked:
    # XREAD's ``$`` becomes the stream's last ID at the time it blocked.
    argv: list[bytes] | None = None


TIMEOUT_NOT_FLOAT = ErrorReply("ERR timeout is not a float or out of range")
TIMEOUT_NEGATIVE = ErrorReply("ERR timeout is negative")


def parse_timeout(arg: bytes) -> int:
    """``getTimeoutFromObjectOrReply(..., UNIT_SECONDS)``: seconds as a long double, times
    1000 in long double, truncated to a C ``long long``.  Like Redis on x86-64, a product out
    of the ``long long`` range (or infinite) converts to LLONG_MIN and so reads as negative,
    and a timeout below a millisecond truncates to 0 (forever).  Returns milliseconds."""
    seconds = parse_long_double(arg, TIMEOUT_NOT_FLOAT)
    if isinstance(seconds, float):  # +/-inf
        raise TIMEOUT_NEGATIVE
    product = _round_ld(seconds * 1000)
    if isinstance(product, float):
        raise TIMEOUT_NEGATIVE
    ms = int(product)  # truncates toward zero, like the C cast
    if ms < 0 or ms > LLONG_MAX:
        raise TIMEOUT_NEGATIVE
    return ms


def in_exec(ctx: object) -> bool:
    """True when the command runs inside MULTI/EXEC, where nothing may block."""
    return getattr(ctx, "in_exec", False)


def _from_first_to_second_last(argv: list[bytes]) -> list[int]:
    return list(range(1, len(argv) - 1))


def _source_only(argv: list[bytes]) -> list[int]:
    return [1]


def _blmpop_keys(argv: list[bytes]) -> list[int]:
    # BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT n]; argv was validated by the
    # handler before it returned Blocked, so numkeys is a sane integer here.
    numkeys = int(argv[2])
    return list(range(3, 3 + numkeys))


# Command name -> a function giving the argv positions of the keys the command waits on.
# BLMOVE and BRPOPLPUSH wait on their source only: the destination need not exist.
BLOCKING_COMMANDS: dict[bytes, Callable[[list[bytes]], list[int]]] = {
    b"blpop": _from_first_to_second_last,
    b"brpop": _from_first_to_second_last,
    b"blmove": _source_only,
    b"brpoplpush": _source_only,
    b"blmpop": _blmpop_keys,
}


def blocked_keys(argv: list[bytes]) -> list[bytes]:
    """The keys a (valid) blocking command waits on."""
    positions = BLOCKING_COMMANDS[argv[0].lower()](argv)
    return [argv[i] for i in positions]
