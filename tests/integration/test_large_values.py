"""Large writes on a three-node cluster: refused past max-write-size with a clear error."""

import pytest
import redis


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

