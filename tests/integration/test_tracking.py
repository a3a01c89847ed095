"""CLIENT TRACKING on a three-node cluster: each node tells its own clients, whichever node
the change was made through (every node applies every write)."""

import signal

import redis

from tests.integration.cluster import wait_for
from tests.resp_conn import Conn


def _resp3(port: int) -> Conn:
    return Conn(port, resp3=True)


def test_clients_of_every_node_are_told_of_changes(cluster_factory):
    c = cluster_factory(3).start()
    lead, fol = c.leader(), c.follower()
    on_leader, on_follower = _resp3(c.nodes[lead].port), _resp3(c.nodes[fol].port)
    bcast = _resp3(c.nodes[fol].port)
    assert bcast.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:") == b"OK"
    for client in (on_leader, on_follower):
        assert client.call("CLIENT", "TRACKING", "ON") == b"OK"
        assert client.call("GET", "user:1") is None  # the follower relays the read
    writer = c.nodes[fol].client()
    writer.set("user:1", "a")  # through the follower
    for client in (on_leader, on_follower, bcast):
        client.sock.settimeout(10)
        assert client.one() == [b"invalidate", [b"user:1"]]
    # read again on each; now the change is made through the leader
    for client in (on_leader, on_follower):
        assert client.call("GET", "user:1") == b"a"
    c.nodes[lead].client().mset({"user:1": "b", "other": "x"})
    for client in (on_leader, on_follower, bcast):
        assert client.one() == [b"invalidate", [b"user:1"]]
    # a key nobody read since is not told again; FLUSHALL tells everyone
    c.nodes[lead].client().set("user:1", "c")
    c.nodes[lead].client().flushall()
    for client in (on_leader, on_follower):
        assert client.one() == [b"invalidate", None]
    assert bcast.one() == [b"invalidate", [b"user:1"]]
    assert bcast.one() == [b"invalidate", None]
    info = redis.Redis(port=c.nodes[fol].port).info()
    assert info["tracking_clients"] == 2 and info["tracking_total_prefixes"] == 1


def test_a_follower_that_installs_a_snapshot_tells_its_clients(cluster_factory):
    c = cluster_factory(3).start()
    lead, fol = c.leader(), c.follower()
    client = _resp3(c.nodes[fol].port)
    assert client.call("CLIENT", "TRACKING", "ON") == b"OK"
    assert client.call("GET", "k") is None
    c.kill(fol, signal.SIGSTOP)  # the follower misses a write the leader then compacts away
    try:
        r = c.nodes[lead].client()
        r.set("k", "v")
        for i in range(200):
            r.set(f"filler{i}", i)
        r.execute_command("RAFT.SNAPSHOT")
        wait_for(lambda: int(c.raft_info(lead)["snapshot_index"]) > 200, what="the leader to compact its log")
    finally:
        c.kill(fol, signal.SIGCONT)
    client.sock.settimeout(10)
    assert client.one() == [b"invalidate", None]  # every key may have changed
    wait_for(lambda: int(c.raft_info(fol)["snapshot_index"]) > 0, what="the follower to install the snapshot")
