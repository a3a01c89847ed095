"""Redis's DEBUG DIGEST signatures of the data (debug.c: ``xorObjectDigest`` and
``computeDatasetDigest``), computed the way redis-server computes them: SHA-1 of each
element, mixed in order for lists and stream entries, XORed for sets, hashes, sorted sets and
the keys. The same data gives the same 20 bytes here and in redis-server, so they compare a
node with another node (RAFT.CHECK) or with a Redis that was given the same writes."""

from __future__ import annotations

import struct
from hashlib import sha1
from typing import Any

from server.keyspace import Hash, List, Set
from server.sortedset import ZSet
from server.stream import SEQ_MASK, Stream

__all__ = ["ZERO", "dataset_digest", "value_digest"]

# Redis's object type codes (as the 4 big-endian bytes its digest mixes in before a value).
_TYPE_CODE = {t: struct.pack(">I", code) for t, code in ((bytes, 0), (List, 1), (Set, 2), (ZSet, 3), (Hash, 4),
                                                         (Stream, 6))}
_EXPIRE = int.from_bytes(sha1(b"!!expire!!").digest(), "big")
ZERO = bytes(20)


# A digest is a 160-bit int here (Redis's 20 bytes, big-endian), so XOR is one operation.
def _sha(data: bytes | bytearray) -> int:
    return int.from_bytes(sha1(data).digest(), "big")


def _mix(digest: int, data: bytes | bytearray) -> int:
    """Redis's ``mixDigest``: ``SHA-1(digest XOR SHA-1(data))``, where order matters (lists,
    stream entries); a plain XOR of ``_sha`` is its ``xorDigest``, where it does not."""
    return _sha((digest ^ _sha(data)).to_bytes(20, "big"))


def _value_into(digest: int, value: Any, has_ttl: bool) -> int:
    """Redis's ``xorObjectDigest``: ``digest`` with one value (its type, its elements,
    whether it has a time to live) mixed in."""
    t = type(value)
    digest = _mix(digest, _TYPE_CODE[t])
    if t is bytes:
        digest = _mix(digest, value)
    elif t is List:
        for item in value:
            digest = _mix(digest, item)
    elif t is Set:
        for member in value:
            digest ^= _sha(member)
    elif t is ZSet:
        for score, member in value.order:
            digest ^= _sha(_mix(_mix(0, member), b"%.17g" % score).to_bytes(20, "big"))
    elif t is Hash:
        for field, v in value.items():
            digest ^= _sha(_mix(_mix(0, field), v).to_bytes(20, "big"))
    elif t is Stream:
        entries = value.entries
        for entry_id in value.ids:
            digest = _mix(digest, b"%d.%d" % (entry_id >> 64, entry_id & SEQ_MASK))
            for part in entries[entry_id]:
                digest = _mix(digest, part)
    if has_ttl:
        digest ^= _EXPIRE
    return digest


def value_digest(value: Any, has_ttl: bool) -> bytes:
    """DEBUG DIGEST-VALUE's signature of one value."""
    return _value_into(0, value, has_ttl).to_bytes(20, "big")


def dataset_digest(keyspace: Any) -> bytes:
    """Redis's ``computeDatasetDigest``: every key of every database, logically expired ones
    included (as Redis's walks its dictionaries)."""
    final = 0
    for db in keyspace.dbs:
        if not db.data:
            continue
        final = _mix(final, struct.pack(">I", db.index))
        expires = db.expires
        for key, value in db.data.items():
            final ^= _sha(_value_into(_mix(0, key), value, key in expires).to_bytes(20, "big"))
    return final.to_bytes(20, "big")
