"""Keyspace commands: DEL, EXISTS, expiry, KEYS/SCAN, RENAME/COPY/MOVE, databases, OBJECT,
and the internal RAFTIS.EXPIRE the leader proposes to reclaim expired keys.

Semantics follow Redis 7.0's db.c and expire.c, with one deliberate difference: expiry
deletions happen at apply time from the entry's timestamp (never from a local clock), so
EXPIRE with a time already past deletes the key in the same entry, on every node.
"""

from __future__ import annotations

from itertools import islice

from resp.types import OK, ErrorReply, SimpleString
from server import errors
from server.commands.arguments import LLONG_MAX, LLONG_MIN, parse_int, string2ll
from server.commands.context import ExecContext, counted, lookup_read
from server.commands.glob import compile_glob
from server.commands.registry import READ, WRITE, command, container, subcommand
from server.commands.scanning import parse_cursor, parse_scan_options, scan_step
from server.keyspace import Hash, List, Set, copy_value, type_name
from server.notify import EXPIRED, GENERIC, NEW

_INT_MIN = -(2**31)
_INT_MAX = 2**31 - 1


def _parse_db(ctx: ExecContext, arg: bytes, err: ErrorReply = errors.NOT_INTEGER) -> int:
    """``getIntFromObjectOrReply`` then ``selectDb``'s range check."""
    v = string2ll(arg)
    if v is None or not _INT_MIN <= v <= _INT_MAX:
        raise err
    if not 0 <= v < len(ctx.keyspace.dbs):
        raise errors.DB_INDEX_OUT_OF_RANGE
    return v


# --- existence and deletion -------------------------------------------------------------------


def _delete(ctx: ExecContext, argv: list[bytes]) -> int:
    db = ctx.db
    deleted = 0
    for key in argv[1:]:
        if db.get_for_write(key, ctx.now_ms, ctx.index) is not None:
            db.delete(key, ctx.index)
            deleted += 1
            if ctx.notify is not None:
                ctx.notify(GENERIC, b"del", key, ctx.db_index)
    return deleted


@command("del", -2, "write", 1, -1, 1, WRITE, summary="Delete a key")
def del_(ctx: ExecContext, argv: list[bytes]):
    return _delete(ctx, argv)


@command("unlink", -2, "write fast", 1, -1, 1, WRITE, since="4.0.0")
def unlink(ctx: ExecContext, argv: list[bytes]):
    """Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking."""
    return _delete(ctx, argv)


@command("exists", -2, "readonly fast", 1, -1, 1, READ)
def exists(ctx: ExecContext, argv: list[bytes]):
    """Determine if a key exists"""
    return sum(1 for key in argv[1:] if lookup_read(ctx, key) is not None)


@command("touch", -2, "readonly fast", 1, -1, 1, READ, since="3.2.1")
def touch(ctx: ExecContext, argv: list[bytes]):
    """Alters the last access time of a key(s). Returns the number of existing keys specified."""
    return exists(ctx, argv)


@command("type", 2, "readonly fast", 1, 1, 1, READ)
def type_(ctx: ExecContext, argv: list[bytes]):
    """Determine the type stored at key"""
    v = lookup_read(ctx, argv[1])
    return SimpleString(b"none" if v is None else type_name(v))


# --- expiry ---------------------------------------------------------------------------------------
_NX, _XX, _GT, _LT = 1, 2, 4, 8
_EXPIRE_OPTIONS = {b"nx": _NX, b"xx": _XX, b"gt": _GT, b"lt": _LT}


