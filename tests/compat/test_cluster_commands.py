"""CLUSTER commands: reply shapes byte for byte against a cluster-enabled redis-server, the
view from every node of a three-node cluster, and the clients that depend on them
(redis-py's RedisCluster, ``redis-cli -c``)."""

from __future__ import annotations

import re
import subprocess

import pytest
import redis
from redis.cluster import RedisCluster

from resp.encoder import encode
from server.cluster import ClusterView, Member, cluster_node_id, key_slot
from tests.compat.targets import RawConn, RedisServer
from tests.integration.cluster import Cluster, free_ports, wait_for

VIEW = ClusterView("c0ffee", 2, 1, (Member(1, "127.0.0.1", 30001, 40001, True),
                                    Member(2, "127.0.0.1", 30002, 40002, True),
                                    Member(3, "127.0.0.1", 30003, 40003, True)), term=7)


def _bulk(s: str) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(s), s.encode())


@pytest.fixture(scope="module")
def redis_cluster_node(tmp_path_factory):
    """A redis-server in cluster mode owning every slot: the reference for CLUSTER replies."""
    d = tmp_path_factory.mktemp("redis-cluster")
    bus = free_ports(1)[0]  # the default, port + 10000, may be past 65535
    srv = RedisServer(str(d), ["--cluster-enabled", "yes", "--cluster-port", str(bus),
                               "--cluster-config-file", str(d / "nodes.conf")])
    conn = RawConn(srv.port)
    conn.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
    wait_for(lambda: b"cluster_state:ok" in conn.call("CLUSTER", "INFO").value, 10, what="redis cluster ok")
    conn.close()
    yield srv
    srv.stop()


def test_node_ids_are_stable_and_look_like_redis_ids():
    a = cluster_node_id("abc", 1)
    assert re.fullmatch(r"[0-9a-f]{40}", a)
    assert a == cluster_node_id("abc", 1)
    assert a != cluster_node_id("abc", 2) and a != cluster_node_id("abd", 1)


def test_slots_bytes_match_redis_layout():
    ids = [VIEW.cid(n) for n in (1, 2, 3)]
    for resp3, empty in ((False, b"*0\r\n"), (True, b"%0\r\n")):
        nodes = b"".join(b"*4\r\n" + _bulk("127.0.0.1") + b":%d\r\n" % port + _bulk(i) + empty
                         for port, i in zip((30001, 30002, 30003), ids, strict=True))
        assert encode(VIEW.slots(), resp3) == b"*1\r\n*5\r\n:0\r\n:16383\r\n" + nodes


def test_shards_and_nodes_describe_the_leader_as_master():
    shard = VIEW.shards()[0]
    pairs = dict(shard.items())
    assert pairs[b"slots"] == [0, 16383]
    roles = [(dict(n.items())[b"port"], dict(n.items())[b"role"]) for n in pairs[b"nodes"]]
    assert roles == [(30001, b"master"), (30002, b"replica"), (30003, b"replica")]
    lines = VIEW.nodes_text(123).decode().splitlines()
    assert lines[0].split()[1:4] == ["127.0.0.1:30001@40001", "master", "-"]
    assert lines[0].endswith(" connected 0-16383")
    assert lines[1].split()[2:4] == ["myself,slave", VIEW.cid(1)]


def test_without_a_leader_the_slots_are_unserved():
    view = ClusterView("c", 1, 0, VIEW.members)
    assert view.slots() == []
    assert b"cluster_state:fail" in view.info_text()
    assert b"cluster_slots_assigned:0" in view.info_text()


