"""String commands: GET, SET and friends, counters, ranges.

Strings are stored as ``bytes``; counters are stored as their decimal text (what INCR returns
is what GET returns).  Argument handling follows Redis 7.0's t_string.c, including the order in
which errors are detected (argument syntax, then the key's type, then values).
"""

from __future__ import annotations

from resp.types import OK, ErrorReply
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
from server.commands.context import ExecContext, counted, lookup_read, missed
from server.commands.registry import READ, WRITE, command
from server.notify import GENERIC, NEW, STRING

PROTO_MAX_BULK_LEN = 512 * 1024 * 1024

_WRONGTYPE = errors.WRONGTYPE

# SET/GETEX option bits
_NX, _XX, _GET, _KEEPTTL, _PERSIST, _EX, _PX, _EXAT, _PXAT = (1 << i for i in range(9))
_ANY_EXPIRE = _EX | _PX | _EXAT | _PXAT


def _string_or_none(ctx: ExecContext, key: bytes) -> bytes | None:
    """The live string at ``key`` (None when absent); raise WRONGTYPE for other types."""
    v = lookup_read(ctx, key)
    if v is None or type(v) is bytes:
        return v
    raise _WRONGTYPE


def _string_for_write(ctx: ExecContext, key: bytes) -> bytes | None:
    v = ctx.db.get_for_write(key, ctx.now_ms, ctx.index)
    if v is None or type(v) is bytes:
        return v
    raise _WRONGTYPE


def _string_read_for_write(ctx: ExecContext, key: bytes) -> bytes | None:
    """A write's read of the string at ``key`` (GETDEL, GETEX, GETSET): counted as a lookup
    to read, as Redis's getGenericCommand does."""
    v = counted(ctx, key, ctx.db.get_for_write(key, ctx.now_ms, ctx.index))
    if v is None or type(v) is bytes:
        return v
    raise _WRONGTYPE


def _announce(ctx: ExecContext, key: bytes, new: bool, event: bytes) -> None:
    """A string write's keyspace notifications ("new" first when it created the key); called
    only while ``ctx.notify`` is set."""
    notify = ctx.notify
    if new:
        notify(NEW, b"new", key, ctx.db_index)
    notify(STRING, event, key, ctx.db_index)


def _parse_extended(argv: list[bytes], is_set: bool) -> tuple[int, bytes | None]:
    """``parseExtendedStringArgumentsOrReply``: option flags and the expire argument."""
    flags = 0
    expire = None
    j = 3 if is_set else 2
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        has_next = j + 1 < n
        if opt == b"nx" and is_set and not flags & _XX:
            flags |= _NX
        elif opt == b"xx" and is_set and not flags & _NX:
            flags |= _XX
        elif opt == b"get" and is_set:
            flags |= _GET
        elif opt == b"keepttl" and is_set and not flags & (_PERSIST | _ANY_EXPIRE):
            flags |= _KEEPTTL
        elif opt == b"persist" and not is_set and not flags & (_ANY_EXPIRE | _KEEPTTL):
            flags |= _PERSIST
        elif opt == b"ex" and has_next and not flags & (_KEEPTTL | _PERSIST | _EXAT | _PX | _PXAT):
            flags |= _EX
            j += 1
            expire = argv[j]
        elif opt == b"px" and has_next and not flags & (_KEEPTTL | _PERSIST | _EX | _EXAT | _PXAT):
            flags |= _PX
            j += 1
            expire = argv[j]
        elif opt == b"exat" and has_next and not flags & (_KEEPTTL | _PERSIST | _EX | _PX | _PXAT):
            flags |= _EXAT
            j += 1
            expire = argv[j]
        elif opt == b"pxat" and has_next and not flags & (_KEEPTTL | _PERSIST | _EX | _EXAT | _PX):
            flags |= _PXAT
            j += 1
            expire = argv[j]
        else:
            raise errors.SYNTAX
        j += 1
    return flags, expire