def _expire_generic(ctx: ExecContext, argv: list[bytes], basetime: int, seconds: bool, name: bytes):
    flags = 0
    for opt in argv[3:]:
        bit = _EXPIRE_OPTIONS.get(opt.lower())
        if bit is None:
            return ErrorReply(b"ERR Unsupported option " + opt)
        flags |= bit
    if flags & _NX and flags & (_XX | _GT | _LT):
        return errors.EXPIRE_NX_XX_GT_LT
    if flags & _GT and flags & _LT:
        return errors.EXPIRE_GT_LT
    when = parse_int(argv[2])
    if seconds:
        if when > LLONG_MAX // 1000 or when < -(-LLONG_MIN // 1000):
            return errors.invalid_expire_time(name)
        when *= 1000
    if when > LLONG_MAX - basetime:
        return errors.invalid_expire_time(name)
    when += basetime
    db = ctx.db
    key = argv[1]
    if db.get_for_write(key, ctx.now_ms, ctx.index) is None:
        return 0
    if flags:
        current = db.expires.get(key)
        if flags & _NX and current is not None:
            return 0
        if flags & _XX and current is None:
            return 0
        if flags & _GT and (current is None or when <= current):
            return 0
        if flags & _LT and current is not None and when >= current:
            return 0
    if when <= ctx.now_ms:
        db.delete(key, ctx.index)
        event = b"del"
    else:
        db.set_expire(key, when, ctx.index)
        event = b"expire"
    if ctx.notify is not None:
        ctx.notify(GENERIC, event, key, ctx.db_index)
    return 1


@command("expire", -3, "write fast", 1, 1, 1, WRITE)
def expire(ctx: ExecContext, argv: list[bytes]):
    """Set a key's time to live in seconds"""
    return _expire_generic(ctx, argv, ctx.now_ms, True, b"expire")


@command("pexpire", -3, "write fast", 1, 1, 1, WRITE, since="2.6.0")
def pexpire(ctx: ExecContext, argv: list[bytes]):
    """Set a key's time to live in milliseconds"""
    return _expire_generic(ctx, argv, ctx.now_ms, False, b"pexpire")


@command("expireat", -3, "write fast", 1, 1, 1, WRITE, since="1.2.0")
def expireat(ctx: ExecContext, argv: list[bytes]):
    """Set the expiration for a key as a UNIX timestamp"""
    return _expire_generic(ctx, argv, 0, True, b"expireat")


@command("pexpireat", -3, "write fast", 1, 1, 1, WRITE, since="2.6.0")
def pexpireat(ctx: ExecContext, argv: list[bytes]):
    """Set the expiration for a key as a UNIX timestamp specified in milliseconds"""
    return _expire_generic(ctx, argv, 0, False, b"pexpireat")


def _ttl(ctx: ExecContext, key: bytes, ms: bool, absolute: bool) -> int:
    db = ctx.db
    if lookup_read(ctx, key) is None:
        return -2
    when = db.expires.get(key)
    if when is None:
        return -1
    t = when if absolute else max(when - ctx.now_ms, 0)
    return t if ms else (t + 500) // 1000


@command("ttl", 2, "readonly fast", 1, 1, 1, READ)
def ttl(ctx: ExecContext, argv: list[bytes]):
    """Get the time to live for a key in seconds"""
    return _ttl(ctx, argv[1], False, False)


@command("pttl", 2, "readonly fast", 1, 1, 1, READ, since="2.6.0")
def pttl(ctx: ExecContext, argv: list[bytes]):
    """Get the time to live for a key in milliseconds"""
    return _ttl(ctx, argv[1], True, False)


@command("expiretime", 2, "readonly fast", 1, 1, 1, READ, since="7.0.0")
def expiretime(ctx: ExecContext, argv: list[bytes]):
    """Get the expiration Unix timestamp for a key"""
    return _ttl(ctx, argv[1], False, True)


@command("pexpiretime", 2, "readonly fast", 1, 1, 1, READ, since="7.0.0")
def pexpiretime(ctx: ExecContext, argv: list[bytes]):
    """Get the expiration Unix timestamp for a key in milliseconds"""
    return _ttl(ctx, argv[1], True, True)


@command("persist", 2, "write fast", 1, 1, 1, WRITE, since="2.2.0")
def persist(ctx: ExecContext, argv: list[bytes]):
    """Remove the expiration from a key"""
    db = ctx.db
    if db.get_for_write(argv[1], ctx.now_ms, ctx.index) is None:
        return 0
    if not db.persist(argv[1], ctx.index):
        return 0
    if ctx.notify is not None:
        ctx.notify(GENERIC, b"persist", argv[1], ctx.db_index)
    return 1


