"""The peer port against strangers: a wrong secret, another cluster, a replayed handshake, a
forged node id and oversized frames get nothing in; the transport logs and closes."""

from __future__ import annotations

import os
import socket
import struct

import msgspec
import pytest

from consensus.codec import encode_message
from consensus.messages import Message, MessageType
from consensus.transport import (
    K_BATCH,
    K_CHALLENGE,
    K_HELLO,
    K_PROOF,
    K_REJECT,
    K_WELCOME,
    MAGIC,
    PROTOCOL_VERSION,
    frame,
    proof,
)
from tests.security.procs import launch

SECRET = "correct horse battery staple"


def _frames(sock: socket.socket) -> list[tuple[int, bytes]]:
    """Read frames until the peer closes or stops sending for a moment."""
    out: list[tuple[int, bytes]] = []
    buf = b""
    sock.settimeout(3)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 5:
                (length,) = struct.unpack(">I", buf[:4])
                if len(buf) < 4 + length:
                    break
                out.append((buf[4], buf[5:4 + length]))
                buf = buf[4 + length:]
            if out and out[-1][0] in (K_CHALLENGE, K_WELCOME):
                break
    except TimeoutError:
        pass
    return out


class Dialer:
    def __init__(self, port: int, cluster_id: str, from_id: int = 2, to_id: int = 1) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.cluster_id = cluster_id
        self.from_id = from_id
        self.to_id = to_id
        self.nonce = os.urandom(16)

    def hello(self, cluster_id: str | None = None, from_id: int | None = None, nonce: bytes | None = None):
        body = msgspec.msgpack.encode([MAGIC.decode(), PROTOCOL_VERSION, cluster_id or self.cluster_id,
                                       from_id or self.from_id, self.to_id, nonce or self.nonce, "127.0.0.1:1"])
        self.sock.sendall(frame(K_HELLO, body))
        return _frames(self.sock)

    def send(self, kind: int, body: bytes):
        self.sock.sendall(frame(kind, body))
        return _frames(self.sock)

    def closed(self) -> bool:
        self.sock.settimeout(3)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (TimeoutError, ConnectionResetError):
            return False


def _vote_batch(from_id: int, term: int) -> bytes:
    m = Message(MessageType.VOTE, to=1, from_=from_id, term=term, log_term=99, index=10**6)
    return msgspec.msgpack.encode([encode_message(m)])


