"""Argument and stored-value parsing shared by the command families, with Redis's exact rules.

- Integers: ``string2ll`` (no '+', no spaces, no leading zeros, signed 64-bit).
- Floats: ``strtod`` as Redis's ``getDoubleFromObject`` uses it (decimal, hex, inf; never
  NaN; no surrounding blanks; overflow and underflow-to-zero rejected).
- INCRBYFLOAT/HINCRBYFLOAT use C ``long double`` (x87 80-bit: 64-bit significand) and print
  with ``%.17Lf`` minus trailing zeros.  Python floats would give different digits
  (``0.1`` would come back as ``0.10000000000000001``), so that arithmetic is emulated
  exactly with ``Fraction`` rounded to 64 significant bits, which is deterministic on every
  node whatever its CPU.

Parsers raise ``ErrorReply`` (the registry's wrapper turns it into the reply).
"""

from __future__ import annotations

import re
from fractions import Fraction

from resp.parser import string2ll
from resp.types import ErrorReply
from server import errors

__all__ = [
    "LLONG_MAX",
    "LLONG_MIN",
    "format_long_double",
    "parse_float",
    "parse_int",
    "parse_long_double",
    "string2ll",
]

LLONG_MIN = -(2**63)
LLONG_MAX = 2**63 - 1

_DEC = r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
_HEX = r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?"
_INF = r"[+-]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"
_FLOAT_RE = re.compile(rb"(?:%s|%s|%s)" % (_DEC.encode(), _HEX.encode(), _INF.encode()))
_HEX_RE = re.compile(_HEX.encode())
_INF_RE = re.compile(_INF.encode())


def parse_int(arg: bytes, err: ErrorReply = errors.NOT_INTEGER) -> int:
    """A signed 64-bit integer argument, or raise ``err``."""
    v = string2ll(arg)
    if v is None:
        raise err
    return v


def _strtod_exact(text: bytes) -> Fraction | float | None:
    """The exact value ``strtod`` would round, or ``None`` when the text is not a complete
    number.  Infinities come back as float."""
    if not _FLOAT_RE.fullmatch(text):
        return None
    if _INF_RE.fullmatch(text):
        return float("-inf") if text[0] == 45 else float("inf")
    if _HEX_RE.fullmatch(text):
        neg = text[0] == 45
        body = text.lstrip(b"+-")[2:]
        mant, _, exp = body.lower().partition(b"p")
        ip, _, fp = mant.partition(b".")
        digits = (ip + fp) or b"0"
        q = Fraction(int(digits, 16), 16 ** len(fp)) * Fraction(2) ** int(exp or b"0")
        return -q if neg else q
    return Fraction(text.decode())


def parse_float(arg: bytes, err: ErrorReply = errors.NOT_FLOAT) -> float:
    """``getDoubleFromObject``: a C double, or raise ``err``."""
    if not _FLOAT_RE.fullmatch(arg):
        raise err
    if b"x" in arg or b"X" in arg:
        q = _strtod_exact(arg)
        assert isinstance(q, Fraction)
        v = float(q) if abs(q) < Fraction(2) ** 1024 else float("inf")
    else:
        v = float(arg)
        q = None
    if v in (_INF, _NINF):
        if _INF_RE.fullmatch(arg):
            return v
        raise err  # ERANGE: overflow
    if v == 0.0 and (q != 0 if q is not None else arg.lower().partition(b"e")[0].strip(b"+-0.") != b""):
        raise err  # ERANGE: a non-zero number that underflows to zero
    return v


_INF = float("inf")
_NINF = float("-inf")


# --- long double -------------------------------------------------------------------------------
_LD_MANT = 64
_LD_MIN_EXP = -16382 - 63  # exponent of the smallest subnormal's unit
_LD_MAX = Fraction(2) ** 16384
MAX_LONG_DOUBLE_CHARS = 5 * 1024


def _round_ld(q: Fraction) -> Fraction | float:
    """Round to the nearest x87 extended-precision value (ties to even); overflow -> inf."""
    if q == 0:
        return Fraction(0)
    neg = q < 0
    n, d = abs(q.numerator), q.denominator
    e = n.bit_length() - d.bit_length() - _LD_MANT
    while True:
        num, den = (n, d << e) if e >= 0 else (n << -e, d)
        if num >= den << _LD_MANT:
            e += 1
        elif num < den << (_LD_MANT - 1):
            e -= 1
        else:
            break
    if e < _LD_MIN_EXP:
        e = _LD_MIN_EXP
        num, den = (n, d << e) if e >= 0 else (n << -e, d)
    m, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and m & 1):
        m += 1
    out = Fraction(m << e) if e >= 0 else Fraction(m, 1 << -e)
    if out >= _LD_MAX:
        return float("-inf") if neg else float("inf")
    return -out if neg else out


def parse_long_double(arg: bytes, err: ErrorReply = errors.NOT_FLOAT) -> Fraction:
    """``string2ld``: the argument as a long double (exact ``Fraction``), or raise ``err``.
    Like Redis 7, the whole text must be the number (so a NUL inside it is refused: strtold
    stops there, short of the length) and fewer than 5 KB; NaN, infinities from overflow
    and underflow to zero are refused; "inf" itself is accepted."""
    if not arg or len(arg) >= MAX_LONG_DOUBLE_CHARS or b"\0" in arg:
        raise err
    q = _strtod_exact(arg)
    if q is None:
        raise err
    if isinstance(q, float):
        return q  # type: ignore[return-value]  # +/-inf; the caller's result check refuses it
    r = _round_ld(q)
    if isinstance(r, float) or (r == 0 and q != 0):
        raise err
    return r


def add_long_double(a: Fraction | float, b: Fraction | float) -> Fraction | float:
    """``a + b`` in long double; a float result means NaN or an infinity."""
    if isinstance(a, float) or isinstance(b, float):
        return float(a) + float(b)
    return _round_ld(a + b)


def format_long_double(v: Fraction) -> bytes:
    """``ld2string(..., LD_STR_HUMAN)``: ``%.17Lf`` without trailing zeros (and no "-0")."""
    neg = v < 0
    scaled = abs(v) * 10**17
    q, r = divmod(scaled.numerator, scaled.denominator)
    if 2 * r > scaled.denominator or (2 * r == scaled.denominator and q & 1):
        q += 1
    digits = str(q).rjust(18, "0")
    text = (digits[:-17] + "." + digits[-17:]).rstrip("0").rstrip(".")
    if neg and text != "0":
        text = "-" + text
    return text.encode()
