"""Hash commands (Redis 7.0's t_hash.c).  A hash is a ``Hash`` (a dict: field -> value in
insertion order); an emptied hash is deleted, as in Redis."""

from __future__ import annotations

from resp.encoder import encode
from resp.types import OK, ErrorReply, Map, Raw
from server import errors
from server.commands.arguments import (
    LLONG_MAX,
    LLONG_MIN,
    add_long_double,
    format_long_double,
    parse_int,
    parse_long_double,
    string2ll,
)
from server.commands.context import ExecContext, lookup_read
from server.commands.glob import compile_glob
from server.commands.registry import READ, WRITE, command
from server.commands.scanning import parse_cursor, parse_scan_options, scan_step
from server.keyspace import Hash
from server.notify import GENERIC, HASH, NEW

_WRONGTYPE = errors.WRONGTYPE
_LONG_MAX = 2**63 - 1
# Redis keeps a hash in a listpack up to these sizes, and HSCAN returns a listpack whole.
_LISTPACK_ENTRIES = 128
_LISTPACK_VALUE = 64


def _read(ctx: ExecContext, key: bytes) -> Hash | None:
    v = lookup_read(ctx, key)
    if v is None or type(v) is Hash:
        return v
    raise _WRONGTYPE


def _peek(ctx: ExecContext, key: bytes) -> Hash | None:
    """``_read`` for a write that looks before it changes (not counted as a lookup to read)."""
    v = ctx.db.get(key, ctx.now_ms)
    if v is None or type(v) is Hash:
        return v
    raise _WRONGTYPE


def _write(ctx: ExecContext, key: bytes, create: bool) -> Hash | None:
    db = ctx.db
    v = db.get_for_write(key, ctx.now_ms, ctx.index)
    if v is None:
        if not create:
            return None
        v = Hash()
        db.set(key, v, ctx.index)
        if ctx.notify is not None:
            ctx.notify(NEW, b"new", key, ctx.db_index)
        return v
    if type(v) is not Hash:
        raise _WRONGTYPE
    db.bump(key, ctx.index)
    return v


def _announce(ctx: ExecContext, key: bytes, event: bytes) -> None:
    if ctx.notify is not None:
        ctx.notify(HASH, event, key, ctx.db_index)


def _drop_if_empty(ctx: ExecContext, key: bytes, h: Hash) -> None:
    if not h:
        ctx.db.delete(key, ctx.index)


@command("hset", -4, "write denyoom fast", 1, 1, 1, WRITE, group="hash", since="2.0.0")
def hset(ctx: ExecContext, argv: list[bytes]):
    """Set the string value of a hash field"""
    if len(argv) % 2 == 1:
        return errors.wrong_arity(b"hset")
    h = _write(ctx, argv[1], True)
    assert h is not None
    added = 0
    for i in range(2, len(argv), 2):
        if argv[i] not in h:
            added += 1
        h[argv[i]] = argv[i + 1]
    _announce(ctx, argv[1], b"hset")
    return added


@command("hmset", -4, "write denyoom fast", 1, 1, 1, WRITE, group="hash", since="2.0.0")
def hmset(ctx: ExecContext, argv: list[bytes]):
    """Set multiple hash fields to multiple values"""
    if len(argv) % 2 == 1:
        return errors.wrong_arity(b"hmset")
    h = _write(ctx, argv[1], True)
    assert h is not None
    for i in range(2, len(argv), 2):
        h[argv[i]] = argv[i + 1]
    _announce(ctx, argv[1], b"hset")
    return OK


@command("hsetnx", 4, "write denyoom fast", 1, 1, 1, WRITE, group="hash", since="2.0.0")
def hsetnx(ctx: ExecContext, argv: list[bytes]):
    """Set the value of a hash field, only if the field does not exist"""
    h = _peek(ctx, argv[1])
    if h is not None and argv[2] in h:
        return 0
    h = _write(ctx, argv[1], True)
    assert h is not None
    h[argv[2]] = argv[3]
    _announce(ctx, argv[1], b"hset")
    return 1


