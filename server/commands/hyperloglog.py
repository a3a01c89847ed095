"""HyperLogLog: PFADD, PFCOUNT, PFMERGE, PFDEBUG to look at the representation, and PFSELFTEST.

The value is a string holding Redis's own representation, byte for byte (hyperloglog.c of
Redis 7.0): a 16-byte header ("HYLL", the encoding, three unused bytes and the cached
cardinality, little-endian, whose top bit marks it stale), then 16384 registers of 6 bits,
either sparse (runs of ZERO, XZERO and VAL opcodes) or dense (a little-endian bit stream). A
sparse value is updated the way Redis updates it, opcode splits and merges included, and
becomes dense past 3000 bytes or when a register passes 32. So GET, DUMP-like copies and
PFCOUNT agree with redis-server, and values can move between the two.

One difference: PFCOUNT is a read here, so it does not store the count it computes in the
header (Redis writes it back and replicates that write). The header then keeps its stale mark
until the next PFADD or PFMERGE, and the count is computed again each time.
"""

from __future__ import annotations

import math
import random
import struct
from collections import Counter
from typing import Any

from resp.types import OK, ErrorReply, SimpleString
from server import errors
from server.commands.context import ExecContext, lookup_read
from server.commands.registry import CONN, READ, WRITE, command
from server.forked import child_reply
from server.notify import NEW, STRING

P = 14
REGISTERS = 1 << P
Q = 64 - P
BITS = 6
REGISTER_MAX = (1 << BITS) - 1
HDR = 16
DENSE_SIZE = HDR + (REGISTERS * BITS + 7) // 8
DENSE, SPARSE = 0, 1
SPARSE_MAX_BYTES = 3000  # Redis's hll-sparse-max-bytes
VAL_MAX_VALUE, VAL_MAX_LEN, ZERO_MAX_LEN, XZERO_MAX_LEN = 32, 4, 64, 16384
ALPHA_INF = 0.721347520444481703680

NOT_HLL = ErrorReply("WRONGTYPE Key is not a valid HyperLogLog string value.")
INVALID = ErrorReply("INVALIDOBJ Corrupted HLL object detected")

_M = 0xC6A4A7935BD1E995
_MASK64 = (1 << 64) - 1


class _Corrupt(Exception):
    pass


def murmur64a(data: bytes, seed: int = 0xADC83B19) -> int:
    """MurmurHash64A, as Redis uses it (little-endian words)."""
    n = len(data)
    h = (seed ^ (n * _M)) & _MASK64
    end = n - (n & 7)
    for i in range(0, end, 8):
        k = int.from_bytes(data[i:i + 8], "little")
        k = (k * _M) & _MASK64
        k ^= k >> 47
        k = (k * _M) & _MASK64
        h ^= k
        h = (h * _M) & _MASK64
    rest = n & 7
    if rest:
        h ^= int.from_bytes(data[end:], "little")
        h = (h * _M) & _MASK64
    h ^= h >> 47
    h = (h * _M) & _MASK64
    h ^= h >> 47
    return h


def pattern(element: bytes) -> tuple[int, int]:
    """``hllPatLen``: (register index, run length of the hash's zeros plus one)."""
    h = murmur64a(element)
    index = h & (REGISTERS - 1)
    h = (h >> P) | (1 << Q)
    return index, (h & -h).bit_length()


def empty() -> bytearray:
    """``createHLLObject``: sparse, every register zero (XZERO opcodes), cache valid at 0."""
    out = bytearray(b"HYLL\x01\x00\x00\x00" + bytes(8))
    left = REGISTERS
    while left:
        run = min(left, XZERO_MAX_LEN) - 1
        out += bytes(((run >> 8) | 0x40, run & 0xFF))
        left -= run + 1
    return out


def _check(v: bytes) -> None:
    """``isHLLObjectOrReply`` for a string value."""
    if len(v) < HDR or v[:4] != b"HYLL" or v[4] > SPARSE or (v[4] == DENSE and len(v) != DENSE_SIZE):
        raise NOT_HLL


def _invalidate(hll: bytearray) -> None:
    hll[15] |= 0x80