def _expire_ms(ctx: ExecContext, arg: bytes, flags: int, name: bytes) -> int:
    """``getExpireMillisecondsOrReply``: the absolute expiry in ms."""
    ms = parse_int(arg)
    seconds = bool(flags & (_EX | _EXAT))
    if ms <= 0 or (seconds and ms > LLONG_MAX // 1000):
        raise errors.invalid_expire_time(name)
    if seconds:
        ms *= 1000
    if flags & (_EX | _PX):
        ms += ctx.now_ms
        if ms > LLONG_MAX:
            raise errors.invalid_expire_time(name)
    return ms


@command("get", 2, "readonly fast", 1, 1, 1, READ, group="string", summary="Get the value of a key")
def get(ctx: ExecContext, argv: list[bytes]):
    db = ctx.db
    v = db.data.get(argv[1])
    if v is None:
        if ctx.counting:
            missed(ctx, argv[1])
        return None
    if db.expires:
        when = db.expires.get(argv[1])
        if when is not None and ctx.now_ms > when:
            if ctx.counting:
                missed(ctx, argv[1])
            return None
    if ctx.counting:
        ctx.hits += 1
    if type(v) is bytes:
        return v
    return _WRONGTYPE


@command("set", -3, "write denyoom", 1, 1, 1, WRITE, group="string", summary="Set the string value of a key")
def set_(ctx: ExecContext, argv: list[bytes]):
    db = ctx.db
    if len(argv) == 3 and ctx.notify is None:
        # The plain SET: no options, no lookups beyond the store. (With keyspace notifications
        # on, the general path below finds out whether the key is new.)
        key = argv[1]
        db.data[key] = argv[2]
        if db.expires:
            db.expires.pop(key, None)
        db.bump(key, ctx.index)
        return OK
    flags, expire = _parse_extended(argv, True)
    key = argv[1]
    when = _expire_ms(ctx, expire, flags, b"set") if expire is not None else None
    old = None
    if flags & _GET:
        old = _string_or_none(ctx, key)
    found = db.get_for_write(key, ctx.now_ms, ctx.index) is not None
    if (flags & _NX and found) or (flags & _XX and not found):
        return old if flags & _GET else None
    if flags & _KEEPTTL:
        db.set_keep_ttl(key, argv[2], ctx.index)
    else:
        db.set(key, argv[2], ctx.index)
    if when is not None:
        db.set_expire(key, when, ctx.index)
    if ctx.notify is not None:
        _announce(ctx, key, not found, b"set")
        if when is not None:
            ctx.notify(GENERIC, b"expire", key, ctx.db_index)
    return old if flags & _GET else OK


@command("getex", -2, "write fast", 1, 1, 1, WRITE, group="string", since="6.2.0")
def getex(ctx: ExecContext, argv: list[bytes]):
    """Get the value of a key and optionally set its expiration"""
    flags, expire = _parse_extended(argv, False)
    key = argv[1]
    v = _string_read_for_write(ctx, key)
    if v is None:
        return None
    db = ctx.db
    if expire is not None:
        when = _expire_ms(ctx, expire, flags, b"getex")
        if flags & (_EXAT | _PXAT) and when <= ctx.now_ms:
            db.delete(key, ctx.index)
            event = b"del"
        else:
            db.set_expire(key, when, ctx.index)
            event = b"expire"
    elif flags & _PERSIST and db.persist(key, ctx.index):
        event = b"persist"
    else:
        return v
    if ctx.notify is not None:
        ctx.notify(GENERIC, event, key, ctx.db_index)
    return v


@command("getdel", 2, "write fast", 1, 1, 1, WRITE, group="string", since="6.2.0")
def getdel(ctx: ExecContext, argv: list[bytes]):
    """Get the value of a key and delete the key"""
    v = _string_read_for_write(ctx, argv[1])
    if v is not None:
        ctx.db.delete(argv[1], ctx.index)
        if ctx.notify is not None:
            ctx.notify(GENERIC, b"del", argv[1], ctx.db_index)
    return v


@command("getset", 3, "write denyoom fast", 1, 1, 1, WRITE, group="string")
def getset(ctx: ExecContext, argv: list[bytes]):
    """Set the string value of a key and return its old value"""
    old = _string_read_for_write(ctx, argv[1])
    ctx.db.set(argv[1], argv[2], ctx.index)
    if ctx.notify is not None:
        _announce(ctx, argv[1], old is None, b"set")
    return old


@command("setnx", 3, "write denyoom fast", 1, 1, 1, WRITE, group="string")
def setnx(ctx: ExecContext, argv: list[bytes]):
    """Set the value of a key, only if the key does not exist"""
    db = ctx.db
    if db.get_for_write(argv[1], ctx.now_ms, ctx.index) is not None:
        return 0
    db.set(argv[1], argv[2], ctx.index)
    if ctx.notify is not None:
        _announce(ctx, argv[1], True, b"set")
    return 1


def _setex(ctx: ExecContext, argv: list[bytes], unit: int, name: bytes):
    when = _expire_ms(ctx, argv[2], unit, name)
    db = ctx.db
    new = db.get_for_write(argv[1], ctx.now_ms, ctx.index) is None
    db.set(argv[1], argv[3], ctx.index)
    db.set_expire(argv[1], when, ctx.index)
    if ctx.notify is not None:
        _announce(ctx, argv[1], new, b"set")
        ctx.notify(GENERIC, b"expire", argv[1], ctx.db_index)
    return OK


@command("setex", 4, "write denyoom", 1, 1, 1, WRITE, group="string", since="2.0.0")
def setex(ctx: ExecContext, argv: list[bytes]):
    """Set the value and expiration of a key"""
    return _setex(ctx, argv, _EX, b"setex")


@command("psetex", 4, "write denyoom", 1, 1, 1, WRITE, group="string", since="2.6.0")
def psetex(ctx: ExecContext, argv: list[bytes]):
    """Set the value and expiration in milliseconds of a key"""
    return _setex(ctx, argv, _PX, b"psetex")


@command("mget", -2, "readonly fast", 1, -1, 1, READ, group="string")
def mget(ctx: ExecContext, argv: list[bytes]):
    """Get the values of all the given keys"""
    db = ctx.db
    now = ctx.now_ms
    out = []
    for key in argv[1:]:
        v = counted(ctx, key, db.get(key, now))
        out.append(v if type(v) is bytes else None)
    return out


@command("mset", -3, "write denyoom", 1, -1, 2, WRITE, group="string")
def mset(ctx: ExecContext, argv: list[bytes]):
    """Set multiple keys to multiple values"""
    if len(argv) % 2 == 0:
        return errors.wrong_arity(b"mset")
    db = ctx.db
    index = ctx.index
    if ctx.notify is not None:
        for i in range(1, len(argv), 2):
            new = db.get_for_write(argv[i], ctx.now_ms, index) is None
            db.set(argv[i], argv[i + 1], index)
            _announce(ctx, argv[i], new, b"set")
        return OK
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1], index)
    return OK


