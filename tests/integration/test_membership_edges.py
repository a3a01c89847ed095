"""Membership changes at the server level: a join that did not finish is finished by the next
start, and an address already in use is refused."""

from __future__ import annotations

import os
import socket
import threading

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.integration.cluster import NodeProc, free_ports, wait_for


def _nodes(r: redis.Redis) -> dict[int, bytes]:
    return {int(row[0]): row[1] for row in r.execute_command("RAFT.NODES")}


class _FakeJoinTarget:
    """A client port that reports the cluster's id (RAFT.INFO) and refuses everything else:
    a join whose RAFT.ADDNODE never completes (as when it keeps timing out)."""

    def __init__(self, cluster_id: str) -> None:
        self.cluster_id = cluster_id
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
                while True:  # one reply per complete RESP array
                    cmd, buf2 = _parse(buf)
                    if cmd is None:
                        break
                    buf = buf2
                    if cmd and cmd[0].upper() == b"RAFT.INFO":
                        body = f"cluster_id:{self.cluster_id}".encode()
                        conn.sendall(b"$%d\r\n%s\r\n" % (len(body), body))
                    else:
                        conn.sendall(b"-TIMEOUT fake join target\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.closed = True
        self.sock.close()


def _parse(buf: bytes) -> tuple[list[bytes] | None, bytes]:
    if not buf.startswith(b"*") or b"\r\n" not in buf:
        return None, buf
    head, rest = buf.split(b"\r\n", 1)
    out = []
    for _ in range(int(head[1:])):
        if b"\r\n" not in rest:
            return None, buf
        ln, rest2 = rest.split(b"\r\n", 1)
        n = int(ln[1:])
        if len(rest2) < n + 2:
            return None, buf
        out.append(rest2[:n])
        rest = rest2[n + 2:]
    return out, rest


def test_a_learner_restarted_with_join_is_still_promoted(cluster_factory):
    """A node started with --join became a learner, but its join did not complete (the
    ADDNODE timed out: catch-up slower than 30 s, a leader change). It restarts, still with
    --join: it asks again, and is promoted. (The join used to start only for a node that was
    no member at all, and a learner is one: it stayed a learner for good.)"""
    c = cluster_factory(3).start()
    lead = c.leader()
    cid = c.raft_info(lead)["cluster_id"]
    port4, raft4 = free_ports(2)
    r = c.nodes[lead].client(socket_timeout=2, retry=Retry(NoBackoff(), 0))
    # The leader adds 4 as a learner and waits for it to catch up (it is not running yet) ...
    with pytest.raises(redis.exceptions.TimeoutError):
        r.execute_command("RAFT.ADDNODE", 4, f"127.0.0.1:{raft4}", f"127.0.0.1:{port4}")
    wait_for(lambda: _nodes(c.nodes[lead].client()).get(4) == b"learner", what="4 to be a learner")
    # ... then loses leadership: that ADDNODE ends (TRYAGAIN) without promoting anyone.
    c.nodes[lead].client().execute_command("RAFT.TRANSFERLEADER")
    new = c.leader(among=[n for n in (1, 2, 3) if n != lead])
    # Node 4 starts with --join; its join request does not complete.
    fake = _FakeJoinTarget(cid)
    try:
        c.nodes[4] = NodeProc(4, port4, raft4, os.path.join(c.base_dir, "node4"),
                              ["--join", f"127.0.0.1:{fake.port}"])
        c.start_node(4)
        c.wait_serving(4)
        assert c.nodes[new].client().set("k", "v")
        ro = c.nodes[4].client()
        ro.execute_command("READONLY")
        wait_for(lambda: ro.get("k") == b"v", what="learner 4 to catch up")
    finally:
        fake.close()
    # It restarts, with --join towards a real member this time.
    c.kill(4)
    c.nodes[4].args = ["--join", f"127.0.0.1:{c.nodes[new].port}"]
    c.start_node(4)
    c.wait_serving(4)
    wait_for(lambda: _nodes(c.nodes[new].client()).get(4) == b"voter"
             or c.raft_info(new).get("num_voters") == "4", timeout=15, what="node 4 to be promoted")


def test_addnode_refuses_an_address_another_member_uses(cluster_factory):
    """An address a member already has is refused (it was appended as a learner that could
    never catch up, node 1 refusing a handshake meant for node 2, and the command hung for
    30 s before -TIMEOUT)."""
    c = cluster_factory(1).start()
    n1 = c.nodes[1]
    r = n1.client(socket_timeout=5, retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.exceptions.ResponseError, match="address"):
        r.execute_command("RAFT.ADDNODE", 2, f"127.0.0.1:{n1.raft_port}", f"127.0.0.1:{n1.port}")
    assert 2 not in _nodes(n1.client())