@pytest.mark.parametrize("argv", [
    ["CLUSTER", "KEYSLOT", "foo"], ["CLUSTER", "KEYSLOT", "{user1000}.following"], ["CLUSTER", "KEYSLOT", "a{}b"],
    ["CLUSTER", "KEYSLOT", "{}{x}"], ["CLUSTER", "KEYSLOT", ""], ["CLUSTER", "KEYSLOT"],
    ["CLUSTER", "KEYSLOT", "a", "b"], ["CLUSTER", "COUNTKEYSINSLOT", "x"], ["CLUSTER", "COUNTKEYSINSLOT", "-1"],
    ["CLUSTER", "COUNTKEYSINSLOT", "16384"], ["CLUSTER", "COUNTKEYSINSLOT", "5"],
    ["CLUSTER", "GETKEYSINSLOT", "5", "-1"], ["CLUSTER", "GETKEYSINSLOT", "16384", "1"],
    ["CLUSTER", "GETKEYSINSLOT", "x", "1"], ["CLUSTER", "GETKEYSINSLOT", "5", "10"], ["CLUSTER", "NOSUCH"],
    ["CLUSTER"], ["CLUSTER", "INFO", "x"], ["CLUSTER", "MYID", "x"], ["CLUSTER", "SLOTS", "x"],
])
def test_replies_and_errors_match_redis(redis_cluster_node, single_node, argv):
    ref = RawConn(redis_cluster_node.port)
    ours = RawConn(single_node.nodes[1].port)
    try:
        assert ours.call(*argv).raw == ref.call(*argv).raw
    finally:
        ref.close()
        ours.close()


def test_single_node_answers_like_a_one_node_redis_cluster(redis_cluster_node, single_node):
    ref = redis.Redis(port=redis_cluster_node.port, protocol=3)
    ours = single_node.nodes[1].client(protocol=3)
    (theirs,), (mine,) = ref.execute_command("CLUSTER SLOTS"), ours.execute_command("CLUSTER SLOTS")
    assert theirs[:2] == mine[:2] == [0, 16383]
    assert mine[2][1] == single_node.nodes[1].port and mine[2][2] == ours.execute_command("CLUSTER MYID")
    assert [type(x) for x in mine[2]] == [type(x) for x in theirs[2]]
    ref_info = ref.execute_command("CLUSTER INFO")
    our_info = ours.execute_command("CLUSTER INFO")
    for field in ("cluster_state", "cluster_slots_assigned", "cluster_slots_ok", "cluster_known_nodes",
                  "cluster_size"):
        assert field in our_info and our_info[field] == ref_info[field], field


def test_every_node_sees_one_shard_mastered_by_the_leader(three_nodes):
    leader = three_nodes.leader()
    ids = {}
    for nid, nd in three_nodes.nodes.items():
        r = nd.client()
        ids[nid] = r.execute_command("CLUSTER MYID").decode()
        slots = r.execute_command("CLUSTER SLOTS")
        assert len(slots) == 1 and slots[0][:2] == [0, 16383]
        assert slots[0][2][1] == three_nodes.nodes[leader].port
        assert sorted(n[1] for n in slots[0][2:]) == sorted(n.port for n in three_nodes.nodes.values())
        info = r.execute_command("CLUSTER INFO")
        assert info["cluster_state"] == "ok" and info["cluster_known_nodes"] == "3"
        assert info["cluster_size"] == "1" and info["cluster_slots_assigned"] == "16384"
        nodes = _nodes_text(nd.port)
        me = [line for line in nodes.splitlines() if "myself" in line]
        assert len(me) == 1 and me[0].startswith(ids[nid])
        shards = r.execute_command("CLUSTER SHARDS")
        assert len(shards) == 1
    assert len(set(ids.values())) == 3
    # Everybody agrees on everybody's id.
    for nd in three_nodes.nodes.values():
        listed = {line.split()[0] for line in _nodes_text(nd.port).splitlines()}
        assert listed == set(ids.values())


def _nodes_text(port: int) -> str:
    conn = RawConn(port)
    try:
        return conn.call("CLUSTER", "NODES").value.decode()
    finally:
        conn.close()


