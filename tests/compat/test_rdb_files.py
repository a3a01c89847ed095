"""RDB files both ways. Out: an RDB file of a node's data through Redis's replication
handshake (``redis-cli --rdb`` saves it) that redis-server loads to the same data (the same
DEBUG DIGEST, the function libraries, the times to live); a Redis replica asking for a
replication stream is refused. In: ``raftis restore`` of redis-server's own dump.rdb seeds a
new three-node cluster with the same data."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import redis

from tests.compat.targets import RawConn, RedisServer
from tests.integration.cluster import Cluster
from tests.ops.conftest import raftis

ENABLED = ["--enable-debug-command", "yes"]
LIBRARY = "#!lua name=rdblib\nredis.register_function('seven', function() return 7 end)"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    with Cluster(str(tmp_path_factory.mktemp("raftis-rdb")), 3, extra_args=ENABLED, fast=False) as c:
        c.start()
        yield c


def _fill(r: redis.Redis, port: int) -> None:
    r.flushall()
    r.function_load(LIBRARY)
    r.set("s:int", 12345)
    r.set("s:raw", "hello")
    r.set("s:big", "x" * 100_000)
    r.set("s:ttl", "v", ex=5000)
    r.rpush("l:small", "a", "1", "b")
    r.rpush("l:big", *[f"item-{i}" * 5 for i in range(3000)])
    r.sadd("set:ints", 1, 2, 3)
    r.sadd("set:big", *[f"m{i}" for i in range(700)])
    r.hset("h:small", mapping={"f": "v", "n": "1"})
    r.hset("h:big", mapping={f"f{i}": "y" * 100 for i in range(300)})
    r.zadd("z:small", {"a": 1, "b": 2.5, "c": float("-inf")})
    r.zadd("z:big", {f"m{i}": i / 3 for i in range(400)})
    r.pexpire("z:big", 9_000_000)
    for i in range(1, 150):
        r.xadd("x", {"f": i, "g": "v"}, id=f"{i}-1")
    r.xgroup_create("x", "grp", id="0")
    r.xreadgroup("grp", "alice", {"x": ">"}, count=3)
    redis.Redis(port=port, db=5).set("in-db-5", "yes")


def test_redis_cli_rdb_loads_into_redis_server_as_the_same_data(node, tmp_path):
    leader = node.nodes[node.leader()]
    r = leader.client()
    _fill(r, leader.port)
    digest = r.execute_command("DEBUG", "DIGEST")
    whole = r.execute_command("RAFT.CHECK")[1][2]  # the digest of everything, groups and functions too
    out = tmp_path / "export.rdb"
    cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
    done = subprocess.run([cli, "-p", str(leader.port), "--rdb", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Transfer finished with success" in done.stderr
    assert out.read_bytes().startswith(b"REDIS0010")
    assert r.ping()  # the node goes on serving (the file was written by a child)

    workdir = tmp_path / "redis"
    workdir.mkdir()
    os.replace(out, workdir / "dump.rdb")
    srv = RedisServer(str(workdir), extra=["--dbfilename", "dump.rdb", *ENABLED])
    try:
        theirs = redis.Redis(port=srv.port)
        assert theirs.execute_command("DEBUG", "DIGEST") == digest
        assert theirs.dbsize() == r.dbsize()
        assert 4990 < theirs.ttl("s:ttl") <= 5000
        assert theirs.fcall("seven", 0) == 7
        assert theirs.xpending("x", "grp")["pending"] == 3
        assert redis.Redis(port=srv.port, db=5).get("in-db-5") == b"yes"
    finally:
        srv.stop()
    # and back into Raftis: a new node seeded from the same file holds the same everything
    with Cluster(str(tmp_path / "again"), 1, extra_args=ENABLED) as again:
        nd = again.nodes[1]
        seeded = raftis("restore", str(workdir / "dump.rdb"), "--dir", nd.dir, "--id", "1", "--peers", again.peers)
        assert seeded.returncode == 0, seeded.stderr
        again.start()
        assert nd.client().execute_command("RAFT.CHECK")[1][2] == whole


def test_psync_after_rdb_only_gives_a_full_resync_and_hangs_up(node):
    leader = node.nodes[node.leader()]
    conn = RawConn(leader.port)
    try:
        assert [x.raw for x in conn.pipeline([[b"REPLCONF", b"capa", b"eof"], [b"REPLCONF", b"rdb-only", b"1"]])] == [
            b"+OK\r\n", b"+OK\r\n"]
        conn.sock.sendall(b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n")
        data = b""
        while chunk := conn.sock.recv(1 << 16):  # the node closes the connection after the file
            data += chunk
    finally:
        conn.close()
    line, _, rest = data.partition(b"\r\n")
    word, replid, offset = line.split(b" ")
    assert word == b"+FULLRESYNC" and len(replid) == 40 and int(offset) > 0
    header, _, body = rest.partition(b"\r\n")
    assert header.startswith(b"$") and int(header[1:]) == len(body) and body.startswith(b"REDIS0010")


@pytest.mark.parametrize("argv", [["REPLCONF"], ["REPLCONF", "capa"], ["REPLCONF", "bogus", "1"],
                                  ["REPLCONF", "rdb-only", "x"], ["REPLCONF", "rdb-only", "2"],
                                  ["REPLCONF", "listening-port", "1", "capa", "eof"]])
def test_replconf_answers_as_redis(single_node, redis_server, argv):
    ours, theirs = RawConn(single_node.nodes[1].port), RawConn(redis_server.port)
    try:
        assert ours.call(*argv).raw == theirs.call(*argv).raw
    finally:
        ours.close()
        theirs.close()


def test_a_replica_asking_for_the_stream_is_refused(single_node):
    conn = RawConn(single_node.nodes[1].port)
    try:
        for argv in (["SYNC"], ["PSYNC", "?", "-1"], ["REPLCONF", "ACK", "0"]):
            reply = conn.call(*argv).raw
            assert reply.startswith(b"-ERR ") and b"replica" in reply, reply
        assert conn.call("PING").raw == b"+PONG\r\n"
    finally:
        conn.close()


def test_redis_servers_dump_restored_into_a_new_cluster(tmp_path):
    """redis-server's SAVE (LZF-compressed strings, its own encodings), restored with
    ``raftis restore`` into every founding node of a three-node cluster."""
    workdir = tmp_path / "redis"
    srv = RedisServer(str(workdir), extra=["--dbfilename", "dump.rdb", *ENABLED])
    try:
        theirs = redis.Redis(port=srv.port)
        _fill(theirs, srv.port)
        theirs.set("s:compressible", "abcdefgh" * 2000)  # LZF in Redis's file
        assert theirs.save()
        digest = theirs.execute_command("DEBUG", "DIGEST")
        keys = theirs.dbsize()
    finally:
        srv.stop()
    dump = str(workdir / "dump.rdb")
    with Cluster(str(tmp_path / "restored"), 3, extra_args=ENABLED) as c:
        for nid, nd in c.nodes.items():
            out = raftis("restore", dump, "--dir", nd.dir, "--id", str(nid), "--peers", c.peers)
            assert out.returncode == 0, out.stderr
            assert "keys from the RDB file" in out.stdout
        c.start()
        r = c.nodes[c.leader()].client()
        assert r.fcall("seven", 0) == 7
        assert r.get("s:compressible") == b"abcdefgh" * 2000
        assert r.dbsize() == keys
        for nid, nd in c.nodes.items():  # every node holds the data redis-server held
            assert nd.client().execute_command("DEBUG", "DIGEST") == digest, nid


def test_restore_refuses_a_damaged_rdb_file(tmp_path):
    good = tmp_path / "good.rdb"
    srv = RedisServer(str(tmp_path / "redis"), extra=["--dbfilename", "dump.rdb"])
    try:
        r = redis.Redis(port=srv.port)
        r.set("k", "v" * 100)
        assert r.save()
    finally:
        srv.stop()
    data = (tmp_path / "redis" / "dump.rdb").read_bytes()
    good.write_bytes(data)
    for name, damaged in (("flipped", data[:20] + bytes([data[20] ^ 0xFF]) + data[21:]),
                          ("truncated", data[: len(data) // 2]), ("version", b"REDIS0099" + data[9:])):
        bad = tmp_path / f"{name}.rdb"
        bad.write_bytes(damaged)
        out = raftis("restore", str(bad), "--dir", str(tmp_path / f"dir-{name}"))
        assert out.returncode != 0 and "RDB file" in out.stderr, (name, out.stderr)
    out = raftis("restore", str(good), "--dir", str(tmp_path / "dir-good"))
    assert out.returncode == 0, out.stderr
