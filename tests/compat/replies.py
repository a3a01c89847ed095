"""Raw RESP2/RESP3 replies for differential tests: split a byte stream into whole replies
(kept byte for byte), decode a reply into a tagged tree, and compare two replies the way a
step's mode asks.

A decoded reply is ``Reply(kind, value, raw)``: ``kind`` is the RESP type byte as a one-char
str (``"+"``, ``"*"``, ``"%"``, ...), ``value`` the payload (bytes for strings, int, a list of
``Reply`` for aggregates, ``None`` for nulls), ``raw`` the exact bytes.

Modes (what a step's reply is compared by):

- ``exact``: byte for byte.
- ``unordered``: Redis leaves the order unspecified (SMEMBERS, KEYS, HKEYS, ...): same type,
  same elements in any order.
- ``pairs``: a flat field/value array or a map (HGETALL): the same pairs in any order.
- ``shape``: random results (SRANDMEMBER, SPOP, RANDOMKEY, HRANDFIELD): same type, and the
  same length for arrays.
- ``ttl`` / ``pttl``: a remaining time: exact when negative, else within a tolerance.
- ``abstime`` / ``pabstime``: EXPIRETIME/PEXPIRETIME: exact when negative, else within a tolerance.
- ``skip``: only the type is compared (HELLO: server name, version and client id differ).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_LINE = frozenset("+-:_,#(")
_BULK = frozenset("$!=")
_AGG = frozenset("*~>")
_MAP = frozenset("%|")


@dataclass(slots=True)
class Reply:
    kind: str
    value: Any
    raw: bytes


class Incomplete(Exception):
    pass


def _line(buf: bytes, pos: int) -> tuple[bytes, int]:
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise Incomplete
    return buf[pos:end], end + 2


def parse(buf: bytes, pos: int = 0) -> tuple[Reply, int]:
    """One reply starting at ``pos``; raises ``Incomplete`` when more bytes are needed."""
    if pos >= len(buf):
        raise Incomplete
    kind = chr(buf[pos])
    head, p = _line(buf, pos + 1)
    if kind in _LINE:
        if kind == ":":
            value: Any = int(head)
        elif kind == "_":
            value = None
        else:
            value = head
        return Reply(kind, value, buf[pos:p]), p
    if kind in _BULK:
        n = int(head)
        if n < 0:
            return Reply(kind, None, buf[pos:p]), p
        if len(buf) < p + n + 2:
            raise Incomplete
        return Reply(kind, buf[p : p + n], buf[pos : p + n + 2]), p + n + 2
    if kind in _AGG or kind in _MAP:
        n = int(head)
        if n < 0:
            return Reply(kind, None, buf[pos:p]), p
        items = []
        for _ in range(n * 2 if kind in _MAP else n):
            item, p = parse(buf, p)
            items.append(item)
        return Reply(kind, items, buf[pos:p]), p
    raise ValueError(f"not a RESP reply: {buf[pos:pos + 40]!r}")


def split(buf: bytes) -> tuple[list[Reply], bytes]:
    """Whole replies at the front of ``buf``, and what is left over."""
    out = []
    pos = 0
    while pos < len(buf):
        try:
            r, pos2 = parse(buf, pos)
        except Incomplete:
            break
        out.append(r)
        pos = pos2
    return out, buf[pos:]


def _key(r: Reply) -> bytes:
    return r.raw


def _canonical(r: Reply) -> Any:
    """An order-free form of an aggregate: its type and its sorted elements."""
    if r.value is None or not isinstance(r.value, list):
        return r.raw
    return (r.kind, tuple(sorted(_key(i) for i in r.value)))


def _pairs(r: Reply) -> Any:
    if not isinstance(r.value, list):
        return r.raw
    items = r.value
    pairs = sorted((items[i].raw, items[i + 1].raw) for i in range(0, len(items) - 1, 2))
    return (r.kind, len(items), tuple(pairs))


_TOLERANCE = {"ttl": 2, "pttl": 2000, "abstime": 2, "pabstime": 2000}
_NEAR_MS = 2000
_TIME_LABELS = (b"idle", b"seen-time")


def _near(a: Reply, b: Reply, loose: bool = False) -> bool:
    """Equal but for the times streams report: absolute times in ms (from 10**12 on), and
    idle times (after an "idle" label, or the third element of an XPENDING entry), may differ
    by up to two seconds (the servers read their clocks at different moments)."""
    if a.raw == b.raw:
        return True
    if a.kind != b.kind:
        return False
    if isinstance(a.value, list) and isinstance(b.value, list):
        if len(a.value) != len(b.value):
            return False
        items = a.value
        pending_entry = len(items) == 4 and items[0].kind == "$" and items[2].kind == ":"
        for i, (x, y) in enumerate(zip(items, b.value, strict=True)):
            label = items[i - 1].value if i else None
            if not _near(x, y, label in _TIME_LABELS or (pending_entry and i == 2)):
                return False
        return True
    if a.kind == ":" and isinstance(a.value, int) and isinstance(b.value, int):
        if loose or min(a.value, b.value) >= 10**12:
            return abs(a.value - b.value) <= _NEAR_MS
    return False


def same(mode: Any, a: Reply, b: Reply) -> bool:
    """Whether ``a`` (the reference) and ``b`` agree under ``mode``.  ``mode`` may also be a
    tuple ``("exec", [mode, ...])``: an EXEC reply compared element by element."""
    if a.raw == b.raw:
        return True
    if a.kind != b.kind or a.kind == "-":
        return False
    if isinstance(mode, tuple) and mode[0] == "exec":
        modes = mode[1]
        if not isinstance(a.value, list) or not isinstance(b.value, list) or len(a.value) != len(b.value):
            return False
        if len(modes) != len(a.value):
            return False
        return all(same(m, x, y) for m, x, y in zip(modes, a.value, b.value, strict=True))
    if mode == "unordered":
        return _canonical(a) == _canonical(b)
    if mode == "pairs":
        return _pairs(a) == _pairs(b)
    if mode == "shape":
        if isinstance(a.value, list) or isinstance(b.value, list):
            return (isinstance(a.value, list) and isinstance(b.value, list)
                    and len(a.value) == len(b.value))
        return (a.value is None) == (b.value is None)
    if mode in _TOLERANCE:
        if not isinstance(a.value, int) or not isinstance(b.value, int):
            return False
        if a.value < 0 or b.value < 0:
            return False
        return abs(a.value - b.value) <= _TOLERANCE[mode]
    if mode == "near":
        return _near(a, b)
    if mode == "skip":
        return True
    return False
