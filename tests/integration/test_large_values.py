"""Large writes on a three-node cluster: refused past max-write-size with a clear error, and
replicated without losing the leadership below it."""

import pytest
import redis

from tests.integration.cluster import SlowRelay


def test_a_write_over_max_write_size_is_refused_on_any_node(cluster_factory):
    c = cluster_factory(3, extra_args=["--max-write-size", "1mb"]).start()
    lead, fol = c.leader(), c.follower()
    for nid in (lead, fol):
        r = c.nodes[nid].client()
        with pytest.raises(redis.ResponseError, match=r"comes to 209717[0-9] bytes, over max-write-size \(1048576\); "
                                                      "it was not applied"):
            r.set(f"big{nid}", b"x" * (2 << 20))
        assert r.set(f"fits{nid}", b"x" * (1 << 19))
        # A transaction is one entry: its writes together are over the limit.
        p = r.pipeline(transaction=True)
        for i in range(3):
            p.set(f"tx{nid}:{i}", b"y" * 400_000)
        with pytest.raises(redis.exceptions.ExecAbortError, match="over max-write-size"):
            p.execute()
        assert r.exists(f"big{nid}", f"tx{nid}:0", f"tx{nid}:2") == 0
        assert r.strlen(f"fits{nid}") == 1 << 19
    # The limit can be raised at run time; the leader's setting is the one that counts.
    leader = c.nodes[lead].client()
    assert leader.config_set("max-write-size", "4mb")
    assert leader.config_get("max-write-size") == {"max-write-size": str(4 << 20)}
    assert c.nodes[fol].client().set("big", b"x" * (2 << 20))
    assert leader.strlen("big") == 2 << 20


def test_a_200mb_value_is_replicated_and_read_back_without_an_election(cluster_factory):
    # The default timing (an election after 1-2 s without a heartbeat). The leader and the
    # followers used to spend longer than that copying a 200 MB entry (joining it into one
    # buffer after another on the event loop): the followers elected a new leader and the SET
    # timed out. A GET of it was refused as over the output buffer limit.
    c = cluster_factory(3, extra_args=["--max-write-size", "256mb"], fast=False).start()
    lead, fol = c.leader(), c.follower()
    term = c.raft_info(lead)["term"]
    value = b"0123456789abcdef" * (200 << 16)
    r = c.nodes[lead].client(socket_timeout=60)
    assert r.set("big", value)
    assert c.raft_info(lead)["term"] == term and c.leader() == lead
    assert c.nodes[fol].client(socket_timeout=60).get("big") == value
    ro = c.nodes[c.follower()].client(socket_timeout=60)
    ro.execute_command("READONLY")
    assert ro.strlen("big") == len(value)


def test_an_entry_slower_to_cross_than_an_election_timeout_elects_nobody(cluster_factory):
    # Every peer port behind a link of 4 MB/s: a 6 MB entry takes 1.5 s to reach a follower,
    # and the heartbeats queued behind it as long, while an election comes after 0.3-0.6 s
    # of silence. The bytes of the entry still arriving show the leader alive to its
    # followers, and their reading it shows them alive to the leader: nobody campaigns and
    # the leader does not step down. (Without that, a value too big to cross a link within
    # an election timeout could never be written.)
    c = cluster_factory(3)
    relays = {nid: SlowRelay(nd.raft_port, 4 << 20) for nid, nd in c.nodes.items()}
    try:
        c.advertise_raft_ports({nid: r.port for nid, r in relays.items()})
        c.start()
        lead = c.leader()
        term = c.raft_info(lead)["term"]
        value = b"0123456789abcdef" * (6 << 16)
        r = c.nodes[lead].client(socket_timeout=60)
        for i in range(2):
            assert r.set(f"big{i}", value)
        assert c.raft_info(lead)["term"] == term and c.leader() == lead
        assert all(c.raft_info(nid)["term"] == term for nid in c.nodes)
        assert c.nodes[c.follower()].client(socket_timeout=60).strlen("big1") == len(value)
    finally:
        c.close()
        for relay in relays.values():
            relay.close()
