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
import sys
from bisect import bisect_left
from typing import Any

from resp.parser import string2ll
from server.keyspace import Hash, List, Set
from server.sortedset import LISTPACK_ENTRIES, LISTPACK_VALUE, ZSet
from server.stream import INVALID_ENTRIES_READ, SEQ_MASK, Consumer, Group, Nack, Node, Stream

__all__ = ["PayloadError", "UnsupportedType", "VersionError", "crc64", "dump", "load"]

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
T_HASH_LISTPACK = 16
T_ZSET_LISTPACK = 17
T_LIST_QUICKLIST_2 = 18
T_STREAM_LISTPACKS = 15
T_STREAM_LISTPACKS_2 = 19
T_SET_LISTPACK = 20
T_STREAM_LISTPACKS_3 = 21

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
# more than its CRC64 (also pure Python: about 0.12 s per MB, for DUMP and RESTORE alike).
LZF_BUDGET = 256 * 1024


class PayloadError(Exception):
    """The payload is malformed (``ERR Bad data format``)."""


class VersionError(Exception):
    """Wrong RDB version or checksum (``ERR DUMP payload version or checksum are wrong``)."""


class UnsupportedType(Exception):
    """A value or payload type this server does not serialise (module values)."""


# --- CRC64 (Jones polynomial, reflected; Redis's crc64.c) -------------------------------------
def _crc64_table() -> list[int]:
    poly = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9 bit-reversed
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc64_table()
# Slicing-by-8: _CRC_SLICES[k][b] is byte b's contribution when 7 - k bytes follow it in a
# block of 8, so one step consumes 8 bytes (about 1.5 times faster than a byte at a time).
_CRC_SLICES = [_CRC_TABLE]
for _ in range(7):
    _prev = _CRC_SLICES[-1]
    _CRC_SLICES.append([(_prev[i] >> 8) ^ _CRC_TABLE[_prev[i] & 0xFF] for i in range(256)])


def crc64(data: bytes, crc: int = 0) -> int:
    table = _CRC_TABLE
    head = len(data) & ~7 if sys.byteorder == "little" else 0
    if head:
        t0, t1, t2, t3, t4, t5, t6, t7 = _CRC_SLICES
        for x in memoryview(data)[:head].cast("Q"):  # 8 bytes, little-endian
            x ^= crc
            crc = (
                t7[x & 0xFF]
                ^ t6[(x >> 8) & 0xFF]
                ^ t5[(x >> 16) & 0xFF]
                ^ t4[(x >> 24) & 0xFF]
                ^ t3[(x >> 32) & 0xFF]
                ^ t2[(x >> 40) & 0xFF]
                ^ t1[(x >> 48) & 0xFF]
                ^ t0[x >> 56]
            )
    for b in data[head:]:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


# --- LZF (liblzf 3.6 as configured in Redis: HLOG 16, VERY_FAST) ------------------------------
_HSIZE = 1 << 16
_MAX_LIT = 1 << 5
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)


