"""Sorted-set commands (Redis 7.0's t_zset.c), on ``server.sortedset.ZSet``.

Replies follow Redis 7.0 byte for byte: scores are doubles (``%.17g``, ``inf``/``-inf``; a
bulk string in RESP2, ``,`` in RESP3); WITHSCORES is a flat member/score array in RESP2 and an
array of ``[member, score]`` pairs in RESP3.  An emptied sorted set is deleted, every change
bumps the key's version, and argument errors come before any lookup, in Redis's order.

The blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) are writes that either serve at once or
return ``Blocked``; inside MULTI/EXEC they answer the timed-out reply (a null array).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from resp.encoder import encode
from resp.types import NULL_ARRAY, Double, ErrorReply, Raw
from server import errors
from server.commands.arguments import (
    _FLOAT_RE,
    _HEX_RE,
    LLONG_MAX,
    _strtod_exact,
    parse_float,
    parse_int,
)
from server.commands.blocking import BLOCKING_COMMANDS, Blocked, in_exec, parse_timeout
from server.commands.containers import changed, read_typed, write_typed
from server.commands.context import ExecContext, lookup_read
from server.commands.glob import compile_glob
from server.commands.registry import READ, WRITE, command
from server.commands.scanning import parse_cursor, parse_scan_options, scan_step
from server.keyspace import Set
from server.notify import GENERIC, NEW, ZSET
from server.sortedset import ZSet

_WRONGTYPE = errors.WRONGTYPE


def _read(ctx: ExecContext, key: bytes) -> ZSet | None:
    return read_typed(ctx, key, ZSet)


def _write(ctx: ExecContext, key: bytes) -> ZSet | None:
    """The ZSet at ``key`` for changing (an expired key is deleted first), not yet bumped."""
    return write_typed(ctx, key, ZSet)


_changed = changed

# Redis 7.0's texts (t_zset.c).
MIN_MAX_NOT_FLOAT = ErrorReply("ERR min or max is not a float")
MIN_MAX_NOT_LEX = ErrorReply("ERR min or max not valid string range item")
NAN_SCORE = ErrorReply("ERR resulting score is not a number (NaN)")
XX_NX = ErrorReply("ERR XX and NX options at the same time are not compatible")
GT_LT_NX = ErrorReply("ERR GT, LT, and/or NX options at the same time are not compatible")
INCR_ONE_PAIR = ErrorReply("ERR INCR option supports a single increment-element pair")
LIMIT_NEEDS_BY = ErrorReply(
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
)
WITHSCORES_BYLEX = ErrorReply("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
WEIGHT_NOT_FLOAT = ErrorReply("ERR weight value is not a float")
LIMIT_NEGATIVE = ErrorReply("ERR LIMIT can't be negative")
NUMKEYS = ErrorReply("ERR numkeys should be greater than 0")
COUNT_POSITIVE = ErrorReply("ERR count should be greater than 0")
OUT_OF_RANGE = ErrorReply("ERR value is out of range")
RANDMEMBER_RANGE = ErrorReply(f"ERR value is out of range, value must between {-LLONG_MAX} and {LLONG_MAX}")


# --- access ----------------------------------------------------------------------------------








def _store(ctx: ExecContext, key: bytes, z: ZSet, event: bytes) -> int:
    """Replace ``key`` with ``z`` (dropping any TTL), or delete it when ``z`` is empty."""
    db = ctx.db
    notify = ctx.notify
    if z:
        new = notify is not None and db.get_for_write(key, ctx.now_ms, ctx.index) is None
        db.set(key, z, ctx.index)
        if notify is not None:
            if new:
                notify(NEW, b"new", key, ctx.db_index)
            notify(ZSET, event, key, ctx.db_index)
    elif db.delete(key, ctx.index) and notify is not None:
        notify(GENERIC, b"del", key, ctx.db_index)
    return len(z)


def _with_scores(pairs: list[tuple[bytes, float]]) -> Raw:
    """Members with scores: flat in RESP2, ``[member, score]`` pairs in RESP3."""
    flat: list[object] = []
    for m, s in pairs:
        flat.append(m)
        flat.append(Double(s))
    return Raw(encode(flat, False), encode([[m, Double(s)] for m, s in pairs], True))


_INF = float("inf")
_NINF = float("-inf")


def _format_score(s: float) -> bytes:
    """A score as ZSCAN writes it (a string, in either protocol)."""
    if s == _INF:
        return b"inf"
    if s == _NINF:
        return b"-inf"
    return b"%.17g" % s


# --- ranges ----------------------------------------------------------------------------------

_SPACES = b" \t\n\v\f\r"


def _strtod_whole(text: bytes) -> float | None:
    """``strtod`` that must consume the whole C string (``zslParseRange``): leading blanks and
    an empty string (0) are accepted, overflow gives an infinity, NaN is refused."""
    z = text.find(b"\0")
    if z >= 0:
        text = text[:z]
    if not text:
        return 0.0
    body = text.lstrip(_SPACES)
    if not _FLOAT_RE.fullmatch(body):
        return None
    if _HEX_RE.fullmatch(body):
        q = _strtod_exact(body)
        assert isinstance(q, Fraction)
        try:
            return float(q)
        except OverflowError:
            return _NINF if q < 0 else _INF
    return float(body)


def _score_bound(arg: bytes) -> tuple[float, bool]:
    if arg[:1] == b"(":
        v = _strtod_whole(arg[1:])
        exclusive = True
    else:
        v = _strtod_whole(arg)
        exclusive = False
    if v is None:
        raise MIN_MAX_NOT_FLOAT
    return v, exclusive


def _score_range(lo: bytes, hi: bytes) -> tuple[float, bool, float, bool]:
    a, aex = _score_bound(lo)
    b, bex = _score_bound(hi)
    return a, aex, b, bex


def _score_span(z: ZSet, spec: tuple[float, bool, float, bool]) -> tuple[int, int]:
    """Ranks [start, stop) of the members whose scores are in range."""
    lo, loex, hi, hiex = spec
    start = z.score_start(lo, loex)
    stop = z.score_stop(hi, hiex)
    return start, max(start, stop)


# A lex bound is (kind, value): kind 0 is "-", 2 is "+", 1 a real string; members are (1, m).
_LexBound = tuple[int, bytes]


def _lex_bound(arg: bytes) -> tuple[_LexBound, bool]:
    """``zslParseLexRangeItem``: (bound, exclusive)."""
    first = arg[:1]
    if first == b"+" or first == b"-":
        if len(arg) > 1 and arg[1] != 0:
            raise MIN_MAX_NOT_LEX
        return ((2 if first == b"+" else 0), b""), True
    if first == b"(":
        return (1, arg[1:]), True
    if first == b"[":
        return (1, arg[1:]), False
    raise MIN_MAX_NOT_LEX


class _LexRange:
    __slots__ = ("low", "low_ex", "high", "high_ex")

    def __init__(self, lo: bytes, hi: bytes) -> None:
        self.low, self.low_ex = _lex_bound(lo)
        self.high, self.high_ex = _lex_bound(hi)

    def empty(self) -> bool:
        return self.low > self.high or (self.low == self.high and (self.low_ex or self.high_ex))

    def at_least(self) -> Callable[[bytes], bool]:
        low = self.low
        if self.low_ex:
            return lambda m: (1, m) > low
        return lambda m: (1, m) >= low

    def at_most(self) -> Callable[[bytes], bool]:
        high = self.high
        if self.high_ex:
            return lambda m: (1, m) < high
        return lambda m: (1, m) <= high


def _lex_members(
    z: ZSet, spec: _LexRange, reverse: bool, offset: int, limit: int
) -> list[tuple[float, bytes]]:
    """``genericZrangebylexCommand``: walk from the first (last) member in range, skip
    ``offset`` members, then take up to ``limit`` (-1: all) while still in range."""
    if spec.empty() or (offset > 0 and offset >= len(z)) or offset < 0:
        return []
    at_least, at_most = spec.at_least(), spec.at_most()
    order = z.order
    out: list[tuple[float, bytes]] = []
    if reverse:
        i = z.lex_last(at_least, at_most)
        if i is None:
            return out
        i -= offset
        while i >= 0 and limit != 0 and at_least(order[i][1]):
            out.append(order[i])
            i -= 1
            limit -= 1
    else:
        i = z.lex_first(at_least, at_most)
        if i is None:
            return out
        i += offset
        n = len(order)
        while i < n and limit != 0 and at_most(order[i][1]):
            out.append(order[i])
            i += 1
            limit -= 1
    return out


def _score_members(
    z: ZSet, spec: tuple[float, bool, float, bool], reverse: bool, offset: int, limit: int
) -> list[tuple[float, bytes]]:
    """``genericZrangebyscoreCommand`` (a negative offset walks off the end: nothing)."""
    if (offset > 0 and offset >= len(z)) or offset < 0:
        return []
    start, stop = _score_span(z, spec)
    if reverse:
        hi = stop - offset
        lo = start if limit < 0 else max(start, hi - limit)
        return z.order.range(lo, hi)[::-1]
    lo = start + offset
    hi = stop if limit < 0 else min(stop, lo + limit)
    return z.order.range(lo, hi)


def _rank_span(length: int, start: int, end: int) -> tuple[int, int] | None:
    """Redis's index sanitising for rank ranges: inclusive [start, end], or None if empty."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    if start < 0:
        start = 0
    if start > end or start >= length:
        return None
    if end >= length:
        end = length - 1
    return start, end


