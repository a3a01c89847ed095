"""Redis 7.0's DUMP payload: one value serialised as in an RDB file, then a footer.

``payload = type byte | object | rdb version (2 bytes LE, 10) | CRC64 of all before (8 bytes LE)``

``dump(value)`` writes the encoding Redis 7.0 would choose with its default thresholds
(strings as integers or LZF when that is shorter; lists as quicklist 2 of 8 KB listpack
nodes; sets as an intset when they fit one; hashes and sorted sets as a listpack when they
fit one), so for those encodings the bytes equal redis-server's.  Hashtable-encoded sets and
hashes are written in insertion order; Redis writes its dict's order, and both load the same.
The encoding follows the value as it is now (as OBJECT ENCODING does here): a hash that grew
past the listpack limits and shrank again is a listpack here, a hashtable in Redis; a list's
nodes are packed as RPUSH would fill them, whatever history built the list.  LZF uses
liblzf's compressor with a zeroed hash table (Redis's is left uninitialised, which in
principle can make its output vary).

``load(payload)`` accepts what Redis 7.0 writes and the older encodings it still reads
(plain lists, ziplists, zipmaps, quicklist 1, plain sets and zsets, SET_LISTPACK of
7.2).  Decoding
is strict and linear: every length read is bounded by the bytes left, every listpack,
ziplist and intset is checked whole (sizes, back lengths, terminators, order of intsets),
and the failure is ``PayloadError`` (the caller answers ``ERR Bad data format``), or
``VersionError`` for a wrong version or checksum.  Streams are written as
RDB_TYPE_STREAM_LISTPACKS_2 (Redis 7.0), with their consumer groups; a stream node that holds
deleted entries is written with its live entries only, since Raftis does not keep deleted
entries (Redis loads it to the same stream; only the node's byte size differs).  Module
values are not supported (``UnsupportedType``).
"""

from __future__ import annotations

import math
import struct
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from resp.parser import string2ll
from server.crc64 import crc64
from server.keyspace import Hash, List, Set
from server.listpack import intset, intset_decode, listpack, lp_decode, lp_entry, zipmap_decode, zl_decode
from server.lzf import lzf_compress, lzf_decompress
from server.sortedset import LISTPACK_ENTRIES, LISTPACK_VALUE, ZSet
from server.stream import INVALID_ENTRIES_READ, SEQ_MASK, Consumer, Group, Nack, Node, Stream

__all__ = ["PayloadError", "RdbFile", "UnsupportedType", "VersionError", "dump", "dump_file", "load", "load_file",
           "verify"]

RDB_VERSION = 10
_LLONG_MAX = 2**63 - 1

# Object types (rdb.h).
T_STRING = 0
T_LIST = 1
T_SET = 2
T_ZSET = 3
T_HASH = 4
T_ZSET_2 = 5
T_HASH_ZIPMAP = 9
T_LIST_ZIPLIST = 10
T_SET_INTSET = 11
T_ZSET_ZIPLIST = 12
T_HASH_ZIPLIST = 13
T_LIST_QUICKLIST = 14
T_STREAM_LISTPACKS = 15
T_HASH_LISTPACK = 16
T_ZSET_LISTPACK = 17
T_LIST_QUICKLIST_2 = 18
T_STREAM_LISTPACKS_2 = 19
T_SET_LISTPACK = 20  # Redis 7.2 (its STREAM_LISTPACKS_3, 21, comes only in RDB 11 payloads)

# Stream entry flags (t_stream.c).
_FLAG_DELETED = 1
_FLAG_SAMEFIELDS = 2

# Redis 7.0 defaults that decide the encoding DUMP writes.
SET_MAX_INTSET_ENTRIES = 512
HASH_MAX_LISTPACK_ENTRIES = 128
HASH_MAX_LISTPACK_VALUE = 64
LIST_NODE_BYTES = 8192  # list-max-listpack-size -2
MAX_STRING = 512 * 1024 * 1024

