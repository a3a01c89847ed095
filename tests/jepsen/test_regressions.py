"""Server bugs found by the fault-injection campaigns, each reduced to a scenario.

A test here that is marked ``xfail(strict=True)`` reproduces a bug that is not fixed yet:
it passes (as an expected failure) while the bug is there, and turns into a failure once
the bug is fixed, as a reminder to drop the mark.
"""

from __future__ import annotations

import os
import tempfile
import time

import pytest
import redis

from .cluster import JepsenCluster, wait_for
from .proxy import LinkFaults, ProxyFabric


def _write_round(r: redis.Redis, round_: int) -> None:
    for i in range(200):
        r.set(f"k{i}", f"{round_}-{i}")


@pytest.mark.timeout(180)
@pytest.mark.xfail(strict=True, reason="server bug: the leader streams a snapshot that a newer snapshot has "
                   "since pruned; core.tick() raises StorageError 'no snapshot at index ...' on every tick "
                   "and the follower never catches up (found by campaign seed 4242, 5 nodes)")
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
            # Reconnect it with a slow leader -> follower link (3s each way there, none back):
            # heartbeat at 3s, the probe it answers with a rejection at 6s, so the leader
            # starts streaming the snapshot at 6s and the chunks arrive at 9s. At 7.5s, before
            # the follower can acknowledge them, cut the way back.
            faults.heal()
            faults.set_links({(lead, behind): LinkFaults(delay=3.0)})
            time.sleep(7.5)
            faults.set_links({(behind, lead): LinkFaults(drop=True)})
            # Two newer snapshots: the one being streamed is pruned (the store keeps two).
            for round_ in (1, 2):
                _write_round(r, round_)
                assert r.execute_command("RAFT.SNAPSHOT") in (b"OK", "OK", True)
            time.sleep(2.0)  # several resend periods
            c.fabric.faults.heal()
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
