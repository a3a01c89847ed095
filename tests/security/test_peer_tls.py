"""Mutual TLS on the peer port: a cluster whose nodes show certificates of one CA works; a
node with a certificate from elsewhere, and plain TCP, get nothing in."""

from __future__ import annotations

import socket

import pytest

from tests.integration.cluster import Cluster, wait_for
from tests.security.test_tls import certs  # noqa: F401  (the fixture)

SECRET = ["--cluster-secret", "peer-tls-secret"]


def _peer_tls(certs, cert="server") -> list[str]:  # noqa: F811
    ca = certs / "ca.crt" if cert == "server" else certs / "rogue.crt"
    return ["--peer-tls-cert-file", str(certs / f"{cert}.crt"), "--peer-tls-key-file", str(certs / f"{cert}.key"),
            "--peer-tls-ca-cert-file", str(ca)]


def test_cluster_over_peer_tls(tmp_path, certs):  # noqa: F811
    c = Cluster(str(tmp_path / "c"), 3, extra_args=SECRET)
    for nid in (1, 2):
        c.nodes[nid].extra = _peer_tls(certs)
    c.nodes[3].extra = _peer_tls(certs, "rogue")
    try:
        for nid in c.nodes:
            c.start_node(nid)
        leader = c.leader(among=[1, 2], timeout=30)
        c.nodes[leader].client().set("k", "v")
        other = 2 if leader == 1 else 1
        wait_for(lambda: c.nodes[other].client(single_connection_client=True).execute_command("READONLY") and
                 _stale_get(c, other) == b"v", 20, what="the write to reach the other TLS node")
        # node 3's certificate is not signed by the cluster's CA: it hears nothing
        assert c.raft_info(3).get("leader_id") == "0"
        assert _stale_get(c, 3) is None
        # plain TCP on a TLS peer port: the Raftis handshake never starts
        s = socket.create_connection(("127.0.0.1", c.nodes[leader].raft_port), timeout=5)
        s.sendall(b"\x00\x00\x00\x10\x01" + b"x" * 15)
        s.settimeout(5)
        try:
            data = s.recv(100)
        except (ConnectionResetError, TimeoutError):
            data = b""
        assert b"WELCOME" not in data and not data.startswith(b"\x00\x00")
    finally:
        c.close()


def _stale_get(c: Cluster, nid: int):
    r = c.nodes[nid].client(single_connection_client=True)
    r.execute_command("READONLY")
    return r.get("k")


def test_peer_tls_options_must_come_together(tmp_path, certs):  # noqa: F811
    from tests.security.procs import launch

    proc, *_, log_path = launch(str(tmp_path / "d"), ["--peer-tls-cert-file", str(certs / "server.crt")])
    assert proc.wait(timeout=20) != 0
    assert "peer TLS needs" in open(log_path).read()


pytestmark = pytest.mark.filterwarnings("ignore")
