"""The reply model: what a command handler returns, before it is encoded.

Plain Python values carry the common replies so the hot path allocates nothing extra:

- ``bytes`` -> bulk string
- ``int`` -> integer (``bool`` is RESP3's boolean, and ``:1``/``:0`` in RESP2)
- ``None`` -> null bulk string (``$-1`` in RESP2, ``_`` in RESP3)
- ``list`` / ``tuple`` -> array

Everything else is one of the small classes below.  All of them are immutable in spirit:
handlers may return shared constants (``OK``, ``QUEUED``, ...), so nobody mutates a reply.
"""

from __future__ import annotations

from collections.abc import Iterable


class SimpleString:
    """``+<value>\\r\\n``; the value must not contain CR or LF."""

    __slots__ = ("value", "wire")

    def __init__(self, value: bytes) -> None:
        self.value = value
        self.wire = b"+" + value + b"\r\n"

    def __eq__(self, other: object) -> bool:
        return type(other) is SimpleString and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"SimpleString({self.value!r})"


class ErrorReply(Exception):
    """``-<message>\\r\\n``.  The message starts with the error code (``ERR``, ``WRONGTYPE``, ...)
    and has no leading ``-``.

    It is also an exception, so argument-parsing helpers can raise it and the command
    wrapper turns it into the reply.  The message may be ``str`` or ``bytes`` (client bytes
    quoted in an error are kept byte for byte); CR and LF become spaces, as Redis does.
    """

    __slots__ = ("data",)

    def __init__(self, message: str | bytes) -> None:
        data = message.encode("utf-8", "surrogateescape") if isinstance(message, str) else message
        if b"\r" in data or b"\n" in data:
            data = data.replace(b"\r", b" ").replace(b"\n", b" ")
        self.data = data
        super().__init__(data)

    @property
    def message(self) -> str:
        return self.data.decode("utf-8", "surrogateescape")

    def __eq__(self, other: object) -> bool:
        return type(other) is ErrorReply and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        return f"ErrorReply({self.message!r})"

    def __str__(self) -> str:
        return self.message


class _NullArray:
    """``*-1`` in RESP2, ``_`` in RESP3 (a missing array, e.g. BLPOP timing out)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()


class Map:
    """Key/value pairs: a flat array in RESP2, ``%`` in RESP3.  ``pairs`` is a dict or a
    list of 2-tuples; order is kept."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: dict | Iterable[tuple[object, object]]) -> None:
        self.pairs = pairs if isinstance(pairs, dict | list) else list(pairs)

    def items(self) -> Iterable[tuple[object, object]]:
        p = self.pairs
        return p.items() if isinstance(p, dict) else p

    def __len__(self) -> int:
        return len(self.pairs)

    def __eq__(self, other: object) -> bool:
        return type(other) is Map and list(other.items()) == list(self.items())

    def __repr__(self) -> str:
        return f"Map({list(self.items())!r})"


class SetReply:
    """An unordered collection: an array in RESP2, ``~`` in RESP3."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[object]) -> None:
        self.items = items if isinstance(items, list | tuple) else list(items)

    def __eq__(self, other: object) -> bool:
        return type(other) is SetReply and list(other.items) == list(self.items)

    def __repr__(self) -> str:
        return f"SetReply({list(self.items)!r})"


class Double:
    """A float: a bulk string in RESP2 (``%.17g``, ``inf``/``-inf``), ``,`` in RESP3."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def __eq__(self, other: object) -> bool:
        return type(other) is Double and (
            other.value == self.value or (other.value != other.value and self.value != self.value)
        )

    def __repr__(self) -> str:
        return f"Double({self.value!r})"


class Verbatim:
    """A verbatim string (``=`` in RESP3, plain bulk in RESP2); ``fmt`` is three bytes such as
    ``b"txt"``."""

    __slots__ = ("fmt", "data")

    def __init__(self, fmt: bytes, data: bytes) -> None:
        if len(fmt) != 3:
            raise ValueError("verbatim format must be 3 bytes")
        self.fmt = fmt
        self.data = data

    def __eq__(self, other: object) -> bool:
        return type(other) is Verbatim and other.fmt == self.fmt and other.data == self.data

    def __repr__(self) -> str:
        return f"Verbatim({self.fmt!r}, {self.data!r})"


class Push:
    """Out-of-band data (pub/sub messages): ``>`` in RESP3, an array in RESP2."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[object]) -> None:
        self.items = items if isinstance(items, list | tuple) else list(items)

    def __eq__(self, other: object) -> bool:
        return type(other) is Push and list(other.items) == list(self.items)

    def __repr__(self) -> str:
        return f"Push({list(self.items)!r})"


class Raw:
    """Bytes already in wire format, sent as they are.  ``resp3`` is an optional different
    encoding for RESP3 connections."""

    __slots__ = ("resp2", "resp3")

    def __init__(self, resp2: bytes, resp3: bytes | None = None) -> None:
        self.resp2 = resp2
        self.resp3 = resp2 if resp3 is None else resp3

    def __eq__(self, other: object) -> bool:
        return type(other) is Raw and other.resp2 == self.resp2 and other.resp3 == self.resp3

    def __repr__(self) -> str:
        return f"Raw({self.resp2!r}, {self.resp3!r})"


OK = SimpleString(b"OK")
QUEUED = SimpleString(b"QUEUED")
PONG = SimpleString(b"PONG")
RESET = SimpleString(b"RESET")
EMPTY_ARRAY: tuple = ()

Reply = (
    bytes
    | int
    | None
    | list
    | tuple
    | SimpleString
    | ErrorReply
    | _NullArray
    | Map
    | SetReply
    | Double
    | Verbatim
    | Push
    | Raw
)
