"""A fault-injecting TCP proxy in front of every node's ports, on loopback.

Each node listens on its own address (127.0.1.N) and advertises another (127.0.2.N); a
`NodeProxy` listens on the advertised address and forwards to the real one, so all peer
traffic to node N, and every request another node forwards to it, passes through the proxy.

Peer connections carry messages one way (dialer -> acceptor) as frames
``u32 length | u8 kind | body``, and the first frame is the dialer's HELLO naming its node
id. The proxy reads that id and applies the `NetworkFaults` for the pair (src, dst) to each
whole frame after the handshake: drop (partition, loss), hold back (delay), send twice
(duplication) or swap with the next (reordering). Raft tolerates all of these. Bytes in the
other direction (WELCOME/REJECT) and client-port traffic are piped unchanged; a partition
does not cut forwarded client requests, which only makes the network kinder than a real one.

Everything runs on one asyncio loop in a daemon thread; `NetworkFaults` is the only state
shared with the harness and is read, never mutated, by the loop (the harness replaces whole
values under its lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

_HEADER = struct.Struct(">IB")
K_HELLO = 1
MAX_FRAME = 1 << 30


@dataclass(frozen=True, slots=True)
class LinkFaults:
    """What happens to frames on one directed link; the default is a perfect link."""

    drop: bool = False  # partitioned: every frame is lost
    loss: float = 0.0  # probability a frame is lost
    delay: float = 0.0  # seconds each frame is held back
    jitter: float = 0.0  # extra uniform random delay in [0, jitter)
    duplicate: float = 0.0  # probability a frame is delivered twice
    reorder: float = 0.0  # probability a frame is held until the next one has gone


PERFECT = LinkFaults()


class NetworkFaults:
    """Faults per directed link (src, dst), plus a default for links not named."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._links: dict[tuple[int, int], LinkFaults] = {}
        self._default = PERFECT
        self.rng = random.Random(seed)
        # For scripted scenarios: called with (src, dst, frame body) for each message frame
        # before the link faults; returning True drops the frame.
        self.frame_hook: Callable[[int, int, bytes], bool] | None = None
        self.frames = 0
        self.dropped = 0
        self.duplicated = 0
        self.reordered = 0

    def get(self, src: int, dst: int) -> LinkFaults:
        return self._links.get((src, dst), self._default)

    def set_links(self, links: dict[tuple[int, int], LinkFaults]) -> None:
        with self._lock:
            merged = dict(self._links)
            merged.update(links)
            self._links = merged

    def set_default(self, faults: LinkFaults) -> None:
        with self._lock:
            self._default = faults

    def heal(self) -> None:
        with self._lock:
            self._links = {}
            self._default = PERFECT

    def partition(self, groups: Iterable[Iterable[int]], nodes: Iterable[int]) -> None:
        """Cut every link between different groups (both directions); nodes in no group are
        cut from everyone."""
        where: dict[int, int] = {}
        for g, members in enumerate(groups):
            for n in members:
                where[n] = g
        all_nodes = list(nodes)
        cut = {}
        for a in all_nodes:
            for b in all_nodes:
                if a != b and where.get(a, -1 - a) != where.get(b, -1 - b):
                    cut[(a, b)] = LinkFaults(drop=True)
        self.set_links(cut)


