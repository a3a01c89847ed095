"""Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.

A bitmap is a string; bit 0 is the most significant bit of the first byte.  Argument handling
and errors follow Redis 7.0's bitops.c, including the order in which they are detected.  A
string is immutable ``bytes`` here, so a command that changes bits writes a new string (its
cost grows with the string's length, where Redis changes the bytes in place).
"""

from __future__ import annotations

from resp.parser import string2ll
from resp.types import ErrorReply
from server import errors
from server.commands.context import ExecContext, lookup_read
from server.commands.registry import READ, WRITE, command
from server.notify import GENERIC, NEW, STRING

PROTO_MAX_BULK_LEN = 512 * 1024 * 1024

BIT_OFFSET = ErrorReply("ERR bit offset is not an integer or out of range")
BIT_VALUE = ErrorReply("ERR bit is not an integer or out of range")
BIT_ARGUMENT = ErrorReply("ERR The bit argument must be 1 or 0.")
BITOP_NOT_SINGLE = ErrorReply("ERR BITOP NOT must be called with a single source key.")
BITFIELD_TYPE = ErrorReply("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
                           "supported but i64 is.")
OVERFLOW_TYPE = ErrorReply("ERR Invalid OVERFLOW type specified")
BITFIELD_RO_GET_ONLY = ErrorReply("ERR BITFIELD_RO only supports the GET subcommand")

_POPCOUNT = bytes(bin(i).count("1") for i in range(256))
_U64 = (1 << 64) - 1


def _string(ctx: ExecContext, key: bytes) -> bytes | None:
    v = lookup_read(ctx, key)
    if v is None or type(v) is bytes:
        return v
    raise errors.WRONGTYPE


def _string_for_write(ctx: ExecContext, key: bytes) -> bytes | None:
    v = ctx.db.get_for_write(key, ctx.now_ms, ctx.index)
    if v is None or type(v) is bytes:
        return v
    raise errors.WRONGTYPE


def _bit_offset(arg: bytes, bits: int = 0) -> int:
    """``getBitOffsetFromArgument``: a bit offset, or ``#n`` (n fields of ``bits``) when
    ``bits`` is given."""
    hashed = bits > 0 and arg[:1] == b"#"
    v = string2ll(arg[1:] if hashed else arg)
    if v is None:
        raise BIT_OFFSET
    if hashed:
        v *= bits
    if v < 0 or (v >> 3) >= PROTO_MAX_BULK_LEN:
        raise BIT_OFFSET
    return v


def _grown(v: bytes | None, maxbit: int) -> bytes:
    """``lookupStringForBitCommand``: the string, zero-padded to hold bit ``maxbit``."""
    need = (maxbit >> 3) + 1
    if v is None:
        return bytes(need)
    if len(v) < need:
        return v + bytes(need - len(v))
    return v


def _store(ctx: ExecContext, key: bytes, old: bytes | None, new: bytes, wrote: bool = True) -> None:
    """SETBIT's and BITFIELD's change, announced as Redis does: ``new`` when created, then
    ``setbit`` when a bit was written (a BITFIELD whose every write failed only creates)."""
    if old is None:
        ctx.db.set(key, new, ctx.index)
    else:
        ctx.db.set_keep_ttl(key, new, ctx.index)
    notify = ctx.notify
    if notify is not None:
        if old is None:
            notify(NEW, b"new", key, ctx.db_index)
        if wrote:
            notify(STRING, b"setbit", key, ctx.db_index)


@command("setbit", 4, "write denyoom", 1, 1, 1, WRITE, group="bitmap", since="2.2.0",
         summary="Sets or clears the bit at offset in the string value stored at key")
def setbit(ctx: ExecContext, argv: list[bytes]):
    offset = _bit_offset(argv[2])
    on = string2ll(argv[3])
    if on is None or on & ~1:
        raise BIT_VALUE
    key = argv[1]
    old = _string_for_write(ctx, key)
    v = _grown(old, offset)
    byte = offset >> 3
    mask = 1 << (7 - (offset & 7))
    was = v[byte] & mask
    if bool(was) != bool(on):
        b = v[byte] | mask if on else v[byte] & ~mask
        v = b"".join((v[:byte], bytes((b,)), v[byte + 1:]))
    if v is not old:  # changed, grown or created (Redis signals the key only then)
        _store(ctx, key, old, v)
    return 1 if was else 0


@command("getbit", 3, "readonly fast", 1, 1, 1, READ, group="bitmap", since="2.2.0",
         summary="Returns the bit value at offset in the string value stored at key")
def getbit(ctx: ExecContext, argv: list[bytes]):
    offset = _bit_offset(argv[2])
    v = _string(ctx, argv[1])
    byte = offset >> 3
    if v is None or byte >= len(v):
        return 0
    return 1 if v[byte] & (1 << (7 - (offset & 7))) else 0


def _in_bits(unit: bytes) -> bool:
    """BITCOUNT/BITPOS's range unit: True for BIT, False for BYTE, else a syntax error."""
    unit = unit.lower()
    if unit == b"bit":
        return True
    if unit != b"byte":
        raise errors.SYNTAX
    return False


