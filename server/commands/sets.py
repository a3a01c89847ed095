"""Set commands (Redis 7.0's t_set.c).

A set is a ``Set`` (a dict: member -> None), so every node iterates it in the same order;
never build a Python ``set`` of members and iterate that.  Replies that Redis leaves unordered
(SMEMBERS, SINTER, SUNION, SDIFF, SPOP with a count, ...) come in insertion order.  SPOP and
SRANDMEMBER draw only from ``ctx.rng``, which the applier seeds per log entry, so every node
pops the same members.  An emptied set is deleted; a key's version is bumped exactly when
Redis would signal it modified.

SPOP and SRANDMEMBER without a count pick a position and walk to it (a dict has no random
access): O(n) where Redis is O(1).
"""

from __future__ import annotations

from itertools import islice

from resp.types import ErrorReply, SetReply
from server import errors
from server.commands.arguments import LLONG_MAX, parse_int, string2ll
from server.commands.containers import changed, created, read_typed, write_typed
from server.commands.context import ExecContext, counted
from server.commands.glob import compile_glob
from server.commands.registry import READ, WRITE, command
from server.commands.scanning import parse_cursor, parse_scan_options, scan_step
from server.keyspace import Set
from server.notify import GENERIC, NEW, SET

_WRONGTYPE = errors.WRONGTYPE


def _read(ctx: ExecContext, key: bytes) -> Set | None:
    return read_typed(ctx, key, Set)


def _write(ctx: ExecContext, key: bytes) -> Set | None:
    """The Set at ``key`` for changing (an expired key is deleted first), not yet bumped."""
    return write_typed(ctx, key, Set)


_changed = changed
_NUMKEYS = ErrorReply("ERR numkeys should be greater than 0")
_TOO_MANY_KEYS = ErrorReply("ERR Number of keys can't be greater than number of args")
_LIMIT_NEGATIVE = ErrorReply("ERR LIMIT can't be negative")
_SRANDMEMBER_RANGE = ErrorReply(f"ERR value is out of range, value must between {-LLONG_MAX} and {LLONG_MAX}")
# Redis 7.0 keeps a set of integers as an intset up to this size; SSCAN returns it whole.
_INTSET_ENTRIES = 512








def _member_at(s: Set, position: int) -> bytes:
    return next(islice(s, position, None))


# --- single-set commands ------------------------------------------------------------------------
@command("sadd", -3, "write denyoom fast", 1, 1, 1, WRITE, group="set")
def sadd(ctx: ExecContext, argv: list[bytes]):
    """Add one or more members to a set"""
    key = argv[1]
    s = _write(ctx, key)
    if s is None:
        s = Set.fromkeys(argv[2:])
        ctx.db.set(key, s, ctx.index)
        if ctx.notify is not None:
            created(ctx, key, SET, b"sadd")
        return len(s)
    before = len(s)
    for member in argv[2:]:
        s[member] = None
    added = len(s) - before
    if added:
        _changed(ctx, key, s, SET, b"sadd")
    return added


@command("srem", -3, "write fast", 1, 1, 1, WRITE, group="set")
def srem(ctx: ExecContext, argv: list[bytes]):
    """Remove one or more members from a set"""
    key = argv[1]
    s = _write(ctx, key)
    if s is None:
        return 0
    removed = 0
    for member in argv[2:]:
        if member in s:
            del s[member]
            removed += 1
    if removed:
        _changed(ctx, key, s, SET, b"srem")
    return removed


@command("smembers", 2, "readonly", 1, 1, 1, READ, group="set")
def smembers(ctx: ExecContext, argv: list[bytes]):
    """Get all the members in a set"""
    s = _read(ctx, argv[1])
    return SetReply([] if s is None else list(s))


@command("sismember", 3, "readonly fast", 1, 1, 1, READ, group="set")
def sismember(ctx: ExecContext, argv: list[bytes]):
    """Determine if a given value is a member of a set"""
    s = _read(ctx, argv[1])
    return 1 if s is not None and argv[2] in s else 0


@command("smismember", -3, "readonly fast", 1, 1, 1, READ, group="set", since="6.2.0")
def smismember(ctx: ExecContext, argv: list[bytes]):
    """Returns the membership associated with the given elements for a set"""
    s = _read(ctx, argv[1])
    if s is None:
        return [0] * (len(argv) - 2)
    return [1 if m in s else 0 for m in argv[2:]]


@command("scard", 2, "readonly fast", 1, 1, 1, READ, group="set")
def scard(ctx: ExecContext, argv: list[bytes]):
    """Get the number of members in a set"""
    s = _read(ctx, argv[1])
    return 0 if s is None else len(s)