class _Pipe:
    """One accepted connection and its upstream; frames dialer -> acceptor, bytes back."""

    def __init__(self, proxy: NodeProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.proxy = proxy
        self.reader = reader
        self.writer = writer
        self.src = 0
        self.up_writer: asyncio.StreamWriter | None = None
        self.held: bytes | None = None

    async def run(self) -> None:
        p = self.proxy
        try:
            up_reader, self.up_writer = await asyncio.open_connection(p.target_host, p.raft_port)
        except OSError:
            self.writer.close()
            return
        p.conns.add(self)
        back = asyncio.ensure_future(_copy(up_reader, self.writer))
        try:
            await self._frames()
        except (OSError, asyncio.IncompleteReadError, ValueError, msgspec.DecodeError):
            pass
        finally:
            p.conns.discard(self)
            back.cancel()
            self.abort()

    def abort(self) -> None:
        for w in (self.writer, self.up_writer):
            if w is not None:
                with contextlib.suppress(Exception):
                    w.transport.abort()

    async def _frames(self) -> None:
        p = self.proxy
        assert self.up_writer is not None
        first = True
        while True:
            head = await self.reader.readexactly(5)
            length, kind = _HEADER.unpack(head)
            if length < 1 or length > MAX_FRAME:
                raise ValueError("bad frame")
            data = head + await self.reader.readexactly(length - 1)
            if first:
                first = False
                if kind == K_HELLO:
                    hello = msgspec.msgpack.decode(data[5:])
                    self.src = int(hello[3])
                self.up_writer.write(data)
                continue
            if self.src == 0:  # handshake frames (PROOF) before the id is known, or a stranger
                self.up_writer.write(data)
                continue
            hook = p.faults.frame_hook
            if hook is not None and hook(self.src, p.node_id, data[5:]):
                continue
            self._send(p.faults.get(self.src, p.node_id), data)
            if self.up_writer.transport.get_write_buffer_size() > 16 * 1024 * 1024:
                await self.up_writer.drain()  # the node is paused: stop reading, like a full socket

    def _send(self, f: LinkFaults, data: bytes) -> None:
        nf = self.proxy.faults
        nf.frames += 1
        if f.drop or (f.loss and nf.rng.random() < f.loss):
            nf.dropped += 1
            return
        copies = 1
        if f.duplicate and nf.rng.random() < f.duplicate:
            nf.duplicated += 1
            copies = 2
        if f.reorder and self.held is None and nf.rng.random() < f.reorder:
            nf.reordered += 1
            self.held = data * copies
            return
        out = data * copies
        if self.held is not None:
            out, self.held = out + self.held, None
        delay = f.delay + (nf.rng.random() * f.jitter if f.jitter else 0.0)
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._write_later, out)
        else:
            self._write(out)

    def _write(self, data: bytes) -> None:
        if self.up_writer is not None and not self.up_writer.is_closing():
            self.up_writer.write(data)

    def _write_later(self, data: bytes) -> None:
        # Frames delayed by a fixed amount stay in order; jitter may reorder them (allowed).
        self._write(data)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.transport.abort()


class NodeProxy:
    """The proxy for one node: raft frames with faults, client bytes piped as they are."""

    def __init__(self, node_id: int, listen_host: str, target_host: str, raft_port: int, port: int,
                 faults: NetworkFaults) -> None:
        self.node_id = node_id
        self.listen_host = listen_host
        self.target_host = target_host
        self.raft_port = raft_port
        self.port = port
        self.faults = faults
        self.conns: set[_Pipe] = set()
        self.servers: list[asyncio.base_events.Server] = []
        self.client_writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.servers.append(await asyncio.start_server(self._raft_conn, self.listen_host, self.raft_port,
                                                       reuse_address=True))
        self.servers.append(await asyncio.start_server(self._client_conn, self.listen_host, self.port,
                                                       reuse_address=True))

    async def _raft_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _Pipe(self, reader, writer).run()

    async def _client_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))

    def reset(self) -> int:
        """Abort every peer connection through this proxy (the nodes redial)."""
        n = len(self.conns)
        for c in list(self.conns):
            c.abort()
        return n

    async def stop(self) -> None:
        for s in self.servers:
            s.close()
        self.reset()
        for s in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.wait_closed(), 2)


class ProxyFabric:
    """All node proxies on one event loop in a daemon thread."""

    def __init__(self, seed: int) -> None:
        self.faults = NetworkFaults(seed)
        self.proxies: dict[int, NodeProxy] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="jepsen-proxy", daemon=True)
        self.thread.start()

    def _call(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def add(self, node_id: int, listen_host: str, target_host: str, raft_port: int, port: int) -> NodeProxy:
        proxy = NodeProxy(node_id, listen_host, target_host, raft_port, port, self.faults)
        self._call(proxy.start())
        self.proxies[node_id] = proxy
        return proxy

    def remove(self, node_id: int) -> None:
        proxy = self.proxies.pop(node_id, None)
        if proxy is not None:
            self._call(proxy.stop())

    def reset_connections(self) -> int:
        async def reset_all() -> int:
            return sum(p.reset() for p in self.proxies.values())

        return self._call(reset_all())

    def close(self) -> None:
        for nid in list(self.proxies):
            with contextlib.suppress(Exception):
                self.remove(nid)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