def _clamp(start: int, end: int, total: int) -> tuple[int, int]:
    """A range's ends, negative ones counted from the end, clamped to 0..total-1 (as
    BITCOUNT and BITPOS do; start > end means empty)."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    return max(start, 0), min(max(end, 0), total - 1)


def _popcount(v: bytes) -> int:
    return int.from_bytes(v, "big").bit_count() if len(v) > 64 else sum(_POPCOUNT[b] for b in v)


@command("bitcount", -2, "readonly", 1, 1, 1, READ, group="bitmap", since="2.6.0",
         summary="Count set bits in a string")
def bitcount(ctx: ExecContext, argv: list[bytes]):
    v = _string(ctx, argv[1])
    if v is None:
        return 0
    n = len(argv)
    if n == 2:
        return _popcount(v)
    if n not in (4, 5):
        raise errors.SYNTAX
    start = string2ll(argv[2])
    end = string2ll(argv[3]) if start is not None else None
    if start is None or end is None:
        raise errors.NOT_INTEGER
    if start < 0 and end < 0 and start > end:
        return 0
    isbit = n == 5 and _in_bits(argv[4])
    total = len(v) * 8 if isbit else len(v)
    start, end = _clamp(start, end, total)
    if start > end:
        return 0
    if not isbit:
        return _popcount(v[start:end + 1])
    value = int.from_bytes(v[start >> 3:(end >> 3) + 1], "big")
    shift = 7 - (end & 7)
    width = end - start + 1
    return ((value >> shift) & ((1 << width) - 1)).bit_count()


@command("bitpos", -3, "readonly", 1, 1, 1, READ, group="bitmap", since="2.8.7",
         summary="Find first bit set or clear in a string")
def bitpos(ctx: ExecContext, argv: list[bytes]):
    bit = string2ll(argv[2])
    if bit is None:
        raise errors.NOT_INTEGER
    if bit not in (0, 1):
        raise BIT_ARGUMENT
    v = _string(ctx, argv[1])
    if v is None:  # an endless run of zeros
        return -1 if bit else 0
    n = len(argv)
    if n > 6:
        raise errors.SYNTAX
    isbit = False
    end_given = False
    total = len(v)
    if n >= 4:
        start = string2ll(argv[3])
        if start is None:
            raise errors.NOT_INTEGER
        if n == 6:
            isbit = _in_bits(argv[5])
        if n >= 5:
            end = string2ll(argv[4])
            if end is None:
                raise errors.NOT_INTEGER
            end_given = True
        else:
            end = total * 8 + 7 if isbit else total - 1
        if isbit:
            total *= 8
        start, end = _clamp(start, end, total)
    else:
        start, end = 0, total - 1
    if start > end:
        return -1
    first, last = (start, end) if isbit else (start * 8, end * 8 + 7)
    # The bits first..last as an integer, first bit most significant.
    value = int.from_bytes(v[first >> 3:(last >> 3) + 1], "big") >> (7 - (last & 7))
    width = last - first + 1
    value &= (1 << width) - 1
    if bit:
        if not value:
            return -1
        return first + width - value.bit_length()
    inverted = ~value & ((1 << width) - 1)
    if not inverted:
        # No clear bit in range: past its end, unless the end was given (then none).
        return -1 if end_given else last + 1
    return first + width - inverted.bit_length()


@command("bitop", -4, "write denyoom", 2, -1, 1, WRITE, group="bitmap", since="2.6.0",
         summary="Perform bitwise operations between strings")
def bitop(ctx: ExecContext, argv: list[bytes]):
    op = argv[1].lower()
    if op not in (b"and", b"or", b"xor", b"not"):
        raise errors.SYNTAX
    sources = argv[3:]
    if op == b"not" and len(sources) != 1:
        raise BITOP_NOT_SINGLE
    values = [_string(ctx, key) or b"" for key in sources]
    maxlen = max(len(x) for x in values)
    dest = argv[2]
    if maxlen == 0:
        if ctx.db.get_for_write(dest, ctx.now_ms, ctx.index) is not None:
            ctx.db.delete(dest, ctx.index)
            if ctx.notify is not None:
                ctx.notify(GENERIC, b"del", dest, ctx.db_index)
        return 0
    ints = [int.from_bytes(x.ljust(maxlen, b"\0"), "big") for x in values]
    if op == b"not":
        r = ~ints[0] & ((1 << (8 * maxlen)) - 1)
    else:
        r = ints[0]
        for x in ints[1:]:
            if op == b"and":
                r &= x
            elif op == b"or":
                r |= x
            else:
                r ^= x
    notify = ctx.notify
    new = notify is not None and ctx.db.get_for_write(dest, ctx.now_ms, ctx.index) is None
    ctx.db.set(dest, r.to_bytes(maxlen, "big"), ctx.index)
    if notify is not None:
        if new:
            notify(NEW, b"new", dest, ctx.db_index)
        notify(STRING, b"set", dest, ctx.db_index)
    return maxlen


# -- BITFIELD --------------------------------------------------------------------------------
_GET, _SET, _INCRBY = 0, 1, 2
_WRAP, _SAT, _FAIL = 0, 1, 2


def _field_type(arg: bytes) -> tuple[bool, int]:
    sign = arg[:1]
    if sign not in (b"i", b"u"):
        raise BITFIELD_TYPE
    bits = string2ll(arg[1:])
    if bits is None or bits < 1 or (sign == b"i" and bits > 64) or (sign == b"u" and bits > 63):
        raise BITFIELD_TYPE
    return sign == b"i", bits


def _get_field(v: bytes, offset: int, bits: int, signed: bool) -> int:
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    chunk = v[first:last + 1]
    width = (last - first + 1) * 8
    value = int.from_bytes(chunk.ljust(last - first + 1, b"\0"), "big")
    value = (value >> (width - (offset & 7) - bits)) & ((1 << bits) - 1)
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def _set_field(v: bytearray, offset: int, bits: int, value: int) -> None:
    value &= (1 << bits) - 1
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    n = last - first + 1
    width = n * 8
    shift = width - (offset & 7) - bits
    current = int.from_bytes(v[first:last + 1], "big")
    mask = ((1 << bits) - 1) << shift
    current = (current & ~mask) | (value << shift)
    v[first:last + 1] = current.to_bytes(n, "big")


def _overflow(value: int, incr: int, bits: int, signed: bool, mode: int) -> tuple[bool, int]:
    """Redis's checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow: whether
    ``value + incr`` leaves the field's range, and what to store then (WRAP, SAT)."""
    if signed:
        hi = (1 << (bits - 1)) - 1
        lo = -hi - 1
    else:
        hi = (1 << bits) - 1
        lo = 0
    total = value + incr
    if lo <= total <= hi:
        return False, total
    if mode == _SAT:
        return True, hi if total > hi else lo
    wrapped = total & ((1 << bits) - 1)
    if signed and wrapped >> (bits - 1):
        wrapped -= 1 << bits
    return True, wrapped


