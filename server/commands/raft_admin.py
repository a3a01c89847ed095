"""RAFT.* admin commands: membership, leadership, snapshots and cluster state.

They run on the node that receives them. Changes (ADDNODE, REMOVENODE, TRANSFERLEADER) must
be made by the leader: a follower relays them to the leader and passes its reply back, so
any member can be asked (``raftis server --join`` relies on that).
"""

from __future__ import annotations

from typing import Any

from consensus.messages import Role
from resp.types import OK, ErrorReply, Verbatim
from server import errors
from server.checks import CHECK_TIMEOUT, run_check
from server.commands.registry import CONN, WRITE, command
from server.config import ConfigError, PeerAddress, split_address

ROLE_NAMES = {Role.LEADER: "leader", Role.FOLLOWER: "follower", Role.CANDIDATE: "candidate",
              Role.PRE_CANDIDATE: "candidate"}


def _int_arg(arg: bytes, what: str) -> int:
    try:
        value = int(arg)
    except ValueError:
        raise ErrorReply(f"ERR invalid {what} '{arg.decode(errors='replace')}'") from None
    if value < 1:
        raise ErrorReply(f"ERR invalid {what} '{value}'")
    return value


def role_name(raft: Any) -> str:
    core = raft.core
    if raft.cfg.node_id in core.membership.learners:
        return "learner"
    return ROLE_NAMES.get(raft.role, "follower")


async def _relay_to_leader(node: Any, argv: list[bytes]) -> Any:
    from resp.types import Raw
    from server.app import ask

    raft = node.raft
    if raft.leader_id == 0:
        raise errors.CLUSTERDOWN
    addr = raft.address_of(raft.leader_id)
    if addr is None:
        raise errors.CLUSTERDOWN
    try:
        return Raw(await ask(addr.host, addr.port, argv, timeout=60.0))
    except (OSError, ConnectionError, TimeoutError) as e:
        raise ErrorReply(f"TIMEOUT could not reach the leader: {e}") from None


async def _admin(node: Any, argv: list[bytes], action: Any) -> Any:
    from server.raft import AdminError

    if node.raft.role != Role.LEADER:
        if node.raft.cfg.node_id not in node.raft.core.membership:
            raise errors.NOCLUSTER
        return await _relay_to_leader(node, argv)
    try:
        result = await action()
    except AdminError as e:
        raise ErrorReply(str(e)) from None
    return OK if result is None else result


@command("raft.addnode", -3, "admin noscript", kind=CONN, group="raft",
         summary="Add a node: RAFT.ADDNODE <id> <host>:<raft-port> [<host>:<port>]")
def raft_addnode(session: Any, argv: list[bytes]) -> Any:
    if len(argv) > 4:
        raise ErrorReply("ERR wrong number of arguments for 'raft.addnode' command")
    node_id = _int_arg(argv[1], "node id")
    try:
        host, raft_port = split_address(argv[2].decode(), 2)
        if len(argv) == 4:
            chost, port = split_address(argv[3].decode(), 2)
        else:
            chost, port = host, str(int(raft_port) - 10000)
        address = PeerAddress(node_id, host, int(raft_port), int(port))
        if not 0 < address.port < 65536:
            raise ConfigError("bad port")
    except (ConfigError, UnicodeDecodeError, ValueError):
        raise ErrorReply("ERR invalid address, expected <host>:<raft-port> [<host>:<port>]") from None
    node = session.server
    del chost
    return _admin(node, argv, lambda: node.raft.add_node(node_id, address))


@command("raft.removenode", 2, "admin noscript", kind=CONN, group="raft", summary="Remove a node from the cluster")
def raft_removenode(session: Any, argv: list[bytes]) -> Any:
    node_id = _int_arg(argv[1], "node id")
    node = session.server
    return _admin(node, argv, lambda: node.raft.remove_node(node_id))


@command("raft.transferleader", -1, "admin noscript", kind=CONN, group="raft",
         summary="Hand leadership to another voter (the most up-to-date one by default)")
def raft_transferleader(session: Any, argv: list[bytes]) -> Any:
    if len(argv) > 2:
        raise ErrorReply("ERR wrong number of arguments for 'raft.transferleader' command")
    target = _int_arg(argv[1], "node id") if len(argv) == 2 else 0
    node = session.server

    async def action() -> None:
        await node.raft.transfer_leadership(target)

    return _admin(node, argv, action)