@command("hget", 3, "readonly fast", 1, 1, 1, READ, group="hash", since="2.0.0")
def hget(ctx: ExecContext, argv: list[bytes]):
    """Get the value of a hash field"""
    h = _read(ctx, argv[1])
    return None if h is None else h.get(argv[2])


@command("hmget", -3, "readonly fast", 1, 1, 1, READ, group="hash", since="2.0.0")
def hmget(ctx: ExecContext, argv: list[bytes]):
    """Get the values of all the given hash fields"""
    h = _read(ctx, argv[1])
    if h is None:
        return [None] * (len(argv) - 2)
    get = h.get
    return [get(f) for f in argv[2:]]


@command("hdel", -3, "write fast", 1, 1, 1, WRITE, group="hash", since="2.0.0")
def hdel(ctx: ExecContext, argv: list[bytes]):
    """Delete one or more hash fields"""
    key = argv[1]
    db = ctx.db
    h = db.get_for_write(key, ctx.now_ms, ctx.index)
    if h is None:
        return 0
    if type(h) is not Hash:
        raise _WRONGTYPE
    deleted = 0
    for f in argv[2:]:
        if h.pop(f, None) is not None:
            deleted += 1
    if deleted:  # as in Redis, deleting nothing does not touch the key (WATCH)
        db.bump(key, ctx.index)
        _drop_if_empty(ctx, key, h)
        if ctx.notify is not None:
            ctx.notify(HASH, b"hdel", key, ctx.db_index)
            if not h:
                ctx.notify(GENERIC, b"del", key, ctx.db_index)
    return deleted


@command("hexists", 3, "readonly fast", 1, 1, 1, READ, group="hash", since="2.0.0")
def hexists(ctx: ExecContext, argv: list[bytes]):
    """Determine if a hash field exists"""
    h = _read(ctx, argv[1])
    return 1 if h is not None and argv[2] in h else 0


@command("hlen", 2, "readonly fast", 1, 1, 1, READ, group="hash", since="2.0.0")
def hlen(ctx: ExecContext, argv: list[bytes]):
    """Get the number of fields in a hash"""
    h = _read(ctx, argv[1])
    return 0 if h is None else len(h)


@command("hstrlen", 3, "readonly fast", 1, 1, 1, READ, group="hash", since="3.2.0")
def hstrlen(ctx: ExecContext, argv: list[bytes]):
    """Get the length of the value of a hash field"""
    h = _read(ctx, argv[1])
    if h is None:
        return 0
    v = h.get(argv[2])
    return 0 if v is None else len(v)


@command("hkeys", 2, "readonly", 1, 1, 1, READ, group="hash", since="2.0.0")
def hkeys(ctx: ExecContext, argv: list[bytes]):
    """Get all the fields in a hash"""
    h = _read(ctx, argv[1])
    return [] if h is None else list(h)


@command("hvals", 2, "readonly", 1, 1, 1, READ, group="hash", since="2.0.0")
def hvals(ctx: ExecContext, argv: list[bytes]):
    """Get all the values in a hash"""
    h = _read(ctx, argv[1])
    return [] if h is None else list(h.values())


@command("hgetall", 2, "readonly", 1, 1, 1, READ, group="hash", since="2.0.0")
def hgetall(ctx: ExecContext, argv: list[bytes]):
    """Get all the fields and values in a hash"""
    h = _read(ctx, argv[1])
    return Map({} if h is None else h)


@command("hincrby", 4, "write denyoom fast", 1, 1, 1, WRITE, group="hash", since="2.0.0")
def hincrby(ctx: ExecContext, argv: list[bytes]):
    """Increment the integer value of a hash field by the given number"""
    incr = parse_int(argv[3])
    h = _peek(ctx, argv[1])
    old = None if h is None else h.get(argv[2])
    if old is None:
        value = 0
    else:
        value = string2ll(old)
        if value is None:
            return errors.HASH_VALUE_NOT_INTEGER
    if (incr < 0 and value < 0 and incr < LLONG_MIN - value) or (
        incr > 0 and value > 0 and incr > LLONG_MAX - value
    ):
        return errors.OVERFLOW
    value += incr
    h = _write(ctx, argv[1], True)
    assert h is not None
    h[argv[2]] = b"%d" % value
    _announce(ctx, argv[1], b"hincrby")
    return value


