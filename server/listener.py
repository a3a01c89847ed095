"""The client port's listening sockets, accepting every pending connection at once.

libuv (under uvloop) accepts one connection each time the listening socket polls readable,
that is one per turn of the event loop. A node's turn under load includes a log write and
an fdatasync, so a burst of new connections (a pool opening, redis-benchmark starting its
clients) was let in one per turn: on a node doing SET -P16 for 50 clients, the last of 50
new connections waited some fifty turns, 50-100 ms, before its first command was read. Like
Redis (up to 1000 accepts per readable event), a `Listener` accepts everything the kernel
has queued each time, and each accepted socket becomes an ordinary uvloop transport.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl as ssl_module
from collections.abc import Callable
from typing import Any

from consensus.transport import unresolvable

log = logging.getLogger("raftis")

# Accepts per readable event, as Redis's MAX_ACCEPTS_PER_CALL: a flood of connections cannot
# keep the loop from the ones it already has.
MAX_ACCEPTS = 1000
# After the process or the system ran out of descriptors (or buffers), how long to stop
# accepting: the listening socket stays readable, and polling it at once would spin.
BACKOFF_S = 0.1
# Errors of the connection being accepted that Linux passes on through accept(2), which
# asks that they be treated like EAGAIN: go on with the next one.
_PASSED_ON = {getattr(errno, name) for name in ("ENETDOWN", "EPROTO", "ENOPROTOOPT", "EHOSTDOWN", "ENONET",
                                               "EHOSTUNREACH", "EOPNOTSUPP", "ENETUNREACH", "EPERM")
              if hasattr(errno, name)}


class Listener:
    """Listening sockets for one host and port; ``close`` stops accepting."""

    def __init__(self, loop: asyncio.AbstractEventLoop, factory: Callable[[], asyncio.Protocol],
                 sockets: list[socket.socket], ssl: ssl_module.SSLContext | None) -> None:
        self._loop = loop
        self._factory = factory
        self._ssl = ssl
        self.sockets = sockets
        self._opening: set[asyncio.Task[Any]] = set()  # transports being set up
        self._closed = False
        for sock in sockets:
            loop.add_reader(sock.fileno(), self._accept, sock)

    def _accept(self, sock: socket.socket) -> None:
        for _ in range(MAX_ACCEPTS):
            try:
                conn, _addr = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if isinstance(e, ConnectionAbortedError) or e.errno in _PASSED_ON:
                    continue  # that connection failed before we got to it; the next may not
                # Out of descriptors or buffers (or anything unforeseen): the socket stays
                # readable, so retrying at once would spin.
                log.warning("cannot accept client connections for now (%s); trying again in %d ms",
                            e.strerror or e, BACKOFF_S * 1000)
                self._loop.remove_reader(sock.fileno())
                self._loop.call_later(BACKOFF_S, self._resume, sock)
                return
            task = self._loop.create_task(self._open(conn))
            self._opening.add(task)
            task.add_done_callback(self._opening.discard)

    async def _open(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn, ssl=self._ssl)
        except OSError as e:  # reset before it was set up, a failed TLS handshake (SSLError)
            log.debug("client connection not set up: %s", e)
            conn.close()

    def _resume(self, sock: socket.socket) -> None:
        if not self._closed:
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    def close(self) -> None:
        """Stop accepting (connections already accepted carry on)."""
        if self._closed:
            return
        self._closed = True
        for sock in self.sockets:
            self._loop.remove_reader(sock.fileno())
            sock.close()


async def listen(factory: Callable[[], asyncio.Protocol], host: str, port: int, *,
                 ssl: ssl_module.SSLContext | None = None, backlog: int = 4096) -> Listener:
    """Bind and listen on every address ``host`` resolves to (as ``loop.create_server``
    does), and start accepting."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host or None, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise unresolvable(host, e) from None
    sockets: list[socket.socket] = []
    try:
        for family, type_, proto, _, addr in dict.fromkeys(infos):
            sock = socket.socket(family, type_, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(addr)
            except OSError as e:
                reason = (e.strerror or str(e)).lower()
                raise OSError(e.errno, f"error while attempting to bind on address {addr!r}: {reason}") from None
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise OSError(f"no address to listen on for {host!r}")
    return Listener(loop, factory, sockets, ssl)