@command("raft.snapshot", 1, "admin noscript", kind=CONN, group="raft",
         summary="Take a snapshot of this node's state now and compact its log")
def raft_snapshot(session: Any, argv: list[bytes]) -> Any:
    node = session.server

    async def run() -> Any:
        from server.raft import AdminError

        try:
            await node.raft.snapshot_now()
        except AdminError as e:
            raise ErrorReply(str(e)) from None
        return OK

    return run()


@command("raft.leader", 1, "fast", kind=CONN, group="raft", summary="The leader's id and client address")
def raft_leader(session: Any, argv: list[bytes]) -> Any:
    raft = session.server.raft
    if raft.leader_id == 0:
        raise errors.CLUSTERDOWN
    addr = raft.address_of(raft.leader_id)
    return [raft.leader_id, f"{addr.host}:{addr.port}".encode() if addr else b""]


@command("raft.nodes", 1, "", kind=CONN, group="raft", summary="One entry per member node")
def raft_nodes(session: Any, argv: list[bytes]) -> Any:
    raft = session.server.raft
    out = []
    for nid, suffrage, addr, match in node_rows(raft):
        role = "leader" if nid == raft.leader_id else suffrage
        host = f"{addr.host}:{addr.port}" if addr else ""
        rport = str(addr.raft_port) if addr else ""
        out.append([nid, role.encode(), host.encode(), rport.encode(), match])
    return out


def node_rows(raft: Any) -> list[tuple[int, str, Any, int]]:
    core = raft.core
    m = core.membership
    rows = []
    for nid in sorted(m.members()):
        suffrage = "voter" if nid in m.voters else "learner"
        if nid == raft.cfg.node_id:
            match = core.log.last_index
        else:
            pr = core.progress.get(nid) if raft.role == Role.LEADER else None
            match = pr.match if pr is not None else -1
        rows.append((nid, suffrage, raft.address_of(nid), match))
    return rows


@command("raft.info", 1, "", kind=CONN, group="raft", summary="Raft state of this node, INFO style")
def raft_info(session: Any, argv: list[bytes]) -> Any:
    from server.info import raft_section

    return Verbatim(b"txt", raft_section(session.server).encode())


@command("raft.forwarded", 2, "noscript", kind=CONN, group="raft",
         summary="Marks a connection that carries commands relayed from another node")
def raft_forwarded(session: Any, argv: list[bytes]) -> Any:
    session.forwarded = True
    return OK


# -- RAFT.CHECK: do the members hold the same data? (server/checks.py) ---------------------------

@command("raftis.digest", 3, "write internal", 0, 0, 0, WRITE, since="7.0.0")
def raftis_digest(ctx: Any, argv: list[bytes]) -> Any:
    """Log-only: every member takes the digest of its data as it applies this entry (until
    the check's deadline, argv[2], Unix ms)."""
    if ctx.checkpoint is not None:
        ctx.checkpoint(argv[1], ctx.index, int(argv[2]))
    return OK


@command("raft.digest", 2, "admin noscript", kind=CONN, group="raft",
         summary="This node's digest at the entry of the check <token> (RAFT.CHECK asks for it)")
def raft_digest(session: Any, argv: list[bytes]) -> Any:
    checks = session.server.checks

    async def run() -> Any:
        got = await checks.result(argv[1])
        if got is None:
            return None  # not applied here (yet)
        index, digest, why = got
        return [index, digest.hex().encode() if digest is not None else ErrorReply(f"ERR {why}")]

    return run()


@command("raft.check", -1, "admin noscript", kind=CONN, group="raft",
         summary="Compare every member's data at one log entry: RAFT.CHECK [timeout-seconds]")
def raft_check(session: Any, argv: list[bytes]) -> Any:
    if len(argv) > 2:
        raise ErrorReply("ERR wrong number of arguments for 'raft.check' command")
    timeout = CHECK_TIMEOUT
    if len(argv) == 2:
        try:
            timeout = float(argv[1])
        except ValueError:
            timeout = -1.0
        if not 0 < timeout <= 3600:
            raise ErrorReply("ERR timeout must be a number of seconds between 0 and 3600")
    node = session.server

    async def action() -> Any:
        verdict, rows = await run_check(node, timeout)
        out: list[Any] = [verdict]
        for nid, index, digest, why in rows:
            out.append([nid, index, digest.hex().encode() if digest is not None else why.encode()])
        return out

    return _admin(node, argv, action)
