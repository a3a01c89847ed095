"""Where the CPU goes: per-process CPU time (user and system) of each Raftis node, and of
redis-benchmark, during one workload, as microseconds per operation.

    python -m benchmarks.cpu --workload set --nodes 3

On a 2-core machine every process shares the same two cores, so the sum of the per-operation
figures bounds the throughput: 2 cores / (sum of microseconds per operation). The node figures
include the storage thread (WAL writes, fdatasync) and the kernel work the process asked for.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.args import at_least  # noqa: E402
from benchmarks.loadgen import REDIS_BENCHMARK, Workload, run_load  # noqa: E402
from benchmarks.processes import ProcessSet, raise_on_sigterm  # noqa: E402
from benchmarks.systems import RaftisCluster  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of every thread of ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def cpu_total_seconds(pid: int) -> float:
    """User plus system CPU seconds of every thread of ``pid`` so far, to the nanosecond where
    the kernel lets us read the process's CPU clock (``/proc`` counts in ticks of 10 ms, which a
    short load on a fast machine can round to nothing)."""
    try:
        return time.clock_gettime(((~pid) << 3) | 2)  # Linux: MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
    except OSError:
        return sum(cpu_seconds(pid))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.cpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", choices=["set", "get"], default="set")
    p.add_argument("--nodes", type=int, choices=[1, 3], default=3)
    p.add_argument("-n", "--requests", type=at_least(1), default=100_000)
    p.add_argument("-P", "--pipeline", type=at_least(1), default=1)
    p.add_argument("-c", "--clients", type=at_least(1), default=50)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_on_sigterm()
    root = tempfile.mkdtemp(prefix="raftis-cpu-")
    procs = ProcessSet()
    workload = Workload(args.workload, args.pipeline)
    try:
        cluster = RaftisCluster(procs, root, f"raftis-{args.nodes}", args.nodes).start()
        leader = cluster.leader()
        run_load(leader.port, Workload("set", 16), min(args.requests, 50_000), args.clients)  # warm up, and keys
        before = {nid: cpu_seconds(node.pid) for nid, node in cluster.nodes.items()}
        bench0 = os.times()
        t0 = time.perf_counter()
        result = run_load(leader.port, workload, args.requests, args.clients)
        wall = time.perf_counter() - t0
        bench1 = os.times()
        after = {nid: cpu_seconds(node.pid) for nid, node in cluster.nodes.items()}
    finally:
        procs.close()
        shutil.rmtree(root, ignore_errors=True)
    n = args.requests
    print(f"{workload.label} -c {args.clients} -n {n} on {args.nodes} node(s): {result.ops:,.0f} ops/s, "
          f"p50 {result.p50_ms:.3f} ms, {wall:.1f} s")
    print(f"{'process':<24} {'user s':>8} {'sys s':>8} {'% core':>7} {'us/op':>7}")
    total = 0.0
    rows = []
    for nid in sorted(after):
        u = after[nid][0] - before[nid][0]
        s = after[nid][1] - before[nid][1]
        role = "leader" if cluster.nodes[nid] is leader else "follower"
        rows.append((f"node {nid} ({role})", u, s))
    rows.append((os.path.basename(REDIS_BENCHMARK), bench1.children_user - bench0.children_user,
                 bench1.children_system - bench0.children_system))
    for name, u, s in rows:
        total += (u + s) * 1e6 / n
        print(f"{name:<24} {u:>8.2f} {s:>8.2f} {100 * (u + s) / wall:>6.0f}% {(u + s) * 1e6 / n:>7.1f}")
    cores = os.cpu_count() or 1
    bound = f"at most {cores * 1e6 / total:,.0f} ops/s" if total else "no bound (too short to measure: use a larger -n)"
    print(f"{'all':<24} {'':>8} {'':>8} {'':>7} {total:>7.1f}   -> {bound} on {cores} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
