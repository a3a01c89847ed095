"""List commands (Redis 7.0's t_list.c), blocking forms included.

A list is a ``List`` (a deque).  An emptied list is deleted, as in Redis.  A key's version
is bumped exactly when Redis would signal it modified (WATCH depends on that): a command
that changes nothing (LREM with no match, LINSERT with no pivot) leaves it alone.

The blocking commands serve at once when they can, else return ``blocking.Blocked`` (see
that module for the contract with the node).
"""

from __future__ import annotations

from itertools import islice

from resp.types import NULL_ARRAY, OK, ErrorReply
from server import errors
from server.commands.arguments import LLONG_MIN, parse_int
from server.commands.blocking import Blocked, in_exec, parse_timeout
from server.commands.containers import changed, read_typed, write_typed
from server.commands.context import ExecContext
from server.commands.registry import READ, WRITE, command
from server.keyspace import List
from server.notify import LIST, NEW

_WRONGTYPE = errors.WRONGTYPE


def _read(ctx: ExecContext, key: bytes) -> List | None:
    return read_typed(ctx, key, List)


def _write(ctx: ExecContext, key: bytes) -> List | None:
    """The List at ``key`` for changing (an expired key is deleted first), not yet bumped."""
    return write_typed(ctx, key, List)


_changed = changed
_NUMKEYS = ErrorReply("ERR numkeys should be greater than 0")
_COUNT_POSITIVE = ErrorReply("ERR count should be greater than 0")
_RANK_ZERO = ErrorReply(
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list"
)
_COUNT_NEGATIVE = ErrorReply("ERR COUNT can't be negative")
_MAXLEN_NEGATIVE = ErrorReply("ERR MAXLEN can't be negative")








def _positive(arg: bytes) -> int:
    """``getPositiveLongFromObjectOrReply`` without a custom message."""
    v = parse_int(arg, errors.NOT_POSITIVE_COUNT)
    if v < 0:
        raise errors.NOT_POSITIVE_COUNT
    return v


def _is_left(arg: bytes) -> bool:
    """LEFT/RIGHT (``getListPositionFromObjectOrReply``)."""
    word = arg.lower()
    if word == b"left":
        return True
    if word == b"right":
        return False
    raise errors.SYNTAX


def _pop_many(lst: List, left: bool, count: int) -> list[bytes]:
    take = lst.popleft if left else lst.pop
    return [take() for _ in range(min(count, len(lst)))]


# --- push ---------------------------------------------------------------------------------------
def _push(ctx: ExecContext, argv: list[bytes], left: bool, create: bool) -> int:
    key = argv[1]
    lst = _write(ctx, key)
    if lst is None:
        if not create:
            return 0
        lst = List()
        ctx.db.set(key, lst, ctx.index)
        new = True
    else:
        ctx.db.bump(key, ctx.index)
        new = False
    if left:
        lst.extendleft(argv[2:])
    else:
        lst.extend(argv[2:])
    notify = ctx.notify
    if notify is not None:
        if new:
            notify(NEW, b"new", key, ctx.db_index)
        notify(LIST, b"lpush" if left else b"rpush", key, ctx.db_index)
    return len(lst)


@command("lpush", -3, "write denyoom fast", 1, 1, 1, WRITE, group="list")
def lpush(ctx: ExecContext, argv: list[bytes]):
    """Prepend one or multiple elements to a list"""
    return _push(ctx, argv, True, True)


@command("rpush", -3, "write denyoom fast", 1, 1, 1, WRITE, group="list")
def rpush(ctx: ExecContext, argv: list[bytes]):
    """Append one or multiple elements to a list"""
    return _push(ctx, argv, False, True)


@command("lpushx", -3, "write denyoom fast", 1, 1, 1, WRITE, group="list", since="2.2.0")
def lpushx(ctx: ExecContext, argv: list[bytes]):
    """Prepend an element to a list, only if the list exists"""
    return _push(ctx, argv, True, False)


@command("rpushx", -3, "write denyoom fast", 1, 1, 1, WRITE, group="list", since="2.2.0")
def rpushx(ctx: ExecContext, argv: list[bytes]):
    """Append an element to a list, only if the list exists"""
    return _push(ctx, argv, False, False)


