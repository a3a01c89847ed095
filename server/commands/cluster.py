"""CLUSTER: Redis Cluster's view of a Raftis cluster (see ``server.cluster``).

One shard owns all 16384 slots; its master is the Raft leader and every other member is a
replica.  Cluster-mode clients (redis-py's ``RedisCluster``, ``redis-cli -c``) read this
from any node, then send everything to the leader; a follower in redirect mode answers
``-MOVED <slot> leader:port`` for the commands that reach it anyway.

The topology subcommands are CONN: each node answers from what it knows now, as a Redis
Cluster node does.  COUNTKEYSINSLOT and GETKEYSINSLOT read the keyspace, so they are READ
(linearizable like any read) and look at the connection's selected database.
"""

from __future__ import annotations

from typing import Any

from resp.types import ErrorReply, SimpleString, Verbatim
from server import errors
from server.cluster import SLOTS, ClusterView, Member, key_slot
from server.commands.arguments import string2ll
from server.commands.context import ExecContext
from server.commands.registry import CONN, READ, container, subcommand
from server.session import Session

DISABLED = ErrorReply("ERR This instance has cluster support disabled")
INVALID_SLOT = ErrorReply("ERR Invalid slot")
INVALID_SLOT_OR_COUNT = ErrorReply("ERR Invalid slot or number of keys")

container("cluster", "", CONN, group="cluster", summary="A container for Redis Cluster commands")

_FLAGS = "stale"


def view_of(server: Any) -> ClusterView | None:
    """The cluster as the node ``server`` sees it; ``None`` for a server without Raft."""
    raft = getattr(server, "raft", None)
    core = getattr(raft, "core", None)
    if core is None:
        return None
    membership = core.membership
    members = []
    for nid in sorted(membership.members()):
        addr = raft.address_of(nid)
        if addr is not None:
            members.append(Member(nid, addr.host, addr.port, addr.raft_port, nid in membership.voters))
    return ClusterView(raft.cluster_id, raft.cfg.node_id, raft.leader_id, tuple(members), core.term)


def _view(session: Session) -> ClusterView:
    view = view_of(session.server)
    if view is None:
        raise DISABLED
    return view


@subcommand("cluster", "slots", 2, _FLAGS, since="3.0.0")
def cluster_slots(session: Session, argv: list[bytes]):
    """Get array of Cluster slot to node mappings"""
    return _view(session).slots()


@subcommand("cluster", "shards", 2, _FLAGS, since="7.0.0")
def cluster_shards(session: Session, argv: list[bytes]):
    """Get array of cluster slots to node mappings"""
    return _view(session).shards()


@subcommand("cluster", "nodes", 2, _FLAGS, since="3.0.0")
def cluster_nodes(session: Session, argv: list[bytes]):
    """Get Cluster config for the node"""
    return Verbatim(b"txt", _view(session).nodes_text(session.server.now_ms()))


@subcommand("cluster", "info", 2, _FLAGS, since="3.0.0")
def cluster_info(session: Session, argv: list[bytes]):
    """Provides info about Redis Cluster node state"""
    return Verbatim(b"txt", _view(session).info_text())


@subcommand("cluster", "myid", 2, _FLAGS, since="3.0.0")
def cluster_myid(session: Session, argv: list[bytes]):
    """Return the node id"""
    view = _view(session)
    return view.cid(view.myself).encode()


@subcommand("cluster", "keyslot", 3, _FLAGS, since="3.0.0")
def cluster_keyslot(session: Session, argv: list[bytes]):
    """Returns the hash slot of the specified key"""
    return key_slot(argv[2])


def _slot_arg(arg: bytes) -> int:
    v = string2ll(arg)
    if v is None:
        raise errors.NOT_INTEGER
    return v


@subcommand("cluster", "countkeysinslot", 3, _FLAGS, kind=READ, since="3.0.0")
def cluster_countkeysinslot(ctx: ExecContext, argv: list[bytes]):
    """Return the number of local keys in the specified hash slot"""
    slot = _slot_arg(argv[2])
    if not 0 <= slot < SLOTS:
        return INVALID_SLOT
    return sum(1 for k in ctx.db.live_keys(ctx.now_ms) if key_slot(k) == slot)


@subcommand("cluster", "getkeysinslot", 4, _FLAGS, kind=READ, since="3.0.0")
def cluster_getkeysinslot(ctx: ExecContext, argv: list[bytes]):
    """Return local key names in the specified hash slot"""
    slot = _slot_arg(argv[2])
    count = _slot_arg(argv[3])
    if not 0 <= slot < SLOTS or count < 0:
        return INVALID_SLOT_OR_COUNT
    out: list[bytes] = []
    if count == 0:
        return out
    for k in ctx.db.live_keys(ctx.now_ms):
        if key_slot(k) == slot:
            out.append(k)
            if len(out) >= count:
                break
    return out


@subcommand("cluster", "help", 2, "loading stale", since="5.0.0")
def cluster_help(session: Session, argv: list[bytes]):
    """Show helpful text about the different subcommands"""
    lines = [
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "COUNTKEYSINSLOT <slot>",
        "    Return the number of keys in <slot>.",
        "GETKEYSINSLOT <slot> <count>",
        "    Return key names stored by current node in a slot.",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "MYID",
        "    Return the node id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "SHARDS",
        "    Return information about slot range mappings and the nodes in each shard.",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]
