"""Replies (see ``resp.types``) to wire bytes, in RESP2 or RESP3.

``encode(reply, resp3)`` and ``encode_many(replies, resp3)`` are the whole interface.  Dispatch
is one dict lookup on the exact type; the common replies (OK, nil, small integers) come from
precomputed tables.  Floats follow Redis 7.0's ``addReplyDouble``: ``%.17g``, with ``inf`` and
``-inf`` spelled out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from resp.types import (
    NULL_ARRAY,
    Double,
    ErrorReply,
    Map,
    Push,
    Raw,
    SetReply,
    SimpleString,
    Verbatim,
    _NullArray,
)

__all__ = ["encode", "encode_many", "SMALL_INT_MAX"]

SMALL_INT_MAX = 10000
_INTS = [b":%d\r\n" % i for i in range(SMALL_INT_MAX + 1)]
_NEG_INTS = [b":%d\r\n" % -i for i in range(3)]  # -1 and -2 are TTL's answers
# "$<n>\r\n" headers for short bulk strings.
_BULK_HEADERS = [b"$%d\r\n" % i for i in range(1024)]
_ARRAY_HEADERS = [b"*%d\r\n" % i for i in range(1024)]


def _int(x: int) -> bytes:
    if 0 <= x <= SMALL_INT_MAX:
        return _INTS[x]
    if -3 < x < 0:
        return _NEG_INTS[-x]
    return b":%d\r\n" % x


def _bulk(x: bytes) -> bytes:
    n = len(x)
    if n < 1024:
        return _BULK_HEADERS[n] + x + b"\r\n"
    return b"$%d\r\n%b\r\n" % (n, x)


def _bulk_any(x: bytes | bytearray | memoryview) -> bytes:
    return _bulk(bytes(x))


def _format_double(v: float) -> bytes:
    if v == float("inf"):
        return b"inf"
    if v == float("-inf"):
        return b"-inf"
    return b"%.17g" % v


def _make(resp3: bool) -> Callable[[object], bytes]:
    table: dict[type, Callable[[Any], bytes]] = {}

    def enc(x: object) -> bytes:
        t = type(x)
        if t is bytes:  # the commonest reply, and a string's: no second call
            n = len(x)  # type: ignore[arg-type]
            if n < 1024:
                return _BULK_HEADERS[n] + x + b"\r\n"  # type: ignore[operator]
        elif t is SimpleString:
            return x.wire  # type: ignore[attr-defined]
        try:
            return table[t](x)
        except KeyError:
            raise TypeError(f"cannot encode {type(x).__name__} as a reply") from None

    def array(x: list | tuple) -> bytes:
        n = len(x)
        parts = [_ARRAY_HEADERS[n] if n < 1024 else b"*%d\r\n" % n]
        append = parts.append
        for item in x:
            t = type(item)
            if t is bytes:
                m = len(item)
                append(_BULK_HEADERS[m] + item + b"\r\n" if m < 1024 else b"$%d\r\n%b\r\n" % (m, item))
            else:
                append(enc(item))
        return b"".join(parts)

    def aggregate(prefix: bytes, items: Iterable[object], n: int) -> bytes:
        parts = [b"%b%d\r\n" % (prefix, n)]
        parts.extend(map(enc, items))
        return b"".join(parts)

    def map_(x: Map) -> bytes:
        flat: list[object] = []
        for k, v in x.items():
            flat.append(k)
            flat.append(v)
        if resp3:
            return aggregate(b"%", flat, len(flat) // 2)
        return aggregate(b"*", flat, len(flat))

    def error(x: ErrorReply) -> bytes:
        return b"-" + x.data + b"\r\n"

    table[bytes] = _bulk
    table[bytearray] = _bulk_any
    table[memoryview] = _bulk_any
    table[int] = _int
    table[list] = array
    table[tuple] = array
    table[SimpleString] = lambda x: x.wire
    table[ErrorReply] = error
    table[Map] = map_
    table[Raw] = (lambda x: x.resp3) if resp3 else (lambda x: x.resp2)
    if resp3:
        table[bool] = lambda x: b"#t\r\n" if x else b"#f\r\n"
        table[type(None)] = lambda x: b"_\r\n"
        table[_NullArray] = lambda x: b"_\r\n"
        table[SetReply] = lambda x: aggregate(b"~", x.items, len(x.items))
        table[Push] = lambda x: aggregate(b">", x.items, len(x.items))
        table[Double] = lambda x: b"," + _format_double(x.value) + b"\r\n"
        table[Verbatim] = lambda x: b"=%d\r\n%b:%b\r\n" % (len(x.data) + 4, x.fmt, x.data)
    else:
        table[bool] = lambda x: b":1\r\n" if x else b":0\r\n"
        table[type(None)] = lambda x: b"$-1\r\n"
        table[_NullArray] = lambda x: b"*-1\r\n"
        table[SetReply] = lambda x: array(x.items)
        table[Push] = lambda x: array(x.items)
        table[Double] = lambda x: _bulk(_format_double(x.value))
        table[Verbatim] = lambda x: _bulk(x.data)
    return enc


_encode2 = _make(False)
_encode3 = _make(True)
assert _encode2(NULL_ARRAY) == b"*-1\r\n"


# The encoder for each protocol, indexed by ``resp3``: ``ENCODERS[resp3](reply)`` is
# ``encode(reply, resp3)`` without the call that picks the table, for the per-command paths.
ENCODERS: tuple[Callable[[object], bytes], Callable[[object], bytes]] = (_encode2, _encode3)


def encode(reply: object, resp3: bool = False) -> bytes:
    """One reply to bytes.  Raises ``TypeError`` for a value that is not a reply."""
    return (_encode3 if resp3 else _encode2)(reply)


def encode_many(replies: Iterable[object], resp3: bool = False) -> bytes:
    """Several replies, joined: what a pipelined batch sends back in one write."""
    return b"".join(map(_encode3 if resp3 else _encode2, replies))


def _check() -> None:
    # Cheap self-test of the tables at import: a wrong constant here would corrupt every reply.
    assert _encode2(Double(1.5)) == b"$3\r\n1.5\r\n"
    assert _encode3(Verbatim(b"txt", b"x")) == b"=5\r\ntxt:x\r\n"


_check()