def _rank_members(z: ZSet, start: int, end: int, reverse: bool) -> list[tuple[float, bytes]]:
    n = len(z)
    span = _rank_span(n, start, end)
    if span is None:
        return []
    start, end = span
    if reverse:
        return z.order.range(n - 1 - end, n - start)[::-1]
    return z.order.range(start, end + 1)


# --- ZADD / ZINCRBY / ZREM -------------------------------------------------------------------


def _zadd(ctx: ExecContext, argv: list[bytes], incr: bool):
    """``zaddGenericCommand``: options, then every score parsed, then the changes."""
    nx = xx = gt = lt = ch = False
    i = 2
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt == b"ch":
            ch = True
        elif opt == b"incr":
            incr = True
        elif opt == b"gt":
            gt = True
        elif opt == b"lt":
            lt = True
        else:
            break
        i += 1
    elements = n - i
    if elements % 2 or not elements:
        return errors.SYNTAX
    elements //= 2
    if nx and xx:
        return XX_NX
    if (gt and nx) or (lt and nx) or (gt and lt):
        return GT_LT_NX
    if incr and elements > 1:
        return INCR_ONE_PAIR
    scores = [parse_float(argv[i + 2 * j]) for j in range(elements)]
    key = argv[1]
    z = _write(ctx, key)
    added = updated = processed = 0
    score = 0.0
    if z is None and xx:
        return None if incr else 0
    created = z is None
    if z is None:
        z = ZSet(compact=len(argv[i + 1]) <= 64)
    for j in range(elements):
        score = scores[j]
        member = argv[i + 2 * j + 1]
        cur = z.scores.get(member)
        if cur is not None:
            if nx:
                continue
            if incr:
                score += cur
                if score != score:
                    return NAN_SCORE  # only one pair with INCR, so nothing has changed yet
            if (lt and score >= cur) or (gt and score <= cur):
                continue
            processed += 1
            if score != cur:
                z.update(member, score)
                updated += 1
        elif not xx:
            z.add(member, score)
            added += 1
            processed += 1
    if added or updated:
        if created:
            ctx.db.set(key, z, ctx.index)
        else:
            ctx.db.bump(key, ctx.index)
        notify = ctx.notify
        if notify is not None:
            if created:
                notify(NEW, b"new", key, ctx.db_index)
            notify(ZSET, b"zincr" if incr else b"zadd", key, ctx.db_index)
    if incr:
        return Double(score) if processed else None
    return added + updated if ch else added


