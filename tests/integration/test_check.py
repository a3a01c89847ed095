"""RAFT.CHECK: every member's digest at the same log entry, compared; consistent under a
stream of writes, DIVERGED when a member holds other data, incomplete when one is down."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import redis

from server import rdb
from server.checks import Checkpoints
from server.checks import verdict as _verdict
from server.keyspace import Keyspace
from tests.integration.cluster import Cluster, wait_for
from tests.ops.conftest import raftis


def _check(client: redis.Redis, *args) -> tuple[bytes, list]:
    reply = client.execute_command("RAFT.CHECK", *args)
    return reply[0], reply[1:]


def test_members_agree_while_writes_go_on(tmp_path):
    with Cluster(str(tmp_path), 3) as c:
        c.start()
        lead = c.leader()
        stop = threading.Event()
        errors: list[Exception] = []

        def write() -> None:
            w = c.nodes[lead].client()
            i = 0
            try:
                w.xgroup_create("x", "g", id="0", mkstream=True)
                while not stop.is_set():
                    w.set(f"k{i % 300}", i)
                    w.hincrby("h", f"f{i % 7}", 1)
                    w.xadd("x", {"i": i})
                    if i % 5 == 0:
                        w.xreadgroup("g", "c1", {"x": ">"}, count=2)
                    i += 1
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            for nid in (lead, c.follower()):  # a follower relays RAFT.CHECK to the leader
                verdict, rows = _check(c.nodes[nid].client())
                assert verdict == b"consistent", rows
                assert [row[0] for row in rows] == [1, 2, 3]
                assert len({row[1] for row in rows}) == 1 and rows[0][1] > 1
                assert len({row[2] for row in rows}) == 1 and len(rows[0][2]) == 40
            out = raftis("check", f"127.0.0.1:{c.nodes[lead].port}")
            assert out.returncode == 0 and out.stdout.splitlines()[-1] == "consistent", out.stdout + out.stderr
        finally:
            stop.set()
            writer.join()
        assert not errors


def test_a_member_holding_other_data_is_reported(tmp_path):
    """Node 3 seeded from another file than its peers (the same cluster otherwise): every
    node answers, and only the digests show that node 3's data is not the others'."""
    files = {}
    for name, value in (("right", b"v1"), ("wrong", b"v2")):
        ks = Keyspace()
        ks.dbs[0].data[b"k"] = value
        files[name] = tmp_path / f"{name}.rdb"
        files[name].write_bytes(rdb.dump_file(ks, 0, b"7.0.0"))
    with Cluster(str(tmp_path / "c"), 3) as c:
        for nid, nd in c.nodes.items():
            out = raftis("restore", str(files["wrong" if nid == 3 else "right"]), "--dir", nd.dir, "--id", str(nid),
                         "--peers", c.peers)
            assert out.returncode == 0, out.stderr
        c.start()
        verdict, rows = _check(c.nodes[c.leader()].client())
        assert verdict == b"DIVERGED", rows
        assert rows[0][2] == rows[1][2] != rows[2][2]
        out = raftis("check", f"127.0.0.1:{c.nodes[1].port}")
        assert out.returncode == 1 and out.stdout.splitlines()[-1] == "DIVERGED", out.stdout
        info = c.raft_info(c.leader())
        assert int(info["checks_diverged"]) == 2 and info["last_check"] == "DIVERGED"


def test_the_leader_checks_on_its_own_every_interval(tmp_path):
    with Cluster(str(tmp_path), 3, extra_args=["--check-interval", "0.3"]) as c:
        c.start()
        lead = c.leader()
        c.nodes[lead].client().set("k", "v")
        wait_for(lambda: int(c.raft_info(lead).get("checks_consistent", 0)) >= 2, 20,
                 what="two periodic checks")
        info = c.raft_info(lead)
        assert info["last_check"] == "consistent" and int(info["checks_diverged"]) == 0
        assert int(info["last_check_index"]) > 0


def test_a_member_that_is_down_makes_the_check_incomplete(tmp_path):
    with Cluster(str(tmp_path), 3) as c:
        c.start()
        lead = c.leader()
        down = c.follower()
        c.kill(down)
        verdict, rows = _check(c.nodes[lead].client(), "2")
        assert verdict == b"incomplete"
        row = next(r for r in rows if r[0] == down)
        assert row[1] == -1 and b"unreachable" in row[2]
        assert len({r[2] for r in rows if r[0] != down}) == 1
        with pytest.raises(redis.ResponseError, match="timeout must be a number of seconds"):
            c.nodes[lead].client().execute_command("RAFT.CHECK", "0")


def test_verdicts():
    same, other = b"a" * 20, b"b" * 20
    assert _verdict([(1, 5, same, ""), (2, 5, same, "")]) == b"consistent"
    assert _verdict([(1, 5, same, ""), (2, 5, other, "")]) == b"DIVERGED"
    assert _verdict([(1, 5, same, ""), (2, 6, same, "")]) == b"DIVERGED"
    assert _verdict([(1, 5, same, ""), (2, -1, None, "down")]) == b"incomplete"
    assert _verdict([(1, 5, same, ""), (2, 5, other, ""), (3, -1, None, "down")]) == b"DIVERGED"


def test_a_check_applied_after_its_deadline_takes_no_digest():
    """A node replaying its log at start applies old checks: nobody waits for them, and
    forking for each would only burn its CPU."""
    checks = Checkpoints()
    checks.record(b"t1", 7, int(time.time() * 1000) - 1, Keyspace())
    index, digest, why = asyncio.run(checks.result(b"t1"))
    assert (index, digest) == (7, None) and "deadline" in why
    assert asyncio.run(checks.result(b"unknown")) is None
