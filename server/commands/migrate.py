"""MIGRATE: move keys to another server (redis-server or Raftis), as Redis 7.0 does it.

The node that leads reads the keys and their times to live from its data, serialises them as
DUMP does, and sends them to the target as RESTORE commands (after AUTH and SELECT), on a
connection of its own, while it goes on serving. Redis's MIGRATE blocks the whole server
meanwhile, so its keys cannot change between the copy and their deletion; here they could,
so the deletion of the copied keys goes through the log as a transaction that WATCHes them at
the versions that were copied: a key written meanwhile is not deleted (none is), and MIGRATE
says so. Keys the target refused (BUSYKEY without REPLACE) stay here, as in Redis.

A follower relays MIGRATE to the leader (with the client's database), as it relays writes.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import hiredis

from consensus.messages import Role
from resp.types import OK, ErrorReply, SimpleString
from server import errors, rdb
from server.commands.arguments import string2ll
from server.commands.registry import CONN, command

NOKEY = SimpleString(b"NOKEY")


class _Waiter:
    """The slot of a write the node proposes for a command of its own: the reply (encoded
    bytes) lands in ``future``, where a client connection would get it."""

    def __init__(self) -> None:
        self.future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.session = SimpleNamespace(resp3=False, extra={}, woff=0)

    def resolve(self, seq: int, data: bytes) -> None:
        if not self.future.done():
            self.future.set_result(data)

    def done_one(self) -> None:
        pass


def _parse(argv: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
    """MIGRATE's options and keys, checked in Redis's order."""
    opts: dict[str, Any] = {"copy": False, "replace": False, "auth": None}
    keys = [argv[3]]
    j = 6
    n = len(argv)
    while j < n:
        word = argv[j].lower()
        more = n - j - 1
        if word == b"copy":
            opts["copy"] = True
        elif word == b"replace":
            opts["replace"] = True
        elif word == b"auth" and more >= 1:
            opts["auth"] = [b"AUTH", argv[j + 1]]
            j += 1
        elif word == b"auth2" and more >= 2:
            opts["auth"] = [b"AUTH", argv[j + 1], argv[j + 2]]
            j += 2
        elif word == b"keys":
            if argv[3]:
                raise ErrorReply("ERR When using MIGRATE KEYS option, the key argument must be set to the empty "
                                 "string")
            keys = argv[j + 1:]
            break
        else:
            raise errors.SYNTAX
        j += 1
    timeout = string2ll(argv[5])
    db = string2ll(argv[4])
    if timeout is None or db is None or not -(2**63) <= db < 2**63:
        raise errors.NOT_INTEGER
    opts["timeout"] = timeout / 1000 if timeout > 0 else 1.0
    opts["db"] = db
    return opts, keys


@command("migrate", -6, "write movablekeys", 3, 3, 1, kind=CONN, group="generic", since="2.6.0",
         acl="@dangerous", summary="Atomically transfer a key from a Redis instance to another one.")
def migrate(session: Any, argv: list[bytes]) -> Any:
    opts, keys = _parse(argv)
    node = session.server
    if node.raft.role != Role.LEADER:
        return _relay(node, session, argv)
    return _migrate(node, session.db_index, argv, opts, keys)


_NOT_CAUGHT_UP = ErrorReply("TRYAGAIN this leader has not applied its log up to its own term yet; nothing was "
                            "copied")


async def _migrate(node: Any, db_index: int, argv: list[bytes], opts: dict, keys: list[bytes]) -> Any:
    # Read the keys between log entries, never in the middle of applying one (the reply to
    # this client's previous write, sent as it is applied, starts this command there): a
    # version is the index of the entry that last changed the key, so a later command of the
    # same entry would change the key again under the version copied, and the guarded delete
    # would take the newer value.
    await asyncio.sleep(0)
    if node.raft.role != Role.LEADER:
        return errors.TRYAGAIN_NOT_LEADER
    if node.applied_term != node.raft.core.term:
        # A new leader that has not applied an entry of its own term may miss writes
        # acknowledged by the leader before it (they commit with that entry).
        return _NOT_CAUGHT_UP
    db = node.keyspace.dbs[db_index]
    now = node.read_now_ms()
    found = []  # (key, payload, ttl ms, version)
    for key in keys:
        value = db.get(key, now)
        if value is None:
            continue
        when = db.expires.get(key)
        ttl = 0 if when is None else max(1, when - now)
        try:
            payload = rdb.dump(value)
        except rdb.UnsupportedType:
            continue
        found.append((key, payload, ttl, db.version(key)))
    if not found:
        return NOKEY
    return await _transfer(node, db_index, argv[1], argv[2], opts, found)


async def _relay(node: Any, session: Any, argv: list[bytes]) -> Any:
    from resp.types import Raw
    from server.app import ask

    raft = node.raft
    addr = raft.address_of(raft.leader_id) if raft.leader_id else None
    if addr is None:
        return errors.CLUSTERDOWN
    try:
        return Raw(await ask(addr.host, addr.port, argv, timeout=60.0,
                             before=[[b"SELECT", b"%d" % session.db_index]]))
    except (OSError, ConnectionError, TimeoutError) as e:
        return ErrorReply(f"TIMEOUT could not reach the leader: {e}")


async def _transfer(node: Any, db_index: int, host: bytes, port: bytes, opts: dict[str, Any],
                    found: list[tuple[bytes, bytes, int, int]]) -> Any:
    timeout = opts["timeout"]
    port_n = string2ll(port) or 0
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host.decode(errors="replace"), port_n),
                                                timeout)
    except TimeoutError:
        return ErrorReply("IOERR error or timeout connecting to the client")
    except (OSError, ValueError):
        return ErrorReply("IOERR error or timeout writing to target instance")
    try:
        cmds: list[list[bytes]] = []
        if opts["auth"] is not None:
            cmds.append(opts["auth"])
        cmds.append([b"SELECT", b"%d" % opts["db"]])
        for key, payload, ttl, _ in found:
            cmd = [b"RESTORE", key, b"%d" % ttl, payload]
            if opts["replace"]:
                cmd.append(b"REPLACE")
            cmds.append(cmd)
        try:
            writer.write(b"".join(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in c)
                                  for c in cmds))
            await asyncio.wait_for(writer.drain(), timeout)
        except (OSError, TimeoutError):
            return ErrorReply("IOERR error or timeout writing to target instance")
        parser = hiredis.Reader()
        replies: list[Any] = []
        try:
            while len(replies) < len(cmds):
                data = await asyncio.wait_for(reader.read(65536), timeout)
                if not data:
                    raise ConnectionError
                parser.feed(data)
                while (reply := parser.gets()) is not False:
                    replies.append(reply)
        except (OSError, ConnectionError, TimeoutError):
            return ErrorReply("IOERR error or timeout reading to target instance")
    finally:
        writer.close()
    first_error = None
    head = len(cmds) - len(found)
    for reply in replies[:head]:  # AUTH, SELECT: nothing was restored
        if isinstance(reply, hiredis.ReplyError):
            return ErrorReply(f"ERR Target instance replied with error: {reply}")
    moved = []
    for (key, _, _, version), reply in zip(found, replies[head:], strict=True):
        if isinstance(reply, hiredis.ReplyError):
            first_error = first_error or str(reply)
        else:
            moved.append((key, version))
    if moved and not opts["copy"]:
        err = await _delete_unchanged(node, db_index, moved)
        if err is not None:
            return err
    if first_error is not None:
        return ErrorReply(f"ERR Target instance replied with error: {first_error}")
    return OK


async def _delete_unchanged(node: Any, db_index: int, moved: list[tuple[bytes, int]]) -> ErrorReply | None:
    """Delete the copied keys through the log, in one transaction that watches them at the
    versions copied; an error reply if it did not run."""
    waiter = _Waiter()
    keys = [key for key, _ in moved]
    node.propose_transaction(db_index, [[db_index, [b"DEL", *keys]]],
                             [[db_index, key, version, 1] for key, version in moved], (waiter, 0),
                             16 + sum(map(len, keys)))
    reader = hiredis.Reader()
    reader.feed(await waiter.future)
    reply = reader.gets()
    if isinstance(reply, hiredis.ReplyError):
        return ErrorReply(f"ERR the keys were copied to the target, but deleting them here failed: {reply}")
    if reply is None:
        return ErrorReply("ERR the keys were copied to the target, but one of them was written here meanwhile: "
                          "none was deleted here")
    return None
