"""Streams on a three-node cluster: entries added with ``*`` IDs through any node, consumer
groups read, claimed and acknowledged through any node, and a blocked group reader on a
follower, leave the same stream on every node (IDs, delivery and seen times all come from the
leader's time in the log entries); a restart from snapshots keeps every bit of it."""

from __future__ import annotations

import threading

from tests.integration.cluster import wait_for


def _full(c, nid):
    r = c.nodes[nid].client()
    r.execute_command("READONLY")
    return (r.execute_command("XINFO", "STREAM", "s", "FULL", "COUNT", "0"),
            r.execute_command("XINFO", "GROUPS", "s"), r.execute_command("XRANGE", "s", "-", "+"))


def _same_everywhere(c, marker):
    """The state of every node once each has applied the write that set ``marker``."""
    states = []
    for nid in c.nodes:
        r = c.nodes[nid].client()
        r.execute_command("READONLY")
        wait_for(lambda r=r: r.get("marker") == marker, what=f"node {nid} to apply the writes")
        states.append(_full(c, nid))
    assert states[0] == states[1] == states[2]
    return states[0]


def test_streams_are_the_same_on_every_node_and_survive_snapshots(cluster_factory):
    c = cluster_factory(3).start()
    lead, fol = c.leader(), c.follower()
    other = next(n for n in c.nodes if n not in (lead, fol))
    ids = []
    for i in range(150):
        nid = (lead, fol, other)[i % 3]
        ids.append(c.nodes[nid].client().xadd("s", {"n": i, "via": nid}))
    assert ids == sorted(ids) and len(set(ids)) == 150
    lr, fr = c.nodes[lead].client(), c.nodes[fol].client()
    fr.xgroup_create("s", "g", id="0")
    lr.xgroup_create("s", "h", id="$")
    got = fr.xreadgroup("g", "alice", {"s": ">"}, count=10)
    assert [e[0] for e in got[0][1]] == ids[:10]
    lr.xreadgroup("g", "bob", {"s": ">"}, count=5)
    assert fr.xack("s", "g", ids[0], ids[1]) == 2
    fr.xclaim("s", "g", "carol", 0, [ids[2], ids[12]])
    lr.xautoclaim("s", "g", "dave", 0, "0", count=2)
    fr.xdel("s", ids[3], ids[140])
    lr.xtrim("s", maxlen=120, approximate=False)
    fr.set("marker", "1")
    before = _same_everywhere(c, b"1")
    assert lr.xlen("s") == 120

    # a group reader blocked on a follower, served by an entry added on another node
    result = {}

    def blocked_read():
        r = c.nodes[fol].client(socket_timeout=20)
        result["got"] = r.xreadgroup("h", "erin", {"s": ">"}, block=15000)

    t = threading.Thread(target=blocked_read)
    t.start()
    wait_for(lambda: c.nodes[lead].client().info("clients")["blocked_clients"] == 1,
             what="the reader to block on the leader")
    new_id = c.nodes[other].client().xadd("s", {"late": "entry"})
    t.join(20)
    assert result["got"][0][1] == [(new_id, {b"late": b"entry"})]
    lr.set("marker", "2")
    before = _same_everywhere(c, b"2")

    c.restart_from_snapshots()
    after = []
    for nid in c.nodes:
        wait_for(lambda nid=nid: c.nodes[nid].client().execute_command("RAFT.INFO") is not None)
        after.append(_full(c, nid))
    assert after[0] == after[1] == after[2] == before
    # the restored stream keeps working: IDs keep rising, the groups remember their place
    lead = c.leader()
    r = c.nodes[lead].client()
    assert r.xadd("s", {"x": 1}) > new_id
    assert [e[0] for e in r.xreadgroup("h", "erin", {"s": ">"})[0][1]] == [r.xrevrange("s", count=1)[0][0]]
