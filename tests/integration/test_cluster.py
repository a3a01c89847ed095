"""Three real nodes on loopback: replication, failover, forwarding, redirect, membership."""

import signal
import socket

import hiredis
import pytest
import redis

from tests.integration.cluster import wait_for


def _set_many(r, prefix, n):
    acked = {}
    for i in range(n):
        if r.set(f"{prefix}{i}", str(i)):
            acked[f"{prefix}{i}"] = str(i).encode()
    return acked


def test_writes_on_leader_and_through_follower_survive_leader_kill(cluster_factory):
    c = cluster_factory(3).start()
    lead = c.leader()
    fol = c.follower()
    acked = _set_many(c.nodes[lead].client(), "L", 200)
    acked.update(_set_many(c.nodes[fol].client(), "F", 200))
    c.kill(lead, signal.SIGKILL)
    new = c.leader(timeout=10)
    assert new != lead
    r = c.nodes[new].client()
    for k, v in acked.items():
        assert r.get(k) == v
    acked.update(_set_many(r, "N", 100))
    c.start_node(lead)
    c.wait_serving(lead)
    # The restarted node catches up: a local (READONLY) read on it sees the newest writes.
    ro = c.nodes[lead].client()
    ro.execute_command("READONLY")
    wait_for(lambda: ro.get("N99") == b"99", what="restarted node to catch up")
    for k, v in acked.items():
        assert ro.get(k) == v


def test_pipelined_reads_and_writes_keep_order(cluster_factory):
    c = cluster_factory(3).start()
    for nid in (c.leader(), c.follower()):
        r = c.nodes[nid].client()
        p = r.pipeline(transaction=False)
        for i in range(50):
            p.set("seq", i)
            p.get("seq")
            p.incr("ctr")
        out = p.execute()
        gets = out[1::3]
        assert gets == [str(i).encode() for i in range(50)]
        incs = out[2::3]
        assert incs == sorted(incs) and len(set(incs)) == 50


def test_plain_commands_of_many_follower_clients_share_one_link_to_the_leader(cluster_factory):
    c = cluster_factory(3).start()
    lead, fol = c.leader(), c.follower()
    leader = c.nodes[lead].client()
    before = leader.info("clients")["connected_clients"]
    clients = [c.nodes[fol].client() for _ in range(12)]
    for i, r in enumerate(clients):
        assert r.set(f"shared{i}", i)
        assert r.incr("shared-counter") == i + 1
        assert r.eval("return redis.call('get', KEYS[1])", 1, f"shared{i}") == str(i).encode()
    # One connection from the follower carries them all (each client had its own before).
    assert leader.info("clients")["connected_clients"] == before + 1
    # A transaction and a blocking pop keep state on the leader: they take the client's own link.
    tx = clients[0].pipeline(transaction=True)
    tx.set("tx", "1").incr("tx")
    assert tx.execute() == [True, 2]
    assert clients[1].blpop(["nothing-here"], timeout=0.2) is None
    assert leader.info("clients")["connected_clients"] == before + 3
    assert clients[2].get("tx") == b"2"


def _pipeline(port: int, commands: list[list[str]]) -> list:
    """Send the commands in one write, as they are (redis-py would run WATCH and MULTI on
    their own), and read every reply."""
    reader = hiredis.Reader()
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        out = b"".join(b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in cmd)
                       for cmd in commands)
        sock.sendall(out)
        replies: list = []
        while len(replies) < len(commands):
            reader.feed(sock.recv(65536))
            while (reply := reader.gets()) is not False:
                replies.append(reply)
    return replies