def lzf_compress(data: bytes, out_len: int) -> bytes | None:
    """liblzf's ``lzf_compress`` with a zeroed hash table; None when the output would not
    fit in ``out_len`` bytes."""
    n = len(data)
    if not n or out_len <= 0:
        return None
    htab = [0] * _HSIZE  # offsets + 1 (0: empty), like liblzf's offsets from in_data
    out = bytearray(1)  # out[lit_pos] is the current literal run's header
    lit = 0
    lit_pos = 0
    ip = 0
    in_end = n
    hval = (data[0] << 8) | data[1] if n >= 2 else 0
    while ip < in_end - 2:
        hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
        slot = ((hval >> 8) - hval * 5) & 0xFFFF
        ref = htab[slot] - 1
        htab[slot] = ip + 1
        off = ip - ref - 1
        if (
            ref > 0
            and 0 <= off < _MAX_OFF
            and data[ref + 2] == data[ip + 2]
            and data[ref] == data[ip]
            and data[ref + 1] == data[ip + 1]
        ):
            length = 2
            maxlen = in_end - ip - length
            if maxlen > _MAX_REF:
                maxlen = _MAX_REF
            if len(out) + 3 + 1 >= out_len and len(out) - (0 if lit else 1) + 3 + 1 >= out_len:
                return None
            out[lit_pos] = lit - 1 & 0xFF
            if not lit:
                del out[-1]
            # liblzf's loop: 16 unrolled steps that do not look at maxlen (so a match may
            # run up to two bytes past it, still inside the input), then a checked one.
            matched = True
            if maxlen > 16:
                for _ in range(16):
                    length += 1
                    if data[ref + length] != data[ip + length]:
                        matched = False
                        break
            if matched:
                while True:
                    length += 1
                    if length >= maxlen or data[ref + length] != data[ip + length]:
                        break
            length -= 2
            ip += 1
            if length < 7:
                out.append((off >> 8) + (length << 5))
            else:
                out.append((off >> 8) + (7 << 5))
                out.append(length - 7)
            out.append(off & 0xFF)
            lit = 0
            lit_pos = len(out)
            out.append(0)
            ip += length + 1
            if ip >= in_end - 2:
                break
            ip -= 2
            hval = (data[ip] << 8) | data[ip + 1]
            hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
            htab[((hval >> 8) - hval * 5) & 0xFFFF] = ip + 1
            ip += 1
            hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
            htab[((hval >> 8) - hval * 5) & 0xFFFF] = ip + 1
            ip += 1
        else:
            if len(out) >= out_len:
                return None
            lit += 1
            out.append(data[ip])
            ip += 1
            if lit == _MAX_LIT:
                out[lit_pos] = lit - 1
                lit = 0
                lit_pos = len(out)
                out.append(0)
    if len(out) + 3 > out_len:
        return None
    while ip < in_end:
        lit += 1
        out.append(data[ip])
        ip += 1
        if lit == _MAX_LIT:
            out[lit_pos] = lit - 1
            lit = 0
            lit_pos = len(out)
            out.append(0)
    out[lit_pos] = lit - 1 & 0xFF
    if not lit:
        del out[-1]
    return bytes(out)


