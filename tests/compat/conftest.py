"""Servers shared by the compatibility tests: a reference redis-server, one single-node Raftis
and one three-node Raftis cluster (started once per test session).

The clusters use the default Raft timing (1 s election timeout), not the test helper's fast
one: under a heavily loaded CI machine a 300 ms timeout lets followers call elections in the
middle of a run, and the clients would (correctly) see -TRYAGAIN / -CLUSTERDOWN."""

from __future__ import annotations

import pytest

from tests.compat.targets import RedisServer
from tests.integration.cluster import Cluster


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    try:
        srv = RedisServer(str(tmp_path_factory.mktemp("redis-ref")))
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def single_node(tmp_path_factory):
    with Cluster(str(tmp_path_factory.mktemp("raftis-1")), 1, fast=False) as c:
        c.start()
        yield c


@pytest.fixture(scope="session")
def three_nodes(tmp_path_factory):
    with Cluster(str(tmp_path_factory.mktemp("raftis-3")), 3, fast=False) as c:
        c.start()
        yield c


@pytest.fixture(scope="session")
def redirecting_cluster(tmp_path_factory):
    """Three nodes whose followers answer -MOVED instead of relaying."""
    with Cluster(str(tmp_path_factory.mktemp("raftis-3r")), 3, extra_args=["--follower-mode", "redirect"],
                 fast=False) as c:
        c.start()
        yield c


@pytest.fixture(params=["single", "follower"])
def target_port(request, single_node, three_nodes):
    """The port to diff against: the single node, or a follower of the three-node cluster
    (which relays to the leader)."""
    if request.param == "single":
        return single_node.nodes[1].port
    return three_nodes.nodes[three_nodes.follower()].port
