"""SORT and SORT_RO: sort a list, set or sorted set, by its elements or by other keys
(``BY pattern``), and return or store them, or other keys' values (``GET pattern``).

Argument handling, errors and ordering follow Redis 7.0's sort.c. Where Redis's order is
left to chance it is fixed here: elements whose sort keys compare equal under ``ALPHA`` with
``BY`` keep the order the value holds them in (Redis's quicksort leaves it open), and a set
sorted ``BY`` a pattern without ``*`` (no sorting) comes out in byte order, which Redis
does only for STORE and scripts (elsewhere it gives its hash table's order). ``ALPHA``
compares bytes (Redis uses the locale's collation, the same in the C locale).
"""

from __future__ import annotations

import math

from resp.parser import string2ll
from resp.types import ErrorReply
from server import errors
from server.commands.arguments import _strtod_exact
from server.commands.context import ExecContext, lookup_read
from server.commands.registry import READ, WRITE, command
from server.keyspace import Hash, List, Set
from server.notify import GENERIC, LIST, NEW
from server.sortedset import ZSet

NOT_DOUBLE = ErrorReply("ERR One or more scores can't be converted into double")
_SPACE = b" \t\n\v\f\r"


def _score(v: bytes) -> float | None:
    """C's strtod over the whole text (leading white space allowed), or None where Redis
    says the score can't be converted (junk after it, out of range, NaN)."""
    text = v.lstrip(_SPACE)
    if not text:
        return 0.0  # strtod reads nothing and stops at the end: Redis takes 0
    exact = _strtod_exact(text)
    if exact is None:
        return None
    try:
        value = float(exact)
    except OverflowError:
        return None  # out of a double's range (ERANGE)
    if math.isnan(value):
        return None
    if value == 0 and exact != 0:
        return None  # underflow to zero (ERANGE)
    return value


def _by_pattern(ctx: ExecContext, pattern: bytes, element: bytes) -> bytes | None:
    """``lookupKeyByPattern``: the string (or hash field, ``key->field``) the pattern names
    for this element, or None."""
    if pattern == b"#":
        return element
    star = pattern.find(b"*")
    if star < 0:
        return None
    arrow = pattern.find(b"->", star + 1)
    field = None
    if arrow >= 0 and arrow + 2 < len(pattern):
        field = pattern[arrow + 2:]
        key = pattern[:star] + element + pattern[star + 1:arrow]
    else:
        key = pattern[:star] + element + pattern[star + 1:]
    v = lookup_read(ctx, key)
    if v is None:
        return None
    if field is not None:
        return v.get(field) if type(v) is Hash else None
    return v if type(v) is bytes else None


def _sort(ctx: ExecContext, argv: list[bytes], readonly: bool):
    desc = alpha = dontsort = False
    start_arg, count_arg = 0, -1
    by = store = None
    gets: list[bytes] = []
    j, n = 2, len(argv)
    while j < n:
        opt = argv[j].lower()
        left = n - j - 1
        if opt == b"asc":
            desc = False
        elif opt == b"desc":
            desc = True
        elif opt == b"alpha":
            alpha = True
        elif opt == b"limit" and left >= 2:
            start_arg, count_arg = string2ll(argv[j + 1]), string2ll(argv[j + 2])
            if start_arg is None or count_arg is None:
                raise errors.NOT_INTEGER
            j += 2
        elif opt == b"store" and left >= 1 and not readonly:
            store = argv[j + 1]
            j += 1
        elif opt == b"by" and left >= 1:
            by = argv[j + 1]
            dontsort = b"*" not in by
            j += 1
        elif opt == b"get" and left >= 1:
            gets.append(argv[j + 1])
            j += 1
        else:
            raise errors.SYNTAX
        j += 1

    value = lookup_read(ctx, argv[1])
    kind = type(value)
    if value is not None and kind not in (List, Set, ZSet):
        raise errors.WRONGTYPE
    if value is None:
        value, kind = List(), List
    if dontsort and kind is Set:
        # Nothing to sort by: sort by the members, so the order is the same everywhere.
        dontsort, alpha, by = False, True, None

    size = len(value)
    start = min(max(start_arg, 0), size)
    count = min(max(count_arg, -1), size)
    end = size - 1 if count < 0 else start + count - 1
    if start >= size:
        start, end = size - 1, size - 2
    end = min(end, size - 1)

    if kind is List:
        elements = list(value)
    elif kind is Set:
        elements = list(value)
    else:
        elements = [member for _, member in value.order]
    if dontsort:
        if desc:
            elements.reverse()
    else:
        elements = _sorted(ctx, elements, by, alpha, desc)
    chosen = elements[start:end + 1] if end >= start else []

    if store is None:
        if not gets:
            return chosen
        return [_by_pattern(ctx, g, e) for e in chosen for g in gets]
    out = List(chosen if not gets else (_by_pattern(ctx, g, e) or b"" for e in chosen for g in gets))
    notify = ctx.notify
    if out:
        new = notify is not None and ctx.db.get_for_write(store, ctx.now_ms, ctx.index) is None
        ctx.db.set(store, out, ctx.index)
        if notify is not None:
            if new:
                notify(NEW, b"new", store, ctx.db_index)
            notify(LIST, b"sortstore", store, ctx.db_index)
    elif ctx.db.get_for_write(store, ctx.now_ms, ctx.index) is not None:
        ctx.db.delete(store, ctx.index)
        if notify is not None:
            notify(GENERIC, b"del", store, ctx.db_index)
    return len(out)


def _sorted(ctx: ExecContext, elements: list[bytes], by: bytes | None, alpha: bool, desc: bool) -> list[bytes]:
    if alpha:
        if by is None:
            return sorted(elements, reverse=desc)
        # A missing sort key sorts first; equal keys keep their order (sorted is stable).
        keyed = [(_by_pattern(ctx, by, e), e) for e in elements]
        order = sorted(keyed, key=lambda p: (p[0] is not None, p[0] or b""), reverse=desc)
        return [e for _, e in order]
    scored = []
    for e in elements:
        source = _by_pattern(ctx, by, e) if by is not None else e
        if source is None:
            score = 0.0
        else:
            score = _score(source)
            if score is None:
                raise NOT_DOUBLE
        scored.append((score, e))
    scored.sort(reverse=desc)  # equal scores: by the elements' bytes, as Redis
    return [e for _, e in scored]


@command("sort", -2, "write denyoom movablekeys", 1, 1, 1, WRITE, group="generic",
         acl="-@keyspace @set @sortedset @list @dangerous",
         summary="Sort the elements in a list, set or sorted set")
def sort(ctx: ExecContext, argv: list[bytes]):
    return _sort(ctx, argv, False)


@command("sort_ro", -2, "readonly movablekeys", 1, 1, 1, READ, group="generic", since="7.0.0",
         acl="-@keyspace @set @sortedset @list @dangerous",
         summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.")
def sort_ro(ctx: ExecContext, argv: list[bytes]):
    return _sort(ctx, argv, True)