# --- pop ----------------------------------------------------------------------------------------
def _pop(ctx: ExecContext, argv: list[bytes], left: bool):
    if len(argv) > 3:
        return errors.wrong_arity(b"lpop" if left else b"rpop")
    has_count = len(argv) == 3
    count = _positive(argv[2]) if has_count else 1
    key = argv[1]
    lst = _write(ctx, key)
    if lst is None:
        return NULL_ARRAY if has_count else None
    if not has_count:
        value = lst.popleft() if left else lst.pop()
        _changed(ctx, key, lst, LIST, b"lpop" if left else b"rpop")
        return value
    if count == 0:
        return []
    out = _pop_many(lst, left, count)
    _changed(ctx, key, lst, LIST, b"lpop" if left else b"rpop")
    return out


@command("lpop", -2, "write fast", 1, 1, 1, WRITE, group="list")
def lpop(ctx: ExecContext, argv: list[bytes]):
    """Remove and get the first elements in a list"""
    return _pop(ctx, argv, True)


@command("rpop", -2, "write fast", 1, 1, 1, WRITE, group="list")
def rpop(ctx: ExecContext, argv: list[bytes]):
    """Remove and get the last elements in a list"""
    return _pop(ctx, argv, False)


# --- reads --------------------------------------------------------------------------------------
@command("llen", 2, "readonly fast", 1, 1, 1, READ, group="list")
def llen(ctx: ExecContext, argv: list[bytes]):
    """Get the length of a list"""
    lst = _read(ctx, argv[1])
    return 0 if lst is None else len(lst)


@command("lindex", 3, "readonly", 1, 1, 1, READ, group="list")
def lindex(ctx: ExecContext, argv: list[bytes]):
    """Get an element from a list by its index"""
    lst = _read(ctx, argv[1])
    if lst is None:
        return None
    index = parse_int(argv[2])
    if index < 0:
        index += len(lst)
    if 0 <= index < len(lst):
        return lst[index]
    return None


def _range(start: int, end: int, length: int) -> tuple[int, int] | None:
    """Redis's normalisation of an inclusive [start, end] range; ``None`` when empty."""
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


@command("lrange", 4, "readonly", 1, 1, 1, READ, group="list")
def lrange(ctx: ExecContext, argv: list[bytes]):
    """Get a range of elements from a list"""
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    lst = _read(ctx, argv[1])
    if lst is None:
        return []
    r = _range(start, end, len(lst))
    if r is None:
        return []
    start, end = r
    length = len(lst)
    if start > length - 1 - end:
        # Nearer the tail: walk from there instead of skipping most of the list.
        out = list(islice(reversed(lst), length - 1 - end, length - start))
        out.reverse()
        return out
    return list(islice(lst, start, end + 1))


@command("lpos", -3, "readonly", 1, 1, 1, READ, group="list", since="6.0.6")
def lpos(ctx: ExecContext, argv: list[bytes]):
    """Return the index of matching elements on a list"""
    rank = 1
    count: int | None = None
    maxlen = 0
    n = len(argv)
    i = 3
    while i < n:
        opt = argv[i].lower()
        more = i + 1 < n
        if opt == b"rank" and more:
            rank = parse_int(argv[i + 1])
            if rank == 0:
                return _RANK_ZERO
        elif opt == b"count" and more:
            count = parse_int(argv[i + 1], _COUNT_NEGATIVE)
            if count < 0:
                return _COUNT_NEGATIVE
        elif opt == b"maxlen" and more:
            maxlen = parse_int(argv[i + 1], _MAXLEN_NEGATIVE)
            if maxlen < 0:
                return _MAXLEN_NEGATIVE
        else:
            return errors.SYNTAX
        i += 2
    lst = _read(ctx, argv[1])
    if lst is None:
        return [] if count is not None else None
    forward = rank > 0
    limit = count
    if rank == LLONG_MIN:
        # Redis negates the rank in a C long, which leaves LLONG_MIN negative: every match
        # from the tail qualifies and the COUNT test overflows, so COUNT stops nothing.
        rank, limit = 1, 0
    elif rank < 0:
        rank = -rank
    length = len(lst)
    element = argv[2]
    matches = 0
    found: list[int] = []
    for pos, item in enumerate(lst if forward else reversed(lst)):
        if maxlen and pos >= maxlen:
            break
        if item == element:
            matches += 1
            if matches >= rank:
                index = pos if forward else length - 1 - pos
                if count is None:
                    return index
                found.append(index)
                if limit and len(found) >= limit:
                    break
    return found if count is not None else None


