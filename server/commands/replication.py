"""WAIT, ROLE, FAILOVER, REPLICAOF and SLAVEOF: Redis's replication commands in terms of Raft.

Raftis's replicas are the Raft followers; a log index plays the part of Redis's replication
offset. A write is on a majority before its client hears OK, so WAIT says how many *other*
nodes (voters and learners) already hold the client's last write too:

- on the leader, the followers whose match index has reached the log index of the client's
  last write (``Session.woff``), or, for a client that wrote nothing on this node, the commit
  index when WAIT runs (Redis counts every replica then);
- on a follower, the question goes to the leader, where the follower's clients' writes were
  applied; the leader counts against its commit index when it gets the question, which is at
  or after the client's last write (its OK came back before), so the count never claims more
  than is true.

FAILOVER hands the leadership to another voter (RAFT.TRANSFERLEADER), with Redis's checks and
replies. Replication is Raft's, so REPLICAOF/SLAVEOF are refused: RAFT.ADDNODE adds a node.
REPLCONF and SYNC/PSYNC give an RDB file of the data to a client that asked for only that
(``redis-cli --rdb``); a Redis replica that asks for a replication stream is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

from consensus.messages import Role
from resp.types import OK, ErrorReply, Raw
from server import errors, rdb
from server.commands.arguments import string2ll
from server.commands.registry import CONN, command
from server.forked import child_reply
from server.info import REDIS_VERSION

log = logging.getLogger("raftis.replication")

# How often a waiting WAIT looks at the followers' progress again: often at first (a healthy
# follower has the write within a millisecond or two), then less, so a WAIT left waiting on a
# follower that is down costs next to nothing.
WAIT_POLL_SECONDS = 0.002
WAIT_POLL_MAX_SECONDS = 0.05


def _parse_wait(argv: list[bytes]) -> tuple[int, int]:
    numreplicas = string2ll(argv[1])
    if numreplicas is None:
        raise ErrorReply("ERR value is not an integer or out of range")
    timeout = string2ll(argv[2])
    if timeout is None:
        raise ErrorReply("ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise ErrorReply("ERR timeout is negative")
    return numreplicas, timeout


def followers_at(raft: Any, index: int) -> int:
    """How many other members' logs hold ``index`` (leader only; 0 elsewhere)."""
    if raft.role != Role.LEADER:
        return 0
    me = raft.cfg.node_id
    return sum(1 for nid, pr in raft.core.progress.items() if nid != me and pr.match >= index)


@command("wait", 3, "noscript", kind=CONN, group="generic", since="3.0.0", acl="-@keyspace @connection")
def wait(session: Any, argv: list[bytes]) -> Any:
    """Wait for the synchronous replication of all the write commands sent in the context of the current
    connection"""
    numreplicas, timeout_ms = _parse_wait(argv)
    node = session.server
    raft = node.raft
    if raft.role != Role.LEADER:
        return _wait_on_leader(node, argv, timeout_ms)
    target = session.woff or raft.core.commit
    count = followers_at(raft, target)
    if count >= numreplicas:
        return count
    return _wait_for(raft, target, numreplicas, timeout_ms)


async def _wait_for(raft: Any, target: int, numreplicas: int, timeout_ms: int) -> int:
    deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms else None
    pause = WAIT_POLL_SECONDS
    while True:
        if deadline is not None:
            pause = min(pause, max(deadline - time.monotonic(), 0.0))
        await asyncio.sleep(pause)
        pause = min(pause * 1.25, WAIT_POLL_MAX_SECONDS)
        count = followers_at(raft, target)
        if count >= numreplicas or raft.role != Role.LEADER:
            return count
        if deadline is not None and time.monotonic() >= deadline:
            return count


async def _wait_on_leader(node: Any, argv: list[bytes], timeout_ms: int) -> Any:
    from server.app import ask

    raft = node.raft
    if not raft.is_member():
        raise errors.NOCLUSTER
    addr = raft.address_of(raft.leader_id) if raft.leader_id else None
    if addr is None:
        raise errors.CLUSTERDOWN
    # WAIT 0 waits for ever, as in Redis; so does the question to the leader then.
    timeout = timeout_ms / 1000 + 5.0 if timeout_ms else 365 * 86400.0
    try:
        return Raw(await ask(addr.host, addr.port, argv, timeout=timeout))
    except (OSError, ConnectionError, TimeoutError) as e:
        raise ErrorReply(f"TIMEOUT could not reach the leader: {e}") from None