def lzf_decompress(data: bytes, expected: int) -> bytes:
    """Exactly ``expected`` bytes or ``PayloadError``; never writes past ``expected``."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            if i + run > n or len(out) + run > expected:
                raise PayloadError("lzf literal overrun")
            out += data[i : i + run]
            i += run
            continue
        length = ctrl >> 5
        if length == 7:
            if i >= n:
                raise PayloadError("lzf truncated")
            length += data[i]
            i += 1
        if i >= n:
            raise PayloadError("lzf truncated")
        start = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        length += 2
        if start < 0 or len(out) + length > expected:
            raise PayloadError("lzf back reference out of range")
        dist = len(out) - start
        if dist >= length:
            out += out[start : start + length]
        else:  # overlapping copy: the pattern of the last ``dist`` bytes repeats
            pattern = bytes(out[start:])
            reps, rest = divmod(length, dist)
            out += pattern * reps + pattern[:rest]
    if len(out) != expected:
        raise PayloadError("lzf length mismatch")
    return bytes(out)


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


def _backlen(n: int) -> bytes:
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    if n < 268435455:
        return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128, (n & 127) | 128))
    return bytes(
        (n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128, (n & 127) | 128)
    )


def lp_entry(s: bytes) -> bytes:
    """One listpack entry (encoding, data, back length) as ``lpInsertString`` writes it."""
    v = string2ll(s) if len(s) <= 20 else None
    if v is not None:
        if 0 <= v <= 127:
            enc = bytes((v,))
        elif -4096 <= v <= 4095:
            u = v & 0x1FFF
            enc = bytes((0xC0 | (u >> 8), u & 0xFF))
        elif -(2**15) <= v < 2**15:
            enc = b"\xf1" + v.to_bytes(2, "little", signed=True)
        elif -(2**23) <= v < 2**23:
            enc = b"\xf2" + v.to_bytes(3, "little", signed=True)
        elif -(2**31) <= v < 2**31:
            enc = b"\xf3" + v.to_bytes(4, "little", signed=True)
        else:
            enc = b"\xf4" + v.to_bytes(8, "little", signed=True)
    else:
        n = len(s)
        if n < 64:
            enc = bytes((0x80 | n,)) + s
        elif n < 4096:
            enc = bytes((0xE0 | (n >> 8), n & 0xFF)) + s
        else:
            enc = b"\xf0" + n.to_bytes(4, "little") + s
    return enc + _backlen(len(enc))


def _listpack(entries: list[bytes], count: int) -> bytes:
    body = b"".join(entries)
    total = 6 + len(body) + 1
    return struct.pack("<IH", total, count if count < 65535 else 65535) + body + b"\xff"


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


def _intset(members: list[int]) -> bytes:
    lo, hi = members[0], members[-1]
    if -(2**15) <= lo and hi < 2**15:
        width, fmt = 2, "h"
    elif -(2**31) <= lo and hi < 2**31:
        width, fmt = 4, "i"
    else:
        width, fmt = 8, "q"
    return struct.pack(f"<II{len(members)}{fmt}", width, len(members), *members)


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
        w.string(_listpack(out, len(out)))
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
            w.string(_listpack(node, len(node)))
    elif t is Set:
        ints = [string2ll(m) for m in value] if len(value) <= SET_MAX_INTSET_ENTRIES else [None]
        if None not in ints:
            w.raw(bytes((T_SET_INTSET,)))
            w.string(_intset(sorted(ints)))  # type: ignore[type-var]
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
            w.string(_listpack(entries, len(entries)))
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
            w.string(_listpack(entries, len(entries)))
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
    body = b"".join(w.parts) + RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


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


def lp_decode(lp: bytes) -> list[bytes]:
    """Every entry of a listpack, validated whole."""
    n = len(lp)
    if n < 7 or struct.unpack_from("<I", lp)[0] != n or lp[-1] != 0xFF:
        raise _bad("bad listpack header")
    declared = struct.unpack_from("<H", lp, 4)[0]
    out: list[bytes] = []
    p = 6
    end = n - 1
    while p < end:
        start = p
        b = lp[p]
        if b < 0x80:
            val: bytes = str(b).encode()
            p += 1
        elif b < 0xC0:
            ln = b & 0x3F
            p += 1
            if p + ln > end:
                raise _bad("listpack string overrun")
            val = lp[p : p + ln]
            p += ln
        elif b < 0xE0:
            if p + 2 > end:
                raise _bad("listpack truncated")
            u = ((b & 0x1F) << 8) | lp[p + 1]
            val = str(u - 0x2000 if u >= 0x1000 else u).encode()
            p += 2
        elif b < 0xF0:
            if p + 2 > end:
                raise _bad("listpack truncated")
            ln = ((b & 0x0F) << 8) | lp[p + 1]
            p += 2
            if p + ln > end:
                raise _bad("listpack string overrun")
            val = lp[p : p + ln]
            p += ln
        elif b == 0xF0:
            if p + 5 > end:
                raise _bad("listpack truncated")
            ln = struct.unpack_from("<I", lp, p + 1)[0]
            p += 5
            if p + ln > end:
                raise _bad("listpack string overrun")
            val = lp[p : p + ln]
            p += ln
        elif 0xF1 <= b <= 0xF4:
            width = (2, 3, 4, 8)[b - 0xF1]
            if p + 1 + width > end:
                raise _bad("listpack truncated")
            val = str(int.from_bytes(lp[p + 1 : p + 1 + width], "little", signed=True)).encode()
            p += 1 + width
        else:
            raise _bad("bad listpack entry encoding")
        back = _backlen(p - start)
        if lp[p : p + len(back)] != back or p + len(back) > end:
            raise _bad("bad listpack back length")
        p += len(back)
        out.append(val)
    if p != end:
        raise _bad("listpack overrun")
    if declared != 65535 and declared != len(out):
        raise _bad("listpack count mismatch")
    return out


def zl_decode(zl: bytes) -> list[bytes]:
    """Every entry of a ziplist (Redis < 7), validated whole."""
    n = len(zl)
    if n < 11 or struct.unpack_from("<I", zl)[0] != n or zl[-1] != 0xFF:
        raise _bad("bad ziplist header")
    tail, declared = struct.unpack_from("<IH", zl, 4)
    out: list[bytes] = []
    p = 10
    end = n - 1
    prev_len = 0
    last = 10
    while p < end:
        start = p
        if zl[p] < 254:
            prevlen = zl[p]
            p += 1
        elif zl[p] == 254:
            if p + 5 > end:
                raise _bad("ziplist truncated")
            prevlen = struct.unpack_from("<I", zl, p + 1)[0]
            p += 5
        else:
            raise _bad("bad ziplist prevlen")
        if prevlen != prev_len:
            raise _bad("ziplist prevlen mismatch")
        if p >= end:
            raise _bad("ziplist truncated")
        b = zl[p]
        kind = b >> 6
        if kind < 3:
            if kind == 0:
                ln = b & 0x3F
                p += 1
            elif kind == 1:
                if p + 2 > end:
                    raise _bad("ziplist truncated")
                ln = ((b & 0x3F) << 8) | zl[p + 1]
                p += 2
            else:
                if b != 0x80 or p + 5 > end:
                    raise _bad("bad ziplist string encoding")
                ln = int.from_bytes(zl[p + 1 : p + 5], "big")
                p += 5
            if p + ln > end:
                raise _bad("ziplist string overrun")
            val = zl[p : p + ln]
            p += ln
        else:
            width = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}.get(b)
            if width is not None:
                if p + 1 + width > end:
                    raise _bad("ziplist truncated")
                val = str(int.from_bytes(zl[p + 1 : p + 1 + width], "little", signed=True)).encode()
                p += 1 + width
            elif 0xF1 <= b <= 0xFD:
                val = str((b & 0x0F) - 1).encode()
                p += 1
            else:
                raise _bad("bad ziplist entry encoding")
        prev_len = p - start
        last = start
        out.append(val)
    if p != end:
        raise _bad("ziplist overrun")
    if tail != last:
        raise _bad("ziplist tail mismatch")
    if declared != 65535 and declared != len(out):
        raise _bad("ziplist count mismatch")
    return out


def _zipmap_decode(zm: bytes) -> list[bytes]:
    """Fields and values of a zipmap (hashes saved by Redis < 2.6)."""
    n = len(zm)
    if n < 2 or zm[-1] != 0xFF:
        raise _bad("bad zipmap")
    out: list[bytes] = []
    p = 1
    end = n - 1
    while p < end:
        for is_value in (False, True):
            if p >= end:
                raise _bad("zipmap truncated")
            ln = zm[p]
            p += 1
            if ln == 254:
                if p + 4 > end:
                    raise _bad("zipmap truncated")
                ln = struct.unpack_from("<I", zm, p)[0]
                p += 4
            elif ln == 255:
                raise _bad("bad zipmap length")
            free = 0
            if is_value:
                if p >= end:
                    raise _bad("zipmap truncated")
                free = zm[p]
                p += 1
            if p + ln + free > end:
                raise _bad("zipmap overrun")
            out.append(zm[p : p + ln])
            p += ln + free
    return out


def _intset_decode(blob: bytes) -> list[bytes]:
    if len(blob) < 8:
        raise _bad("bad intset header")
    width, count = struct.unpack_from("<II", blob)
    fmt = {2: "h", 4: "i", 8: "q"}.get(width)
    if fmt is None or 8 + width * count != len(blob):
        raise _bad("bad intset size")
    values = struct.unpack_from(f"<{count}{fmt}", blob, 8)
    for i in range(1, count):
        if values[i - 1] >= values[i]:
            raise _bad("intset out of order")
    return [str(v).encode() for v in values]


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
        return _new_set(_intset_decode(r.string()))
    if t == T_SET_LISTPACK:
        return _new_set(lp_decode(r.string()))
    if t == T_HASH:
        n = r.count()
        return _new_hash((r.string(), r.string()) for _ in range(n))
    if t == T_HASH_LISTPACK:
        return _new_hash(_pairs(lp_decode(r.string())))
    if t == T_HASH_ZIPMAP:
        return _new_hash(_pairs(_zipmap_decode(r.string())))
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


def verify(payload: bytes) -> None:
    """``verifyDumpPayload``: version not newer than ours and the CRC64 matches."""
    if len(payload) < 10:
        raise VersionError
    version = payload[-10] | (payload[-9] << 8)
    if version > RDB_VERSION:
        raise VersionError
    if crc64(payload[:-8]) != int.from_bytes(payload[-8:], "little"):
        raise VersionError


def load(payload: bytes) -> Any:
    """The value a DUMP payload holds (``VersionError``, ``PayloadError``, ``UnsupportedType``)."""
    verify(payload)
    r = _Reader(payload, len(payload) - 10)
    t = r.byte()
    try:
        return _load_object(r, t)
    except (struct.error, ValueError, OverflowError) as e:  # belt and braces: never escapes
        raise PayloadError(str(e)) from None