# LZF is pure Python here (about 1 s per MB): one DUMP compresses at most this many input bytes
# and writes the rest raw, which Redis reads as well, so a DUMP of a huge value costs little
# more than copying it.
LZF_BUDGET = 256 * 1024

# FUNCTION DUMP's payload: each library's code after this opcode (RDB_OPCODE_FUNCTION2); the
# one before it (RDB_OPCODE_FUNCTION_PRE_GA) came from Redis 7.0's release candidates.
OP_FUNCTION2 = 245
OP_FUNCTION_PRE_GA = 246


class PayloadError(Exception):
    """The payload is malformed (``ERR Bad data format``)."""


class VersionError(Exception):
    """Wrong RDB version or checksum (``ERR DUMP payload version or checksum are wrong``)."""


class UnsupportedType(Exception):
    """A value or payload type this server does not serialise (module values)."""


# --- writing ------------------------------------------------------------------------------------
def _len(n: int) -> bytes:
    if n < 64:
        return bytes((n,))
    if n < 16384:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def _int_encoding(v: int) -> bytes | None:
    if -(2**7) <= v < 2**7:
        return b"\xc0" + v.to_bytes(1, "little", signed=True)
    if -(2**15) <= v < 2**15:
        return b"\xc1" + v.to_bytes(2, "little", signed=True)
    if -(2**31) <= v < 2**31:
        return b"\xc2" + v.to_bytes(4, "little", signed=True)
    return None


class _Writer:
    __slots__ = ("parts", "lzf_left")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.lzf_left = LZF_BUDGET

    def string(self, s: bytes) -> None:
        """``rdbSaveRawString``: an integer when the text is one, else LZF when that saves
        at least 4 bytes of a string over 20, else raw."""
        n = len(s)
        if n <= 11:
            v = string2ll(s)
            if v is not None:
                enc = _int_encoding(v)
                if enc is not None:
                    self.parts.append(enc)
                    return
        if n > 20 and n <= self.lzf_left:
            self.lzf_left -= n
            packed = lzf_compress(s, n - 4)
            if packed is not None:
                self.parts.append(b"\xc3" + _len(len(packed)) + _len(n) + packed)
                return
        self.parts.append(_len(n) + s)

    def raw(self, b: bytes) -> None:
        self.parts.append(b)


def _d2string(score: float) -> bytes:
    """Redis 7.0's ``d2string`` (how a listpack stores a score)."""
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    if score == 0:
        return b"-0" if math.copysign(1.0, score) < 0 else b"0"
    if -4503599627370495 < score < 4503599627370496 and score == int(score):
        return str(int(score)).encode()
    return b"%.17g" % score


def _quicklist_nodes(items: Any) -> list[list[bytes]]:
    """Split a list into listpack nodes the way RPUSH fills them (``_quicklistNodeAllowInsert``
    with fill -2: a node takes an element while its size plus the element's length plus 8
    stays within 8 KB)."""
    nodes: list[list[bytes]] = []
    cur: list[bytes] = []
    size = 0
    for item in items:
        sz = len(item)
        entry = lp_entry(item)
        if cur:
            if size + sz + 8 <= LIST_NODE_BYTES:  # SIZE_ESTIMATE_OVERHEAD
                cur.append(entry)
                size += len(entry)
                continue
            nodes.append(cur)
        cur = [entry]
        size = 7 + len(entry)
    if cur:
        nodes.append(cur)
    return nodes


def _lp_int(v: int) -> bytes:
    return lp_entry(b"%d" % v)


def _stream_id(i: int) -> bytes:
    return i.to_bytes(16, "big")


def _ms_time(ms: int) -> bytes:
    return struct.pack("<q", ms)


