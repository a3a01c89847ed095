"""DUMP and RESTORE: a value in Redis 7.0's serialisation (``server.rdb``), so keys move
between redis-server and Raftis with tools built on DUMP/RESTORE (redis-cli --pipe of RESTORE
commands, migration scripts, RIOT and the like).

RESTORE is a WRITE: the payload travels in the log and every node decodes it at apply time,
which is deterministic (decoding depends on the bytes alone).  Its TTL is relative to the
entry's timestamp, as Redis's is to the time of the command.  Differences from Redis 7.0:
IDLETIME and FREQ are validated but do nothing (Raftis keeps no LRU or LFU data); a stream
node that holds deleted entries is dumped with its live entries only (Raftis does not keep
deleted entries); and a malformed payload is always rejected whole, where Redis without
``sanitize-dump-payload`` may accept some corrupt listpacks (duplicate fields, unsorted
intsets) unchecked.
"""

from __future__ import annotations

from resp.types import OK
from server import errors
from server.commands.arguments import LLONG_MAX, parse_int
from server.commands.context import ExecContext, lookup_read
from server.commands.registry import READ, WRITE, command
from server.rdb import PayloadError, UnsupportedType, VersionError, dump, load


@command("dump", 2, "readonly", 1, 1, 1, READ, since="2.6.0")
def dump_(ctx: ExecContext, argv: list[bytes]):
    """Return a serialized version of the value stored at the specified key."""
    value = lookup_read(ctx, argv[1])
    if value is None:
        return None
    return dump(value)


@command("restore", -4, "write denyoom", 1, 1, 1, WRITE, since="2.6.0", acl="@dangerous")
def restore(ctx: ExecContext, argv: list[bytes]):
    """Create a key using the provided serialized value, previously obtained using DUMP."""
    replace = absttl = False
    idle = freq = -1
    j = 4
    while j < len(argv):
        opt = argv[j].lower()
        more = len(argv) - j - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more >= 1 and freq == -1:
            idle = parse_int(argv[j + 1])
            if idle < 0:
                return errors.INVALID_IDLETIME
            j += 1
        elif opt == b"freq" and more >= 1 and idle == -1:
            freq = parse_int(argv[j + 1])
            if not 0 <= freq <= 255:
                return errors.INVALID_FREQ
            j += 1
        else:
            return errors.SYNTAX
        j += 1

    db, key = ctx.db, argv[1]
    if not replace and db.get_for_write(key, ctx.now_ms, ctx.index) is not None:
        return errors.BUSYKEY
    ttl = parse_int(argv[2])
    if ttl < 0:
        return errors.INVALID_TTL
    try:
        value = load(argv[3])
    except VersionError:
        return errors.DUMP_PAYLOAD_VERSION
    except (PayloadError, UnsupportedType):  # UnsupportedType: a module value
        return errors.BAD_DATA_FORMAT

    if replace:
        db.get_for_write(key, ctx.now_ms, ctx.index)
        db.delete(key, ctx.index)
    if ttl and not absttl:
        ttl += ctx.now_ms
        if ttl > LLONG_MAX:  # C's long long wraps to a time long past
            ttl -= 2**64
    if ttl and ttl <= ctx.now_ms:  # checkAlreadyExpired: the key is gone at once
        return OK
    db.set(key, value, ctx.index)
    if ttl:
        db.set_expire(key, ttl, ctx.index)
    return OK



@command("restore-asking", -4, "write denyoom asking", 1, 1, 1, WRITE, since="3.0.0", acl="@dangerous")
def restore_asking(ctx: ExecContext, argv: list[bytes]):
    """An internal command for migrating keys in a cluster: RESTORE, for the slot-migration
    clients of Redis Cluster (Raftis's one shard owns every slot, so ASKING changes nothing)."""
    return restore(ctx, argv)
