"""Peer transport: Raft messages between nodes over TCP, as length-prefixed frames.

This is the only I/O in the ``consensus`` package. It moves opaque message bodies; the
``consensus.codec`` module turns them into messages and back.

Wire format, per connection:

    frame := length:u32 (big endian, of what follows) | kind:u8 | body

The dialing node opens one connection per peer for its outgoing messages; every node
accepts connections and reads incoming messages from them, so a pair of nodes shares two
connections, one per direction. The first frame on a connection is the dialer's ``HELLO``:
protocol version, cluster id, the dialer's node id and the id it expects to reach, a nonce,
the address it listens on, and (only when it makes one) how long it promises to refuse other
candidates' votes after hearing from a leader and after it starts (a leader's read lease rests
on it; a node sending the older seven-field HELLO promises nothing). When the cluster has a
secret, the acceptor answers with a challenge of its own and the dialer must prove the secret
with an HMAC over both nonces and both ids (the secret never crosses the wire, and a replayed
handshake fails because the acceptor's nonce is new).
The acceptor answers ``WELCOME`` or ``REJECT`` with a reason and closes. After that the
dialer only sends ``BATCH`` frames, each carrying one or more encoded messages.

Rules that keep one bad peer from hurting the others:
- every frame is bounded by ``max_frame``; a larger or malformed frame closes that
  connection (never the node);
- each peer has its own bounded outbox; when a peer is slow or gone, its messages are
  dropped (Raft retransmits), never queued without limit, and other peers are unaffected;
- a lost connection is redialled with exponential backoff.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import socket
import ssl
import struct
from collections.abc import Callable
from hashlib import sha256
from typing import cast

import msgspec

log = logging.getLogger("raftis.transport")


def unresolvable(host: str, e: socket.gaierror) -> OSError:
    """The error for a listening address that does not resolve, naming it (getaddrinfo's own
    message, "Name or service not known", does not say which name)."""
    return OSError(e.errno, f"cannot listen on {host!r}: the name does not resolve ({e.strerror})")


PROTOCOL_VERSION = 1
MAGIC = b"RAFTIS-PEER"

K_HELLO = 1
K_CHALLENGE = 2
K_PROOF = 3
K_WELCOME = 4
K_REJECT = 5
K_BATCH = 6

_HEADER = struct.Struct(">IB")
DEFAULT_MAX_FRAME = 64 * 1024 * 1024
# Largest frame a connection may send before its handshake is over: a stranger must not
# make the node buffer a big frame before proving anything.
HANDSHAKE_MAX_FRAME = 64 * 1024
# A frame over this size that has not all arrived is kept as a list of chunks (FrameReader).
_BIG_FRAME = 1024 * 1024
# Bytes queued on one peer's socket before further messages to it are dropped.
OUTBOX_LIMIT = 32 * 1024 * 1024

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder()


def _ignore(_peer_id: int) -> None:
    pass


class HandshakeError(Exception):
    """The other side is not a member of this cluster, or broke the protocol."""


def frame(kind: int, body: bytes) -> bytes:
    return _HEADER.pack(len(body) + 1, kind) + body


def proof(secret: bytes, dialer_nonce: bytes, acceptor_nonce: bytes, dialer: int, acceptor: int,
          cluster_id: str) -> bytes:
    msg = b"|".join([MAGIC, cluster_id.encode(), str(dialer).encode(), str(acceptor).encode(),
                     dialer_nonce, acceptor_nonce])
    return hmac.new(secret, msg, sha256).digest()


class FrameReader:
    """Splits a byte stream into frames. Sans-I/O: ``feed`` bytes, get ``(kind, body)``s."""

    __slots__ = ("_buf", "max_frame", "_big", "_big_kind", "_big_at")

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self._buf = bytearray()
        self.max_frame = max_frame
        # The body of a large frame that is still arriving, filled in place as its bytes come
        # (a chunk's copy per loop turn, where growing a buffer would copy it again and again
        # and joining the chunks at the end would stall the loop for one long copy). It is
        # handed out as it is, a bytearray.
        self._big: bytearray | None = None
        self._big_kind = 0
        self._big_at = 0

    @property
    def receiving(self) -> bool:
        """Whether a large frame is partly here."""
        return self._big is not None

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        big = self._big
        if big is not None:
            at = self._big_at
            left = len(big) - at
            if len(data) < left:
                big[at:at + len(data)] = data
                self._big_at = at + len(data)
                return out
            view = memoryview(data)
            big[at:] = view[:left]
            out.append((self._big_kind, big))  # type: ignore[arg-type]
            self._big = None
            data = view[left:]  # type: ignore[assignment]
        buf = self._buf
        buf += data
        pos = 0
        n = len(buf)
        while n - pos >= 5:
            length, kind = _HEADER.unpack_from(buf, pos)
            if length < 1 or length > self.max_frame:
                raise HandshakeError(f"frame of {length} bytes is over the limit of {self.max_frame}")
            end = pos + 4 + length
            if end > n:
                if length > _BIG_FRAME:
                    big = self._big = bytearray(length - 1)
                    with memoryview(buf) as view:
                        big[:n - pos - 5] = view[pos + 5:]
                    self._big_kind = kind
                    self._big_at = n - pos - 5
                    pos = n
                break
            out.append((kind, bytes(buf[pos + 5:end])))
            pos = end
        if pos:
            del buf[:pos]
        return out


class _InboundProtocol(asyncio.Protocol):
    """An accepted connection: handshake, then batches of messages for the node."""

    def __init__(self, transport_: PeerTransport) -> None:
        self.pt = transport_
        self.reader = FrameReader(min(transport_.max_frame, HANDSHAKE_MAX_FRAME))  # raised on WELCOME
        self.tr: asyncio.Transport | None = None
        self.peer_id = 0
        self.state = "hello"
        self.my_nonce = b""
        self.their_nonce = b""
        self.reply_to = ""
        self.vote_quiet_ms = 0
        self.handshake_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.tr = transport  # type: ignore[assignment]
        self.pt._inbound.add(self)
        loop = asyncio.get_running_loop()
        self.handshake_timer = loop.call_later(self.pt.handshake_timeout, self._handshake_expired)

    def _handshake_expired(self) -> None:
        if self.state != "open" and self.tr is not None:
            log.warning("peer connection from %s: no handshake in time, closed",
                        self.tr.get_extra_info("peername"))
            self.tr.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.pt._inbound.discard(self)
        self.pt._closed(self)
        if self.handshake_timer:
            self.handshake_timer.cancel()

    def _reject(self, reason: str) -> None:
        assert self.tr is not None
        log.warning("peer connection from %s refused: %s", self.tr.get_extra_info("peername"), reason)
        self.tr.write(frame(K_REJECT, reason.encode()))
        self.tr.close()
        self.state = "closed"

    def data_received(self, data: bytes) -> None:
        if self.state == "closed":
            return
        try:
            frames = self.reader.feed(data)
        except HandshakeError as e:
            self._reject(str(e))
            return
        for kind, body in frames:
            if self.state == "open":
                if kind != K_BATCH:
                    self._reject(f"unexpected frame kind {kind}")
                    return
                try:
                    self.pt._deliver(self.peer_id, body)
                except Exception as e:  # a malformed message closes this connection only
                    self._reject(f"malformed message: {e!r}")
                    return
                continue
            try:
                self._handshake_step(kind, body)
            except (HandshakeError, ValueError, TypeError, msgspec.DecodeError) as e:
                self._reject(str(e) or type(e).__name__)
                return
        if self.reader.receiving and self.state == "open":
            self.pt.on_progress(self.peer_id)

    def _handshake_step(self, kind: int, body: bytes) -> None:
        pt = self.pt
        if self.state == "hello":
            if kind != K_HELLO:
                raise HandshakeError("expected HELLO")
            magic, version, cluster_id, from_id, to_id, nonce, reply_to, *extra = _dec.decode(body)
            if magic != MAGIC.decode():
                raise HandshakeError("not a Raftis peer")
            if version != PROTOCOL_VERSION:
                raise HandshakeError(f"protocol version {version} not supported (this node speaks "
                                     f"{PROTOCOL_VERSION})")
            if pt.cluster_id and cluster_id != pt.cluster_id:
                raise HandshakeError(f"node {from_id} belongs to cluster {cluster_id}, "
                                     f"this is cluster {pt.cluster_id}")
            if to_id != pt.node_id:
                raise HandshakeError(f"dialed node {to_id}, but this is node {pt.node_id}")
            if not isinstance(from_id, int) or from_id <= 0 or from_id == pt.node_id:
                raise HandshakeError(f"bad node id {from_id!r}")
            if not isinstance(nonce, bytes) or not isinstance(reply_to, str):
                raise HandshakeError("malformed HELLO")
            self.peer_id = from_id
            self.vote_quiet_ms = extra[0] if extra and type(extra[0]) is int and extra[0] > 0 else 0
            self.their_nonce = nonce
            self.reply_to = reply_to
            if pt.secret:
                self.my_nonce = os.urandom(16)
                self.state = "proof"
                assert self.tr is not None
                self.tr.write(frame(K_CHALLENGE, self.my_nonce))
                return
            self._welcome()
        elif self.state == "proof":
            if kind != K_PROOF:
                raise HandshakeError("expected PROOF")
            expect = proof(pt.secret, self.their_nonce, self.my_nonce, self.peer_id, pt.node_id,
                           pt.cluster_id)
            if not hmac.compare_digest(expect, body):
                raise HandshakeError(f"node {self.peer_id} failed to prove the cluster secret")
            self._welcome()

    def _welcome(self) -> None:
        assert self.tr is not None
        self.state = "open"
        self.reader.max_frame = self.pt.max_frame
        self.pt._learn(self.peer_id, self.reply_to)
        self.pt._opened(self)
        if self.handshake_timer:
            self.handshake_timer.cancel()
        self.tr.write(frame(K_WELCOME, b""))
        log.info("peer %d connected from %s", self.peer_id, self.tr.get_extra_info("peername"))


class _Outbound(asyncio.Protocol):
    """One dialed connection to a peer, owned by its ``_PeerLink``."""

    def __init__(self, link: _PeerLink) -> None:
        self.link = link
        self.reader = FrameReader(1024 * 1024)
        self.tr: asyncio.Transport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.nonce = os.urandom(16)
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tr = self.tr = cast(asyncio.Transport, transport)
        pt = self.link.pt
        fields = [MAGIC.decode(), PROTOCOL_VERSION, pt.cluster_id, pt.node_id, self.link.peer_id,
                  self.nonce, pt.advertise]
        if pt.vote_quiet_ms:  # a node without the promise says nothing, as nodes before it did
            fields.append(pt.vote_quiet_ms)
        hello = _enc.encode(fields)
        tr.write(frame(K_HELLO, hello))

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.reader.feed(data)
        except HandshakeError as e:
            self._fail(str(e))
            return
        pt = self.link.pt
        for kind, body in frames:
            if kind == K_WELCOME and not self.ready.done():
                self.ready.set_result(None)
            elif kind == K_CHALLENGE and not self.ready.done():
                if not pt.secret:
                    self._fail("peer asks for a cluster secret and this node has none")
                    return
                assert self.tr is not None
                self.tr.write(frame(K_PROOF, proof(pt.secret, self.nonce, body, pt.node_id,
                                                   self.link.peer_id, pt.cluster_id)))
            elif kind == K_REJECT:
                self._fail(f"refused by peer: {body.decode(errors='replace')}")
                return

    def _fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(HandshakeError(reason))
        if self.tr is not None:
            self.tr.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(str(exc) if exc else "connection closed"))
        self.link._lost(self)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False


class _PeerLink:
    """The outgoing half to one peer: dial, handshake, send, redial with backoff."""

    def __init__(self, pt: PeerTransport, peer_id: int, host: str, port: int) -> None:
        self.pt = pt
        self.peer_id = peer_id
        self.host = host
        self.port = port
        self.conn: _Outbound | None = None
        self.task: asyncio.Task[None] | None = None
        self.closed = False
        self.connected = False
        self.dropped = 0
        self.bytes_out = 0
        self._wake = asyncio.Event()
        self._poke = asyncio.Event()  # cuts a redial backoff short: the peer is up now
        self.last_error = ""

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        delay = 0.05
        loop = asyncio.get_running_loop()
        while not self.closed:
            self._poke.clear()
            try:
                local = (self.pt.bind_host, 0) if self.pt.bind_host else None
                _, proto = await asyncio.wait_for(
                    loop.create_connection(lambda: _Outbound(self), self.host, self.port,
                                           local_addr=local, ssl=self.pt.client_ssl,
                                           server_hostname=self.host if self.pt.client_ssl else None),
                    timeout=2.0)
                assert isinstance(proto, _Outbound)
                await asyncio.wait_for(proto.ready, timeout=self.pt.handshake_timeout)
                self.conn = proto
                self.connected = True
                delay = 0.05
                if self.last_error:
                    log.info("connected to peer %d at %s:%d", self.peer_id, self.host, self.port)
                    self.last_error = ""
                self._wake.clear()
                await self._wake.wait()  # set when the connection is lost or the link closes
            except (TimeoutError, OSError, HandshakeError, ConnectionError) as e:
                err = f"{type(e).__name__}: {e}"
                if err != self.last_error:
                    log.warning("cannot reach peer %d at %s:%d: %s", self.peer_id, self.host,
                                self.port, err)
                    self.last_error = err
            self.connected = False
            if self.conn is not None and self.conn.tr is not None:
                self.conn.tr.abort()
            self.conn = None
            if self.closed:
                break
            try:
                await asyncio.wait_for(self._poke.wait(), delay)
                delay = 0.05
            except TimeoutError:
                delay = min(delay * 2, 1.0)

    def poke(self) -> None:
        """The peer just connected to us, so it is listening: if this link is waiting out a
        backoff, dial now (a node that starts last is otherwise not reached for up to a
        second, and does not hear from the leader)."""
        if not self.connected:
            self._poke.set()

    def _lost(self, conn: _Outbound) -> None:
        if conn is self.conn:
            self.connected = False
            self.conn = None
            self._wake.set()

    def _outbox(self) -> asyncio.Transport | None:
        """The transport to write a frame to, or None (the frame is dropped: not connected,
        or the peer is not reading and OUTBOX_LIMIT bytes wait for it)."""
        conn = self.conn
        if conn is None or conn.tr is None or (conn.paused and conn.tr.get_write_buffer_size() > OUTBOX_LIMIT):
            self.dropped += 1
            return None
        return conn.tr

    def send(self, body: bytes) -> None:
        tr = self._outbox()
        if tr is not None:
            data = frame(K_BATCH, body)
            self.bytes_out += len(data)
            tr.write(data)

    def send_parts(self, parts: list[bytes]) -> None:
        """``send`` of the body ``b"".join(parts)``, without joining them (large bodies)."""
        tr = self._outbox()
        if tr is not None:
            size = sum(map(len, parts))
            self.bytes_out += size + 5
            tr.writelines([_HEADER.pack(size + 1, K_BATCH), *parts])

    def close(self) -> None:
        self.closed = True
        self._wake.set()
        if self.conn is not None and self.conn.tr is not None:
            self.conn.tr.abort()
        if self.task is not None:
            self.task.cancel()


class PeerTransport:
    """Sends encoded message batches to peers and hands incoming ones to ``on_message``.

    ``on_message(from_id, body)`` is called on the event loop for each incoming batch body; it
    may raise to reject a malformed body, which closes only that connection.
    """

    def __init__(self, node_id: int, cluster_id: str, on_message: Callable[[int, bytes], None], *,
                 secret: bytes = b"", bind_host: str = "", advertise: str = "",
                 max_frame: int = DEFAULT_MAX_FRAME, handshake_timeout: float = 5.0, vote_quiet_ms: int = 0,
                 server_ssl: ssl.SSLContext | None = None, client_ssl: ssl.SSLContext | None = None) -> None:
        self.node_id = node_id
        # Optional mutual TLS on the peer port: both sides present certificates of one CA.
        self.server_ssl = server_ssl
        self.client_ssl = client_ssl
        self.cluster_id = cluster_id
        self.on_message = on_message
        self.secret = secret
        self.bind_host = bind_host
        self.max_frame = max_frame
        self.handshake_timeout = handshake_timeout
        self.links: dict[int, _PeerLink] = {}
        # host:port each node gave in its handshake, to answer nodes not (yet) in the
        # membership this node knows, such as a new node that has not received the log yet.
        self.advertise = advertise
        self.learned: dict[int, tuple[str, int]] = {}
        self._peers: dict[int, tuple[str, int]] = {}
        self._inbound: set[_InboundProtocol] = set()
        # What this node promises in its handshakes, and what each peer promised on the
        # connection it sends its messages over, while that connection is open.
        self.vote_quiet_ms = vote_quiet_ms
        self.vote_quiet: dict[int, int] = {}
        self._open: dict[int, _InboundProtocol] = {}
        # Counts every peer connection opened or closed: a read lease granted by a round during
        # which none was holds only while this is unchanged.
        self.epoch = 0
        self._server: asyncio.base_events.Server | None = None
        self.bytes_in = 0
        # Called with a peer's id when part of a large frame from it arrives (a message that
        # takes longer to cross than a heartbeat interval shows the peer alive meanwhile).
        self.on_progress: Callable[[int], None] = _ignore

    async def listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(lambda: _InboundProtocol(self), host, port,
                                                    reuse_address=True, ssl=self.server_ssl)
        except socket.gaierror as e:
            raise unresolvable(host, e) from None

    def _deliver(self, peer_id: int, body: bytes) -> None:
        self.bytes_in += len(body)
        self.on_message(peer_id, body)

    def _opened(self, conn: _InboundProtocol) -> None:
        self._open[conn.peer_id] = conn
        self.vote_quiet[conn.peer_id] = conn.vote_quiet_ms
        self.epoch += 1

    def _closed(self, conn: _InboundProtocol) -> None:
        if self._open.get(conn.peer_id) is conn:
            del self._open[conn.peer_id]
            del self.vote_quiet[conn.peer_id]
            self.epoch += 1

    def _learn(self, peer_id: int, reply_to: str) -> None:
        link = self.links.get(peer_id)
        if link is not None:
            link.poke()
        host, _, port = reply_to.rpartition(":")
        if not host or not port.isdigit():
            return
        addr = (host.strip("[]"), int(port))
        if self.learned.get(peer_id) != addr:
            self.learned[peer_id] = addr
            if peer_id not in self._peers:
                self._dial(self._peers)

    def set_peers(self, peers: dict[int, tuple[str, int]]) -> None:
        """Dial these peers (id -> (host, raft port)), plus any node that dialled us and is not
        among them; drop links to all others."""
        self._peers = dict(peers)
        self._dial(peers)

    def _dial(self, peers: dict[int, tuple[str, int]]) -> None:
        peers = {**self.learned, **peers}
        for pid in list(self.links):
            link = self.links[pid]
            if pid not in peers or peers[pid] != (link.host, link.port):
                link.close()
                del self.links[pid]
        for pid, (host, port) in peers.items():
            if pid == self.node_id or pid in self.links:
                continue
            link = _PeerLink(self, pid, host, port)
            self.links[pid] = link
            link.start()

    def send(self, peer_id: int, body: bytes) -> bool:
        link = self.links.get(peer_id)
        if link is None:
            return False
        link.send(body)
        return True

    def send_parts(self, peer_id: int, parts: list[bytes]) -> bool:
        """``send`` of a body in pieces (``consensus.codec.batch_parts``), not joined."""
        link = self.links.get(peer_id)
        if link is None:
            return False
        link.send_parts(parts)
        return True

    def is_connected(self, peer_id: int) -> bool:
        link = self.links.get(peer_id)
        return bool(link and link.connected)

    async def close(self) -> None:
        for link in self.links.values():
            link.close()
        self.links.clear()
        for inbound in list(self._inbound):
            if inbound.tr is not None:
                inbound.tr.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