def _dump_stream(w: _Writer, s: Stream) -> None:
    """RDB_TYPE_STREAM_LISTPACKS_2 (Redis 7.0).  A node is written as Redis built it when
    none of its entries was deleted; a node with deleted entries (whose contents Raftis no
    longer has) is written with its live entries only, which Redis loads to the same stream."""
    w.raw(bytes((T_STREAM_LISTPACKS_2,)) + _len(len(s.nodes)))
    ids, entries = s.ids, s.entries
    pos = 0
    for k, node in enumerate(s.nodes):
        end = bisect_left(ids, s.firsts[k + 1]) if k + 1 < len(s.nodes) else len(ids)
        master = node.first
        mms, mseq = master >> 64, master & SEQ_MASK
        fields = node.fields
        out = [_lp_int(end - pos), _lp_int(0), _lp_int(len(fields))]
        out.extend(lp_entry(f) for f in fields)
        out.append(_lp_int(0))
        for i in ids[pos:end]:
            flat = entries[i]
            ms_diff = _wrap64((i >> 64) - mms)
            seq_diff = _wrap64((i & SEQ_MASK) - mseq)
            n = len(flat) // 2
            if flat[0::2] == fields:
                out += (_lp_int(_FLAG_SAMEFIELDS), _lp_int(ms_diff), _lp_int(seq_diff))
                out.extend(lp_entry(v) for v in flat[1::2])
                out.append(_lp_int(n + 3))
            else:
                out += (_lp_int(0), _lp_int(ms_diff), _lp_int(seq_diff), _lp_int(n))
                out.extend(lp_entry(x) for x in flat)
                out.append(_lp_int(2 * n + 4))
        pos = end
        w.string(_stream_id(master))
        w.string(listpack(out, len(out)))
    w.raw(_len(len(ids)))
    for i in (s.last_id, s.first_id, s.max_deleted):
        w.raw(_len(i >> 64) + _len(i & SEQ_MASK))
    w.raw(_len(s.entries_added))
    w.raw(_len(len(s.groups)))
    for name in sorted(s.groups):
        g = s.groups[name]
        w.string(name)
        w.raw(_len(g.last_id >> 64) + _len(g.last_id & SEQ_MASK))
        w.raw(_len(g.entries_read & 0xFFFFFFFFFFFFFFFF))
        w.raw(_len(len(g.pel_ids)))
        for i in g.pel_ids:
            nack = g.pel[i]
            w.raw(_stream_id(i) + _ms_time(nack.delivery_time) + _len(nack.delivery_count))
        consumers = g.sorted_consumers()
        w.raw(_len(len(consumers)))
        for c in consumers:
            w.string(c.name)
            w.raw(_ms_time(c.seen_time) + _len(len(c.pel)))
            w.raw(b"".join(_stream_id(i) for i in c.pel))


def _wrap64(v: int) -> int:
    """A difference as the C code stores it (int64_t)."""
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >= 1 << 63 else v


def dump(value: Any) -> bytes:
    """The DUMP payload of a stored value."""
    w = _Writer()
    _write_value(w, value)
    body = b"".join(w.parts) + RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


# RDB file opcodes (rdb.h).
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_SELECTDB = 254
OP_EOF = 255