@command("zadd", -4, "write denyoom fast", 1, 1, 1, WRITE, group="sorted_set", since="1.2.0")
def zadd(ctx: ExecContext, argv: list[bytes]):
    """Add one or more members to a sorted set, or update its score if it already exists"""
    return _zadd(ctx, argv, False)


@command("zincrby", 4, "write denyoom fast", 1, 1, 1, WRITE, group="sorted_set", since="1.2.0")
def zincrby(ctx: ExecContext, argv: list[bytes]):
    """Increment the score of a member in a sorted set"""
    return _zadd(ctx, argv, True)


@command("zrem", -3, "write fast", 1, 1, 1, WRITE, group="sorted_set", since="1.2.0")
def zrem(ctx: ExecContext, argv: list[bytes]):
    """Remove one or more members from a sorted set"""
    key = argv[1]
    z = _write(ctx, key)
    if z is None:
        return 0
    deleted = 0
    for member in argv[2:]:
        if z.remove(member):
            deleted += 1
            if not z:
                break
    if deleted:
        _changed(ctx, key, z, ZSET, b"zrem")
    return deleted


# --- single-key reads ------------------------------------------------------------------------


@command("zcard", 2, "readonly fast", 1, 1, 1, READ, group="sorted_set", since="1.2.0")
def zcard(ctx: ExecContext, argv: list[bytes]):
    """Get the number of members in a sorted set"""
    z = _read(ctx, argv[1])
    return 0 if z is None else len(z)


@command("zscore", 3, "readonly fast", 1, 1, 1, READ, group="sorted_set", since="1.2.0")
def zscore(ctx: ExecContext, argv: list[bytes]):
    """Get the score associated with the given member in a sorted set"""
    z = _read(ctx, argv[1])
    s = None if z is None else z.scores.get(argv[2])
    return None if s is None else Double(s)


