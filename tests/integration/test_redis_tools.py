"""Debian's redis-cli and redis-benchmark against a three-node cluster."""

import shutil
import subprocess

import pytest

from tests.integration.cluster import wait_for

REDIS_CLI = shutil.which("redis-cli")
REDIS_BENCHMARK = shutil.which("redis-benchmark")


def _cli(port, *args, stdin=None):
    assert REDIS_CLI, "redis-cli is missing: install Debian's redis-tools (make test does)"
    p = subprocess.run([REDIS_CLI, "-p", str(port), *args], input=stdin, capture_output=True, text=True, timeout=30)
    return p.stdout.strip()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from tests.integration.cluster import Cluster

    c = Cluster(str(tmp_path_factory.mktemp("tools")), 3).start()
    yield c
    c.close()


def test_redis_cli_on_leader_and_follower(cluster):
    lead = cluster.leader()
    fol = cluster.follower()
    for nid in (lead, fol):
        port = cluster.nodes[nid].port
        assert _cli(port, "ping") == "PONG"
        assert _cli(port, "set", f"cli:{nid}", "v") == "OK"
        assert _cli(port, "get", f"cli:{nid}") == "v"
        assert _cli(port, "incrby", f"cli:n{nid}", "5") == "5"
        assert _cli(port, "rpush", f"cli:l{nid}", "a", "b") == "2"
        assert _cli(port, "lrange", f"cli:l{nid}", "0", "-1") == "a\nb"
        assert _cli(port, "hset", f"cli:h{nid}", "f", "1") == "1"
        assert _cli(port, "exists", f"cli:{nid}", "nope") == "1"
        assert "ERR unknown command" in _cli(port, "nosuchcmd")
        assert "wrong number of arguments" in _cli(port, "get")
        assert "role:" in _cli(port, "raft.info")
        assert _cli(port, "dbsize").isdigit()
        # Pipe mode: many commands on one connection.
        out = _cli(port, stdin="".join(f"SET pipe:{nid}:{i} {i}\n" for i in range(50)) + f"GET pipe:{nid}:49\n")
        assert out.splitlines()[-1] == "49"


def test_redis_benchmark_completes_without_errors(cluster):
    assert REDIS_BENCHMARK, "redis-benchmark is missing: install Debian's redis-tools (make test does)"
    lead = cluster.leader()
    p = subprocess.run([REDIS_BENCHMARK, "-p", str(cluster.nodes[lead].port), "-t", "set,get", "-n", "20000",
                        "-c", "20", "--csv"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = [line.split(",") for line in p.stdout.strip().splitlines()[1:]]
    tests = {r[0].strip('"'): float(r[1].strip('"')) for r in rows}
    assert set(tests) == {"SET", "GET"}
    assert all(v > 0 for v in tests.values())
    assert "ERR" not in p.stdout + p.stderr


def test_expiry_is_decided_once_and_reaches_followers(cluster):
    lead = cluster.leader()
    fol = cluster.follower()
    r = cluster.nodes[lead].client(db=3)
    # exp:a last, and with time to spare: the follower must be seen holding both keys before
    # the deletion reaches it, however long a loaded machine takes to commit the SETs.
    r.set("exp:b", "1", ex=100)
    r.set("exp:a", "1", px=2000)
    ro = cluster.nodes[fol].client(db=3)
    ro.execute_command("READONLY")
    wait_for(lambda: ro.dbsize() == 2, timeout=5, what="follower to apply both writes")
    assert ro.pttl("exp:b") > 0
    # DBSIZE counts keys still stored, expired or not: it drops on the follower only once the
    # deletion the leader proposed has been applied there.
    wait_for(lambda: ro.dbsize() == 1, timeout=10, what="the expiry to be applied on the follower")
    assert r.get("exp:a") is None and r.exists("exp:b") == 1