# --- in-place changes ---------------------------------------------------------------------------
@command("lset", 4, "write denyoom", 1, 1, 1, WRITE, group="list")
def lset(ctx: ExecContext, argv: list[bytes]):
    """Set the value of an element in a list by its index"""
    key = argv[1]
    lst = _write(ctx, key)
    if lst is None:
        return errors.NO_SUCH_KEY
    index = parse_int(argv[2])
    if index < 0:
        index += len(lst)
    if not 0 <= index < len(lst):
        return errors.INDEX_OUT_OF_RANGE
    lst[index] = argv[3]
    _changed(ctx, key, lst, LIST, b"lset")
    return OK


@command("linsert", 5, "write denyoom", 1, 1, 1, WRITE, group="list", since="2.2.0")
def linsert(ctx: ExecContext, argv: list[bytes]):
    """Insert an element before or after another element in a list"""
    where = argv[2].lower()
    if where == b"after":
        after = True
    elif where == b"before":
        after = False
    else:
        return errors.SYNTAX
    key = argv[1]
    lst = _write(ctx, key)
    if lst is None:
        return 0
    try:
        pos = lst.index(argv[3])
    except ValueError:
        return -1
    lst.insert(pos + 1 if after else pos, argv[4])
    _changed(ctx, key, lst, LIST, b"linsert")
    return len(lst)


@command("lrem", 4, "write", 1, 1, 1, WRITE, group="list")
def lrem(ctx: ExecContext, argv: list[bytes]):
    """Remove elements from a list"""
    count = parse_int(argv[2])
    key = argv[1]
    lst = _write(ctx, key)
    if lst is None:
        return 0
    element = argv[3]
    limit = abs(count)
    kept: list[bytes] = []
    removed = 0
    for item in lst if count >= 0 else reversed(lst):
        if item == element and (limit == 0 or removed < limit):
            removed += 1
        else:
            kept.append(item)
    if not removed:
        return 0
    if count < 0:
        kept.reverse()
    lst.clear()
    lst.extend(kept)
    _changed(ctx, key, lst, LIST, b"lrem")
    return removed


@command("ltrim", 4, "write", 1, 1, 1, WRITE, group="list")
def ltrim(ctx: ExecContext, argv: list[bytes]):
    """Trim a list to the specified range"""
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    key = argv[1]
    lst = _write(ctx, key)
    if lst is None:
        return OK
    length = len(lst)
    r = _range(start, end, length)
    if r is None:
        lst.clear()
    else:
        start, end = r
        for _ in range(start):
            lst.popleft()
        for _ in range(length - 1 - end):
            lst.pop()
    _changed(ctx, key, lst, LIST, b"ltrim")  # Redis signals the key even when nothing was trimmed
    return OK


# --- moving between lists -----------------------------------------------------------------------
def _move(ctx: ExecContext, src_key: bytes, dst_key: bytes, from_left: bool, to_left: bool):
    """LMOVE's body once the source is known to hold elements (``lmoveGenericCommand``)."""
    db = ctx.db
    src = _write(ctx, src_key)
    if src is None:
        return None
    dst = src if dst_key == src_key else _write(ctx, dst_key)
    value = src.popleft() if from_left else src.pop()
    new = dst is None
    if dst is None:
        dst = List()
        db.set(dst_key, dst, ctx.index)
    else:
        db.bump(dst_key, ctx.index)
    if to_left:
        dst.appendleft(value)
    else:
        dst.append(value)
    notify = ctx.notify
    if notify is not None:
        if new:
            notify(NEW, b"new", dst_key, ctx.db_index)
        notify(LIST, b"lpush" if to_left else b"rpush", dst_key, ctx.db_index)
    _changed(ctx, src_key, src, LIST, b"lpop" if from_left else b"rpop")
    return value


@command("lmove", 5, "write denyoom", 1, 2, 1, WRITE, group="list", since="6.2.0")
def lmove(ctx: ExecContext, argv: list[bytes]):
    """Pop an element from a list, push it to another list and return it"""
    from_left = _is_left(argv[3])
    to_left = _is_left(argv[4])
    return _move(ctx, argv[1], argv[2], from_left, to_left)


@command("rpoplpush", 3, "write denyoom", 1, 2, 1, WRITE, group="list", since="1.2.0")
def rpoplpush(ctx: ExecContext, argv: list[bytes]):
    """Remove the last element in a list, prepend it to another list and return it"""
    return _move(ctx, argv[1], argv[2], False, True)