@command("zmscore", -3, "readonly fast", 1, 1, 1, READ, group="sorted_set", since="6.2.0")
def zmscore(ctx: ExecContext, argv: list[bytes]):
    """Get the score associated with the given members in a sorted set"""
    z = _read(ctx, argv[1])
    if z is None:
        return [None] * (len(argv) - 2)
    get = z.scores.get
    out: list[object] = []
    for member in argv[2:]:
        s = get(member)
        out.append(None if s is None else Double(s))
    return out


def _rank(ctx: ExecContext, argv: list[bytes], reverse: bool):
    z = _read(ctx, argv[1])
    r = None if z is None else z.rank(argv[2])
    if r is None:
        return None
    return len(z) - 1 - r if reverse else r  # type: ignore[arg-type]


@command("zrank", 3, "readonly fast", 1, 1, 1, READ, group="sorted_set", since="2.0.0")
def zrank(ctx: ExecContext, argv: list[bytes]):
    """Determine the index of a member in a sorted set"""
    return _rank(ctx, argv, False)


@command("zrevrank", 3, "readonly fast", 1, 1, 1, READ, group="sorted_set", since="2.0.0")
def zrevrank(ctx: ExecContext, argv: list[bytes]):
    """Determine the index of a member in a sorted set, with scores ordered from high to low"""
    return _rank(ctx, argv, True)


@command("zcount", 4, "readonly fast", 1, 1, 1, READ, group="sorted_set", since="2.0.0")
def zcount(ctx: ExecContext, argv: list[bytes]):
    """Count the members in a sorted set with scores within the given values"""
    spec = _score_range(argv[2], argv[3])
    z = _read(ctx, argv[1])
    if z is None:
        return 0
    start, stop = _score_span(z, spec)
    return stop - start


@command("zlexcount", 4, "readonly fast", 1, 1, 1, READ, group="sorted_set", since="2.8.9")
def zlexcount(ctx: ExecContext, argv: list[bytes]):
    """Count the number of members in a sorted set between a given lexicographical range"""
    spec = _LexRange(argv[2], argv[3])
    z = _read(ctx, argv[1])
    if z is None:
        return 0
    return len(_lex_members(z, spec, False, 0, -1))


# --- ZRANGE and friends ----------------------------------------------------------------------

_RANK, _SCORE, _LEX = 0, 1, 2


def _zrange(
    ctx: ExecContext, argv: list[bytes], key_at: int, by: int | None, reverse: bool | None, store: bool
):
    """``zrangeGenericCommand``.  ``by``/``reverse`` are fixed by the legacy commands and
    ``None`` for ZRANGE/ZRANGESTORE, where the options choose them."""
    withscores = False
    offset, limit = 0, -1
    n = len(argv)
    j = key_at + 3
    while j < n:
        opt = argv[j].lower()
        left = n - j - 1
        if opt == b"withscores" and not store:
            withscores = True
        elif opt == b"limit" and left >= 2:
            offset = parse_int(argv[j + 1])
            limit = parse_int(argv[j + 2])
            j += 2
        elif reverse is None and opt == b"rev":
            reverse = True
        elif by is None and opt == b"bylex":
            by = _LEX
        elif by is None and opt == b"byscore":
            by = _SCORE
        else:
            return errors.SYNTAX
        j += 1
    reverse = bool(reverse)
    if by is None:
        by = _RANK
    if limit != -1 and by == _RANK:  # Redis tells "no LIMIT" by the count being -1
        return LIMIT_NEEDS_BY
    if withscores and by == _LEX:
        return WITHSCORES_BYLEX
    lo_arg, hi_arg = argv[key_at + 1], argv[key_at + 2]
    if reverse and by != _RANK:
        lo_arg, hi_arg = hi_arg, lo_arg
    if by == _RANK:
        start, end = parse_int(lo_arg), parse_int(hi_arg)
    elif by == _SCORE:
        score_spec = _score_range(lo_arg, hi_arg)
    else:
        lex_spec = _LexRange(lo_arg, hi_arg)
    z = _read(ctx, argv[key_at])
    if z is None:
        items: list[tuple[float, bytes]] = []
    elif by == _RANK:
        items = _rank_members(z, start, end, reverse)
    elif by == _SCORE:
        items = _score_members(z, score_spec, reverse, offset, limit)
    else:
        items = _lex_members(z, lex_spec, reverse, offset, limit)
    if store:
        dst = ZSet(compact=not (by == _RANK and len(items) > 128))
        for s, m in items:
            dst.add(m, s)
        return _store(ctx, argv[1], dst, b"zrangestore")
    if withscores:
        return _with_scores([(m, s) for s, m in items])
    return [m for _, m in items]


