"""MIGRATE against redis-server 7.0: the same replies for the same moves (to a redis-server
target each), keys moved between Raftis clusters through a follower, and a key written while
it is on its way is not deleted."""

from __future__ import annotations

import socket
import threading

import pytest
import redis

from tests.compat.targets import RawConn, RedisServer

# (command, with {port} the target's port); the sequence runs on both sources alike.
STEPS = [
    ["SET", "mig:a", "1"], ["SET", "mig:b", "2", "PX", "100000"], ["RPUSH", "mig:l", "x", "y"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "0", "1000"],
    ["EXISTS", "mig:a"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "0", "1000"],
    ["MIGRATE", "127.0.0.1", "{port}", "", "0", "1000", "KEYS", "mig:b", "mig:nokey", "mig:l"],
    ["SET", "mig:a", "again"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "0", "1000"],
    ["EXISTS", "mig:a"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "0", "1000", "COPY", "REPLACE"],
    ["EXISTS", "mig:a"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "3", "1000", "REPLACE"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "0", "1000", "KEYS", "mig:a"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "x", "1000"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "0", "x"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "0", "1000", "AUTH"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "0", "1000", "AUTH", "pw"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "0", "1000", "BOGUS"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "0"],
    ["MIGRATE", "127.0.0.1", "{port}", "mig:a", "99", "1000"],
]


def _run(source_port: int, target_port: int) -> list[bytes]:
    conn = RawConn(source_port)
    try:
        return [conn.call(*[a.replace("{port}", str(target_port)) for a in step]).raw for step in STEPS]
    finally:
        conn.close()


def _target_state(port: int) -> dict:
    r = redis.Redis(port=port)
    return {"a": r.get("mig:a"), "b": r.get("mig:b"), "l": r.lrange("mig:l", 0, -1),
            "b_ttl": 99_000 < r.pttl("mig:b") <= 100_000, "a3": redis.Redis(port=port, db=3).get("mig:a")}


def test_migrate_answers_as_redis(single_node, redis_server, tmp_path):
    ours_target = RedisServer(str(tmp_path / "t1"))
    theirs_target = RedisServer(str(tmp_path / "t2"))
    try:
        ours = _run(single_node.nodes[1].port, ours_target.port)
        theirs = _run(redis_server.port, theirs_target.port)
        assert ours == theirs
        assert ours[3] == b"+OK\r\n" and ours[5] == b"+NOKEY\r\n" and b"BUSYKEY" in ours[8]
        assert _target_state(ours_target.port) == _target_state(theirs_target.port)
        assert _target_state(ours_target.port)["l"] == [b"x", b"y"]
    finally:
        ours_target.stop()
        theirs_target.stop()


def test_an_unreachable_target(single_node):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    r = single_node.nodes[1].client()
    r.set("mig:lonely", "1")
    with pytest.raises(redis.ResponseError, match="^IOERR error or timeout writing to target instance$"):
        r.execute_command("MIGRATE", "127.0.0.1", port, "mig:lonely", 0, 500)
    assert r.get("mig:lonely") == b"1"


def test_between_clusters_through_a_follower(three_nodes, single_node):
    """A client of a follower, in database 2, moves keys to another Raftis (database 5)."""
    c = three_nodes.nodes[three_nodes.follower()].client(db=2)
    c.set("mig:f1", "one")
    c.zadd("mig:f2", {"m": 1.5})
    assert c.execute_command("MIGRATE", "127.0.0.1", single_node.nodes[1].port, "", 5, 5000,
                             "KEYS", "mig:f1", "mig:f2") == b"OK"
    assert c.exists("mig:f1", "mig:f2") == 0
    target = single_node.nodes[1].client(db=5)
    assert target.get("mig:f1") == b"one" and target.zscore("mig:f2", "m") == 1.5


def test_a_key_written_while_on_its_way_is_not_deleted(single_node):
    """The target answers only after the test wrote the key again on the source: the copy
    is there, and so is the newer value here."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    got_restore, go = threading.Event(), threading.Event()

    def target() -> None:
        conn, _ = listener.accept()
        data = b""
        while b"RESTORE" not in data or not data.endswith(b"\r\n"):
            data += conn.recv(65536)
        got_restore.set()
        go.wait(10)
        conn.sendall(b"+OK\r\n+OK\r\n")  # SELECT, RESTORE
        conn.close()

    thread = threading.Thread(target=target)
    thread.start()
    r = single_node.nodes[1].client()
    r.set("mig:busy", "old")
    result: list = []
    mover = threading.Thread(target=lambda: result.append(_call(r, port)))
    mover.start()
    assert got_restore.wait(10)
    single_node.nodes[1].client().set("mig:busy", "new")
    go.set()
    mover.join(10)
    thread.join(10)
    listener.close()
    assert isinstance(result[0], redis.ResponseError) and "written here meanwhile" in str(result[0])
    assert r.get("mig:busy") == b"new"


def _call(r: redis.Redis, port: int):
    try:
        return r.execute_command("MIGRATE", "127.0.0.1", port, "mig:busy", 0, 5000)
    except redis.ResponseError as e:
        return e
