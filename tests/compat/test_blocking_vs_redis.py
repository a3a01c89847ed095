"""What wakes a client blocked in BLPOP, BZPOPMIN, XREAD or XREADGROUP, against redis-server: a
key set to another type, or created and emptied in one transaction, leaves it waiting; a push
of the type it pops serves it (for XREAD, only an entry above the ID it waits for, ``$``
being the last ID when it blocked). On the single node and through a follower (the client is parked on
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
# it, the reply then, and optionally commands run before it blocks)
CASES = [
    (["BLPOP", "k", "0"], [[["SET", "k", "str"]], [["DEL", "k"]]], ["RPUSH", "k", "v"],
     b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n"),
    (["BLPOP", "k", "0"], [[["MULTI"], ["RPUSH", "k", "a"], ["LPOP", "k"], ["EXEC"]]], ["LPUSH", "k", "w"],
     b"*2\r\n$1\r\nk\r\n$1\r\nw\r\n"),
    (["BZPOPMIN", "k", "0"], [[["HSET", "k", "f", "1"]], [["DEL", "k"]]], ["ZADD", "k", "1", "m"],
     b"*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n1\r\n"),
    (["BLMOVE", "k", "dst", "LEFT", "RIGHT", "0"], [[["SADD", "k", "x"]], [["DEL", "k"]]], ["RPUSH", "k", "v"],
     b"$1\r\nv\r\n"),
    (["XREAD", "BLOCK", "0", "STREAMS", "k", "$"], [[["SET", "k", "str"]], [["DEL", "k"]], [["XADD", "k", "1-1", "a", "2"]]],
     ["XADD", "k", "2-1", "b", "3"], b"*1\r\n*2\r\n$1\r\nk\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n3\r\n",
     [["XADD", "k", "1-1", "a", "1"]]),
    (["XREAD", "BLOCK", "0", "STREAMS", "nokey", "k", "0", "5"], [[["XADD", "k", "4-1", "a", "1"]]],
     ["XADD", "nokey", "1-1", "x", "y"], b"*1\r\n*2\r\n$5\r\nnokey\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n"),
    (["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "k", ">"],
     [[["XGROUP", "CREATECONSUMER", "k", "g", "other"]], [["SET", "k2", "v"]]],
     ["XADD", "k", "2-1", "b", "2"], b"*1\r\n*2\r\n$1\r\nk\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
     [["XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"]]),
    # an entry added and deleted at once still serves a group reader, with nothing
    (["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "k", ">"],
     [[["XGROUP", "CREATECONSUMER", "k", "g", "other"]]],
     ["EVAL", "redis.call('XADD', KEYS[1], '2-1', 'a', '1') redis.call('XDEL', KEYS[1], '2-1')", "1", "k"],
     b"*1\r\n*2\r\n$1\r\nk\r\n*0\r\n", [["XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"]]),
    # its group destroyed: an error (other group changes and XSETID leave it waiting; after
    # XSETID another group's DESTROY would serve it, with nothing, as the last ID moved on)
    (["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "k", ">"],
     [[["XGROUP", "SETID", "k", "g", "0"]], [["XGROUP", "DESTROY", "k", "other"]], [["XSETID", "k", "7-7"]]],
     ["XGROUP", "DESTROY", "k", "g"], b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n",
     [["XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"], ["XGROUP", "CREATE", "k", "other", "$"]]),
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
    block, changes, serve, served, *setup = CASES[case]
    for port, parks in ((redis_server.port, redis_server.port), ours):
        blocked, writer, info = RawConn(port), RawConn(port), RawConn(parks)
        try:
            writer.call("FLUSHALL")
            for argv in setup[0] if setup else ():
                writer.call(*argv)
            _send(blocked, *block)
            _wait_parked(info)
            for step in changes:
                writer.pipeline([[a.encode() for a in c] for c in step])
                assert _reply(blocked, 0.3) is None, (port == redis_server.port, block, step)  # still waiting
            writer.call(*serve)
            assert _reply(blocked, 10) == served, (port, block, serve)
        finally:
            for conn in (blocked, writer, info):
                conn.close()


@pytest.mark.parametrize("where", ["single", "follower"])
def test_xread_block_times_out_with_a_null_array(redis_server, request, where):
    if where == "single":
        port = request.getfixturevalue("single_node").nodes[1].port
    else:
        cluster = request.getfixturevalue("three_nodes")
        port = cluster.nodes[cluster.follower()].port
    for p in (redis_server.port, port):
        conn = RawConn(p)
        try:
            conn.call("FLUSHALL")
            conn.call("XADD", "k", "1-1", "a", "1")
            started = time.monotonic()
            assert conn.call("XREAD", "BLOCK", "200", "STREAMS", "k", "$").raw == b"*-1\r\n", p
            assert time.monotonic() - started >= 0.15
            assert conn.call("XREADGROUP", "GROUP", "nog", "c", "BLOCK", "200", "STREAMS", "k", ">").raw.startswith(
                b"-NOGROUP"), p
            conn.call("XGROUP", "CREATE", "k", "g", "$")
            assert conn.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "200", "STREAMS", "k", ">").raw == b"*-1\r\n"
            # as in Redis 7.0, a consumer that was not served was not created
            assert conn.call("XINFO", "GROUPS", "k").raw.count(b"consumers\r\n:0") == 1, p
        finally:
            conn.close()
