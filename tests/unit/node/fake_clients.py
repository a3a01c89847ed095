"""Fake client connections on a node running in the test's own event loop (see
benchmarks.inproc): a ClientConnection whose replies collect in a bytearray."""

from __future__ import annotations

import asyncio
from typing import Any

from benchmarks.inproc import FakeTransport, start_single_node
from benchmarks.processes import free_ports
from server.config import NodeConfig
from server.connection import ClientConnection


def command(*argv: bytes) -> bytes:
    """A request as a client sends it (a multibulk of bulk strings)."""
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


async def single_node(directory: str) -> tuple[Any, asyncio.Task]:
    """A single node in this event loop with its data in ``directory``: (node, its task);
    stop it with ``node.shutdown_requested.set()`` and await the task."""
    port, raft_port = free_ports(2)
    return await start_single_node(NodeConfig(dir=directory, port=port, raft_port=raft_port, bind="127.0.0.1"))


def fake_client(node: Any) -> tuple[ClientConnection, bytearray]:
    out = bytearray()
    conn = ClientConnection(node)
    conn.connection_made(FakeTransport(out.extend))
    return conn, out


async def until(cond: Any, what: str) -> None:
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")
