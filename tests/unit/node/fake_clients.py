"""Fake client connections on a node running in the test's own event loop (see
benchmarks.inproc): a ClientConnection whose replies collect in a bytearray."""

from __future__ import annotations

import asyncio
from typing import Any

from benchmarks.inproc import FakeTransport
from server.connection import ClientConnection


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