@command("role", 1, "noscript loading stale fast", kind=CONN, group="server", since="2.8.12",
         acl="@admin @dangerous")
def role(session: Any, argv: list[bytes]) -> Any:
    """Return the role of the instance in the context of replication"""
    node = session.server
    raft = node.raft
    core = raft.core
    me = raft.cfg.node_id
    if raft.role == Role.LEADER:
        replicas = []
        for nid in sorted(core.membership.members()):
            if nid == me:
                continue
            addr = raft.address_of(nid)
            pr = core.progress.get(nid)
            replicas.append([(addr.host if addr else "").encode(), str(addr.port if addr else 0).encode(),
                             str(pr.match if pr is not None else 0).encode()])
        return [b"master", core.log.last_index, replicas]
    addr = raft.address_of(raft.leader_id) if raft.leader_id else None
    state = b"connected" if addr is not None else b"connect"
    return [b"slave", (addr.host if addr else "").encode(), addr.port if addr else -1, state, node.applied]


def _refuse(session: Any, argv: list[bytes]) -> Any:
    return ErrorReply("ERR Raftis replicates through Raft: add a node with RAFT.ADDNODE <id> "
                      "<host>:<raft-port> [<host>:<port>] and remove one with RAFT.REMOVENODE <id>")


_REPLICAOF_FLAGS = "admin noscript stale no_async_loading"
command("replicaof", 3, _REPLICAOF_FLAGS, kind=CONN, group="server", since="5.0.0",
        summary="Make the server a replica of another instance, or promote it as master")(_refuse)
command("slaveof", 3, _REPLICAOF_FLAGS, kind=CONN, group="server", since="1.0.0",
        summary="Make the server a replica of another instance, or promote it as master")(_refuse)


