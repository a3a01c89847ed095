"""raftis status: a table of the members, flags for unhealthy ones, exit code."""

import json
import signal

from tests.integration.cluster import free_ports
from tests.ops.conftest import raftis


def test_status_of_a_healthy_then_degraded_cluster(cluster_factory):
    c = cluster_factory(3)
    c.start()
    lead = c.leader()
    c.nodes[lead].client().set("k", "v")
    follower = c.follower()

    out = raftis("status", f"127.0.0.1:{c.nodes[follower].port}")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["id", "address", "role", "term"]
    for col in ("match", "lag", "last contact", "connected", "health"):
        assert col in lines[0]
    rows = {int(line.split()[0]): line for line in lines[2:5]}
    assert set(rows) == {1, 2, 3}
    assert " leader " in rows[lead] and all(" follower " in rows[n] for n in rows if n != lead)
    assert all(row.rstrip().endswith("ok") for row in rows.values())
    assert f"cluster healthy: leader is node {lead}" in out.stdout

    data = json.loads(raftis("status", f"127.0.0.1:{c.nodes[lead].port}", "--json").stdout)
    assert data["healthy"] and data["leader"] == lead and len(data["members"]) == 3

    c.kill(follower, signal.SIGKILL)
    out = raftis("status", f"127.0.0.1:{c.nodes[lead].port}")
    assert out.returncode == 1, out.stdout
    assert "UNHEALTHY" in out.stdout and f"node {follower}: unreachable" in out.stdout

    other = next(n for n in c.nodes if n not in (lead, follower))
    c.kill(lead, signal.SIGKILL)
    out = raftis("status", f"127.0.0.1:{c.nodes[other].port}")
    assert out.returncode == 1 and "no leader" in out.stdout, out.stdout


def test_status_of_an_unreachable_node_exits_2():
    (port,) = free_ports(1)
    out = raftis("status", f"127.0.0.1:{port}")
    assert out.returncode == 2 and "cannot ask" in out.stderr