@command("raftis.expire", -3, "write internal", 2, -1, 1, WRITE, since="7.0.0")
def raftis_expire(ctx: ExecContext, argv: list[bytes]):
    """Internal log entry: RAFTIS.EXPIRE <db> key [key ...] deletes each key that is still
    expired at the entry's time (it may have been rewritten or persisted since it was proposed)."""
    db_index = string2ll(argv[1])
    if db_index is None or not 0 <= db_index < len(ctx.keyspace.dbs):
        return errors.DB_INDEX_OUT_OF_RANGE
    db = ctx.keyspace.dbs[db_index]
    now = ctx.now_ms
    deleted = 0
    for key in argv[2:]:
        if db.is_expired(key, now):
            db.delete(key, ctx.index)
            deleted += 1
            if ctx.notify is not None:
                ctx.notify(EXPIRED, b"expired", key, db_index)
    return deleted


# --- listing ----------------------------------------------------------------------------------------


@command("keys", 2, "readonly", 0, 0, 0, READ, acl="@dangerous")
def keys(ctx: ExecContext, argv: list[bytes]):
    """Find all keys matching the given pattern"""
    match = compile_glob(argv[1])
    return [k for k in ctx.db.live_keys(ctx.now_ms) if match(k)]


@command("scan", -2, "readonly", 0, 0, 0, READ, since="2.8.0")
def scan(ctx: ExecContext, argv: list[bytes]):
    """Incrementally iterate the keys space"""
    cursor = parse_cursor(argv[1])
    count, pattern, type_filter = parse_scan_options(argv, 2, True)
    db = ctx.db
    next_cursor, candidates = scan_step(db.data, cursor, count)
    now = ctx.now_ms
    match = compile_glob(pattern) if pattern is not None else None
    out = []
    for k in candidates:
        if match is not None and not match(k):
            continue
        v = db.get(k, now)
        if type_filter is not None:
            counted(ctx, k, v)  # Redis looks the key up (to read its type) when it filters by type
        if v is None:
            continue
        if type_filter is not None and type_name(v) != type_filter:
            continue
        out.append(k)
    return [b"%d" % next_cursor, out]


@command("randomkey", 1, "readonly", 0, 0, 0, READ)
def randomkey(ctx: ExecContext, argv: list[bytes]):
    """Return a random key from the keyspace"""
    db = ctx.db
    data = db.data
    if not data:
        return None
    rng = ctx.rng
    now = ctx.now_ms
    for _ in range(16):
        k = next(islice(iter(data), rng.randrange(len(data)), None))
        if not db.is_expired(k, now):
            return k
    live = list(db.live_keys(now))
    return live[rng.randrange(len(live))] if live else None


@command("dbsize", 1, "readonly fast", 0, 0, 0, READ)
def dbsize(ctx: ExecContext, argv: list[bytes]):
    """Return the number of keys in the selected database"""
    # Like Redis: keys that expired but are not reclaimed yet still count (O(1)).
    return len(ctx.db.data)


def _flush_options(argv: list[bytes]) -> None:
    if len(argv) == 2 and argv[1].lower() in (b"sync", b"async"):
        return
    if len(argv) != 1:
        raise errors.SYNTAX


@command("flushdb", -1, "write", 0, 0, 0, WRITE, acl="@dangerous")
def flushdb(ctx: ExecContext, argv: list[bytes]):
    """Remove all keys from the current database"""
    _flush_options(argv)
    ctx.db.clear(ctx.index)
    return OK


@command("flushall", -1, "write", 0, 0, 0, WRITE, acl="@dangerous")
def flushall(ctx: ExecContext, argv: list[bytes]):
    """Remove all keys from all databases"""
    _flush_options(argv)
    ctx.keyspace.flush_all(ctx.index)
    return OK


