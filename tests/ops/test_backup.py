"""raftis backup / raftis restore round trip: load keys, back up a running cluster, restore
into a fresh node, compare."""

import os
import random
import socket
import time

import hiredis
import pytest

from tests.integration.cluster import Cluster, free_ports
from tests.ops.conftest import Single, raftis


def load_keys(port: int, n: int, batch: int = 5000) -> None:
    """SET key:i value:i for i < n over one raw pipelined connection. A key whose reply is an
    error (a -TIMEOUT on a slow machine, a -TRYAGAIN across a leader change) is sent again:
    SET is idempotent, and the test needs every key in."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    reader = hiredis.Reader()

    def send(indexes: list[int]) -> list[int]:
        parts = []
        for i in indexes:
            k, v = b"key:%d" % i, b"value:%d" % i
            parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
        sock.sendall(b"".join(parts))
        replies: list = []
        while len(replies) < len(indexes):
            data = sock.recv(1 << 20)
            assert data, "server closed the connection"
            reader.feed(data)
            while (reply := reader.gets()) is not False:
                replies.append(reply)
        return [i for i, r in zip(indexes, replies, strict=True) if r != b"OK"]

    try:
        for start in range(0, n, batch):
            todo = list(range(start, min(n, start + batch)))
            for _attempt in range(10):
                todo = send(todo)
                if not todo:
                    break
                time.sleep(0.5)
            assert not todo, f"{len(todo)} keys could not be written"
    finally:
        sock.close()


def round_trip(tmp_path, source_port: int, n: int) -> None:
    backup_file = str(tmp_path / "backup.snap")
    t0 = time.monotonic()
    out = raftis("backup", "--from", f"127.0.0.1:{source_port}", "--to", backup_file, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "backup of" in out.stdout and os.path.getsize(backup_file) > n * 10
    assert "backup" in out.stderr  # the progress bar
    print(f"backup of {n} keys: {time.monotonic() - t0:.1f}s, {os.path.getsize(backup_file)} bytes")

    target = Single(tmp_path, [], name="restored")
    out = raftis("restore", backup_file, "--dir", target.dir, "--id", "1", "--port", str(target.port),
                 "--raft-port", str(target.raft_port), timeout=600)
    assert out.returncode == 0, out.stderr
    assert "restored log index" in out.stdout
    again = raftis("restore", backup_file, "--dir", target.dir, "--port", str(target.port))
    assert again.returncode != 0 and "not empty" in again.stderr
    try:
        target.start(extra=["--id", "1"])
        r = target.client(socket_timeout=60)
        assert r.dbsize() == n + 1  # the keys and the "__up" probe
        sample = random.Random(7).sample(range(n), min(n, 2000))
        got = r.mget([f"key:{i}" for i in sample])
        assert got == [b"value:%d" % i for i in sample]
        assert r.set("after-restore", "1") and r.get("after-restore") == b"1"
        info = r.execute_command("RAFT.INFO").decode()
        assert "role:leader" in info
    finally:
        target.stop()


def test_backup_and_restore_100k_keys(tmp_path):
    src = Single(tmp_path, [], name="source")
    try:
        src.start(extra=["--id", "1"])
        load_keys(src.port, 100_000)
        src.client().delete("__up")
        round_trip(tmp_path, src.port, 100_000)
    finally:
        src.stop()


def test_backup_refuses_garbage_and_reports_unreachable(tmp_path):
    junk = tmp_path / "junk.snap"
    junk.write_bytes(b"not a snapshot" * 100)
    out = raftis("restore", str(junk), "--dir", str(tmp_path / "d"))
    assert out.returncode != 0 and "not a usable backup" in out.stderr
    (port,) = free_ports(1)
    out = raftis("backup", "--from", f"127.0.0.1:{port}", "--to", str(tmp_path / "b.snap"), "--quiet")
    assert out.returncode != 0 and "failed" in out.stderr


@pytest.mark.slow
def test_backup_and_restore_a_million_keys(tmp_path):
    src = Single(tmp_path, ["--snapshot-threshold", str(256 << 20)], name="source")
    try:
        src.start(extra=["--id", "1"])
        t0 = time.monotonic()
        load_keys(src.port, 1_000_000, batch=20000)
        print(f"loaded 1M keys in {time.monotonic() - t0:.1f}s")
        src.client().delete("__up")
        round_trip(tmp_path, src.port, 1_000_000)
    finally:
        src.stop()


def test_backup_from_a_cluster_follower_restored_into_a_new_three_node_cluster(tmp_path):
    from tests.integration.cluster import wait_for

    backup_file = str(tmp_path / "small.snap")
    with Cluster(str(tmp_path / "source"), 3) as src:
        src.start()
        lead = src.leader()
        load_keys(src.nodes[lead].port, 3000)
        follower = src.follower()
        target = int(src.raft_info(lead)["commit_index"])
        wait_for(lambda: int(src.raft_info(follower)["applied_index"]) >= target, 30)
        # Any member can serve a backup; a follower keeps the work off the leader.
        out = raftis("backup", "--from", f"127.0.0.1:{src.nodes[follower].port}", "--to", backup_file, "--quiet")
        assert out.returncode == 0, out.stderr
    with Cluster(str(tmp_path / "restored"), 3) as c:
        for nid, nd in c.nodes.items():
            out = raftis("restore", backup_file, "--dir", nd.dir, "--id", str(nid), "--peers", c.peers)
            assert out.returncode == 0, out.stderr
        c.start()
        lead = c.leader()
        r = c.nodes[lead].client()
        assert r.dbsize() == 3000 and r.get("key:2999") == b"value:2999"
        assert r.set("new", "1")
        for nid in c.nodes:  # every member holds the restored data, and the new write
            rr = c.nodes[nid].client(single_connection_client=True)
            rr.execute_command("READONLY")
            wait_for(lambda rr=rr: rr.get("new") == b"1" and rr.dbsize() == 3001, 15)