def test_a_follower_client_switching_links_keeps_its_order(cluster_factory):
    # Plain commands go on the shared link, WATCH/MULTI/EXEC on the client's own: sent in
    # one pipeline, the SET must reach the leader before the WATCH (or EXEC would abort), and
    # the GET after EXEC must see the transaction.
    c = cluster_factory(3).start()
    port = c.nodes[c.follower()].port
    for i in range(30):
        out = _pipeline(port, [["SET", "order", f"a{i}"], ["WATCH", "order"], ["MULTI"],
                               ["SET", "order", f"b{i}"], ["EXEC"], ["GET", "order"], ["INCR", "order-count"]])
        assert out[4] == [b"OK"], out
        assert out[5] == f"b{i}".encode()
        assert out[6] == i + 1


def test_redirect_mode_answers_moved(cluster_factory):
    c = cluster_factory(3, extra_args=["--follower-mode", "redirect"]).start()
    lead = c.leader()
    fol = c.follower()
    with pytest.raises(redis.exceptions.MovedError) as exc:
        c.nodes[fol].client().set("foo", "bar")
    assert str(exc.value) == f"12182 127.0.0.1:{c.nodes[lead].port}"  # foo hashes to slot 12182


def test_no_leader_is_clusterdown(cluster_factory):
    c = cluster_factory(3).start()
    lead = c.leader()
    others = [n for n in c.nodes if n != lead]
    for n in others:
        c.kill(n)
    # The leader loses its quorum and steps down (check-quorum); nobody can be elected.
    r = c.nodes[lead].client()
    wait_for(lambda: c.raft_info(lead)["role"] != "leader", timeout=10)
    with pytest.raises((redis.exceptions.ClusterDownError, redis.exceptions.TryAgainError)):
        r.set("x", "1")


def test_membership_add_snapshot_remove_and_remove_leader(cluster_factory):
    c = cluster_factory(3, extra_args=["--snapshot-threshold", "20000"]).start()
    lead = c.leader()
    r = c.nodes[lead].client()
    acked = _set_many(r, "m", 1500)
    wait_for(lambda: int(c.raft_info(lead)["snapshot_index"]) > 0, what="leader to compact its log")
    # A fourth node joins through a follower; it needs the snapshot since the log was compacted.
    fol = c.follower()
    nd4 = c.add_node(4, ["--join", f"127.0.0.1:{c.nodes[fol].port}"] + c.extra_args)
    c.wait_serving(4)
    # A learner's role is "follower" too: it is a voter once the leader counts it (the join
    # promotes it after it has caught up, which can come after the snapshot it reads from).
    wait_for(lambda: c.raft_info(lead)["num_voters"] == "4", timeout=30, what="node 4 to become a voter")
    ro = nd4.client()
    ro.execute_command("READONLY")
    wait_for(lambda: ro.get("m1499") == b"1499", timeout=20, what="node 4 to catch up")
    # Remove a follower, then the leader; the cluster keeps serving.
    victim = next(n for n in (1, 2, 3) if n != lead)
    assert r.execute_command("RAFT.REMOVENODE", victim) in (b"OK", True, "OK")
    c.kill(victim)
    assert r.set("after-remove", "1")
    assert r.execute_command("RAFT.REMOVENODE", lead) in (b"OK", True, "OK")
    survivors = [n for n in c.nodes if n not in (victim, lead)]
    new = c.leader(among=survivors, timeout=15)
    assert new != lead
    r2 = c.nodes[new].client()
    assert r2.get("after-remove") == b"1"
    assert r2.set("after-leader-removed", "1")
    for k, v in list(acked.items())[::50]:
        assert r2.get(k) == v


def test_a_follower_that_cannot_reach_its_leader_says_nothing_was_applied(cluster_factory):
    # Until an election, a follower still relays to the leader it knows. When that leader is
    # gone and the connection is refused, nothing was sent: the client hears -TRYAGAIN (not
    # applied), not -TIMEOUT (may or may not have been).
    c = cluster_factory(3, fast=False).start()
    lead = c.leader()
    fol = c.follower()
    c.kill(lead)
    r = c.nodes[fol].client()
    with pytest.raises(redis.exceptions.TryAgainError, match="could not be reached; the command was not applied"):
        r.set("unreached", "1")