@pytest.fixture
def secured_node(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    os.chmod(secret_file, 0o600)
    from tests.security.procs import NodeProcess, wait_ready

    proc, port, raft_port, log_path = launch(str(tmp_path / "d"), ["--cluster-secret-file", str(secret_file)])
    node = NodeProcess(proc, port, raft_port, str(tmp_path / "d"), log_path)
    wait_ready(node)
    yield node
    node.stop()


def _info(node) -> dict[str, str]:
    text = node.client().execute_command("RAFT.INFO").decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def test_strangers_get_nothing_in(secured_node):
    node = secured_node
    cluster_id = _info(node)["cluster_id"]
    term = _info(node)["term"]

    # another cluster's node: refused at HELLO
    d = Dialer(node.raft_port, "0123456789abcdef")
    got = d.hello()
    assert got and got[0][0] == K_REJECT and b"cluster" in got[0][1]
    assert d.closed()

    # a node with the wrong secret: challenged, then refused
    d = Dialer(node.raft_port, cluster_id)
    (kind, challenge), = d.hello()
    assert kind == K_CHALLENGE
    got = d.send(K_PROOF, proof(b"wrong secret", d.nonce, challenge, 2, 1, cluster_id))
    assert got[0][0] == K_REJECT and b"secret" in got[0][1]
    assert d.closed()

    # a message before the handshake is over: refused, never delivered
    d = Dialer(node.raft_port, cluster_id)
    d.hello()
    got = d.send(K_BATCH, _vote_batch(2, 10**6))
    assert got[0][0] == K_REJECT
    assert d.closed()

    # a legitimate handshake, recorded ...
    d = Dialer(node.raft_port, cluster_id)
    (kind, challenge), = d.hello()
    good = proof(SECRET.encode(), d.nonce, challenge, 2, 1, cluster_id)
    assert d.send(K_PROOF, good)[0][0] == K_WELCOME
    d.sock.close()
    # ... and replayed: the acceptor's nonce is new, so the recorded proof is worthless
    r = Dialer(node.raft_port, cluster_id)
    r.nonce = d.nonce
    (kind, challenge2), = r.hello()
    assert challenge2 != challenge
    assert r.send(K_PROOF, good)[0][0] == K_REJECT
    assert r.closed()

    # a forged node id: node 2's proof for this very challenge does not pass as node 3
    f = Dialer(node.raft_port, cluster_id, from_id=3)
    (kind, challenge3), = f.hello()
    assert f.send(K_PROOF, proof(b"wrong", f.nonce, challenge3, 2, 1, cluster_id))[0][0] == K_REJECT
    f = Dialer(node.raft_port, cluster_id, from_id=3)
    (kind, challenge3), = f.hello()
    forged = proof(SECRET.encode(), f.nonce, challenge3, 2, 1, cluster_id)  # computed for id 2
    assert f.send(K_PROOF, forged)[0][0] == K_REJECT

    # an authenticated peer still cannot speak for another node
    a = Dialer(node.raft_port, cluster_id, from_id=2)
    (kind, ch), = a.hello()
    assert a.send(K_PROOF, proof(SECRET.encode(), a.nonce, ch, 2, 1, cluster_id))[0][0] == K_WELCOME
    got = a.send(K_BATCH, _vote_batch(3, 10**6))
    assert got and got[0][0] == K_REJECT and a.closed()

    # none of that moved the node: same term, still serving
    assert _info(node)["term"] == term
    assert node.client().set("still", "here")
    log = node.log()
    assert log.count("peer connection from") >= 6 and "failed to prove the cluster secret" in log


def test_oversized_frame_before_handshake_is_refused_at_once(secured_node):
    """A stranger cannot make the node buffer a large frame before proving anything."""
    node = secured_node
    s = socket.create_connection(("127.0.0.1", node.raft_port), timeout=5)
    s.sendall(struct.pack(">IB", 512 * 1024 * 1024, K_HELLO) + b"x" * 1000)
    got = _frames(s)
    assert got and got[0][0] == K_REJECT
    rss_before = node.rss_kb()
    s = socket.create_connection(("127.0.0.1", node.raft_port), timeout=5)
    s.sendall(struct.pack(">IB", 60 * 1024 * 1024, K_HELLO))
    try:
        s.sendall(b"\0" * (8 * 1024 * 1024))
    except OSError:
        pass  # refused and closed while we were still sending: what we want
    assert node.rss_kb() - rss_before < 4 * 1024


def test_secret_file_must_be_private(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    os.chmod(secret_file, 0o644)
    proc, *_, log_path = launch(str(tmp_path / "d"), ["--cluster-secret-file", str(secret_file)])
    assert proc.wait(timeout=20) != 0
    assert "chmod 600" in open(log_path).read()


def test_cluster_with_secret_file_and_a_node_with_the_wrong_secret(tmp_path):
    from tests.integration.cluster import Cluster, wait_for

    good = tmp_path / "good"
    good.write_text(SECRET)
    bad = tmp_path / "bad"
    bad.write_text("not the secret")
    os.chmod(good, 0o600)
    os.chmod(bad, 0o600)
    c = Cluster(str(tmp_path / "c"), 3)
    for nid in (1, 2):
        c.nodes[nid].extra = ["--cluster-secret-file", str(good)]
    c.nodes[3].extra = ["--cluster-secret-file", str(bad)]
    try:
        for nid in c.nodes:
            c.start_node(nid)
        leader = c.leader(among=[1, 2])
        c.nodes[leader].client().set("k", "v")
        # node 3 never hears the leader: every connection between it and the others is refused
        wait_for(lambda: "failed to prove the cluster secret" in open(c.nodes[leader].log_path).read(), 20)
        assert c.raft_info(3).get("leader_id") == "0"
        lead_commit = int(c.raft_info(leader)["commit_index"])
        assert int(c.raft_info(3)["commit_index"]) < lead_commit
        stale = c.nodes[3].client(single_connection_client=True)
        stale.execute_command("READONLY")
        assert stale.get("k") is None  # the write never reached node 3
    finally:
        c.close()