# -- dense ----------------------------------------------------------------------------------
def _dense_get(hll: bytearray | bytes, i: int) -> int:
    pos = HDR + i * BITS // 8
    fb = i * BITS & 7
    return ((hll[pos] >> fb) | (hll[pos + 1] << (8 - fb) if pos + 1 < len(hll) else 0)) & REGISTER_MAX


def _dense_set(hll: bytearray, i: int, value: int) -> None:
    pos = HDR + i * BITS // 8
    fb = i * BITS & 7
    fb8 = 8 - fb
    hll[pos] = (hll[pos] & ~(REGISTER_MAX << fb) & 0xFF) | ((value << fb) & 0xFF)
    if pos + 1 < len(hll):
        hll[pos + 1] = (hll[pos + 1] & ~(REGISTER_MAX >> fb8) & 0xFF) | (value >> fb8)


def _dense_registers(hll: bytes | bytearray) -> list[int]:
    """Every register of a dense value: each three bytes hold four registers."""
    regs: list[int] = []
    add = regs.extend
    b = hll
    for p in range(HDR, DENSE_SIZE, 3):
        v = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)
        add((v & 63, (v >> 6) & 63, (v >> 12) & 63, v >> 18))
    return regs


def _dense_value(header: bytes | bytearray, regs: list[int]) -> bytearray:
    """A dense value with these registers (and this header, its encoding set dense)."""
    out = bytearray(header)
    out[4] = DENSE
    body = bytearray(DENSE_SIZE - HDR)
    q = 0
    for i in range(0, REGISTERS, 4):
        v = regs[i] | (regs[i + 1] << 6) | (regs[i + 2] << 12) | (regs[i + 3] << 18)
        body[q] = v & 0xFF
        body[q + 1] = (v >> 8) & 0xFF
        body[q + 2] = v >> 16
        q += 3
    return out + body


# -- sparse ---------------------------------------------------------------------------------
class _Sparse:
    """A sparse value as its opcodes, updated as ``hllSparseSet`` updates the bytes: an
    opcode that must change is split (up to XZERO, VAL, XZERO), then equal VALs next to it
    are merged, scanning at most five opcodes from the one before it. Opcodes are (kind,
    value, run): ``V`` (VAL), ``Z`` (ZERO, one byte) or ``X`` (XZERO, two bytes)."""

    __slots__ = ("header", "ops", "size", "_at", "_first")

    def __init__(self, hll: bytes | bytearray) -> None:
        self.header = bytearray(hll[:HDR])
        ops: list[tuple[str, int, int]] = []
        p, end = HDR, len(hll)
        while p < end:
            b = hll[p]
            if b & 0x80:
                op = ("V", ((b >> 2) & 0x1F) + 1, (b & 3) + 1)
                p += 1
            elif b & 0x40:
                if p + 1 >= end:
                    raise _Corrupt
                op = ("X", 0, (((b & 0x3F) << 8) | hll[p + 1]) + 1)
                p += 2
            else:
                op = ("Z", 0, (b & 0x3F) + 1)
                p += 1
            ops.append(op)
        self.ops = ops
        self.size = len(hll)
        self._at = 0  # where the next search starts (PFMERGE sets registers in order)
        self._first = 0  # the first register of the opcode there

    def encode(self) -> bytearray:
        out = bytearray(self.header)
        for kind, value, run in self.ops:
            if kind == "V":
                out.append(_val(value, run))
            elif kind == "X":
                out += bytes((((run - 1) >> 8) | 0x40, (run - 1) & 0xFF))
            else:
                out.append(run - 1)
        return out

    def registers(self) -> list[int]:
        """Every register; raises _Corrupt unless the opcodes cover them exactly (an update
        only needs the opcode that covers its register, as in Redis)."""
        regs: list[int] = []
        for _, value, run in self.ops:
            regs.extend([value] * run)
        if len(regs) != REGISTERS:
            raise _Corrupt
        return regs

    def set(self, index: int, count: int) -> bool | None:
        """True (changed), False (unchanged), or None: Redis would make the value dense now."""
        if count > VAL_MAX_VALUE:
            return None
        ops = self.ops
        j, first = self._at, self._first
        if index < first:
            j, first = 0, 0
        n = len(ops)
        while j < n and index > first + ops[j][2] - 1:
            first += ops[j][2]
            j += 1
        if j >= n:
            raise _Corrupt
        prev = j - 1
        kind, value, span = ops[j]
        if kind == "V":
            if value >= count:
                return False
            if span == 1:
                ops[j] = ("V", count, 1)
                self._merge(prev, first)
                return True
        elif kind == "Z" and span == 1:
            ops[j] = ("V", count, 1)
            self._merge(prev, first)
            return True
        last = first + span - 1
        seq: list[tuple[str, int, int]] = []
        if kind == "V":
            if index != first:
                seq.append(("V", value, index - first))
            seq.append(("V", count, 1))
            if index != last:
                seq.append(("V", value, last - index))
        else:
            if index != first:
                run = index - first
                seq.append(("X" if run > ZERO_MAX_LEN else "Z", 0, run))
            seq.append(("V", count, 1))
            if index != last:
                run = last - index
                seq.append(("X" if run > ZERO_MAX_LEN else "Z", 0, run))
        grow = sum(2 if k == "X" else 1 for k, _, _ in seq) - (2 if kind == "X" else 1)
        if grow > 0 and self.size + grow > SPARSE_MAX_BYTES:
            return None
        ops[j:j + 1] = seq
        self.size += grow
        self._merge(prev, first)
        return True

    def _merge(self, prev: int, first: int) -> None:
        ops = self.ops
        k = prev if prev >= 0 else 0
        # The next search can start here: nothing before this opcode changes.
        self._at, self._first = k, (first - ops[prev][2] if prev >= 0 else 0)
        scan = 5
        while k < len(ops) and scan > 0:
            scan -= 1
            kind, value, run = ops[k]
            if kind == "V" and k + 1 < len(ops):
                kind2, value2, run2 = ops[k + 1]
                if kind2 == "V" and value2 == value and run + run2 <= VAL_MAX_LEN:
                    ops[k:k + 2] = [("V", value, run + run2)]
                    self.size -= 1
                    continue
            k += 1


