"""Blocking list commands on a real cluster: the client waits, the pop is decided by the log."""

import threading
import time

from tests.integration.cluster import wait_for


def test_blpop_waits_for_a_push_through_another_node(cluster_factory):
    c = cluster_factory(3).start()
    lead = c.leader()
    fol = c.follower()
    out = {}

    def waiter():
        r = c.nodes[fol].client(socket_timeout=20)
        t0 = time.monotonic()
        out["reply"] = r.blpop(["q1", "q2"], timeout=10)
        out["took"] = time.monotonic() - t0

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.5)
    assert "reply" not in out
    c.nodes[lead].client().rpush("q2", "hello")
    t.join(15)
    assert out["reply"] == (b"q2", b"hello") or out["reply"] == [b"q2", b"hello"]
    assert out["took"] < 5
    assert c.nodes[lead].client().llen("q2") == 0


def test_blpop_times_out_with_null_and_two_waiters_get_one_each(cluster_factory):
    c = cluster_factory(1).start()
    r = c.nodes[1].client()
    t0 = time.monotonic()
    assert r.blpop(["empty"], timeout=0.3) is None
    assert 0.25 < time.monotonic() - t0 < 3
    got = []

    def waiter():
        got.append(c.nodes[1].client(socket_timeout=20).brpop(["jobs"], timeout=10))

    threads = [threading.Thread(target=waiter) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    r.lpush("jobs", "a")
    wait_for(lambda: len(got) == 1, timeout=5)
    r.lpush("jobs", "b")
    for t in threads:
        t.join(10)
    assert sorted(v for _, v in got) == [b"a", b"b"]


def test_blpop_inside_multi_does_not_block(cluster_factory):
    c = cluster_factory(1).start()
    p = c.nodes[1].client().pipeline(transaction=True)
    p.blpop(["nothing"], timeout=0)
    assert p.execute() == [None]
