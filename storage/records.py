"""WAL records: the slotted value types and their byte encoding.

Every record is ``crc32c:u32 | length:u32 | type:u8 | payload`` (little endian), where
``length`` is the payload length and the CRC-32C covers ``length | type | payload``, so a
torn length field is caught like a torn payload. Payloads:

- ``ENTRY``:      ``index:u64 | term:u64 | entry_type:u8 | data``
- ``HARD_STATE``: ``term:u64 | vote:u64 | commit:u64``
- ``TRUNCATE``:   ``index:u64``  (entries at ``index`` and above are void)
- ``SNAPSHOT``:   ``index:u64 | term:u64``  (entries up to ``index`` are covered by a snapshot)

A batch is encoded into one buffer so that it reaches the kernel in one write.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from crc32c import crc32c

ENTRY = 1
HARD_STATE = 2
TRUNCATE = 3
SNAPSHOT = 4
RECORD_TYPES = frozenset({ENTRY, HARD_STATE, TRUNCATE, SNAPSHOT})

HEADER_SIZE = 9  # crc, length, type
MAX_PAYLOAD = 1 << 30  # a length above this is damage, not data

_crc = struct.Struct("<I")
HEAD = _head = struct.Struct("<IIB")  # crc, length, type
_entry_prefix = struct.Struct("<IBQQB")  # length, type, index, term, entry type
_hs_body = struct.Struct("<IBQQQ")  # length, type, term, vote, commit
_trunc_body = struct.Struct("<IBQ")
_snap_body = struct.Struct("<IBQQ")
ENTRY_FIELDS = _entry_fields = struct.Struct("<QQB")
_hs_fields = struct.Struct("<QQQ")
_trunc_fields = struct.Struct("<Q")
_snap_fields = struct.Struct("<QQ")
ENTRY_OVERHEAD = HEADER_SIZE + _entry_fields.size


class EntryLike(Protocol):
    index: int
    term: int
    type: int
    data: bytes


@dataclass(slots=True)
class LogEntry:
    """An entry as read back from storage. Treat as immutable: it is not frozen only
    because a frozen dataclass costs five times as much to build, and recovery builds
    one per entry."""

    index: int
    term: int
    type: int
    data: bytes


@dataclass(frozen=True, slots=True)
class HardState:
    """Raft's durable per-node state. ``vote == 0`` means no vote."""

    term: int = 0
    vote: int = 0
    commit: int = 0


def encode_entry(parts: list[Any], e: EntryLike) -> int:
    """Append the pieces of one entry record to ``parts``; return the record size."""
    data = e.data
    prefix = _entry_prefix.pack(17 + len(data), ENTRY, e.index, e.term, e.type)
    parts.append(_crc.pack(crc32c(data, crc32c(prefix))))
    parts.append(prefix)
    parts.append(data)
    return ENTRY_OVERHEAD + len(data)


def _encode_fixed(parts: list[Any], body: bytes) -> int:
    parts.append(_crc.pack(crc32c(body)))
    parts.append(body)
    return 4 + len(body)


def encode_hard_state(parts: list[Any], hs: HardState) -> int:
    return _encode_fixed(parts, _hs_body.pack(24, HARD_STATE, hs.term, hs.vote, hs.commit))


def encode_truncate(parts: list[Any], index: int) -> int:
    return _encode_fixed(parts, _trunc_body.pack(8, TRUNCATE, index))


def encode_snapshot(parts: list[Any], index: int, term: int) -> int:
    return _encode_fixed(parts, _snap_body.pack(16, SNAPSHOT, index, term))


def encode_entries(entries: Iterable[EntryLike]) -> bytes:
    parts: list[Any] = []
    for e in entries:
        encode_entry(parts, e)
    return b"".join(parts)


class RecordError(Exception):
    """A record could not be decoded. ``torn`` means it runs past the end of the buffer."""

    def __init__(self, message: str, offset: int, *, torn: bool) -> None:
        super().__init__(message)
        self.offset = offset
        self.torn = torn


def decode_at(buf: bytes | memoryview, pos: int) -> tuple[int, Any, int]:
    """Decode the record at ``pos``; return ``(type, value, size)``.

    ``value`` is a `LogEntry`, a `HardState`, the truncate index, or ``(index, term)``
    for a snapshot marker. Raises `RecordError` on any damage.
    """
    end = len(buf)
    if end - pos < HEADER_SIZE:
        raise RecordError(f"incomplete record header ({end - pos} bytes)", pos, torn=True)
    crc, length, rtype = _head.unpack_from(buf, pos)
    if length > MAX_PAYLOAD:
        raise RecordError(f"implausible record length {length}", pos, torn=False)
    size = HEADER_SIZE + length
    if pos + size > end:
        raise RecordError(f"record of {size} bytes runs past end ({end - pos} bytes left)", pos, torn=True)
    mv = memoryview(buf)
    if crc32c(mv[pos + 4 : pos + size]) != crc:
        raise RecordError("checksum mismatch", pos, torn=False)
    body = pos + HEADER_SIZE
    try:
        if rtype == ENTRY:
            index, term, etype = _entry_fields.unpack_from(buf, body)
            data = bytes(mv[body + 17 : pos + size])
            return ENTRY, LogEntry(index, term, etype, data), size
        if rtype == HARD_STATE and length == 24:
            return HARD_STATE, HardState(*_hs_fields.unpack_from(buf, body)), size
        if rtype == TRUNCATE and length == 8:
            return TRUNCATE, _trunc_fields.unpack_from(buf, body)[0], size
        if rtype == SNAPSHOT and length == 16:
            return SNAPSHOT, _snap_fields.unpack_from(buf, body), size
    except struct.error:
        pass
    raise RecordError(f"malformed record (type {rtype}, length {length})", pos, torn=False)


def valid_record_after(buf: bytes | memoryview, start: int) -> int | None:
    """Offset of the first intact record at or after ``start``, or ``None``.

    Used to tell a torn tail (nothing valid follows the damage) from damage in the
    middle (valid records follow). Only the damage path pays for this scan.
    """
    end = len(buf)
    mv = memoryview(buf)
    if bytes(mv[start:]).count(0) == end - start:
        return None  # a zero-filled tail (extended file, data never written): common, fast
    for pos in range(start, end - HEADER_SIZE + 1):
        rtype = mv[pos + 8]
        if rtype not in RECORD_TYPES:
            continue
        crc, length, _ = _head.unpack_from(buf, pos)
        if length > end - pos - HEADER_SIZE:
            continue
        if crc32c(mv[pos + 4 : pos + HEADER_SIZE + length]) == crc:
            return pos
    return None