def _val(value: int, run: int) -> int:
    return 0x80 | ((value - 1) << 2) | (run - 1)


def _registers(hll: bytes | bytearray) -> list[int]:
    if hll[4] == DENSE:
        return _dense_registers(hll)
    return _Sparse(hll).registers()


def _set_all(hll: bytearray, updates: list[tuple[int, int]]) -> tuple[bytearray, int]:
    """Set registers (index, count) one after another, sparse or dense as Redis would,
    becoming dense when Redis would: (the value, how many registers changed)."""
    changed = 0
    sparse = _Sparse(hll) if hll[4] == SPARSE else None
    regs: list[int] | None = None  # a dense value's registers, for a long list of updates
    for index, value in updates:
        if sparse is not None:
            r = sparse.set(index, value)
            if r is not None:
                changed += r
                continue
            hll = _dense_value(sparse.header, sparse.registers())
            sparse = None
        if regs is None and len(updates) > 64:
            regs = _dense_registers(hll)
        if regs is not None:
            if regs[index] < value:
                regs[index] = value
                changed += 1
        elif _dense_get(hll, index) < value:
            _dense_set(hll, index, value)
            changed += 1
    if sparse is not None:
        return sparse.encode(), changed
    if regs is not None:
        return _dense_value(hll[:HDR], regs), changed
    return hll, changed


# -- counting -------------------------------------------------------------------------------
def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        z_prime = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if z_prime == z:
            return z / 3


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        z_prime = z
        z += x * y
        y += y
        if z_prime == z:
            return z