# --- moving keys around -----------------------------------------------------------------------------


def _rename(ctx: ExecContext, argv: list[bytes], nx: bool):
    src, dst = argv[1], argv[2]
    db = ctx.db
    value = db.get_for_write(src, ctx.now_ms, ctx.index)
    if value is None:
        return errors.NO_SUCH_KEY
    if src == dst:
        return 0 if nx else OK
    when = db.expires.get(src)
    if db.get_for_write(dst, ctx.now_ms, ctx.index) is not None:
        if nx:
            return 0
        db.delete(dst, ctx.index)
    db.set(dst, value, ctx.index)
    if when is not None:
        db.set_expire(dst, when, ctx.index)
    db.delete(src, ctx.index)
    notify = ctx.notify
    if notify is not None:
        notify(NEW, b"new", dst, ctx.db_index)
        notify(GENERIC, b"rename_from", src, ctx.db_index)
        notify(GENERIC, b"rename_to", dst, ctx.db_index)
    return 1 if nx else OK


@command("rename", 3, "write", 1, 2, 1, WRITE)
def rename(ctx: ExecContext, argv: list[bytes]):
    """Rename a key"""
    return _rename(ctx, argv, False)


@command("renamenx", 3, "write fast", 1, 2, 1, WRITE)
def renamenx(ctx: ExecContext, argv: list[bytes]):
    """Rename a key, only if the new key does not exist"""
    return _rename(ctx, argv, True)


@command("copy", -3, "write denyoom", 1, 2, 1, WRITE, since="6.2.0")
def copy(ctx: ExecContext, argv: list[bytes]):
    """Copy a key"""
    src_db = ctx.db
    dst_db = ctx.db
    replace = False
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and j + 1 < len(argv):
            dst_db = ctx.keyspace.dbs[_parse_db(ctx, argv[j + 1])]
            j += 1
        else:
            return errors.SYNTAX
        j += 1
    key, newkey = argv[1], argv[2]
    if src_db is dst_db and key == newkey:
        return errors.SAME_OBJECT
    value = counted(ctx, key, src_db.get(key, ctx.now_ms))
    if value is None:
        return 0
    when = src_db.expires.get(key)
    if dst_db.get_for_write(newkey, ctx.now_ms, ctx.index) is not None:
        if not replace:
            return 0
        dst_db.delete(newkey, ctx.index)
    dst_db.set(newkey, copy_value(value), ctx.index)
    if when is not None:
        dst_db.set_expire(newkey, when, ctx.index)
    if ctx.notify is not None:
        ctx.notify(NEW, b"new", newkey, dst_db.index)
        ctx.notify(GENERIC, b"copy_to", newkey, dst_db.index)
    return 1


@command("move", 3, "write fast", 1, 1, 1, WRITE)
def move(ctx: ExecContext, argv: list[bytes]):
    """Move a key to another database"""
    dst_db = ctx.keyspace.dbs[_parse_db(ctx, argv[2])]
    src_db = ctx.db
    if src_db is dst_db:
        return errors.SAME_OBJECT
    key = argv[1]
    value = src_db.get_for_write(key, ctx.now_ms, ctx.index)
    if value is None:
        return 0
    when = src_db.expires.get(key)
    if dst_db.get_for_write(key, ctx.now_ms, ctx.index) is not None:
        return 0
    dst_db.set(key, value, ctx.index)
    if when is not None:
        dst_db.set_expire(key, when, ctx.index)
    src_db.delete(key, ctx.index)
    if ctx.notify is not None:
        ctx.notify(NEW, b"new", key, dst_db.index)
        ctx.notify(GENERIC, b"move_from", key, src_db.index)
        ctx.notify(GENERIC, b"move_to", key, dst_db.index)
    return 1