_NAN_OR_INFINITY_VALUE = ErrorReply("ERR value is NaN or Infinity")


@command("hincrbyfloat", 4, "write denyoom fast", 1, 1, 1, WRITE, group="hash", since="2.6.0")
def hincrbyfloat(ctx: ExecContext, argv: list[bytes]):
    """Increment the float value of a hash field by the given amount"""
    incr = parse_long_double(argv[3])
    if isinstance(incr, float):
        return _NAN_OR_INFINITY_VALUE
    h = _peek(ctx, argv[1])
    old = None if h is None else h.get(argv[2])
    value = 0 if old is None else parse_long_double(old, errors.HASH_VALUE_NOT_FLOAT)
    result = add_long_double(value, incr)
    if isinstance(result, float):
        return errors.NAN_OR_INFINITY
    text = format_long_double(result)
    h = _write(ctx, argv[1], True)
    assert h is not None
    h[argv[2]] = text
    _announce(ctx, argv[1], b"hincrbyfloat")
    return text


def _pairs_reply(pairs: list[tuple[bytes, bytes]]) -> Raw:
    """Field/value pairs: flat in RESP2, an array of 2-arrays in RESP3 (HRANDFIELD)."""
    flat: list[bytes] = []
    for f, v in pairs:
        flat.append(f)
        flat.append(v)
    return Raw(encode(flat, False), encode([[f, v] for f, v in pairs], True))


@command("hrandfield", -2, "readonly", 1, 1, 1, READ, group="hash", since="6.2.0")
def hrandfield(ctx: ExecContext, argv: list[bytes]):
    """Get one or multiple random fields from a hash"""
    if len(argv) >= 3:
        count = parse_int(argv[2])
        if count < -_LONG_MAX:
            return ErrorReply(f"ERR value is out of range, value must between {-_LONG_MAX} and {_LONG_MAX}")
        withvalues = False
        if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withvalues"):
            return errors.SYNTAX
        if len(argv) == 4:
            withvalues = True
            if count < -_LONG_MAX // 2 or count > _LONG_MAX // 2:
                return ErrorReply("ERR value is out of range")
        h = _read(ctx, argv[1])
        if h is None or count == 0:
            return []
        rng = ctx.rng
        fields = list(h)
        if count < 0:
            picked = [fields[rng.randrange(len(fields))] for _ in range(-count)]
        elif count >= len(fields):
            picked = fields
        else:
            picked = rng.sample(fields, count)
        if withvalues:
            return _pairs_reply([(f, h[f]) for f in picked])
        return picked
    h = _read(ctx, argv[1])
    if h is None:
        return None
    fields = list(h)
    return fields[ctx.rng.randrange(len(fields))]


def _is_listpack(h: Hash) -> bool:
    return len(h) <= _LISTPACK_ENTRIES and all(
        len(f) <= _LISTPACK_VALUE and len(v) <= _LISTPACK_VALUE for f, v in h.items()
    )


@command("hscan", -3, "readonly", 1, 1, 1, READ, group="hash", since="2.8.0")
def hscan(ctx: ExecContext, argv: list[bytes]):
    """Incrementally iterate hash fields and associated values"""
    cursor = parse_cursor(argv[2])
    h = _read(ctx, argv[1])
    if h is None:
        return [b"0", []]
    count, pattern, _ = parse_scan_options(argv, 3, False)
    if _is_listpack(h):
        next_cursor, fields = 0, list(h)
    else:
        next_cursor, fields = scan_step(h, cursor, count)
    match = compile_glob(pattern) if pattern is not None else None
    out: list[bytes] = []
    for f in fields:
        if match is None or match(f):
            v = h.get(f)
            if v is not None:
                out.append(f)
                out.append(v)
    return [b"%d" % next_cursor, out]
