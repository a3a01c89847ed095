"""The client port accepts a burst of connections in one loop turn (libuv alone accepts one
per turn, so the last of N new clients of a busy node waited N turns for its first reply)."""

import asyncio
import errno
import select
import socket

import pytest
import uvloop

from benchmarks.inproc import start_single_node
from benchmarks.processes import free_ports
from server.config import NodeConfig
from server.listener import BACKOFF_S, Listener, listen

CLIENTS = 30


def _run(coro_fn):
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro_fn())


async def _turns_until(done) -> int:
    """Turns of the event loop until ``done()`` (checked once per turn); at most 1000."""
    loop = asyncio.get_running_loop()
    finished = loop.create_future()
    turns = 0

    def turn():
        nonlocal turns
        turns += 1
        if done() or turns >= 1000:
            finished.set_result(turns)
        else:
            loop.call_soon(turn)

    loop.call_soon(turn)
    return await finished


def _recording_protocol():
    """A protocol class, and the list of the transports it was given."""
    accepted = []

    class Proto(asyncio.Protocol):
        def connection_made(self, transport):
            accepted.append(transport)

    return accepted, Proto


def _all_answered(socks, expected: bytes, got: dict) -> bool:
    readable, _, _ = select.select(socks, [], [], 0)
    for s in readable:
        got[s] = got.get(s, b"") + s.recv(4096)
    return all(got.get(s, b"").endswith(expected) for s in socks)


def test_a_burst_of_new_clients_is_let_in_within_a_few_loop_turns(tmp_path):
    async def main():
        port, raft_port = free_ports(2)
        node, task = await start_single_node(NodeConfig(dir=str(tmp_path / "n"), port=port,
                                                        raft_port=raft_port, bind="127.0.0.1"))
        socks = []
        try:
            # The kernel completes each handshake on its own; the node has not accepted any.
            for _ in range(CLIENTS):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(b"PING\r\n")
                socks.append(s)
            got: dict = {}
            turns = await _turns_until(lambda: _all_answered(socks, b"+PONG\r\n", got))
            assert all(got.get(s) == b"+PONG\r\n" for s in socks), got
            # Accept, set up the transports, read, answer: a handful of turns, not one per client.
            assert turns < CLIENTS // 2, f"{CLIENTS} new clients took {turns} loop turns"
        finally:
            for s in socks:
                s.close()
            node.shutdown_requested.set()
            await task

    _run(main)


def test_a_closed_listener_accepts_nothing_more_and_the_port_is_free():
    async def main():
        accepted, Proto = _recording_protocol()
        (port,) = free_ports(1)
        listener = await listen(Proto, "127.0.0.1", port)
        c1 = socket.create_connection(("127.0.0.1", port))
        await _turns_until(lambda: len(accepted) == 1)
        assert len(accepted) == 1
        listener.close()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        # The port can be listened on again at once (SO_REUSEADDR), as after a restart.
        again = await listen(Proto, "127.0.0.1", port)
        again.close()
        c1.close()
        for t in accepted:
            t.close()

    _run(main)


def test_a_port_in_use_is_a_clear_error():
    async def main():
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        try:
            with pytest.raises(OSError, match="bind on address .*address already in use"):
                await listen(asyncio.Protocol, "127.0.0.1", port)
        finally:
            holder.close()

    _run(main)


class _FailingOnce(socket.socket):
    """A listening socket whose first accept fails as when the process is out of descriptors."""

    calls = 0

    def accept(self):
        type(self).calls += 1
        if type(self).calls == 1:
            raise OSError(errno.EMFILE, "Too many open files")
        return super().accept()


def test_out_of_descriptors_backs_off_instead_of_spinning_then_accepts(caplog):
    async def main():
        accepted, Proto = _recording_protocol()
        loop = asyncio.get_running_loop()
        _FailingOnce.calls = 0
        sock = _FailingOnce(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.setblocking(False)
        listener = Listener(loop, Proto, [sock], None)
        client = socket.create_connection(sock.getsockname())
        await _turns_until(lambda: _FailingOnce.calls >= 1)
        # While backing off the socket is not polled: the loop turns without calling accept.
        for _ in range(50):
            await asyncio.sleep(0)
        assert _FailingOnce.calls == 1, "accept was retried at once"
        assert not accepted
        await asyncio.sleep(BACKOFF_S * 3)
        assert len(accepted) == 1, "the connection was not accepted after the back-off"
        assert any("cannot accept client connections for now" in r.getMessage() for r in caplog.records)
        listener.close()
        client.close()
        for t in accepted:
            t.close()

    _run(main)