@command("swapdb", 3, "write fast", 0, 0, 0, WRITE, since="4.0.0", acl="@dangerous")
def swapdb(ctx: ExecContext, argv: list[bytes]):
    """Swaps two Redis databases"""
    a = string2ll(argv[1])
    if a is None or not _INT_MIN <= a <= _INT_MAX:
        return errors.INVALID_FIRST_DB_INDEX
    b = string2ll(argv[2])
    if b is None or not _INT_MIN <= b <= _INT_MAX:
        return errors.INVALID_SECOND_DB_INDEX
    dbs = ctx.keyspace.dbs
    if not (0 <= a < len(dbs) and 0 <= b < len(dbs)):
        return errors.DB_INDEX_OUT_OF_RANGE
    if a != b:
        dbs[a].take_contents(dbs[b], ctx.index)
    return OK


# --- OBJECT -------------------------------------------------------------------------------------------
container("object", "", READ, group="generic", summary="A container for object introspection commands")

_SHARED_INTEGERS = 10000
_LFU_NOT_SELECTED = ErrorReply(
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust."
)


def encoding_of(value: object) -> bytes:
    """What OBJECT ENCODING reports, by Redis 7.0's default thresholds."""
    t = type(value)
    if t is bytes:
        if len(value) <= 20 and string2ll(value) is not None:  # type: ignore[arg-type]
            return b"int"
        return b"embstr" if len(value) <= 44 else b"raw"  # type: ignore[arg-type]
    if t is Hash:
        small = len(value) <= 128 and all(len(k) <= 64 and len(v) <= 64 for k, v in value.items())  # type: ignore[attr-defined]
        return b"listpack" if small else b"hashtable"
    if t is List:
        return b"quicklist"
    if t is Set:
        ints = len(value) <= 512 and all(string2ll(m) is not None for m in value)  # type: ignore[attr-defined]
        return b"intset" if ints else b"hashtable"
    return getattr(value, "ENCODING", b"raw")


@subcommand("object", "encoding", 3, "readonly", 2, 2, 1, READ, since="2.2.3")
def object_encoding(ctx: ExecContext, argv: list[bytes]):
    """Inspect the internal encoding of a Redis object"""
    v = counted(ctx, argv[2], ctx.db.get(argv[2], ctx.now_ms), announce=False)
    return None if v is None else encoding_of(v)


# Redis keeps each key's last access in the value's header; a Python object has no room for
# it, and a per-key table would cost about as much memory as a small key itself. Answering 0
# would tell a script looking for cold keys that every key is hot.
_IDLE_NOT_TRACKED = ErrorReply("ERR Raftis does not record when keys were last accessed: it has no idle time to give")


@subcommand("object", "freq", 3, "readonly", 2, 2, 1, READ, since="4.0.0")
def object_freq(ctx: ExecContext, argv: list[bytes]):
    """Get the logarithmic access frequency counter of a Redis object"""
    v = counted(ctx, argv[2], ctx.db.get(argv[2], ctx.now_ms), announce=False)
    return None if v is None else _LFU_NOT_SELECTED


@subcommand("object", "idletime", 3, "readonly", 2, 2, 1, READ, since="2.2.3")
def object_idletime(ctx: ExecContext, argv: list[bytes]):
    """Get the time since a Redis object was last accessed"""
    v = counted(ctx, argv[2], ctx.db.get(argv[2], ctx.now_ms), announce=False)
    return None if v is None else _IDLE_NOT_TRACKED


@subcommand("object", "refcount", 3, "readonly", 2, 2, 1, READ, since="2.2.3")
def object_refcount(ctx: ExecContext, argv: list[bytes]):
    """Get the number of references to the value of the key"""
    v = counted(ctx, argv[2], ctx.db.get(argv[2], ctx.now_ms), announce=False)
    if v is None:
        return None
    if type(v) is bytes and len(v) <= 20:
        n = string2ll(v)
        if n is not None and 0 <= n < _SHARED_INTEGERS:
            return _INT_MAX
    return 1


@subcommand("object", "help", 2, "loading stale", kind=READ, since="6.2.0")
def object_help(ctx: ExecContext, argv: list[bytes]):
    """Show helpful text about the different subcommands"""
    lines = [
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]