@command("failover", -1, "admin noscript stale", kind=CONN, group="server", since="6.2.0")
def failover(session: Any, argv: list[bytes]) -> Any:
    """Start a coordinated failover between this server and one of its replicas"""
    # Redis's FAILOVER, as a Raft leadership transfer: the replicas are the other voters (a
    # learner cannot lead), TO names one by its client address, TIMEOUT bounds the wait for
    # it to catch up. FORCE is checked as Redis checks it, but a transfer never hands over to
    # a node that lacks entries (Raft's rule): when the time is up, the transfer ends.
    raft = session.server.raft
    core = raft.core
    if len(argv) == 2 and argv[1].lower() == b"abort":
        if not core.abort_transfer():
            return ErrorReply("ERR No failover in progress.")
        return OK
    timeout_ms = 0
    force = False
    target = None
    j = 1
    while j < len(argv):
        word = argv[j].lower()
        if word == b"timeout" and j + 1 < len(argv) and timeout_ms == 0:
            timeout_ms = string2ll(argv[j + 1])
            if timeout_ms is None:
                return errors.NOT_INTEGER
            if timeout_ms <= 0:
                return ErrorReply("ERR FAILOVER timeout must be greater than 0")
            j += 2
        elif word == b"to" and j + 2 < len(argv) and target is None:
            port = string2ll(argv[j + 2])
            if port is None:
                return errors.NOT_INTEGER
            target = (argv[j + 1].decode("utf-8", "replace"), port)
            j += 3
        elif word == b"force" and not force:
            force = True
            j += 1
        else:
            return errors.SYNTAX
    if raft.role == Role.LEADER and core.lead_transferee:
        return ErrorReply("ERR FAILOVER already in progress.")
    if raft.role != Role.LEADER:
        return ErrorReply("ERR FAILOVER is not valid when server is a replica.")
    me = raft.cfg.node_id
    transport = raft.transport
    voters = [nid for nid in sorted(core.membership.voters) if nid != me]
    if not any(transport.is_connected(nid) for nid in voters):
        return ErrorReply("ERR FAILOVER requires connected replicas.")
    if force and (not timeout_ms or target is None):
        return ErrorReply("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
    nid = 0
    if target is not None:
        nid = next((v for v in voters if (a := raft.address_of(v)) is not None and (a.host, a.port) == target), 0)
        if not nid:
            return ErrorReply("ERR FAILOVER target HOST and PORT is not a replica.")
        if not transport.is_connected(nid):
            return ErrorReply("ERR FAILOVER target replica is not online.")

    async def transfer() -> None:
        try:
            await raft.transfer_leadership(nid, timeout=timeout_ms / 1000 if timeout_ms else 10.0)
        except Exception as e:  # noqa: BLE001 - reported in the log; the client has its OK
            log.warning("FAILOVER: %s", e)

    task = asyncio.get_running_loop().create_task(transfer())
    _failovers.add(task)
    task.add_done_callback(_failovers.discard)
    return OK


_failovers: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks


# -- REPLCONF, SYNC, PSYNC: an RDB file of the data, for redis-cli --rdb ----------------------------
# Redis replicas cannot follow a Raftis node (its replicas are Raft's), but the first half of
# Redis's replication handshake is how tools take a point-in-time RDB file of a server:
# ``redis-cli --rdb FILE`` sends REPLCONF rdb-only 1 and SYNC, saves what comes back and
# hangs up. That file loads into redis-server (a way out of Raftis) or into any RDB tool.
_REPLCONF_OPTIONS = (b"listening-port", b"ip-address", b"capa", b"rdb-only", b"rdb-filter-only")
_NO_REPLICAS = ErrorReply(
    "ERR Raftis does not stream its writes to Redis replicas (its replicas are Raft followers); "
    "after REPLCONF rdb-only 1, SYNC sends an RDB file of the data, as redis-cli --rdb asks")


@command("replconf", -1, "admin noscript loading stale allow_busy", kind=CONN, group="server", since="3.0.0")
def replconf(session: Any, argv: list[bytes]):
    """An internal command for configuring the replication stream"""
    if len(argv) % 2 == 0:
        return errors.SYNTAX
    for i in range(1, len(argv), 2):
        option, value = argv[i].lower(), argv[i + 1]
        if option in (b"ack", b"getack"):
            return ErrorReply(f"ERR REPLCONF {option.decode().upper()} is for Redis replicas, which Raftis has none of")
        if option not in _REPLCONF_OPTIONS:
            return ErrorReply(b"ERR Unrecognized REPLCONF option: " + argv[i])
        if option == b"rdb-only":
            flag = string2ll(value)
            if flag is None:
                return errors.NOT_INTEGER
            if flag not in (0, 1):
                return ErrorReply("ERR value is out of range, value must between 0 and 1")
            session.extra["rdb-only"] = bool(flag)
    return OK


def _rdb_for(session: Any, head: bytes) -> Any:
    if not session.extra.get("rdb-only"):
        return _NO_REPLICAS
    node = session.server
    keyspace = node.keyspace
    now = node.now_ms()

    def file_reply(data: bytes) -> Raw:
        session.close_after_reply = True  # as Redis does once an rdb-only transfer is over
        return Raw(head + b"$%d\r\n" % len(data) + data)

    return child_reply(lambda: rdb.dump_file(keyspace, now, REDIS_VERSION.encode()), "could not write the RDB file",
                       file_reply)


@command("sync", 1, "admin noscript no_async_loading no_multi", kind=CONN, group="server", since="1.0.0")
def sync(session: Any, argv: list[bytes]):
    """Internal command used for replication"""
    return _rdb_for(session, b"")


@command("psync", -3, "admin noscript no_async_loading no_multi", kind=CONN, group="server", since="2.8.0")
def psync(session: Any, argv: list[bytes]):
    """An internal command used in replication"""
    node = session.server
    # The replication ID names the data's history: the cluster's log (the same on every member).
    replid = hashlib.sha1(f"raftis:{node.raft.cluster_id}:replication".encode()).hexdigest().encode()
    return _rdb_for(session, b"+FULLRESYNC %s %d\r\n" % (replid, node.applied))