def count(registers: list[int]) -> int:
    """``hllCount``: Ertl's estimator over the register histogram, as Redis computes it."""
    m = float(REGISTERS)
    histo = [0] * 64
    for r, n in Counter(registers).items():
        histo[r] = n
    z = m * _tau((m - histo[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    e = ALPHA_INF * m * m / z
    if math.isinf(e):
        return 0  # every register set past the estimator's reach (not reachable in practice)
    floor = math.floor(e)
    return int(floor + 1 if e - floor >= 0.5 else floor)


def _hll_or_none(ctx: ExecContext, key: bytes) -> bytes | None:
    v = lookup_read(ctx, key)
    if v is None:
        return None
    if type(v) is not bytes:
        raise errors.WRONGTYPE
    _check(v)
    return v


# -- commands -------------------------------------------------------------------------------
@command("pfadd", -2, "write denyoom fast", 1, 1, 1, WRITE, group="hyperloglog", since="2.8.9",
         summary="Adds the specified elements to the specified HyperLogLog.")
def pfadd(ctx: ExecContext, argv: list[bytes]):
    key = argv[1]
    v = ctx.db.get_for_write(key, ctx.now_ms, ctx.index)
    if v is not None:
        if type(v) is not bytes:
            raise errors.WRONGTYPE
        _check(v)
        hll = bytearray(v)
        updated = 0
    else:
        hll = empty()
        updated = 1
    try:
        hll, changed = _set_all(hll, [pattern(element) for element in argv[2:]])
    except _Corrupt:
        return INVALID
    updated += changed
    if not updated:
        return 0
    _invalidate(hll)
    if v is None:
        ctx.db.set(key, bytes(hll), ctx.index)
    else:
        ctx.db.set_keep_ttl(key, bytes(hll), ctx.index)
    if ctx.notify is not None:
        _announce(ctx, key, v is None)
    return 1


def _announce(ctx: ExecContext, key: bytes, new: bool) -> None:
    """PFADD's and PFMERGE's event (Redis calls both ``pfadd``)."""
    if new:
        ctx.notify(NEW, b"new", key, ctx.db_index)
    ctx.notify(STRING, b"pfadd", key, ctx.db_index)


@command("pfcount", -2, "readonly", 1, -1, 1, READ, group="hyperloglog", since="2.8.9",
         summary="Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).")
def pfcount(ctx: ExecContext, argv: list[bytes]):
    try:
        if len(argv) == 2:
            v = _hll_or_none(ctx, argv[1])
            if v is None:
                return 0
            if not v[15] & 0x80:  # the cached count is valid
                return int.from_bytes(v[8:16], "little")
            return count(_registers(v))
        merged = [0] * REGISTERS
        for key in argv[1:]:
            v = _hll_or_none(ctx, key)
            if v is not None:
                merged = [a if a > b else b for a, b in zip(merged, _registers(v), strict=True)]
        return count(merged)
    except _Corrupt:
        return INVALID


@command("pfmerge", -2, "write denyoom", 1, -1, 1, WRITE, group="hyperloglog", since="2.8.9",
         summary="Merge N different HyperLogLogs into a single one.")
def pfmerge(ctx: ExecContext, argv: list[bytes]):
    merged = [0] * REGISTERS
    use_dense = False
    try:
        for key in argv[1:]:
            v = _hll_or_none(ctx, key)
            if v is None:
                continue
            if v[4] == DENSE:
                use_dense = True
            merged = [a if a > b else b for a, b in zip(merged, _registers(v), strict=True)]
        dest = argv[1]
        old = ctx.db.get_for_write(dest, ctx.now_ms, ctx.index)
        hll = bytearray(old) if old is not None else empty()
        if use_dense and hll[4] == SPARSE:
            hll = _dense_value(hll[:HDR], _registers(hll))
        hll, _ = _set_all(hll, [(i, value) for i, value in enumerate(merged) if value])
    except _Corrupt:
        return INVALID
    _invalidate(hll)
    if old is None:
        ctx.db.set(dest, bytes(hll), ctx.index)
    else:
        ctx.db.set_keep_ttl(dest, bytes(hll), ctx.index)
    if ctx.notify is not None:
        _announce(ctx, dest, old is None)
    return OK


_PFDEBUG_SUBCOMMANDS = (b"getreg", b"decode", b"encoding", b"todense")


def _decode_sparse(hll: bytes) -> bytes:
    """PFDEBUG DECODE: the opcodes as Redis prints them (``z:<run>``, ``Z:<run>``,
    ``v:<value>,<run>``)."""
    words = []
    p, end = HDR, len(hll)
    while p < end:
        b = hll[p]
        if b & 0x80:
            words.append(b"v:%d,%d" % (((b >> 2) & 0x1F) + 1, (b & 3) + 1))
            p += 1
        elif b & 0x40:
            run = (((b & 0x3F) << 8) | hll[p + 1]) + 1 if p + 1 < end else 1
            words.append(b"Z:%d" % run)
            p += 2
        else:
            words.append(b"z:%d" % ((b & 0x3F) + 1))
            p += 1
    return b" ".join(words)


@command("pfdebug", 3, "write denyoom admin", 2, 2, 1, WRITE, group="hyperloglog", since="2.8.9",
         summary="Internal commands for debugging HyperLogLog values")
def pfdebug(ctx: ExecContext, argv: list[bytes]):
    """GETREG (which, as in Redis, makes a sparse value dense), DECODE, ENCODING and TODENSE.
    A write, as in Redis: GETREG and TODENSE change the encoding on every node alike."""
    sub, key = argv[1].lower(), argv[2]
    v = ctx.db.get_for_write(key, ctx.now_ms, ctx.index)
    if v is None:
        return ErrorReply("ERR The specified key does not exist")
    if type(v) is not bytes:
        raise errors.WRONGTYPE
    _check(v)
    if sub not in _PFDEBUG_SUBCOMMANDS:
        return ErrorReply(b"ERR Unknown PFDEBUG subcommand '" + argv[1] + b"'")
    if sub == b"encoding":
        return SimpleString(b"dense" if v[4] == DENSE else b"sparse")
    if sub == b"decode":
        if v[4] != SPARSE:
            return ErrorReply("ERR HLL encoding is not sparse")
        return _decode_sparse(v)
    converted = v[4] == SPARSE
    if converted:
        try:
            dense = _dense_value(v[:HDR], _Sparse(v).registers())
        except _Corrupt:
            return INVALID
        ctx.db.set_keep_ttl(key, bytes(dense), ctx.index)
        v = bytes(dense)
    if sub == b"todense":
        return 1 if converted else 0
    return _dense_registers(v)


# -- PFSELFTEST ---------------------------------------------------------------------------------
def selftest(rng: random.Random, elements: int = 100_000, cycles: int = 4) -> bytes:
    """Redis's PFSELFTEST checks, on this implementation: dense registers read back what was
    written; then, adding distinct elements to a dense and a sparse value side by side, at
    1, 10, 100 ... elements the sparse one is still sparse while small, both count the same,
    and the count is within six standard errors (one at 10). Redis adds 10 million elements;
    Python here adds ``elements``. b"" when every check passed, else the failure."""
    hll = bytearray(DENSE_SIZE)
    for _ in range(cycles):
        values = [rng.randrange(REGISTER_MAX + 1) for _ in range(REGISTERS)]
        for i, v in enumerate(values):
            _dense_set(hll, i, v)
        for i, v in enumerate(values):
            if _dense_get(hll, i) != v:
                return b"TESTFAILED Register error at %d" % i
        if _dense_registers(hll) != values:
            return b"TESTFAILED Register error reading them all"
    dense = _dense_value(empty()[:HDR], [0] * REGISTERS)
    sparse = empty()
    relerr = 1.04 / math.sqrt(REGISTERS)
    seed = rng.getrandbits(64)
    checkpoint = 1
    for j in range(1, elements + 1):
        update = [pattern(struct.pack("<Q", j ^ seed))]
        dense, _ = _set_all(dense, update)
        sparse, _ = _set_all(sparse, update)
        if j != checkpoint:
            continue
        if j < SPARSE_MAX_BYTES // 2 and sparse[4] != SPARSE:
            return b"TESTFAILED sparse encoding not used"
        estimate = count(_registers(dense))
        if estimate != count(_registers(sparse)):
            return b"TESTFAILED dense/sparse disagree"
        maxerr = 1 if j == 10 else math.ceil(relerr * 6 * checkpoint)
        abserr = abs(checkpoint - estimate)
        if abserr > maxerr:
            return b"TESTFAILED Too big error. card:%d abserr:%d" % (checkpoint, abserr)
        checkpoint *= 10
    return b""


@command("pfselftest", 1, "admin", 0, 0, 0, CONN, group="hyperloglog", since="2.8.9",
         summary="An internal command for testing HyperLogLog values")
def pfselftest(session: Any, argv: list[bytes]):
    """Run in a forked child (it takes a second or more of Python), so the node goes on serving."""
    rng = random.Random()
    return child_reply(lambda: selftest(rng), "PFSELFTEST could not run",
                       lambda failure: ErrorReply(failure) if failure else OK)
