"""Cursor iteration for SCAN, HSCAN (and later SSCAN/ZSCAN).

Redis walks its hash table with a reverse-binary cursor.  A Python dict has no stable
position, so a scan takes a snapshot of the container's keys (a list of references, 8 bytes a
key) when it starts at cursor 0, and the cursor is ``generation << 32 | position`` in that
snapshot.  Every element present for the whole scan is returned exactly once (stronger than
Redis, which may repeat); elements added meanwhile may be missed; each candidate is checked
against the live container when it is returned.

The snapshots are per node and not replicated: they are read-side state, like Redis's
cursor being meaningful only to the server that issued it.  The newest ``_KEEP`` scans are
kept; a cursor from an evicted scan (or another node) restarts from that position in the
current order, which can miss or repeat elements but never fails.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from resp.types import ErrorReply
from server import errors
from server.commands.arguments import parse_int

__all__ = ["parse_cursor", "parse_scan_options", "scan_step"]

_KEEP = 16
_snapshots: OrderedDict[int, list] = OrderedDict()
_next_generation = 1
_U64 = 2**64


def parse_cursor(arg: bytes, err: ErrorReply = errors.INVALID_CURSOR) -> int:
    """``parseScanCursorOrReply``: strtoul rules (optional sign, a negative wraps around)."""
    body = arg[1:] if arg[:1] in (b"+", b"-") else arg
    if not body or not body.isdigit() or len(body) > 20:
        raise err
    v = int(body)
    if v >= _U64:
        raise err
    return (-v) % _U64 if arg[:1] == b"-" else v


def scan_step(container: dict, cursor: int, count: int) -> tuple[int, Iterable]:
    """Examine up to ``count`` keys of ``container`` from ``cursor``; returns the next cursor
    (0 when done) and the candidate keys (the caller filters liveness/MATCH/TYPE)."""
    global _next_generation
    if cursor == 0:
        if len(container) <= count:
            return 0, list(container)
        generation = _next_generation
        _next_generation = _next_generation % (2**32 - 1) + 1
        keys = list(container)
        _snapshots[generation] = keys
        while len(_snapshots) > _KEEP:
            _snapshots.popitem(last=False)
        pos = 0
    else:
        generation, pos = cursor >> 32, cursor & 0xFFFFFFFF
        keys = _snapshots.get(generation)
        if keys is None:
            keys = list(container)
            _snapshots[generation] = keys
            while len(_snapshots) > _KEEP:
                _snapshots.popitem(last=False)
        else:
            _snapshots.move_to_end(generation)
    end = pos + count
    batch = [k for k in keys[pos:end] if k in container]
    if end >= len(keys):
        _snapshots.pop(generation, None)
        return 0, batch
    return (generation << 32) | end, batch


def parse_scan_options(
    argv: list[bytes], start: int, allow_type: bool
) -> tuple[int, bytes | None, bytes | None]:
    """``scanGenericCommand``'s option loop: (count, pattern or None, type name or None)."""
    count = 10
    pattern = None
    type_filter = None
    i = start
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        more = n - i >= 2
        if opt == b"count" and more:
            count = parse_int(argv[i + 1])
            if count < 1:
                raise errors.SYNTAX
            i += 2
        elif opt == b"match" and more:
            pattern = argv[i + 1]
            if pattern == b"*":
                pattern = None
            i += 2
        elif opt == b"type" and allow_type and more:
            type_filter = argv[i + 1].lower()
            i += 2
        else:
            raise errors.SYNTAX
    return count, pattern, type_filter