@command("msetnx", -3, "write denyoom", 1, -1, 2, WRITE, group="string")
def msetnx(ctx: ExecContext, argv: list[bytes]):
    """Set multiple keys to multiple values, only if none of the keys exist"""
    if len(argv) % 2 == 0:
        return errors.wrong_arity(b"msetnx")
    db = ctx.db
    for i in range(1, len(argv), 2):
        if db.get_for_write(argv[i], ctx.now_ms, ctx.index) is not None:
            return 0
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1], ctx.index)
        if ctx.notify is not None:
            _announce(ctx, argv[i], True, b"set")
    return 1


def _incr(ctx: ExecContext, key: bytes, incr: int):
    db = ctx.db
    v = _string_for_write(ctx, key)
    if v is None:
        value = 0
    else:
        value = string2ll(v)
        if value is None:
            return errors.NOT_INTEGER
    if (incr < 0 and value < 0 and incr < LLONG_MIN - value) or (
        incr > 0 and value > 0 and incr > LLONG_MAX - value
    ):
        return errors.OVERFLOW
    value += incr
    db.set_keep_ttl(key, b"%d" % value, ctx.index)
    if ctx.notify is not None:
        _announce(ctx, key, v is None, b"incrby")
    return value


@command("incr", 2, "write denyoom fast", 1, 1, 1, WRITE, group="string")
def incr(ctx: ExecContext, argv: list[bytes]):
    """Increment the integer value of a key by one"""
    return _incr(ctx, argv[1], 1)


@command("decr", 2, "write denyoom fast", 1, 1, 1, WRITE, group="string")
def decr(ctx: ExecContext, argv: list[bytes]):
    """Decrement the integer value of a key by one"""
    return _incr(ctx, argv[1], -1)


