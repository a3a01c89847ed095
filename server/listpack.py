"""Redis's compact encodings as they appear in DUMP payloads and RDB files: listpack (7.0),
ziplist and zipmap (older versions, still read) and intset.

Encoders write what Redis writes for the same elements (``lpInsertString``: a string that is
a canonical 64-bit integer takes the smallest integer encoding).  Decoders check the whole
structure (total size, terminator, every entry's encoding, back length and bounds, declared
counts, intset order) and raise ``ListpackError``: a blob is either decoded entirely or
refused, in time linear in its size.
"""

from __future__ import annotations

import struct

from resp.parser import string2ll

__all__ = [
    "ListpackError",
    "intset",
    "intset_decode",
    "listpack",
    "lp_decode",
    "lp_entry",
    "zipmap_decode",
    "zl_decode",
]


class ListpackError(ValueError):
    """A malformed listpack, ziplist, zipmap or intset."""


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


def listpack(entries: list[bytes], count: int) -> bytes:
    """A listpack of encoded ``entries`` (``count`` of them; the header saturates at 65535)."""
    body = b"".join(entries)
    total = 6 + len(body) + 1
    return struct.pack("<IH", total, count if count < 65535 else 65535) + body + b"\xff"


def intset(members: list[int]) -> bytes:
    """An intset of sorted, distinct ``members`` in the narrowest width that holds them all."""
    lo, hi = members[0], members[-1]
    if -(2**15) <= lo and hi < 2**15:
        width, fmt = 2, "h"
    elif -(2**31) <= lo and hi < 2**31:
        width, fmt = 4, "i"
    else:
        width, fmt = 8, "q"
    return struct.pack(f"<II{len(members)}{fmt}", width, len(members), *members)


def lp_decode(lp: bytes) -> list[bytes]:
    """Every entry of a listpack, validated whole."""
    n = len(lp)
    if n < 7 or struct.unpack_from("<I", lp)[0] != n or lp[-1] != 0xFF:
        raise ListpackError("bad listpack header")
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
                raise ListpackError("listpack string overrun")
            val = lp[p : p + ln]
            p += ln
        elif b < 0xE0:
            if p + 2 > end:
                raise ListpackError("listpack truncated")
            u = ((b & 0x1F) << 8) | lp[p + 1]
            val = str(u - 0x2000 if u >= 0x1000 else u).encode()
            p += 2
        elif b < 0xF0:
            if p + 2 > end:
                raise ListpackError("listpack truncated")
            ln = ((b & 0x0F) << 8) | lp[p + 1]
            p += 2
            if p + ln > end:
                raise ListpackError("listpack string overrun")
            val = lp[p : p + ln]
            p += ln
        elif b == 0xF0:
            if p + 5 > end:
                raise ListpackError("listpack truncated")
            ln = struct.unpack_from("<I", lp, p + 1)[0]
            p += 5
            if p + ln > end:
                raise ListpackError("listpack string overrun")
            val = lp[p : p + ln]
            p += ln
        elif 0xF1 <= b <= 0xF4:
            width = (2, 3, 4, 8)[b - 0xF1]
            if p + 1 + width > end:
                raise ListpackError("listpack truncated")
            val = str(int.from_bytes(lp[p + 1 : p + 1 + width], "little", signed=True)).encode()
            p += 1 + width
        else:
            raise ListpackError("bad listpack entry encoding")
        back = _backlen(p - start)
        if lp[p : p + len(back)] != back or p + len(back) > end:
            raise ListpackError("bad listpack back length")
        p += len(back)
        out.append(val)
    if p != end:
        raise ListpackError("listpack overrun")
    if declared != 65535 and declared != len(out):
        raise ListpackError("listpack count mismatch")
    return out


def zl_decode(zl: bytes) -> list[bytes]:
    """Every entry of a ziplist (Redis < 7), validated whole."""
    n = len(zl)
    if n < 11 or struct.unpack_from("<I", zl)[0] != n or zl[-1] != 0xFF:
        raise ListpackError("bad ziplist header")
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
                raise ListpackError("ziplist truncated")
            prevlen = struct.unpack_from("<I", zl, p + 1)[0]
            p += 5
        else:
            raise ListpackError("bad ziplist prevlen")
        if prevlen != prev_len:
            raise ListpackError("ziplist prevlen mismatch")
        if p >= end:
            raise ListpackError("ziplist truncated")
        b = zl[p]
        kind = b >> 6
        if kind < 3:
            if kind == 0:
                ln = b & 0x3F
                p += 1
            elif kind == 1:
                if p + 2 > end:
                    raise ListpackError("ziplist truncated")
                ln = ((b & 0x3F) << 8) | zl[p + 1]
                p += 2
            else:
                if b != 0x80 or p + 5 > end:
                    raise ListpackError("bad ziplist string encoding")
                ln = int.from_bytes(zl[p + 1 : p + 5], "big")
                p += 5
            if p + ln > end:
                raise ListpackError("ziplist string overrun")
            val = zl[p : p + ln]
            p += ln
        else:
            width = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}.get(b)
            if width is not None:
                if p + 1 + width > end:
                    raise ListpackError("ziplist truncated")
                val = str(int.from_bytes(zl[p + 1 : p + 1 + width], "little", signed=True)).encode()
                p += 1 + width
            elif 0xF1 <= b <= 0xFD:
                val = str((b & 0x0F) - 1).encode()
                p += 1
            else:
                raise ListpackError("bad ziplist entry encoding")
        prev_len = p - start
        last = start
        out.append(val)
    if p != end:
        raise ListpackError("ziplist overrun")
    if tail != last:
        raise ListpackError("ziplist tail mismatch")
    if declared != 65535 and declared != len(out):
        raise ListpackError("ziplist count mismatch")
    return out


def zipmap_decode(zm: bytes) -> list[bytes]:
    """Fields and values of a zipmap (hashes saved by Redis < 2.6)."""
    n = len(zm)
    if n < 2 or zm[-1] != 0xFF:
        raise ListpackError("bad zipmap")
    out: list[bytes] = []
    p = 1
    end = n - 1
    while p < end:
        for is_value in (False, True):
            if p >= end:
                raise ListpackError("zipmap truncated")
            ln = zm[p]
            p += 1
            if ln == 254:
                if p + 4 > end:
                    raise ListpackError("zipmap truncated")
                ln = struct.unpack_from("<I", zm, p)[0]
                p += 4
            elif ln == 255:
                raise ListpackError("bad zipmap length")
            free = 0
            if is_value:
                if p >= end:
                    raise ListpackError("zipmap truncated")
                free = zm[p]
                p += 1
            if p + ln + free > end:
                raise ListpackError("zipmap overrun")
            out.append(zm[p : p + ln])
            p += ln + free
    return out


def intset_decode(blob: bytes) -> list[bytes]:
    if len(blob) < 8:
        raise ListpackError("bad intset header")
    width, count = struct.unpack_from("<II", blob)
    fmt = {2: "h", 4: "i", 8: "q"}.get(width)
    if fmt is None or 8 + width * count != len(blob):
        raise ListpackError("bad intset size")
    values = struct.unpack_from(f"<{count}{fmt}", blob, 8)
    for i in range(1, count):
        if values[i - 1] >= values[i]:
            raise ListpackError("intset out of order")
    return [str(v).encode() for v in values]