@command("spop", -2, "write fast", 1, 1, 1, WRITE, group="set")
def spop(ctx: ExecContext, argv: list[bytes]):
    """Remove and return one or multiple random members from a set"""
    if len(argv) > 3:
        return errors.SYNTAX
    key = argv[1]
    if len(argv) == 3:
        count = parse_int(argv[2], errors.NOT_POSITIVE_COUNT)
        if count < 0:
            return errors.NOT_POSITIVE_COUNT
        s = _write(ctx, key)
        if s is None or count == 0:
            return SetReply([])
        if count >= len(s):
            members = list(s)
            s.clear()
        else:
            members = ctx.rng.sample(list(s), count)
            for m in members:
                del s[m]
        _changed(ctx, key, s, SET, b"spop")
        return SetReply(members)
    s = _write(ctx, key)
    if s is None:
        return None
    member = _member_at(s, ctx.rng.randrange(len(s)))
    del s[member]
    _changed(ctx, key, s, SET, b"spop")
    return member


@command("srandmember", -2, "readonly", 1, 1, 1, READ, group="set")
def srandmember(ctx: ExecContext, argv: list[bytes]):
    """Get one or multiple random members from a set"""
    if len(argv) > 3:
        return errors.SYNTAX
    if len(argv) == 3:
        count = parse_int(argv[2])
        if count < -LLONG_MAX:
            return _SRANDMEMBER_RANGE
        s = _read(ctx, argv[1])
        if s is None or count == 0:
            return []
        rng = ctx.rng
        if count < 0:
            members = list(s)
            n = len(members)
            return [members[rng.randrange(n)] for _ in range(-count)]
        if count >= len(s):
            return list(s)
        return rng.sample(list(s), count)
    s = _read(ctx, argv[1])
    if s is None:
        return None
    return _member_at(s, ctx.rng.randrange(len(s)))


@command("smove", 4, "write fast", 1, 2, 1, WRITE, group="set")
def smove(ctx: ExecContext, argv: list[bytes]):
    """Move a member from one set to another"""
    src_key, dst_key, member = argv[1], argv[2], argv[3]
    src = _write(ctx, src_key)
    dst_value = ctx.db.get_for_write(dst_key, ctx.now_ms, ctx.index)
    if src is None:
        return 0
    if dst_value is not None and type(dst_value) is not Set:
        return _WRONGTYPE
    if src is dst_value:
        return 1 if member in src else 0
    if member not in src:
        return 0
    del src[member]
    _changed(ctx, src_key, src, SET, b"srem")
    if dst_value is None:
        ctx.db.set(dst_key, Set.fromkeys((member,)), ctx.index)
        if ctx.notify is not None:
            created(ctx, dst_key, SET, b"sadd")
    elif member not in dst_value:
        dst_value[member] = None
        _changed(ctx, dst_key, dst_value, SET, b"sadd")
    return 1


# --- algebra ------------------------------------------------------------------------------------
def _sources(ctx: ExecContext, keys: list[bytes], for_write: bool) -> list[Set | None]:
    """Every source set (``None`` for a missing key), type-checked before any work."""
    out: list[Set | None] = []
    for key in keys:
        # Counted either way: Redis reads the sources of SINTERSTORE and friends with lookupKeyRead.
        v = counted(ctx, key, ctx.db.get_for_write(key, ctx.now_ms, ctx.index) if for_write
                    else ctx.db.get(key, ctx.now_ms))
        if v is not None and type(v) is not Set:
            raise _WRONGTYPE
        out.append(v)
    return out


def _inter(sets: list[Set | None], limit: int = 0) -> list[bytes]:
    """Members of every set, in the order of the smallest; at most ``limit`` (0: all)."""
    if not sets or any(s is None or not s for s in sets):
        return []
    ordered = sorted(sets, key=len)  # stable: equal sizes keep the command's order
    first, rest = ordered[0], ordered[1:]
    out: list[bytes] = []
    for m in first:
        if all(m in s for s in rest):
            out.append(m)
            if limit and len(out) >= limit:
                break
    return out


def _union(sets: list[Set | None]) -> list[bytes]:
    acc: dict[bytes, None] = {}
    for s in sets:
        if s:
            acc.update(s)
    return list(acc)


def _diff(sets: list[Set | None]) -> list[bytes]:
    first = sets[0]
    if not first:
        return []
    others = [s for s in sets[1:] if s]
    return [m for m in first if not any(m in s for s in others)]