@command("incrby", 3, "write denyoom fast", 1, 1, 1, WRITE, group="string")
def incrby(ctx: ExecContext, argv: list[bytes]):
    """Increment the integer value of a key by the given amount"""
    return _incr(ctx, argv[1], parse_int(argv[2]))


@command("decrby", 3, "write denyoom fast", 1, 1, 1, WRITE, group="string")
def decrby(ctx: ExecContext, argv: list[bytes]):
    """Decrement the integer value of a key by the given number"""
    n = parse_int(argv[2])
    if n == LLONG_MIN:
        return ErrorReply("ERR decrement would overflow")
    return _incr(ctx, argv[1], -n)


@command("incrbyfloat", 3, "write denyoom fast", 1, 1, 1, WRITE, group="string", since="2.6.0")
def incrbyfloat(ctx: ExecContext, argv: list[bytes]):
    """Increment the float value of a key by the given amount"""
    v = _string_for_write(ctx, argv[1])
    value = parse_long_double(v) if v is not None else 0
    incr_ = parse_long_double(argv[2])
    result = add_long_double(value, incr_)
    if isinstance(result, float):
        return errors.NAN_OR_INFINITY
    text = format_long_double(result)
    ctx.db.set_keep_ttl(argv[1], text, ctx.index)
    if ctx.notify is not None:
        _announce(ctx, argv[1], v is None, b"incrbyfloat")
    return text


def _check_length(total: int) -> None:
    if total > PROTO_MAX_BULK_LEN:
        raise errors.STRING_TOO_LONG


@command("append", 3, "write denyoom fast", 1, 1, 1, WRITE, group="string", since="2.0.0")
def append(ctx: ExecContext, argv: list[bytes]):
    """Append a value to a key"""
    v = _string_for_write(ctx, argv[1])
    if v is None:
        ctx.db.set(argv[1], argv[2], ctx.index)
        nv = argv[2]
    else:
        _check_length(len(v) + len(argv[2]))
        nv = v + argv[2]
        ctx.db.set_keep_ttl(argv[1], nv, ctx.index)
    if ctx.notify is not None:
        _announce(ctx, argv[1], v is None, b"append")
    return len(nv)


@command("strlen", 2, "readonly fast", 1, 1, 1, READ, group="string", since="2.2.0")
def strlen(ctx: ExecContext, argv: list[bytes]):
    """Get the length of the value stored in a key"""
    v = _string_or_none(ctx, argv[1])
    return 0 if v is None else len(v)


def _getrange(ctx: ExecContext, argv: list[bytes]):
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    v = _string_or_none(ctx, argv[1])
    if v is None:
        return b""
    n = len(v)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start += n
    if end < 0:
        end += n
    start = max(start, 0)
    end = max(end, 0)
    if end >= n:
        end = n - 1
    if start > end or n == 0:
        return b""
    return v[start : end + 1]


@command("getrange", 4, "readonly", 1, 1, 1, READ, group="string", since="2.4.0")
def getrange(ctx: ExecContext, argv: list[bytes]):
    """Get a substring of the string stored at a key"""
    return _getrange(ctx, argv)


@command("substr", 4, "readonly", 1, 1, 1, READ, group="string")
def substr(ctx: ExecContext, argv: list[bytes]):
    """Get a substring of the string stored at a key"""
    return _getrange(ctx, argv)


@command("setrange", 4, "write denyoom", 1, 1, 1, WRITE, group="string", since="2.2.0")
def setrange(ctx: ExecContext, argv: list[bytes]):
    """Overwrite part of a string at key starting at the specified offset"""
    offset = parse_int(argv[2])
    if offset < 0:
        return errors.OFFSET_OUT_OF_RANGE
    value = argv[3]
    v = _string_for_write(ctx, argv[1])
    new = v is None
    if v is None:
        if not value:
            return 0
        _check_length(offset + len(value))
        v = b""
    else:
        if not value:
            return len(v)
        _check_length(offset + len(value))
    if len(v) < offset:
        nv = v + b"\0" * (offset - len(v)) + value
    else:
        nv = v[:offset] + value + v[offset + len(value) :]
    ctx.db.set_keep_ttl(argv[1], nv, ctx.index)
    if ctx.notify is not None:
        _announce(ctx, argv[1], new, b"setrange")
    return len(nv)
