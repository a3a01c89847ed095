"""Segment files: names and the fixed header at the start of each.

A segment is named ``{seq:016x}-{first_index:016x}.wal``; ``seq`` counts up from 0 with no
holes, so a missing file in the middle is detected. The header is::

    magic "RAFTWAL\\0" | version:u16 | seq:u64 | first_index:u64 | node_id:u64 |
    cluster_id_len:u16 | cluster_id (64 bytes, zero padded, UTF-8) | crc32c:u32

``first_index`` is the index the next entry appended at creation time would carry. A new
segment is written as ``*.tmp``, fsync'd, renamed into place and the directory fsync'd, so
a segment file either exists whole (header and head records) or not at all.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from crc32c import crc32c

from .errors import CorruptWalError, WalIdentityError

MAGIC = b"RAFTWAL\x00"
VERSION = 1
_header = struct.Struct("<8sHQQQH64s")
_crc = struct.Struct("<I")
HEADER_SIZE = _header.size + _crc.size
SUFFIX = ".wal"
TMP_SUFFIX = ".tmp"
_name_re = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.wal$")


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    seq: int
    first_index: int
    node_id: int
    cluster_id: str


def segment_name(seq: int, first_index: int) -> str:
    return f"{seq:016x}-{first_index:016x}{SUFFIX}"


def parse_name(name: str) -> tuple[int, int] | None:
    m = _name_re.match(name)
    return (int(m.group(1), 16), int(m.group(2), 16)) if m else None


def encode_header(h: SegmentHeader) -> bytes:
    cid = h.cluster_id.encode()
    if len(cid) > 64:
        raise ValueError("cluster id longer than 64 bytes")
    body = _header.pack(MAGIC, VERSION, h.seq, h.first_index, h.node_id, len(cid), cid)
    return body + _crc.pack(crc32c(body))


def decode_header(buf: bytes, path: str) -> SegmentHeader:
    if len(buf) < HEADER_SIZE:
        raise CorruptWalError(f"segment header truncated ({len(buf)} bytes)", path=path, offset=0)
    body = buf[: _header.size]
    (crc,) = _crc.unpack_from(buf, _header.size)
    magic, version, seq, first, node_id, cid_len, cid = _header.unpack(body)
    if magic != MAGIC:
        raise CorruptWalError("not a WAL segment (bad magic)", path=path, offset=0)
    if crc32c(body) != crc:
        raise CorruptWalError("segment header checksum mismatch", path=path, offset=0)
    if version != VERSION:
        raise CorruptWalError(f"unsupported WAL format version {version}", path=path, offset=0)
    return SegmentHeader(seq, first, node_id, cid[:cid_len].decode())


def check_identity(h: SegmentHeader, path: str, *, cluster_id: str, node_id: int) -> None:
    if h.cluster_id != cluster_id:
        raise WalIdentityError(
            f"segment belongs to cluster {h.cluster_id!r}, this node is in cluster {cluster_id!r}",
            path=path,
            offset=0,
        )
    if h.node_id != node_id:
        raise WalIdentityError(
            f"segment belongs to node {h.node_id}, this is node {node_id}", path=path, offset=0
        )