def _parse_mpop(argv: list[bytes], numkeys_at: int) -> tuple[list[bytes], bool, int]:
    """LMPOP/BLMPOP: numkeys, keys, LEFT|RIGHT, optional COUNT (``lmpopGenericCommand``)."""
    numkeys = parse_int(argv[numkeys_at], _NUMKEYS)
    if numkeys < 1:
        raise _NUMKEYS
    where_at = numkeys_at + numkeys + 1
    if where_at >= len(argv):
        raise errors.SYNTAX
    left = _is_left(argv[where_at])
    count = -1
    i = where_at + 1
    n = len(argv)
    while i < n:
        if count == -1 and argv[i].lower() == b"count" and i + 1 < n:
            count = parse_int(argv[i + 1], _COUNT_POSITIVE)
            if count < 1:
                raise _COUNT_POSITIVE
            i += 2
        else:
            raise errors.SYNTAX
    return argv[numkeys_at + 1 : where_at], left, (1 if count == -1 else count)


def _mpop(ctx: ExecContext, keys: list[bytes], left: bool, count: int):
    """Pop up to ``count`` from the first non-empty list: ``[key, [elements]]``, or ``None``."""
    for key in keys:
        lst = _write(ctx, key)
        if lst:
            out = _pop_many(lst, left, count)
            _changed(ctx, key, lst, LIST, b"lpop" if left else b"rpop")
            return [key, out]
    return None


@command("lmpop", -4, "write movablekeys", 0, 0, 0, WRITE, group="list", since="7.0.0")
def lmpop(ctx: ExecContext, argv: list[bytes]):
    """Pop elements from a list"""
    keys, left, count = _parse_mpop(argv, 1)
    served = _mpop(ctx, keys, left, count)
    return NULL_ARRAY if served is None else served


# --- blocking forms -----------------------------------------------------------------------------
def _bpop(ctx: ExecContext, argv: list[bytes], left: bool):
    timeout_ms = parse_timeout(argv[-1])
    keys = argv[1:-1]
    for key in keys:
        lst = _write(ctx, key)
        if lst:
            value = lst.popleft() if left else lst.pop()
            _changed(ctx, key, lst, LIST, b"lpop" if left else b"rpop")
            return [key, value]
    if in_exec(ctx):
        return NULL_ARRAY
    return Blocked(tuple(keys), timeout_ms)


@command("blpop", -3, "write noscript blocking", 1, -2, 1, WRITE, group="list", since="2.0.0")
def blpop(ctx: ExecContext, argv: list[bytes]):
    """Remove and get the first element in a list, or block until one is available"""
    return _bpop(ctx, argv, True)


@command("brpop", -3, "write noscript blocking", 1, -2, 1, WRITE, group="list", since="2.0.0")
def brpop(ctx: ExecContext, argv: list[bytes]):
    """Remove and get the last element in a list, or block until one is available"""
    return _bpop(ctx, argv, False)


def _bmove(ctx: ExecContext, argv: list[bytes], from_left: bool, to_left: bool, timeout_ms: int):
    src_key = argv[1]
    if _write(ctx, src_key) is None:
        if in_exec(ctx):
            return None
        return Blocked((src_key,), timeout_ms)
    return _move(ctx, src_key, argv[2], from_left, to_left)


@command("blmove", 6, "write denyoom noscript blocking", 1, 2, 1, WRITE, group="list", since="6.2.0")
def blmove(ctx: ExecContext, argv: list[bytes]):
    """Pop an element from a list, push it to another list and return it; or block until one
    is available"""
    from_left = _is_left(argv[3])
    to_left = _is_left(argv[4])
    return _bmove(ctx, argv, from_left, to_left, parse_timeout(argv[5]))


@command("brpoplpush", 4, "write denyoom noscript blocking", 1, 2, 1, WRITE, group="list", since="2.2.0")
def brpoplpush(ctx: ExecContext, argv: list[bytes]):
    """Pop an element from a list, push it to another list and return it; or block until one
    is available"""
    return _bmove(ctx, argv, False, True, parse_timeout(argv[3]))


@command("blmpop", -5, "write blocking movablekeys", 0, 0, 0, WRITE, group="list", since="7.0.0")
def blmpop(ctx: ExecContext, argv: list[bytes]):
    """Pop elements from a list, or block until one is available"""
    keys, left, count = _parse_mpop(argv, 2)
    timeout_ms = parse_timeout(argv[1])
    served = _mpop(ctx, keys, left, count)
    if served is not None:
        return served
    if in_exec(ctx):
        return NULL_ARRAY
    return Blocked(tuple(keys), timeout_ms)
