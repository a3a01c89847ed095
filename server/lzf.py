"""LZF, as Redis uses it for strings in RDB files and DUMP payloads: liblzf 3.6's format
and its compressor as Redis configures it (HLOG 16, VERY_FAST), so for the same input the
output is liblzf's byte for byte (with a zeroed hash table; Redis leaves its table
uninitialised, which in principle can make its output vary).

Pure Python: compression runs at about 1 MB/s, so callers bound how much they compress.
Decompression never writes past the length the caller expects.
"""

from __future__ import annotations

__all__ = ["LzfError", "lzf_compress", "lzf_decompress"]


class LzfError(ValueError):
    """Compressed data that does not decompress to the announced length."""


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
                raise LzfError("lzf literal overrun")
            out += data[i : i + run]
            i += run
            continue
        length = ctrl >> 5
        if length == 7:
            if i >= n:
                raise LzfError("lzf truncated")
            length += data[i]
            i += 1
        if i >= n:
            raise LzfError("lzf truncated")
        start = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        length += 2
        if start < 0 or len(out) + length > expected:
            raise LzfError("lzf back reference out of range")
        dist = len(out) - start
        if dist >= length:
            out += out[start : start + length]
        else:  # overlapping copy: the pattern of the last ``dist`` bytes repeats
            pattern = bytes(out[start:])
            reps, rest = divmod(length, dist)
            out += pattern * reps + pattern[:rest]
    if len(out) != expected:
        raise LzfError("lzf length mismatch")
    return bytes(out)
