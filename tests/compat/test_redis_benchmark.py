"""redis-benchmark's default test list against a three-node cluster (through the leader and
through a follower) completes without a single error, every test at a positive rate.

The default suite runs a short pass through a follower; the full ``-n 20000 -c 20`` runs are
marked slow (every write waits for an fsync'd majority, so 16 tests of 20000 requests take
minutes)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess

import pytest

from server.commands import COMMANDS

# redis-benchmark's -t names and the command each needs (its default list, in its order).
# redis-benchmark 7.0 has no XADD test (7.2 adds one), so streams are not in it.
TESTS = [("ping", "ping"), ("set", "set"), ("get", "get"), ("incr", "incr"), ("lpush", "lpush"),
         ("rpush", "rpush"), ("lpop", "lpop"), ("rpop", "rpop"), ("sadd", "sadd"), ("hset", "hset"),
         ("spop", "spop"), ("zadd", "zadd"), ("zpopmin", "zpopmin"), ("lrange", "lrange"), ("mset", "mset")]


def supported_tests() -> list[str]:
    return [name for name, cmd in TESTS if cmd.encode() in COMMANDS]


def run_benchmark(port: int, requests: int, clients: int = 20) -> dict[str, float]:
    exe = shutil.which("redis-benchmark")
    if exe is None:
        pytest.fail("redis-benchmark is not installed (apt-get install redis-tools, or `make deps`)", pytrace=False)
    tests = supported_tests()
    proc = subprocess.run([exe, "-p", str(port), "-n", str(requests), "-c", str(clients), "--csv",
                           "-t", ",".join(tests)], capture_output=True, text=True, timeout=1700)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    assert rows and rows[0][:2] == ["test", "rps"], proc.stdout[:500]
    errors = [line for line in lines + proc.stderr.splitlines() if "error" in line.lower()]
    assert not errors, errors[:5]
    results = {row[0]: float(row[1]) for row in rows[1:]}
    assert all(rate > 0 for rate in results.values()), results
    # One row per test at least (PING gives two, LRANGE four plus its LPUSH).
    names = {n.split("_")[0].split(" ")[0].lower() for n in results}
    for t in tests:
        assert t in names, (t, sorted(results))
    return results


def _port(cluster, via: str) -> int:
    leader = cluster.leader()
    return cluster.nodes[leader if via == "leader" else cluster.follower()].port


@pytest.mark.timeout(240)
def test_default_tests_through_a_follower(three_nodes):
    results = run_benchmark(_port(three_nodes, "follower"), 1000)
    print(", ".join(f"{k}={v:.0f}/s" for k, v in results.items()))


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("via", ["leader", "follower"])
def test_default_tests_full_run(three_nodes, via):
    results = run_benchmark(_port(three_nodes, via), 20000)
    print(via, ", ".join(f"{k}={v:.0f}/s" for k, v in results.items()))
