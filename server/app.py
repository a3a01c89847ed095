"""Start and stop one Raftis node process: storage, Raft, the peer port and the client port."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable

from resp.framer import ReplyFramer
from server.config import NodeConfig, split_address
from server.connection import ClientConnection
from server.listener import listen
from server.node import Node
from server.raft import RaftHost

log = logging.getLogger("raftis")


# Set by serve(): the AUTH a node sends first on its own connections to other nodes.
INTERNAL_AUTH: list[bytes] | None = None


async def ask(host: str, port: int, argv: list[bytes], timeout: float = 5.0,
              before: list[list[bytes]] | None = None) -> bytes:
    """Send one command (after the commands ``before``, a SELECT say) to a Raftis (or Redis)
    client port; return its raw reply."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        cmds = ([INTERNAL_AUTH] if INTERNAL_AUTH else []) + (before or []) + [argv]
        parts = [b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a) for a in cmds]
        writer.write(b"".join(parts))
        framer = ReplyFramer()
        got: list[bytes] = []
        while True:
            data = await asyncio.wait_for(reader.read(65536), timeout)
            if not data:
                raise ConnectionError(f"{host}:{port} closed the connection")
            got += framer.feed(data)
            if len(got) >= len(cmds):
                return got[-1]
    finally:
        writer.close()


def reply_text(raw: bytes) -> str:
    """The text of a simple, error or bulk reply."""
    if raw[:1] in (b"+", b"-"):
        return raw[1:].rstrip(b"\r\n").decode(errors="replace")
    if raw[:1] in (b"$", b"="):
        body = raw.split(b"\r\n", 1)[1][:-2]
        return body.decode(errors="replace")
    return raw.decode(errors="replace")


async def fetch_cluster_id(join: str) -> str:
    host, port = split_address(join, 2)
    while True:
        try:
            text = reply_text(await ask(host, int(port), [b"RAFT.INFO"]))
            for line in text.splitlines():
                if line.startswith("cluster_id:"):
                    return line.split(":", 1)[1].strip()
            raise ConnectionError(f"{join} did not report a cluster id")
        except (TimeoutError, OSError, ConnectionError) as e:
            log.warning("cannot reach %s to join its cluster (%s); retrying", join, e)
            await asyncio.sleep(1.0)


async def join_cluster(node: Node, cfg: NodeConfig) -> None:
    """Ask the cluster (through any member) to add this node, until it is a voter."""
    host, port = split_address(cfg.join, 2)
    me = cfg.address()
    argv = [b"RAFT.ADDNODE", str(cfg.node_id).encode(), f"{me.host}:{me.raft_port}".encode(),
            f"{me.host}:{me.port}".encode()]
    while True:
        raft = node.raft
        if cfg.node_id in raft.core.membership.voters:
            log.info("node %d joined the cluster", cfg.node_id)
            return
        try:
            raw = await ask(host, int(port), argv, timeout=60.0)
            if raw.startswith(b"+"):
                continue
            log.warning("joining through %s: %s", cfg.join, reply_text(raw))
        except (TimeoutError, OSError, ConnectionError) as e:
            log.warning("joining through %s failed: %s", cfg.join, e)
        await asyncio.sleep(1.0)


async def serve(cfg: NodeConfig, on_ready: Callable[[Node], None] | None = None) -> None:
    """Run one node until it is told to stop. ``on_ready`` gets the node once it accepts
    clients (in-process tools drive it directly)."""
    loop = asyncio.get_running_loop()
    from server.datadir import claim

    dir_lock = claim(cfg.dir)  # owner-only, and no other node on this directory
    node = Node(cfg)
    node._loop = loop
    global INTERNAL_AUTH
    INTERNAL_AUTH = node.guard.users.internal_auth()
    raft = RaftHost(node, cfg)
    node.raft = raft
    join_cluster_id = ""
    if cfg.join and not os.path.exists(os.path.join(cfg.dir, "raftis.meta")):
        join_cluster_id = await fetch_cluster_id(cfg.join)
    await raft.start(join_cluster_id)
    await _start_operations(node)
    server = await listen(lambda: ClientConnection(node), cfg.bind, cfg.port)
    tls_server = None
    if cfg.tls_port:
        from server.tls import server_context

        tls_server = await listen(lambda: ClientConnection(node), cfg.bind, cfg.tls_port,
                                  ssl=server_context(cfg))
        log.info("node %d accepts TLS clients on %s:%d", cfg.node_id, cfg.bind, cfg.tls_port)
    log.info("node %d ready to accept connections on %s:%d (raft port %d, data in %s)",
             cfg.node_id, cfg.bind, cfg.port, cfg.raft_port, cfg.dir)
    stop = asyncio.Event()
    node.shutdown_requested = stop
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    join_task = None
    if cfg.join and not raft.is_voter():  # a learner whose join did not finish asks again
        join_task = loop.create_task(join_cluster(node, cfg))
    if on_ready is not None:
        on_ready(node)
    await stop.wait()
    log.info("node %d shutting down", cfg.node_id)
    if join_task is not None:
        join_task.cancel()
    server.close()  # new clients go to other nodes from now on
    await node.graceful_stop()
    await _drain_clients(node, timeout=2.0)
    if node.metrics_server is not None:
        node.metrics_server.close()
    server.close()
    if tls_server is not None:
        tls_server.close()
    node.guard.stop()
    await raft.stop()
    dir_lock.release()
    log.info("node %d stopped", cfg.node_id)


async def _drain_clients(node: Node, timeout: float) -> None:
    """Give commands already started on client connections (forwarded ones included) a
    moment to get their replies before the process exits and the connections drop. Clients
    blocked in BLPOP and the like are not waited for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        blocked = {id(p.conn) for p in node.blocked.parked}
        conns = [s.extra.get("conn") for s in list(node.sessions.values())]
        if not any(c is not None and c.inflight and id(c) not in blocked for c in conns):
            return
        await asyncio.sleep(0.02)


async def _start_operations(node: Node) -> None:
    """Settings read elsewhere, the term in log lines, and the metrics endpoint."""
    from server import logging_setup
    from server.settings import apply_initial

    apply_initial(node)
    logging_setup.follow_term(lambda: node.raft.core.term)
    node.metrics_server = None
    if node.cfg.metrics_port:
        from server.metrics import start_metrics_server

        node.metrics_server = await start_metrics_server(node, node.cfg.metrics_bind or node.cfg.bind,
                                                   node.cfg.metrics_port)


def run(cfg: NodeConfig) -> None:
    from server.logging_setup import configure

    configure(cfg.node_id, cfg.log_level, cfg.log_format)
    import uvloop

    try:
        uvloop.run(serve(cfg))
    except OSError as e:
        # A port in use, an address that does not resolve, a directory it may not use: one
        # line that says which, and a non-zero exit (the traceback only at debug level).
        log.error("node %d cannot run: %s", cfg.node_id, e, exc_info=log.isEnabledFor(logging.DEBUG))
        raise SystemExit(1) from None
