"""DUMP and RESTORE (streams and consumer groups too) on a three-node cluster: a RESTORE sent to a follower goes through the log,
every node decodes the payload to the same value, and the values survive a restart from
snapshots."""

from tests.integration.cluster import wait_for


def _local(c, nid):
    r = c.nodes[nid].client()
    r.execute_command("READONLY")
    return r


def _state(r):
    return (
        r.get("s"),
        r.lrange("l", 0, -1),
        sorted(r.smembers("set")),
        sorted(r.smembers("iset")),
        r.hgetall("h"),
        r.zrange("z", 0, -1, withscores=True),
        r.zrange("zbig", 0, -1, withscores=True),
        r.pttl("s") > 0,
        r.xrange("st"),
        r.xinfo_groups("st"),
        [
            (p["message_id"], p["consumer"], p["times_delivered"])
            for p in r.xpending_range("st", "g", "-", "+", 10)
        ],
    )


def test_restore_through_a_follower_is_the_same_everywhere_and_survives_restart(cluster_factory):
    c = cluster_factory(3).start()
    lead, fol = c.leader(), c.follower()
    src = c.nodes[lead].client()
    src.set("s0", "compressible " * 50)
    src.rpush("l0", *[f"item-{i}" * 3 for i in range(2000)])
    src.sadd("set0", *[f"m{i}" for i in range(600)])
    src.sadd("iset0", *range(-50, 450))
    src.hset("h0", mapping={f"f{i}": "v" * (i % 80) for i in range(200)})
    src.zadd("z0", {"a": 1.5, "b": -3, "c": 1e100})
    src.zadd("zbig0", {f"m{i}": i / 3 for i in range(300)})
    for i in range(1, 150):
        src.xadd("st0", {"f": i, "g": "x" * (i % 7)}, id=f"{i}-1")
    src.xgroup_create("st0", "g", id="0")
    src.xreadgroup("g", "alice", {"st0": ">"}, count=3)
    dumps = {k: src.dump(k + "0") for k in ("s", "l", "set", "iset", "h", "z", "zbig", "st")}

    r = c.nodes[fol].client()
    for k, payload in dumps.items():
        ttl = 3_600_000 if k == "s" else 0
        assert r.restore(k, ttl, payload) == b"OK"
    assert r.restore("s", 0, dumps["s"], replace=True, idletime=5) == b"OK"
    r.pexpire("s", 3_600_000)
    r.set("done", 1)

    states = []
    for nid in c.nodes:
        local = _local(c, nid)
        wait_for(lambda local=local: local.get("done") == b"1", what=f"node {nid} to apply the restores")
        states.append(_state(local))
        for k in ("l", "z", "iset", "h"):
            assert local.dump(k) == dumps[k], k
    assert states[0] == states[1] == states[2]
    assert states[0][0] == b"compressible " * 50
    assert len(states[0][1]) == 2000

    c.restart_from_snapshots()
    for nid in c.nodes:
        local = _local(c, nid)
        wait_for(lambda local=local: local.get("done") == b"1", what=f"node {nid} to load its snapshot")
        assert _state(local) == states[0]