@command("zrange", -4, "readonly", 1, 1, 1, READ, group="sorted_set", since="1.2.0")
def zrange(ctx: ExecContext, argv: list[bytes]):
    """Return a range of members in a sorted set"""
    return _zrange(ctx, argv, 1, None, None, False)


@command("zrangestore", -5, "write denyoom", 1, 2, 1, WRITE, group="sorted_set", since="6.2.0")
def zrangestore(ctx: ExecContext, argv: list[bytes]):
    """Store a range of members from sorted set into another key"""
    return _zrange(ctx, argv, 2, None, None, True)


@command("zrevrange", -4, "readonly", 1, 1, 1, READ, group="sorted_set", since="1.2.0")
def zrevrange(ctx: ExecContext, argv: list[bytes]):
    """Return a range of members in a sorted set, by index, with scores ordered from high to low"""
    return _zrange(ctx, argv, 1, _RANK, True, False)


@command("zrangebyscore", -4, "readonly", 1, 1, 1, READ, group="sorted_set", since="1.0.5")
def zrangebyscore(ctx: ExecContext, argv: list[bytes]):
    """Return a range of members in a sorted set, by score"""
    return _zrange(ctx, argv, 1, _SCORE, False, False)


@command("zrevrangebyscore", -4, "readonly", 1, 1, 1, READ, group="sorted_set", since="2.2.0")
def zrevrangebyscore(ctx: ExecContext, argv: list[bytes]):
    """Return a range of members in a sorted set, by score, with scores ordered from high to low"""
    return _zrange(ctx, argv, 1, _SCORE, True, False)


@command("zrangebylex", -4, "readonly", 1, 1, 1, READ, group="sorted_set", since="2.8.9")
def zrangebylex(ctx: ExecContext, argv: list[bytes]):
    """Return a range of members in a sorted set, by lexicographical range"""
    return _zrange(ctx, argv, 1, _LEX, False, False)


@command("zrevrangebylex", -4, "readonly", 1, 1, 1, READ, group="sorted_set", since="2.8.9")
def zrevrangebylex(ctx: ExecContext, argv: list[bytes]):
    """Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings."""
    return _zrange(ctx, argv, 1, _LEX, True, False)


# --- ZREMRANGEBY* ----------------------------------------------------------------------------


@command("zremrangebyrank", 4, "write", 1, 1, 1, WRITE, group="sorted_set", since="2.0.0")
def zremrangebyrank(ctx: ExecContext, argv: list[bytes]):
    """Remove all members in a sorted set within the given indexes"""
    start, end = parse_int(argv[2]), parse_int(argv[3])
    key = argv[1]
    z = _write(ctx, key)
    if z is None:
        return 0
    span = _rank_span(len(z), start, end)
    if span is None:
        return 0
    removed = z.delete_range(span[0], span[1] + 1)
    _changed(ctx, key, z, ZSET, b"zremrangebyrank")
    return removed


@command("zremrangebyscore", 4, "write", 1, 1, 1, WRITE, group="sorted_set", since="1.2.0")
def zremrangebyscore(ctx: ExecContext, argv: list[bytes]):
    """Remove all members in a sorted set within the given scores"""
    spec = _score_range(argv[2], argv[3])
    key = argv[1]
    z = _write(ctx, key)
    if z is None:
        return 0
    start, stop = _score_span(z, spec)
    removed = z.delete_range(start, stop)
    if removed:
        _changed(ctx, key, z, ZSET, b"zremrangebyscore")
    return removed


@command("zremrangebylex", 4, "write", 1, 1, 1, WRITE, group="sorted_set", since="2.8.9")
def zremrangebylex(ctx: ExecContext, argv: list[bytes]):
    """Remove all members in a sorted set between the given lexicographical range"""
    spec = _LexRange(argv[2], argv[3])
    key = argv[1]
    z = _write(ctx, key)
    if z is None:
        return 0
    gone = _lex_members(z, spec, False, 0, -1)
    for _, member in gone:
        z.remove(member)
    if gone:
        _changed(ctx, key, z, ZSET, b"zremrangebylex")
    return len(gone)


# --- pops ------------------------------------------------------------------------------------


def _pop(ctx: ExecContext, key: bytes, z: ZSet, from_max: bool, count: int) -> list[tuple[bytes, float]]:
    out = [z.pop(from_max) for _ in range(min(count, len(z)))]
    _changed(ctx, key, z, ZSET, b"zpopmax" if from_max else b"zpopmin")
    return out


