"""WAIT, ROLE, FAILOVER and REPLICAOF on three real nodes (Raft followers are the replicas)."""

import signal
import time

import pytest
import redis

from tests.integration.cluster import wait_for


def test_wait_counts_followers_that_hold_the_write(cluster_factory):
    c = cluster_factory(3).start()
    lead, fol = c.leader(), c.follower()
    r = c.nodes[lead].client()
    assert r.set("k", "v")
    assert r.execute_command("WAIT", 2, 0) == 2
    assert r.execute_command("WAIT", 0, 0) in (0, 1, 2)  # answers at once
    # Without a write of its own, a client counts the followers caught up to the commit index.
    assert c.nodes[lead].client().execute_command("WAIT", 2, 1000) == 2
    f = c.nodes[fol].client()
    assert f.set("k2", "v")
    assert f.execute_command("WAIT", 2, 1000) == 2  # asked of the leader
    with pytest.raises(redis.ResponseError, match="^timeout is negative$"):
        r.execute_command("WAIT", 1, -1)
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("WAIT", "x", 0)
    with pytest.raises(redis.ResponseError, match="^timeout is not an integer or out of range$"):
        f.execute_command("WAIT", 1, "1.5")

    # One follower down: the write is still acknowledged (a majority holds it), WAIT 2 waits
    # out its timeout and says one follower has it.
    down = next(n for n in c.nodes if n not in (lead, fol))
    c.kill(down, signal.SIGKILL)
    assert r.set("k3", "v")
    t0 = time.monotonic()
    assert r.execute_command("WAIT", 2, 200) == 1
    assert time.monotonic() - t0 >= 0.19
    assert r.execute_command("WAIT", 1, 200) == 1
    t0 = time.monotonic()
    assert f.execute_command("WAIT", 2, 200) == 1
    assert time.monotonic() - t0 >= 0.19


def test_role_and_replicaof(cluster_factory):
    c = cluster_factory(3).start()
    lead, fol = c.leader(), c.follower()
    role = c.nodes[lead].client().execute_command("ROLE")
    assert role[0] == b"master" and isinstance(role[1], int) and role[1] > 0
    ports = sorted(int(x[1]) for x in role[2])
    assert ports == sorted(nd.port for n, nd in c.nodes.items() if n != lead)
    assert all(x[0] == b"127.0.0.1" and int(x[2]) >= 0 for x in role[2])
    role = c.nodes[fol].client().execute_command("ROLE")
    assert role[:4] == [b"slave", b"127.0.0.1", c.nodes[lead].port, b"connected"]
    assert isinstance(role[4], int)
    for name in ("REPLICAOF", "SLAVEOF"):
        with pytest.raises(redis.ResponseError, match="RAFT.ADDNODE"):
            c.nodes[fol].client().execute_command(name, "NO", "ONE")


def _err(r, *argv) -> str:
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*argv)
    return str(e.value)


def test_failover_hands_leadership_over_with_redis_checks(cluster_factory):
    c = cluster_factory(3).start()
    lead = c.leader()
    fol = c.follower()
    r, f = c.nodes[lead].client(), c.nodes[fol].client()
    # The errors redis-server 7.0 gives, in its order (checked against it by hand).
    assert _err(f, "FAILOVER") == "FAILOVER is not valid when server is a replica."
    assert _err(f, "FAILOVER", "ABORT") == "No failover in progress."
    assert _err(r, "FAILOVER", "ABORT") == "No failover in progress."
    assert _err(r, "FAILOVER", "TIMEOUT", "0") == "FAILOVER timeout must be greater than 0"
    assert _err(r, "FAILOVER", "TIMEOUT", "x") == "value is not an integer or out of range"
    assert _err(r, "FAILOVER", "TO", "127.0.0.1") == "syntax error"
    assert _err(r, "FAILOVER", "ABORT", "TIMEOUT", "10") == "syntax error"
    assert _err(r, "FAILOVER", "FORCE") == ("FAILOVER with force option requires both a timeout and target "
                                           "HOST and IP.")
    assert _err(r, "FAILOVER", "TO", "127.0.0.1", "1") == "FAILOVER target HOST and PORT is not a replica."
    # To a named follower, by its client address: OK at once, then the leadership moves.
    assert r.execute_command("FAILOVER", "TO", "127.0.0.1", str(c.nodes[fol].port), "TIMEOUT", "5000") in (True, b"OK")
    wait_for(lambda: c.leader() == fol, 10, what="the leadership to move to the target")
    # Without TO: to the most up-to-date other voter.
    new = c.nodes[fol].client()
    assert new.execute_command("FAILOVER") in (True, b"OK")
    wait_for(lambda: c.leader() not in (0, fol), 10, what="the leadership to move on")
    assert c.nodes[c.leader()].client().set("after", "failover")


def test_failover_needs_another_voter(cluster_factory):
    c = cluster_factory(1).start()
    assert _err(c.nodes[1].client(), "FAILOVER") == "FAILOVER requires connected replicas."