def _store(ctx: ExecContext, dst_key: bytes, members: list[bytes], event: bytes) -> int:
    """The *STORE commands: replace ``dst_key`` with the result, or delete it when empty."""
    db = ctx.db
    notify = ctx.notify
    if members:
        new = notify is not None and db.get_for_write(dst_key, ctx.now_ms, ctx.index) is None
        db.set(dst_key, Set.fromkeys(members), ctx.index)
        if notify is not None:
            if new:
                notify(NEW, b"new", dst_key, ctx.db_index)
            notify(SET, event, dst_key, ctx.db_index)
    elif db.delete(dst_key, ctx.index) and notify is not None:
        notify(GENERIC, b"del", dst_key, ctx.db_index)
    return len(members)


@command("sinter", -2, "readonly", 1, -1, 1, READ, group="set")
def sinter(ctx: ExecContext, argv: list[bytes]):
    """Intersect multiple sets"""
    return SetReply(_inter(_sources(ctx, argv[1:], False)))


@command("sintercard", -3, "readonly movablekeys", 0, 0, 0, READ, group="set", since="7.0.0")
def sintercard(ctx: ExecContext, argv: list[bytes]):
    """Intersect multiple sets and return the cardinality of the result"""
    numkeys = parse_int(argv[1], _NUMKEYS)
    if numkeys < 1:
        return _NUMKEYS
    if numkeys > len(argv) - 2:
        return _TOO_MANY_KEYS
    limit = 0
    i = 2 + numkeys
    n = len(argv)
    while i < n:
        if argv[i].lower() == b"limit" and i + 1 < n:
            limit = parse_int(argv[i + 1], _LIMIT_NEGATIVE)
            if limit < 0:
                return _LIMIT_NEGATIVE
            i += 2
        else:
            return errors.SYNTAX
    return len(_inter(_sources(ctx, argv[2 : 2 + numkeys], False), limit))


@command("sinterstore", -3, "write denyoom", 1, -1, 1, WRITE, group="set")
def sinterstore(ctx: ExecContext, argv: list[bytes]):
    """Intersect multiple sets and store the resulting set in a key"""
    return _store(ctx, argv[1], _inter(_sources(ctx, argv[2:], True)), b"sinterstore")


@command("sunion", -2, "readonly", 1, -1, 1, READ, group="set")
def sunion(ctx: ExecContext, argv: list[bytes]):
    """Add multiple sets"""
    return SetReply(_union(_sources(ctx, argv[1:], False)))


@command("sunionstore", -3, "write denyoom", 1, -1, 1, WRITE, group="set")
def sunionstore(ctx: ExecContext, argv: list[bytes]):
    """Add multiple sets and store the resulting set in a key"""
    return _store(ctx, argv[1], _union(_sources(ctx, argv[2:], True)), b"sunionstore")


@command("sdiff", -2, "readonly", 1, -1, 1, READ, group="set")
def sdiff(ctx: ExecContext, argv: list[bytes]):
    """Subtract multiple sets"""
    return SetReply(_diff(_sources(ctx, argv[1:], False)))


@command("sdiffstore", -3, "write denyoom", 1, -1, 1, WRITE, group="set")
def sdiffstore(ctx: ExecContext, argv: list[bytes]):
    """Subtract multiple sets and store the resulting set in a key"""
    return _store(ctx, argv[1], _diff(_sources(ctx, argv[2:], True)), b"sdiffstore")


# --- scanning -----------------------------------------------------------------------------------
def _is_intset(s: Set) -> bool:
    """Whether Redis 7.0 would hold these members as an intset (which SSCAN returns whole)."""
    if len(s) > _INTSET_ENTRIES:
        return False
    return all(string2ll(m) is not None for m in s)


@command("sscan", -3, "readonly", 1, 1, 1, READ, group="set", since="2.8.0")
def sscan(ctx: ExecContext, argv: list[bytes]):
    """Incrementally iterate Set elements"""
    cursor = parse_cursor(argv[2])
    s = _read(ctx, argv[1])
    if s is None:
        return [b"0", []]
    count, pattern, _ = parse_scan_options(argv, 3, False)
    if _is_intset(s):
        # An intset is one sorted array, returned whole.
        next_cursor, members = 0, sorted(s, key=int)
    else:
        next_cursor, members = scan_step(s, cursor, count)
    match = compile_glob(pattern) if pattern is not None else None
    out = [m for m in members if (match is None or match(m)) and m in s]
    return [b"%d" % next_cursor, out]