def _zpop(ctx: ExecContext, argv: list[bytes], from_max: bool):
    if len(argv) > 3:
        return errors.SYNTAX
    count = -1
    if len(argv) == 3:
        count = parse_int(argv[2], errors.NOT_POSITIVE_COUNT)
        if count < 0:
            return errors.NOT_POSITIVE_COUNT
    key = argv[1]
    z = _write(ctx, key)
    if z is None or count == 0:
        return []
    popped = _pop(ctx, key, z, from_max, 1 if count < 0 else count)
    flat: list[object] = []
    for m, s in popped:
        flat.append(m)
        flat.append(Double(s))
    if count < 0:
        return flat
    return Raw(encode(flat, False), encode([[m, Double(s)] for m, s in popped], True))


@command("zpopmin", -2, "write fast", 1, 1, 1, WRITE, group="sorted_set", since="5.0.0")
def zpopmin(ctx: ExecContext, argv: list[bytes]):
    """Remove and return members with the lowest scores in a sorted set"""
    return _zpop(ctx, argv, False)


@command("zpopmax", -2, "write fast", 1, 1, 1, WRITE, group="sorted_set", since="5.0.0")
def zpopmax(ctx: ExecContext, argv: list[bytes]):
    """Remove and return members with the highest scores in a sorted set"""
    return _zpop(ctx, argv, True)


def _parse_mpop(argv: list[bytes], numkeys_at: int) -> tuple[list[bytes], bool, int]:
    """``zmpopGenericCommand``'s arguments: (keys, from_max, count)."""
    numkeys = parse_int(argv[numkeys_at], NUMKEYS)
    if numkeys < 1:
        raise NUMKEYS
    where_at = numkeys_at + numkeys + 1
    if where_at >= len(argv):
        raise errors.SYNTAX
    where = argv[where_at].lower()
    if where not in (b"min", b"max"):
        raise errors.SYNTAX
    count = -1
    j = where_at + 1
    while j < len(argv):
        if count == -1 and argv[j].lower() == b"count" and j + 1 < len(argv):
            count = parse_int(argv[j + 1], COUNT_POSITIVE)
            if count < 1:
                raise COUNT_POSITIVE
            j += 2
        else:
            raise errors.SYNTAX
    return argv[numkeys_at + 1 : where_at], where == b"max", 1 if count == -1 else count


def _mpop_reply(key: bytes, popped: list[tuple[bytes, float]]) -> list[object]:
    return [key, [[m, Double(s)] for m, s in popped]]


def _mpop_first(ctx: ExecContext, keys: list[bytes], from_max: bool, count: int) -> list[object] | None:
    """Pop from the first key holding a sorted set; ``None`` when none does."""
    for key in keys:
        z = _write(ctx, key)
        if z is not None:
            return _mpop_reply(key, _pop(ctx, key, z, from_max, count))
    return None


@command("zmpop", -4, "write movablekeys", 0, 0, 0, WRITE, group="sorted_set", since="7.0.0")
def zmpop(ctx: ExecContext, argv: list[bytes]):
    """Remove and return members with scores in a sorted set"""
    keys, from_max, count = _parse_mpop(argv, 1)
    reply = _mpop_first(ctx, keys, from_max, count)
    return NULL_ARRAY if reply is None else reply


def _bzpop(ctx: ExecContext, argv: list[bytes], from_max: bool):
    timeout_ms = parse_timeout(argv[-1])
    keys = argv[1:-1]
    for key in keys:
        z = _write(ctx, key)
        if z is not None:
            ((m, s),) = _pop(ctx, key, z, from_max, 1)
            return [key, m, Double(s)]
    if in_exec(ctx):
        return NULL_ARRAY
    return Blocked(tuple(keys), timeout_ms)


@command("bzpopmin", -3, "write noscript blocking fast", 1, -2, 1, WRITE, group="sorted_set", since="5.0.0")
def bzpopmin(ctx: ExecContext, argv: list[bytes]):
    """Remove and return the member with the lowest score from one or more sorted sets, or block until one is available"""
    return _bzpop(ctx, argv, False)


@command("bzpopmax", -3, "write noscript blocking fast", 1, -2, 1, WRITE, group="sorted_set", since="5.0.0")
def bzpopmax(ctx: ExecContext, argv: list[bytes]):
    """Remove and return the member with the highest score from one or more sorted sets, or block until one is available"""
    return _bzpop(ctx, argv, True)


@command("bzmpop", -5, "write blocking movablekeys", 0, 0, 0, WRITE, group="sorted_set", since="7.0.0")
def bzmpop(ctx: ExecContext, argv: list[bytes]):
    """Remove and return members with scores in a sorted set or block until one is available"""
    keys, from_max, count = _parse_mpop(argv, 2)
    timeout_ms = parse_timeout(argv[1])
    reply = _mpop_first(ctx, keys, from_max, count)
    if reply is not None:
        return reply
    if in_exec(ctx):
        return NULL_ARRAY
    return Blocked(tuple(keys), timeout_ms)


