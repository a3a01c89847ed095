"""Server bugs found by the fault-injection campaigns, each reduced to a scenario.

A test here that is marked ``xfail(strict=True)`` reproduces a bug that is not fixed yet:
it passes (as an expected failure) while the bug is there, and turns into a failure once
the bug is fixed, as a reminder to drop the mark.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time

import msgspec
import pytest
import redis

from consensus.messages import MessageType

from .cluster import JepsenCluster, wait_for
from .proxy import ProxyFabric


def _write_round(r: redis.Redis, round_: int) -> None:
    for i in range(200):
        r.set(f"k{i}", f"{round_}-{i}")


@pytest.mark.timeout(180)
# Found by campaign seed 4242 (5 nodes): a leader resending a snapshot that newer snapshots
# had pruned raised out of every tick. The leader now restarts the transfer with its newest.
def test_follower_catches_up_after_the_snapshot_being_sent_to_it_is_pruned() -> None:
    fabric = ProxyFabric(1)
    with tempfile.TemporaryDirectory() as d:
        c = JepsenCluster(d, 3, fabric, ["--snapshot-threshold", str(64 * 1024 * 1024)])
        try:
            c.start()
            lead = c.wait_leader()
            behind = next(n for n in c.members() if n != lead)
            r = c.nodes[lead].client()
            # The follower falls behind a compacted log, so the leader must send it a snapshot.
            faults = c.fabric.faults
            faults.partition([[behind], [n for n in c.members() if n != behind]], c.members())
            _write_round(r, 0)
            assert r.execute_command("RAFT.SNAPSHOT") in (b"OK", "OK", True)
            # Reconnect it, but from the first snapshot chunk the leader sends it on, cut it off
            # again: the leader stays in the middle of streaming that snapshot.
            streaming = threading.Event()

            def cut_at_first_chunk(src: int, dst: int, body: bytes) -> bool:
                if src == lead and dst == behind and not streaming.is_set():
                    kinds = [msgspec.msgpack.decode(raw)[0] for raw in msgspec.msgpack.decode(body)]
                    if MessageType.INSTALL_SNAPSHOT in kinds:
                        faults.partition([[behind], [n for n in c.members() if n != behind]], c.members())
                        streaming.set()
                return streaming.is_set() and behind in (src, dst)

            faults.frame_hook = cut_at_first_chunk
            faults.heal()
            assert streaming.wait(20), "the leader never started streaming a snapshot"
            # Two newer snapshots: the one being streamed is pruned (the store keeps two).
            for round_ in (1, 2):
                _write_round(r, round_)
                assert r.execute_command("RAFT.SNAPSHOT") in (b"OK", "OK", True)
            time.sleep(2.0)  # several resend periods
            faults.frame_hook = None
            faults.heal()
            ro = c.nodes[behind].client()
            ro.execute_command("READONLY")
            caught_up = True
            try:
                wait_for(lambda: ro.get("k199") == b"2-199", timeout=20, what="the follower to catch up")
            except (TimeoutError, redis.RedisError):
                caught_up = False
            with open(c.nodes[lead].log_path, errors="replace") as f:
                leader_log = f.read()
            assert "Traceback" not in leader_log, leader_log[leader_log.index("Traceback"):][:2000]
            assert caught_up
        finally:
            c.close()
            fabric.close()
            for name in os.listdir(d):
                if name.endswith(".log"):
                    print(name, open(os.path.join(d, name), errors="replace").read()[-3000:])
