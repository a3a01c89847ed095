"""A cluster with authentication on: followers relay their clients' commands to the leader
over a link that authenticates as a node; permissions are checked where the client is."""

from __future__ import annotations

import dataclasses

import pytest
import redis

from tests.integration.cluster import Cluster, NodeProc, wait_for


class AuthNodeProc(NodeProc):
    password: str = ""

    def client(self, **kw):
        kw.setdefault("password", self.password)
        return super().client(**kw)


def auth_cluster(base_dir: str, password: str, args: list[str]) -> Cluster:
    c = Cluster(base_dir, 3, extra_args=args)
    for nid, nd in list(c.nodes.items()):
        an = AuthNodeProc(**{f.name: getattr(nd, f.name) for f in dataclasses.fields(NodeProc)})
        an.password = password
        c.nodes[nid] = an
    return c


@pytest.mark.parametrize("secret", ["", "cluster-secret-xyz"], ids=["key-from-requirepass", "key-from-secret"])
def test_follower_forwards_with_auth(tmp_path, secret):
    acl = tmp_path / "users.acl"
    acl.write_text("user app on >apppw ~app:* -@all +get +set +incr +incrby +multi +exec\n")
    args = ["--requirepass", "adminpw", "--aclfile", str(acl)]
    if secret:
        args += ["--cluster-secret", secret]
    c = auth_cluster(str(tmp_path / "c"), "adminpw", args)
    try:
        c.start()
        follower = c.nodes[c.follower()]
        # an authenticated client on a follower: writes and reads are relayed to the leader
        app = redis.Redis(port=follower.port, username="app", password="apppw", socket_timeout=10)
        assert app.set("app:1", "v") is True
        assert app.incr("app:n") == 1
        assert app.get("app:1") == b"v"
        p = app.pipeline(transaction=True)
        p.incr("app:n").incr("app:n")
        assert p.execute() == [2, 3]
        # the follower checks the client's permissions itself: nothing reaches the leader
        with pytest.raises(redis.exceptions.NoPermissionError):
            app.set("other", "x")
        with pytest.raises(redis.exceptions.NoPermissionError):
            app.delete("app:1")
        leader = c.nodes[c.leader()]
        assert leader.client().get("other") is None
        # and an unauthenticated client gets nothing in through a follower either
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=follower.port, socket_timeout=5).set("app:2", "x")
        # the node's own credential is not a password a client can guess from the ACL file
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=leader.port, username="raftis:node", password="adminpw").ping()
    finally:
        c.close()


def test_node_with_wrong_requirepass_cannot_relay(tmp_path):
    """The leader refuses a relay whose credential is wrong (derived from another password):
    the client sees the leader's NOAUTH, never a silently applied write."""
    c = auth_cluster(str(tmp_path / "c"), "pw1", ["--requirepass", "pw1"])
    try:
        c.start()
        leader = c.leader()
        fid = c.follower()
        c.kill(fid)
        c.nodes[fid].extra = ["--requirepass", "pw2"]
        c.nodes[fid].password = "pw2"
        c.start_node(fid)
        c.wait_serving(fid)
        wait_for(lambda: c.raft_info(fid).get("leader_id", "0") != "0", 20, what="the follower to hear the leader")
        f = c.nodes[fid].client()
        with pytest.raises((redis.exceptions.ResponseError, redis.AuthenticationError), match="[Aa]uth|WRONGPASS"):
            f.set("k", "v")
        assert c.nodes[leader].client().get("k") is None
    finally:
        c.close()