# --- ZRANDMEMBER / ZSCAN ---------------------------------------------------------------------


@command("zrandmember", -2, "readonly", 1, 1, 1, READ, group="sorted_set", since="6.2.0")
def zrandmember(ctx: ExecContext, argv: list[bytes]):
    """Get one or multiple random elements from a sorted set"""
    if len(argv) == 2:
        z = _read(ctx, argv[1])
        if z is None:
            return None
        return z.order[ctx.rng.randrange(len(z))][1]
    count = parse_int(argv[2])
    if count < -LLONG_MAX:
        return RANDMEMBER_RANGE
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
        return errors.SYNTAX
    withscores = len(argv) == 4
    if withscores and (count < -LLONG_MAX // 2 or count > LLONG_MAX // 2):
        return OUT_OF_RANGE
    z = _read(ctx, argv[1])
    if z is None or count == 0:
        return []
    order = z.order
    rng = ctx.rng
    if count < 0:
        picked = [order[rng.randrange(len(order))] for _ in range(-count)]
    elif count >= len(order):
        picked = list(order)
    else:
        picked = [order[i] for i in sorted(rng.sample(range(len(order)), count))]
    if withscores:
        return _with_scores([(m, s) for s, m in picked])
    return [m for _, m in picked]


@command("zscan", -3, "readonly", 1, 1, 1, READ, group="sorted_set", since="2.8.0")
def zscan(ctx: ExecContext, argv: list[bytes]):
    """Incrementally iterate sorted sets elements and associated scores"""
    cursor = parse_cursor(argv[2])
    z = _read(ctx, argv[1])
    if z is None:
        return [b"0", []]
    count, pattern, _ = parse_scan_options(argv, 3, False)
    if z.compact:  # Redis returns a listpack whole, in rank order
        next_cursor, members = 0, [m for _, m in z.order]
    else:
        next_cursor, members = scan_step(z.scores, cursor, count)
    match = compile_glob(pattern) if pattern is not None else None
    scores = z.scores
    out: list[bytes] = []
    for m in members:
        if match is None or match(m):
            s = scores.get(m)
            if s is not None:
                out.append(m)
                out.append(_format_score(s))
    return [b"%d" % next_cursor, out]


# --- ZUNION / ZINTER / ZDIFF -----------------------------------------------------------------

_SUM, _MIN, _MAX = 0, 1, 2


def _source(ctx: ExecContext, key: bytes) -> dict[bytes, float] | None:
    """An input of the set operations: a sorted set, or a plain set (every score 1)."""
    v = lookup_read(ctx, key)
    if v is None:
        return None
    if type(v) is ZSet:
        return v.scores
    if type(v) is Set:
        return dict.fromkeys(v, 1.0)
    raise _WRONGTYPE


def _aggregate(target: float, value: float, how: int) -> float:
    if how == _SUM:
        target = target + value
        return 0.0 if target != target else target  # inf + -inf is taken as 0, as in Redis
    if how == _MIN:
        return value if value < target else target
    return value if value > target else target


def _setop(
    ctx: ExecContext, argv: list[bytes], numkeys_at: int, op: str, store: bool, card_only: bool = False
):
    """``zunionInterDiffGenericCommand``: keys are looked up (and type-checked) before the
    options are parsed, as in Redis."""
    name = argv[0].lower()
    setnum = parse_int(argv[numkeys_at])
    if setnum < 1:
        return ErrorReply(b"ERR at least 1 input key is needed for '" + name + b"' command")
    if setnum > len(argv) - numkeys_at - 1:
        return errors.SYNTAX
    keys = argv[numkeys_at + 1 : numkeys_at + 1 + setnum]
    srcs = [_source(ctx, k) for k in keys]
    weights = [1.0] * setnum
    how = _SUM
    withscores = False
    limit = 0
    j = numkeys_at + 1 + setnum
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        left = n - j
        if op != "diff" and not card_only and left >= setnum + 1 and opt == b"weights":
            weights = [parse_float(w, WEIGHT_NOT_FLOAT) for w in argv[j + 1 : j + 1 + setnum]]
            j += setnum + 1
        elif op != "diff" and not card_only and left >= 2 and opt == b"aggregate":
            agg = argv[j + 1].lower()
            if agg == b"sum":
                how = _SUM
            elif agg == b"min":
                how = _MIN
            elif agg == b"max":
                how = _MAX
            else:
                return errors.SYNTAX
            j += 2
        elif not store and not card_only and opt == b"withscores":
            withscores = True
            j += 1
        elif card_only and left >= 2 and opt == b"limit":
            limit = parse_int(argv[j + 1], LIMIT_NEGATIVE)
            if limit < 0:
                return LIMIT_NEGATIVE
            j += 2
        else:
            return errors.SYNTAX

    result: dict[bytes, float] = {}
    if op == "diff":
        first = srcs[0]
        if first:
            rest = [s for s in srcs[1:] if s]
            result = {m: sc for m, sc in first.items() if not any(m in s for s in rest)}
    else:
        # Redis visits the inputs smallest first (a stable sort), which fixes the order in
        # which scores are added up, and so their rounding.
        ranked = sorted(zip(srcs, weights, strict=True), key=lambda sw: len(sw[0]) if sw[0] else 0)
        if op == "union":
            for src, w in ranked:
                if not src:
                    continue
                for m, sc in src.items():
                    value = w * sc
                    if value != value:
                        value = 0.0
                    old = result.get(m)
                    result[m] = value if old is None else _aggregate(old, value, how)
        else:
            first_src, first_w = ranked[0]
            if first_src:
                count = 0
                for m, sc in first_src.items():
                    value = first_w * sc
                    if value != value:
                        value = 0.0
                    for src, w in ranked[1:]:
                        other = src.get(m) if src else None
                        if other is None:
                            break
                        value = _aggregate(value, other * w, how)
                    else:
                        if card_only:
                            count += 1
                            if limit and count >= limit:
                                break
                        else:
                            result[m] = value
                if card_only:
                    return count
    if card_only:
        return 0
    if store:
        z = ZSet.from_pairs(result.items(), compact=False)
        z.shrink_if_fits()
        return _store(ctx, argv[1], z, b"z%sstore" % op.encode())
    pairs = sorted((s, m) for m, s in result.items())
    if withscores:
        return _with_scores([(m, s) for s, m in pairs])
    return [m for _, m in pairs]


@command("zunion", -3, "readonly movablekeys", 0, 0, 0, READ, group="sorted_set", since="6.2.0")
def zunion(ctx: ExecContext, argv: list[bytes]):
    """Add multiple sorted sets"""
    return _setop(ctx, argv, 1, "union", False)


@command("zinter", -3, "readonly movablekeys", 0, 0, 0, READ, group="sorted_set", since="6.2.0")
def zinter(ctx: ExecContext, argv: list[bytes]):
    """Intersect multiple sorted sets"""
    return _setop(ctx, argv, 1, "inter", False)


@command("zdiff", -3, "readonly movablekeys", 0, 0, 0, READ, group="sorted_set", since="6.2.0")
def zdiff(ctx: ExecContext, argv: list[bytes]):
    """Subtract multiple sorted sets"""
    return _setop(ctx, argv, 1, "diff", False)


@command("zintercard", -3, "readonly movablekeys", 0, 0, 0, READ, group="sorted_set", since="7.0.0")
def zintercard(ctx: ExecContext, argv: list[bytes]):
    """Intersect multiple sorted sets and return the cardinality of the result"""
    return _setop(ctx, argv, 1, "inter", False, card_only=True)


@command("zunionstore", -4, "write denyoom movablekeys", 1, 1, 1, WRITE, group="sorted_set", since="2.0.0")
def zunionstore(ctx: ExecContext, argv: list[bytes]):
    """Add multiple sorted sets and store the resulting sorted set in a new key"""
    return _setop(ctx, argv, 2, "union", True)


@command("zinterstore", -4, "write denyoom movablekeys", 1, 1, 1, WRITE, group="sorted_set", since="2.0.0")
def zinterstore(ctx: ExecContext, argv: list[bytes]):
    """Intersect multiple sorted sets and store the resulting sorted set in a new key"""
    return _setop(ctx, argv, 2, "inter", True)


@command("zdiffstore", -4, "write denyoom movablekeys", 1, 1, 1, WRITE, group="sorted_set", since="6.2.0")
def zdiffstore(ctx: ExecContext, argv: list[bytes]):
    """Subtract multiple sorted sets and store the resulting sorted set in a new key"""
    return _setop(ctx, argv, 2, "diff", True)


# --- keys the blocking pops wait on (for the node that parks the client) ----------------------


def _bzpop_keys(argv: list[bytes]) -> list[int]:
    return list(range(1, len(argv) - 1))


def _bzmpop_keys(argv: list[bytes]) -> list[int]:
    # BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT n]; validated before Blocked.
    return list(range(3, 3 + int(argv[2])))


BLOCKING_COMMANDS[b"bzpopmin"] = _bzpop_keys
BLOCKING_COMMANDS[b"bzpopmax"] = _bzpop_keys
BLOCKING_COMMANDS[b"bzmpop"] = _bzmpop_keys