def _bitfield(ctx: ExecContext, argv: list[bytes], readonly_command: bool):
    ops = []
    mode = _WRAP
    writes = False
    highest = 0
    j = 2
    n = len(argv)
    while j < n:
        remaining = n - j - 1
        sub = argv[j].lower()
        if sub == b"get" and remaining >= 2:
            op = _GET
        elif sub == b"set" and remaining >= 3:
            op = _SET
        elif sub == b"incrby" and remaining >= 3:
            op = _INCRBY
        elif sub == b"overflow" and remaining >= 1:
            kind = argv[j + 1].lower()
            if kind == b"wrap":
                mode = _WRAP
            elif kind == b"sat":
                mode = _SAT
            elif kind == b"fail":
                mode = _FAIL
            else:
                raise OVERFLOW_TYPE
            j += 2
            continue
        else:
            raise errors.SYNTAX
        signed, bits = _field_type(argv[j + 1])
        offset = _bit_offset(argv[j + 2], bits)
        value = 0
        if op != _GET:
            writes = True
            highest = max(highest, offset + bits - 1)
            value = string2ll(argv[j + 3])
            if value is None:
                raise errors.NOT_INTEGER
        ops.append((op, signed, bits, offset, value, mode))
        j += 3 if op == _GET else 4
    key = argv[1]
    if not writes:
        v = _string(ctx, key) or b""
        return [_get_field(v, offset, bits, signed) for _, signed, bits, offset, _, _ in ops]
    if readonly_command:
        raise BITFIELD_RO_GET_ONLY
    old = _string_for_write(ctx, key)
    buf = bytearray(_grown(old, highest))
    changed = old is None or len(buf) != len(old)
    wrote = False
    out: list = []
    for op, signed, bits, offset, value, mode in ops:
        if op == _GET:
            out.append(_get_field(buf, offset, bits, signed))
            continue
        current = _get_field(buf, offset, bits, signed)
        if op == _INCRBY:
            overflow, new = _overflow(current, value, bits, signed, mode)
            reply = new
        else:
            if not signed:
                value &= _U64  # C stores the argument in a uint64_t
            overflow, new = _overflow(value, 0, bits, signed, mode)
            reply = current
        if overflow and mode == _FAIL:
            out.append(None)  # not written, and (as in Redis) not a change: no WATCH abort, no event
        else:
            out.append(reply)
            _set_field(buf, offset, bits, new)
            changed = wrote = True
    if changed:
        _store(ctx, key, old, bytes(buf), wrote)
    return out


@command("bitfield", -2, "write denyoom", 1, 1, 1, WRITE, group="bitmap", since="3.2.0",
         summary="Perform arbitrary bitfield integer operations on strings")
def bitfield(ctx: ExecContext, argv: list[bytes]):
    return _bitfield(ctx, argv, False)


@command("bitfield_ro", -2, "readonly fast", 1, 1, 1, READ, group="bitmap", since="6.0.0",
         summary="Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD")
def bitfield_ro(ctx: ExecContext, argv: list[bytes]):
    return _bitfield(ctx, argv, True)
