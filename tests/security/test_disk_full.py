"""A single node whose --dir is a small tmpfs: fill it until -MISCONF, reads go on, free
space, writes resume, and every acknowledged write survives a restart."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import redis

from tests.integration.cluster import wait_for
from tests.security.procs import start_node


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.decode(errors='replace')}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill_until_refused(c: redis.Redis) -> tuple[dict[str, bytes], str | None]:
    """SET 32 KB values until the node refuses writes; returns the acknowledged ones and the
    refusal (None if it never came)."""
    acked: dict[str, bytes] = {}
    value = os.urandom(32 * 1024)
    for i in range(1000):
        key = f"k{i}"
        try:
            c.set(key, value + key.encode())
            acked[key] = value + key.encode()
        except redis.exceptions.ResponseError as e:
            if str(e).startswith("MISCONF") or "Errors writing" in str(e):
                return acked, str(e)
            # -TIMEOUT: the outcome is unknown; not counted as acknowledged
    return acked, None


def test_disk_full_refuses_writes_then_recovers(small_disk, tmp_path):
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (3 * 1024 * 1024))
    data_dir = str(small_disk / "data")
    args = ["--command-timeout", "3", "--snapshot-threshold", str(64 * 1024 * 1024)]
    node = start_node(data_dir, args)
    try:
        c = node.client(socket_timeout=10)
        acked, misconf = fill_until_refused(c)
        assert misconf is not None and "Errors writing to the Raft log" in misconf, misconf
        assert len(acked) > 10
        # reads keep working while writes are refused
        some = list(acked)[:: max(1, len(acked) // 10)]
        for key in some:
            assert c.get(key) == acked[key]
        with pytest.raises(redis.exceptions.ResponseError, match="MISCONF|Errors writing"):
            c.set("refused", "x")
        # free space: the retried log write goes through and writes are taken again
        filler.unlink()

        def writes_again() -> bool:
            try:
                return c.set("after", "ok")
            except redis.exceptions.ResponseError:
                return False

        wait_for(writes_again, 20, interval=0.3, what="writes to resume")
        acked["after"] = b"ok"
        for i in range(5):
            c.set(f"post{i}", "v")
            acked[f"post{i}"] = b"v"
    finally:
        node.stop()
    # every acknowledged write is there after a restart
    again = start_node(data_dir, args)
    try:
        c = again.client(socket_timeout=10)
        missing = [k for k, v in acked.items() if c.get(k) != v]
        assert not missing, f"acknowledged writes lost: {missing[:5]} ... ({len(missing)})"
    finally:
        again.stop()
    time.sleep(0.1)


def test_full_disk_on_a_cluster_leader(small_disk, tmp_path):
    """The leader's disk fills: writes through it get -MISCONF while linearizable reads
    through it (a ReadIndex round with the followers) go on; within seconds it hands
    leadership to a follower, so writes through it (forwarded) work again while its disk is
    still full; once space is back it catches up."""
    from tests.integration.cluster import Cluster

    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (3 * 1024 * 1024))
    with Cluster(str(tmp_path / "c"), extra_args=["--command-timeout", "3",
                                                  "--snapshot-threshold", str(64 * 1024 * 1024)]) as cl:
        cl.nodes[1].dir = str(small_disk / "node1")
        cl.start()
        if cl.leader() != 1:
            cl.nodes[cl.leader()].client().execute_command("RAFT.TRANSFERLEADER", "1")
            wait_for(lambda: cl.leader() == 1, 20, what="node 1 to lead")
        c = cl.nodes[1].client(socket_timeout=10)
        acked, misconf = fill_until_refused(c)
        assert misconf is not None, "the leader's disk never filled"
        # Reads through node 1 keep working throughout (leader or not).
        for key in list(acked)[-5:]:
            assert c.get(key) == acked[key]
        new = wait_for(lambda: cl.leader() if cl.leader() != 1 else 0, 20, what="leadership to move")
        assert new in (2, 3)
        assert "handing leadership" in open(cl.nodes[1].log_path).read()
        # Node 1's disk is still full, yet writes through it work: it forwards them.
        wait_for(lambda: c.set("during", "ok"), 20, interval=0.3, what="writes through node 1")
        assert c.get("during") == b"ok"
        assert c.exists("k0") == 1
        filler.unlink()
        for nid in (1, 2, 3):
            f = cl.nodes[nid].client(socket_timeout=10)
            assert f.set(f"after{nid}", "ok")
            for other in (1, 2, 3):
                g = cl.nodes[other].client(socket_timeout=10)
                wait_for(lambda g=g, nid=nid: g.get(f"after{nid}") == b"ok", 20, what=f"node {other} to see it")
        # Node 1 writes its log again: it still has everything acknowledged after a restart.
        cl.restart(1)
        f = cl.nodes[1].client(socket_timeout=10)
        wait_for(lambda: f.get("after3") == b"ok", 20, what="node 1 to catch up after restart")
        last = list(acked)[-1]
        assert f.get(last) == acked[last]