def dump_file(keyspace: Any, now_ms: int, redis_version: bytes) -> bytes:
    """A whole RDB file (version 10, as Redis 7.0 writes it with ``rdbcompression no``) of
    every database's keys with their expiry times, and the function libraries: what
    redis-server loads from its dbfilename, and what ``redis-cli --rdb`` saves."""
    w = _Writer()
    w.lzf_left = 0  # LZF is pure Python here: a file of the whole dataset is written raw
    w.raw(b"REDIS%04d" % RDB_VERSION)
    for name, value in ((b"redis-ver", redis_version), (b"redis-bits", b"64"), (b"ctime", b"%d" % (now_ms // 1000)),
                        (b"aof-base", b"0")):
        w.raw(bytes((OP_AUX,)))
        w.string(name)
        w.string(value)
    for code, _ in keyspace.functions.values():
        w.raw(bytes((OP_FUNCTION2,)))
        w.string(code)
    for db in keyspace.dbs:
        if not db.data:
            continue
        expires = db.expires
        w.raw(bytes((OP_SELECTDB,)) + _len(db.index))
        w.raw(bytes((OP_RESIZEDB,)) + _len(len(db.data)) + _len(len(expires)))
        for key, value in db.data.items():
            when = expires.get(key)
            if when is not None:
                w.raw(bytes((OP_EXPIRETIME_MS,)) + _ms_time(when))
            at = len(w.parts)
            _write_value(w, value)
            # the type byte, then the key, then the value
            first = w.parts[at]
            w.parts[at] = first[:1]
            w.parts.insert(at + 1, _len(len(key)) + key + first[1:])
    w.raw(bytes((OP_EOF,)))
    body = b"".join(w.parts)
    return body + crc64(body).to_bytes(8, "little")


def _write_value(w: _Writer, value: Any) -> None:
    """A value's type byte and its encoding."""
    t = type(value)
    if t is bytes:
        w.raw(b"\x00")
        w.string(value)
    elif t is List:
        w.raw(bytes((T_LIST_QUICKLIST_2,)))
        nodes = _quicklist_nodes(value)
        w.raw(_len(len(nodes)))
        for node in nodes:
            w.raw(b"\x02")  # QUICKLIST_NODE_CONTAINER_PACKED
            w.string(listpack(node, len(node)))
    elif t is Set:
        ints = [string2ll(m) for m in value] if len(value) <= SET_MAX_INTSET_ENTRIES else [None]
        if None not in ints:
            w.raw(bytes((T_SET_INTSET,)))
            w.string(intset(sorted(ints)))  # type: ignore[type-var]
        else:
            w.raw(bytes((T_SET,)) + _len(len(value)))
            for m in value:
                w.string(m)
    elif t is Hash:
        small = len(value) <= HASH_MAX_LISTPACK_ENTRIES and all(
            len(k) <= HASH_MAX_LISTPACK_VALUE and len(v) <= HASH_MAX_LISTPACK_VALUE for k, v in value.items()
        )
        if small:
            w.raw(bytes((T_HASH_LISTPACK,)))
            entries = []
            for k, v in value.items():
                entries.append(lp_entry(k))
                entries.append(lp_entry(v))
            w.string(listpack(entries, len(entries)))
        else:
            w.raw(bytes((T_HASH,)) + _len(len(value)))
            for k, v in value.items():
                w.string(k)
                w.string(v)
    elif t is ZSet:
        if value.compact:
            w.raw(bytes((T_ZSET_LISTPACK,)))
            entries = []
            for score, member in value.order:
                entries.append(lp_entry(member))
                entries.append(lp_entry(_d2string(score)))
            w.string(listpack(entries, len(entries)))
        else:
            # Redis writes the skiplist from the tail so loading inserts at the head.
            w.raw(bytes((T_ZSET_2,)) + _len(len(value)))
            for score, member in reversed(value.order):
                w.string(member)
                w.raw(struct.pack("<d", score))
    elif t is Stream:
        _dump_stream(w, value)
    else:
        raise UnsupportedType(type(value).__name__)


# --- reading ------------------------------------------------------------------------------------
class _Reader:
    __slots__ = ("buf", "pos", "end")

    def __init__(self, buf: bytes, end: int) -> None:
        self.buf = buf
        self.pos = 0
        self.end = end

    def take(self, n: int) -> bytes:
        p = self.pos
        if n < 0 or p + n > self.end:
            raise PayloadError("truncated")
        self.pos = p + n
        return self.buf[p : p + n]

    def byte(self) -> int:
        if self.pos >= self.end:
            raise PayloadError("truncated")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def length(self) -> tuple[int, bool]:
        """``rdbLoadLenByRef``: (value, is_encoded)."""
        b = self.byte()
        kind = b >> 6
        if kind == 0:
            return b & 0x3F, False
        if kind == 1:
            return ((b & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return b & 0x3F, True
        if b == 0x80:
            return int.from_bytes(self.take(4), "big"), False
        if b == 0x81:
            return int.from_bytes(self.take(8), "big"), False
        raise PayloadError("unknown length encoding")

    def plain_length(self) -> int:
        n, encoded = self.length()
        if encoded:
            raise PayloadError("encoded length where a number belongs")
        return n

    def count(self) -> int:
        n, encoded = self.length()
        if encoded:
            raise PayloadError("encoded length where a count belongs")
        if n > self.end - self.pos:  # every element takes at least one byte
            raise PayloadError("count larger than the payload")
        return n

    def string(self) -> bytes:
        n, encoded = self.length()
        if not encoded:
            return self.take(n)
        if n == 0:
            return str(int.from_bytes(self.take(1), "little", signed=True)).encode()
        if n == 1:
            return str(int.from_bytes(self.take(2), "little", signed=True)).encode()
        if n == 2:
            return str(int.from_bytes(self.take(4), "little", signed=True)).encode()
        if n == 3:
            clen, e1 = self.length()
            ulen, e2 = self.length()
            if e1 or e2 or ulen == 0:
                raise PayloadError("bad lzf header")
            packed = self.take(clen)
            # LZF expands at most 88 times (3 bytes -> 264); no string exceeds 512 MB
            # (proto-max-bulk-len), so a lying header cannot ask for a huge buffer.
            if ulen > 88 * clen + 64 or ulen > MAX_STRING:
                raise PayloadError("lzf length out of range")
            return lzf_decompress(packed, ulen)
        raise PayloadError("unknown string encoding")

    def binary_double(self) -> float:
        return struct.unpack("<d", self.take(8))[0]

    def text_double(self) -> float:
        n = self.byte()
        if n == 253:
            return math.nan
        if n == 254:
            return math.inf
        if n == 255:
            return -math.inf
        return _parse_float(self.take(n))


def _parse_float(b: bytes) -> float:
    if b"_" in b:  # Python's float() takes "1_0"; strtod does not
        raise PayloadError("bad double")
    try:
        return float(b)
    except ValueError:
        raise PayloadError("bad double") from None


def _bad(msg: str) -> PayloadError:
    return PayloadError(msg)


def _pairs(items: list[bytes]) -> list[tuple[bytes, bytes]]:
    if len(items) % 2:
        raise _bad("odd number of entries")
    it = iter(items)
    return list(zip(it, it, strict=True))


def _new_set(members: Any) -> Set:
    s = Set()
    for m in members:
        if m in s:
            raise _bad("duplicate set member")
        s[m] = None
    if not s:
        raise _bad("empty set")
    return s


def _new_hash(pairs: Any) -> Hash:
    h = Hash()
    for k, v in pairs:
        if k in h:
            raise _bad("duplicate hash field")
        h[k] = v
    if not h:
        raise _bad("empty hash")
    return h


def _new_zset(pairs: list[tuple[bytes, float]]) -> ZSet:
    scores: dict[bytes, float] = {}
    for m, s in pairs:
        if math.isnan(s):
            raise _bad("zset score is NaN")
        if m in scores:
            raise _bad("duplicate zset member")
        scores[m] = s
    if not scores:
        raise _bad("empty zset")
    compact = len(scores) <= LISTPACK_ENTRIES and all(len(m) <= LISTPACK_VALUE for m in scores)
    if compact:
        scores = {m: (0.0 if s == 0.0 else s) for m, s in scores.items()}
    return ZSet.from_pairs(scores.items(), compact)


def _lp_zset(items: list[bytes]) -> ZSet:
    return _new_zset([(m, _parse_float(s)) for m, s in _pairs(items)])


def _lp_number(items: list[bytes], i: int) -> int:
    if i >= len(items):
        raise _bad("stream listpack truncated")
    v = string2ll(items[i])
    if v is None:
        raise _bad("stream listpack: not an integer")
    return v


def _load_stream_node(s: Stream, master: int, lp: bytes) -> None:
    items = lp_decode(lp)
    live = _lp_number(items, 0)
    deleted = _lp_number(items, 1)
    nfields = _lp_number(items, 2)
    if live <= 0 or deleted < 0 or nfields < 0 or 3 + nfields >= len(items):
        raise _bad("bad stream master entry")
    fields = tuple(items[3 : 3 + nfields])
    if items[3 + nfields] != b"0":
        raise _bad("bad stream master entry terminator")
    mms, mseq = master >> 64, master & SEQ_MASK
    p = 4 + nfields
    seen_live = seen_deleted = 0
    last = master
    while p < len(items):
        flags = _lp_number(items, p)
        ms = (mms + _lp_number(items, p + 1)) & SEQ_MASK
        seq = (mseq + _lp_number(items, p + 2)) & SEQ_MASK
        p += 3
        if flags & ~(_FLAG_DELETED | _FLAG_SAMEFIELDS):
            raise _bad("bad stream entry flags")
        if flags & _FLAG_SAMEFIELDS:
            if p + nfields > len(items):
                raise _bad("stream entry truncated")
            flat = tuple(x for pair in zip(fields, items[p : p + nfields], strict=True) for x in pair)
            p += nfields
            lp_count = nfields + 3
        else:
            n = _lp_number(items, p)
            p += 1
            if n <= 0 or p + 2 * n > len(items):
                raise _bad("stream entry truncated")
            flat = tuple(items[p : p + 2 * n])
            p += 2 * n
            lp_count = 2 * n + 4
        if _lp_number(items, p) != lp_count:
            raise _bad("bad stream entry lp-count")
        p += 1
        id_ = ms << 64 | seq
        if (s.ids and id_ <= s.ids[-1]) or id_ < master or (seen_live + seen_deleted and id_ <= last):
            raise _bad("stream entries out of order")
        last = id_
        if flags & _FLAG_DELETED:
            seen_deleted += 1
        else:
            seen_live += 1
            s.ids.append(id_)
            s.entries[id_] = flat
    if seen_live != live or seen_deleted != deleted:
        raise _bad("stream node counts mismatch")
    if s.nodes and master <= s.nodes[-1].last:
        raise _bad("stream nodes out of order")
    s.nodes.append(Node(master, last, live, deleted, len(lp), fields))
    s.firsts.append(master)


def _load_id(r: _Reader) -> int:
    ms = r.plain_length()
    seq = r.plain_length()
    if ms > SEQ_MASK or seq > SEQ_MASK:
        raise _bad("stream ID out of range")
    return ms << 64 | seq


def _load_stream(r: _Reader, t: int) -> Stream:
    s = Stream()
    for _ in range(r.count()):
        key = r.string()
        if len(key) != 16:
            raise _bad("bad stream node key")
        _load_stream_node(s, int.from_bytes(key, "big"), r.string())
    if r.plain_length() != len(s.ids):
        raise _bad("stream length mismatch")
    s.last_id = _load_id(r)
    if s.nodes and s.nodes[-1].last > s.last_id:
        raise _bad("stream last ID below an entry")
    if t >= T_STREAM_LISTPACKS_2:
        _load_id(r)  # first_id: derived from the entries here
        s.max_deleted = _load_id(r)
        s.entries_added = r.plain_length()
        if s.entries_added > _LLONG_MAX:  # a long long in replies
            raise _bad("stream entries_added out of range")
    else:
        s.entries_added = len(s.ids)
    for _ in range(r.count()):
        name = r.string()
        if name in s.groups:
            raise _bad("duplicate consumer group")
        g = Group(_load_id(r), INVALID_ENTRIES_READ)
        if t >= T_STREAM_LISTPACKS_2:
            g.entries_read = _wrap64(r.plain_length())  # a long long; -1: not known
            if g.entries_read < INVALID_ENTRIES_READ:
                raise _bad("stream group entries_read out of range")
        else:
            g.entries_read = s.estimate_read(g.last_id)
        owners: dict[int, Consumer | None] = {}
        pending: list[tuple[int, int, int]] = []
        for _ in range(r.count()):
            id_ = int.from_bytes(r.take(16), "big")
            when = struct.unpack("<q", r.take(8))[0]
            count = r.plain_length()
            if count > _LLONG_MAX:
                raise _bad("delivery count out of range")
            pending.append((id_, when, count))
            if id_ in owners:
                raise _bad("duplicate pending entry")
            owners[id_] = None
        for _ in range(r.count()):
            cname = r.string()
            if cname in g.consumers:
                raise _bad("duplicate consumer")
            c = Consumer(cname, struct.unpack("<q", r.take(8))[0])
            g.consumers[cname] = c
            for _ in range(r.count()):
                id_ = int.from_bytes(r.take(16), "big")
                if id_ not in owners or owners[id_] is not None:
                    raise _bad("consumer pending entry not in the group's")
                owners[id_] = c
        for id_, when, count in sorted(pending):
            c = owners[id_]
            if c is None:
                raise _bad("pending entry without a consumer")
            g.add_pending(id_, Nack(c, when, count))
        s.groups[name] = g
    return s


def _load_object(r: _Reader, t: int) -> Any:
    if t == T_STRING:
        return r.string()
    if t == T_LIST:
        n = r.count()
        items = List(r.string() for _ in range(n))
        if not items:
            raise _bad("empty list")
        return items
    if t in (T_LIST_QUICKLIST, T_LIST_QUICKLIST_2):
        nodes = r.count()
        items = List()
        for _ in range(nodes):
            if t == T_LIST_QUICKLIST_2:
                container, encoded = r.length()
                if encoded or container not in (1, 2):
                    raise _bad("bad quicklist container")
                if container == 1:  # PLAIN: one element as a string
                    items.append(r.string())
                    continue
                items.extend(lp_decode(r.string()))
            else:
                items.extend(zl_decode(r.string()))  # an empty node is skipped, as Redis does
        if not items:
            raise _bad("empty list")
        return items
    if t == T_LIST_ZIPLIST:
        items = List(zl_decode(r.string()))
        if not items:
            raise _bad("empty list")
        return items
    if t == T_SET:
        n = r.count()
        return _new_set(r.string() for _ in range(n))
    if t == T_SET_INTSET:
        return _new_set(intset_decode(r.string()))
    if t == T_SET_LISTPACK:
        return _new_set(lp_decode(r.string()))
    if t == T_HASH:
        n = r.count()
        return _new_hash((r.string(), r.string()) for _ in range(n))
    if t == T_HASH_LISTPACK:
        return _new_hash(_pairs(lp_decode(r.string())))
    if t == T_HASH_ZIPMAP:
        return _new_hash(_pairs(zipmap_decode(r.string())))
    if t == T_HASH_ZIPLIST:
        return _new_hash(_pairs(zl_decode(r.string())))
    if t in (T_ZSET, T_ZSET_2):
        n = r.count()
        pairs = []
        for _ in range(n):
            m = r.string()
            pairs.append((m, r.binary_double() if t == T_ZSET_2 else r.text_double()))
        return _new_zset(pairs)
    if t == T_ZSET_LISTPACK:
        return _lp_zset(lp_decode(r.string()))
    if t == T_ZSET_ZIPLIST:
        return _lp_zset(zl_decode(r.string()))
    if t in (T_STREAM_LISTPACKS, T_STREAM_LISTPACKS_2):
        return _load_stream(r, t)
    if t in (6, 7):
        raise UnsupportedType("module")
    raise _bad("unknown type")


OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_EXPIRETIME = 253


@dataclass
class RdbFile:
    """What an RDB file holds: per database index, its (key, value, expiry ms or None) in
    file order; the function libraries' code; the AUX fields."""

    dbs: dict[int, list[tuple[bytes, Any, int | None]]] = field(default_factory=dict)
    functions: list[bytes] = field(default_factory=list)
    aux: dict[bytes, bytes] = field(default_factory=dict)


def load_file(data: bytes) -> RdbFile:
    """Read a whole RDB file, versions 1 to 11 (Redis 2.x to 7.2), every encoding ``load``
    reads: ``PayloadError`` for a malformed file, ``VersionError`` for a wrong version or
    checksum, ``UnsupportedType`` for module data."""
    if len(data) < 9 or data[:5] != b"REDIS" or not data[5:9].isdigit():
        raise PayloadError("not an RDB file (no REDIS header)")
    version = int(data[5:9])
    if not 1 <= version <= 11:
        raise VersionError(f"RDB version {version} is not one Raftis reads (1 to 11)")
    r = _Reader(data, len(data))
    r.pos = 9
    out = RdbFile()
    db: list[tuple[bytes, Any, int | None]] = out.dbs.setdefault(0, [])
    expire: int | None = None
    while True:
        op = r.byte()
        if op == OP_EOF:
            break
        if op == OP_AUX:
            key = r.string()
            out.aux[key] = r.string()
        elif op == OP_SELECTDB:
            db = out.dbs.setdefault(r.plain_length(), [])
        elif op == OP_RESIZEDB:
            r.plain_length()
            r.plain_length()
        elif op == OP_EXPIRETIME_MS:
            expire = struct.unpack("<q", r.take(8))[0]
        elif op == OP_EXPIRETIME:
            expire = struct.unpack("<i", r.take(4))[0] * 1000
        elif op == OP_FREQ:
            r.byte()
        elif op == OP_IDLE:
            r.plain_length()
        elif op == OP_FUNCTION2:
            out.functions.append(r.string())
        elif op == OP_FUNCTION_PRE_GA:
            raise PayloadError("functions in the format of Redis 7.0's release candidates")
        elif op == OP_MODULE_AUX:
            raise UnsupportedType("module data")
        else:
            key = r.string()
            db.append((key, _load_object(r, op), expire))
            expire = None
    if version >= 5 and r.end - r.pos >= 8:
        stored = int.from_bytes(r.take(8), "little")
        if stored and stored != crc64(data[: r.pos - 8]):
            raise VersionError("the RDB file's checksum does not match its contents")
    out.dbs = {i: keys for i, keys in out.dbs.items() if keys}
    return out


def verify(payload: bytes) -> None:
    """``verifyDumpPayload``: version not newer than ours and the CRC64 matches."""
    if len(payload) < 10:
        raise VersionError
    version = payload[-10] | (payload[-9] << 8)
    if version > RDB_VERSION:
        raise VersionError
    if crc64(payload[:-8]) != int.from_bytes(payload[-8:], "little"):
        raise VersionError


def dump_functions(codes: list[bytes]) -> bytes:
    """FUNCTION DUMP: every library's code, as Redis serialises it."""
    w = _Writer()
    for code in codes:
        w.raw(bytes((OP_FUNCTION2,)))
        w.string(code)
    body = b"".join(w.parts) + RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def load_functions(payload: bytes) -> list[bytes]:
    """The libraries' code in a FUNCTION DUMP payload (``VersionError``; ``PayloadError``
    with Redis's reason)."""
    verify(payload)
    # As Redis reads it: a library's code may run into the version and checksum after the
    # last one (and is then refused as code); only a string past the end is unreadable.
    r = _Reader(payload, len(payload))
    codes = []
    while r.pos < len(payload) - 10:
        op = r.byte()
        if op == OP_FUNCTION_PRE_GA:
            raise PayloadError("Pre-GA function format not supported")
        if op != OP_FUNCTION2:
            raise PayloadError("given type is not a function")
        try:
            codes.append(r.string())
        except (PayloadError, ValueError, OverflowError) as e:  # past the end, a bad LZF stream
            raise PayloadError("Failed loading library payload") from e
    return codes


def load(payload: bytes) -> Any:
    """The value a DUMP payload holds (``VersionError``, ``PayloadError``, ``UnsupportedType``)."""
    verify(payload)
    r = _Reader(payload, len(payload) - 10)
    t = r.byte()
    try:
        return _load_object(r, t)
    except (struct.error, ValueError, OverflowError) as e:  # ListpackError, LzfError, ...
        raise PayloadError(str(e)) from None
