"""SAVE, BGSAVE and LASTSAVE on a real node: Raft snapshots, with Redis's replies."""

import time

import pytest
import redis

from tests.compat.targets import RawConn
from tests.integration.cluster import wait_for


def _lastsave(r) -> int:
    return int(r.lastsave().timestamp())


def _persistence(r) -> dict[str, str]:
    return {k: str(v) for k, v in r.info("persistence").items()}


def test_save_bgsave_lastsave(cluster_factory):
    c = cluster_factory(1).start()
    r = c.nodes[1].client()
    started = _lastsave(r)  # no snapshot yet: the start time, as Redis
    assert abs(time.time() - started) < 60
    r.set("k", "v")
    time.sleep(1.1)  # LASTSAVE has a resolution of a second
    assert r.execute_command("SAVE") in (True, b"OK")
    info = _persistence(r)
    assert info["rdb_changes_since_last_save"] == "0" and info["rdb_saves"] == "1"
    saved = _lastsave(r)
    assert saved > started and int(info["rdb_last_save_time"]) == saved
    r.set("k2", "v")
    time.sleep(1.1)
    raw = RawConn(c.nodes[1].port)
    assert raw.call("BGSAVE").raw == b"+Background saving started\r\n"
    wait_for(lambda: _lastsave(r) > saved, 10, what="the background save")
    assert _persistence(r)["rdb_saves"] == "2"
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("BGSAVE", "NOW")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'save' command"):
        r.execute_command("SAVE", "x")
    assert raw.call("BGSAVE", "SCHEDULE").raw in (b"+Background saving started\r\n",
                                                 b"+Background saving scheduled\r\n")
    raw.close()
    # The time of the newest snapshot survives a restart (it is its file's time).
    last = _lastsave(r)
    c.restart(1)
    c.leader()
    r = c.nodes[1].client()
    assert abs(_lastsave(r) - last) <= 1
    assert r.get("k2") == b"v"


def test_bgrewriteaof_compacts_the_log_with_a_snapshot(cluster_factory):
    # The node's append-only file is its Raft log: BGREWRITEAOF takes a snapshot, after which
    # the log before it is gone, and answers as Redis does.
    c = cluster_factory(1).start()
    r = c.nodes[1].client()
    for i in range(50):
        r.set(f"k{i}", i)
    before = int(c.raft_info(1)["snapshot_index"])
    raw = RawConn(c.nodes[1].port)
    assert raw.call("BGREWRITEAOF").raw == b"+Background append only file rewriting started\r\n"
    wait_for(lambda: int(c.raft_info(1)["snapshot_index"]) > before + 50, 10, what="the snapshot")
    # Another while one runs (or just after): scheduled or started, never refused.
    assert raw.call("BGREWRITEAOF").raw in (b"+Background append only file rewriting started\r\n",
                                            b"+Background append only file rewriting scheduled\r\n")
    assert raw.call("BGREWRITEAOF", "x").raw == b"-ERR wrong number of arguments for 'bgrewriteaof' command\r\n"
    raw.close()
    c.restart(1)
    assert c.nodes[1].client().get("k49") == b"49"