def test_keys_in_slot(single_node):
    r = single_node.nodes[1].client()
    r.flushall()
    r.mset({"{tag}a": 1, "{tag}b": 2, "other": 3})
    slot = key_slot(b"tag")
    assert r.execute_command("CLUSTER COUNTKEYSINSLOT", slot) == 2
    assert sorted(r.execute_command("CLUSTER GETKEYSINSLOT", slot, 10)) == ["{tag}a", "{tag}b"]
    assert len(r.execute_command("CLUSTER GETKEYSINSLOT", slot, 1)) == 1


@pytest.mark.parametrize("via", ["leader", "follower"])
def test_redis_py_cluster_client_from_any_node(three_nodes, via):
    leader = three_nodes.leader()
    nid = leader if via == "leader" else three_nodes.follower()
    rc = RedisCluster(host="127.0.0.1", port=three_nodes.nodes[nid].port, socket_timeout=15)
    try:
        assert rc.get_primaries()[0].port == three_nodes.nodes[leader].port
        rc.set(f"rc:{via}", "v")
        assert rc.get(f"rc:{via}") == b"v"
        pipe = rc.pipeline()
        for i in range(20):
            pipe.set(f"rc:{i}:{via}", i)
            pipe.incr(f"rc:{i}:{via}")
        assert pipe.execute() == [True, 1, True, 2, True, 3, True, 4, True, 5, True, 6, True, 7, True, 8, True, 9,
                                  True, 10, True, 11, True, 12, True, 13, True, 14, True, 15, True, 16, True, 17,
                                  True, 18, True, 19, True, 20]
        assert rc.mget_nonatomic([f"rc:3:{via}", f"rc:4:{via}"]) == [b"4", b"5"]
        assert rc.mget([f"{{rc}}:{via}", f"{{rc}}:{via}:no"]) == [None, None]
    finally:
        rc.close()


def test_redis_cli_follows_moved_to_the_leader(redirecting_cluster):
    c = redirecting_cluster
    leader, follower = c.leader(), c.follower()
    port = str(c.nodes[follower].port)
    plain = subprocess.run(["redis-cli", "-p", port, "SET", "clikey", "v1"], capture_output=True, text=True,
                           timeout=30)
    assert plain.stdout.strip() == f"MOVED {key_slot(b'clikey')} 127.0.0.1:{c.nodes[leader].port}"
    out = subprocess.run(["redis-cli", "-c", "-p", port, "SET", "clikey", "v2"], capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.strip() == "OK", out
    out = subprocess.run(["redis-cli", "-c", "-p", port, "GET", "clikey"], capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.strip() == "v2"
    assert c.nodes[leader].client().get("clikey") == b"v2"


def test_redis_py_cluster_client_with_a_redirecting_follower(redirecting_cluster):
    c = redirecting_cluster
    rc = RedisCluster(host="127.0.0.1", port=c.nodes[c.follower()].port, socket_timeout=15)
    try:
        rc.set("redir", "x")
        assert rc.get("redir") == b"x"
    finally:
        rc.close()


def test_cluster_state_fails_without_a_leader(tmp_path):
    with Cluster(str(tmp_path), 3) as c:
        c.start()
        leader = c.leader()
        survivor = c.follower()
        for nid in c.nodes:
            if nid != survivor:
                c.kill(nid)
        r = c.nodes[survivor].client(socket_timeout=5)

        def down() -> bool:
            return r.execute_command("CLUSTER INFO")["cluster_state"] == "fail"

        wait_for(down, 20, what="cluster_state:fail")
        assert r.execute_command("CLUSTER SLOTS") == []
        assert leader != survivor


def test_redis_cli_cluster_mode_on_a_forwarding_follower(three_nodes):
    """With the default forward mode the follower answers itself: no redirection needed."""
    port = str(three_nodes.nodes[three_nodes.follower()].port)
    for argv, want in ((["SET", "fwdkey", "v"], "OK"), (["GET", "fwdkey"], "v")):
        out = subprocess.run(["redis-cli", "-c", "-p", port, *argv], capture_output=True, text=True, timeout=30)
        assert out.stdout.strip() == want, out
