"""What wakes a client blocked in BLPOP or BZPOPMIN, against redis-server: a key set to
another type, or created and emptied in one transaction, leaves it waiting; a push of the
type it pops serves it. On the single node and through a follower (the client is parked on
the leader)."""

from __future__ import annotations

import time

import pytest

from tests.compat.replies import split
from tests.compat.targets import RawConn, encode_command


def _send(conn: RawConn, *argv: str) -> None:
    conn.sock.sendall(encode_command([a.encode() for a in argv]))


def _reply(conn: RawConn, wait: float) -> bytes | None:
    """The next reply, or None if none came within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        replies, rest = split(conn.buf)
        if replies:
            conn.buf = rest
            return replies[0].raw
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        conn.sock.settimeout(left)
        try:
            chunk = conn.sock.recv(65536)
        except TimeoutError:
            return None
        if not chunk:
            raise ConnectionError("closed")
        conn.buf += chunk


# (the blocking command, changes that must not serve it, each sent on its own, what serves
# it, and the reply then)
CASES = [
    (["BLPOP", "k", "0"], [[["SET", "k", "str"]], [["DEL", "k"]]], ["RPUSH", "k", "v"],
     b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n"),
    (["BLPOP", "k", "0"], [[["MULTI"], ["RPUSH", "k", "a"], ["LPOP", "k"], ["EXEC"]]], ["LPUSH", "k", "w"],
     b"*2\r\n$1\r\nk\r\n$1\r\nw\r\n"),
    (["BZPOPMIN", "k", "0"], [[["HSET", "k", "f", "1"]], [["DEL", "k"]]], ["ZADD", "k", "1", "m"],
     b"*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n1\r\n"),
    (["BLMOVE", "k", "dst", "LEFT", "RIGHT", "0"], [[["SADD", "k", "x"]], [["DEL", "k"]]], ["RPUSH", "k", "v"],
     b"$1\r\nv\r\n"),
]


def _wait_parked(info_conn: RawConn) -> None:
    """Until the server that parks blocked clients counts one (the change that follows must
    find the client waiting, not race its BLPOP)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if b"blocked_clients:1" in info_conn.call("INFO", "clients").raw:
            return
        time.sleep(0.02)
    raise AssertionError("the blocking command was not parked within 15 s")


@pytest.mark.parametrize("where", ["single", "follower"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_what_wakes_a_blocked_client_matches_redis(redis_server, request, where, case):
    if where == "single":
        node = request.getfixturevalue("single_node")
        ours = (node.nodes[1].port, node.nodes[1].port)
    else:  # the client on a follower, parked on the leader
        cluster = request.getfixturevalue("three_nodes")
        ours = (cluster.nodes[cluster.follower()].port, cluster.nodes[cluster.leader()].port)
    block, changes, serve, served = CASES[case]
    for port, parks in ((redis_server.port, redis_server.port), ours):
        blocked, writer, info = RawConn(port), RawConn(port), RawConn(parks)
        try:
            writer.call("FLUSHALL")
            _send(blocked, *block)
            _wait_parked(info)
            for step in changes:
                writer.pipeline([[a.encode() for a in c] for c in step])
                assert _reply(blocked, 0.3) is None, (port, block, step)  # still waiting
            writer.call(*serve)
            assert _reply(blocked, 10) == served, (port, block, serve)
        finally:
            for conn in (blocked, writer, info):
                conn.close()
