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


@pytest.mark.parametrize("case", range(len(CASES)))
def test_what_wakes_a_blocked_client_matches_redis(redis_server, target_port, case):
    block, changes, serve, served = CASES[case]
    for port in (redis_server.port, target_port):
        blocked, writer = RawConn(port), RawConn(port)
        try:
            writer.call("FLUSHALL")
            _send(blocked, *block)
            time.sleep(0.3)  # parked (through a follower: relayed and parked on the leader)
            for step in changes:
                writer.pipeline([[a.encode() for a in c] for c in step])
                assert _reply(blocked, 0.3) is None, (port, block, step)  # still waiting
            writer.call(*serve)
            assert _reply(blocked, 10) == served, (port, block, serve)
        finally:
            blocked.close()
            writer.close()
