"""Raftis against redis-server, in one invocation: throughput, latency and keyspace costs.

    python -m benchmarks.run                    # default: -n 100000, --repeat 3, --keys 1000000
    python -m benchmarks.run --quick            # small sizes, one repeat: a minute or so
    python benchmarks/run.py -n 50000 --keys 200000 --out /tmp/r.json

Every server runs on this machine, beside the load generator, so absolute numbers move with
whatever else the machine does; the ratios (Raftis / redis-server, measured in the same repeat)
are the figures to read. Results go to the screen and to a JSON file (``--out``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import keyspace_costs, matrix  # noqa: E402
from benchmarks.args import at_least  # noqa: E402
from benchmarks.loadgen import REDIS_BENCHMARK, run_load  # noqa: E402
from benchmarks.processes import ProcessSet, raise_on_sigterm  # noqa: E402
from benchmarks.report import keyspace_table, meets_memory_target, summarise, table  # noqa: E402
from benchmarks.systems import ROOT, RaftisCluster, Server, redis_server  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("-n", "--requests", type=at_least(1), default=None, help="requests per load (default 100000)")
    p.add_argument("-c", "--clients", type=at_least(1), default=50, help="redis-benchmark connections (default 50)")
    p.add_argument("--repeat", type=at_least(1), default=None, help="run the matrix this many times; report medians "
                   "(default 3)")
    p.add_argument("--keys", type=at_least(0), default=None, help="keys for the memory/snapshot/restart part "
                   "(default 1000000; 0 skips it)")
    p.add_argument("--quick", action="store_true", help="small sizes for a fast look: -n 2000 --keys 20000 "
                   "--repeat 1 unless given")
    p.add_argument("--out", default=None, help="JSON results file (default benchmarks/results/<timestamp>.json)")
    p.add_argument("--tmp", default=None, help="where the servers' data directories go (default: a new temp dir)")
    a = p.parse_args(argv)
    quick = {"requests": 2000, "keys": 20_000, "repeat": 1}
    full = {"requests": 100_000, "keys": 1_000_000, "repeat": 3}
    for k, v in (quick if a.quick else full).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    return a


def _tool_version(cmd: str) -> str:
    try:
        return subprocess.run([cmd, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "missing"


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except OSError:
        return ""


def run_matrix(targets: dict[str, Server], requests: int, clients: int, repeat: int,
               log: Callable[[str], None]) -> dict[str, dict]:
    """One pass over every row, in ``matrix.schedule(repeat)``'s order (each row beside its
    baseline); one server is under load at a time."""
    results: dict[str, dict] = {}
    for row in matrix.schedule(repeat):
        srv = targets[row.system]
        srv.check_alive()
        res = run_load(srv.port, row.workload, requests, clients)
        results[row.id] = res.to_json()
        log(f"  {row.workload.label:<8} {row.system:<30} {res.ops:>10,.0f} ops/s  p50 {res.p50_ms:.3f} ms  "
            f"p99 {res.p99_ms:.3f} ms")
    return results


def start_targets(procs: ProcessSet, root: str, requests: int) -> dict[str, Server]:
    redis_plain = redis_server(procs, root, "redis-plain", aof=False)
    redis_aof = redis_server(procs, root, "redis-aof", aof=True)
    for srv in (redis_plain, redis_aof):
        srv.start()
    cluster = RaftisCluster(procs, root, "raftis-3", 3).start()
    leased = RaftisCluster(procs, root, "raftis-3-lease", 3, ("--lease-reads",)).start()
    single = RaftisCluster(procs, root, "raftis-1", 1).start()
    for srv in (redis_plain, redis_aof):
        srv.wait_ping()
    # The lease cluster only runs the GET rows: give it the keys the SET rows give the others.
    run_load(leased.leader().port, matrix.SET_P16, requests)
    return {
        matrix.REDIS: redis_plain,
        matrix.REDIS_AOF: redis_aof,
        matrix.RAFTIS_3: cluster.leader(),
        matrix.RAFTIS_3_FOLLOWER: cluster.follower(),
        matrix.RAFTIS_3_LEASE: leased.leader(),
        matrix.RAFTIS_1: single.leader(),
    }


def default_out() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return os.path.join(ROOT, "benchmarks", "results", f"{stamp}.json")


def _write_json(path: str, result: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=2)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out or default_out()
    if shutil.which(REDIS_BENCHMARK) is None or shutil.which("redis-server") is None:
        print("redis-server and redis-benchmark are needed (Debian: apt-get install redis-server redis-tools)",
              file=sys.stderr)
        return 2
    raise_on_sigterm()
    root = tempfile.mkdtemp(prefix="raftis-bench-", dir=args.tmp)
    started = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {msg}", flush=True)

    result: dict = {
        "meta": {
            "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "requests": args.requests, "clients": args.clients, "repeat": args.repeat, "keys": args.keys,
            "cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0],
            "redis_benchmark": _tool_version(REDIS_BENCHMARK), "redis_server": _tool_version("redis-server"),
            "commit": _git_commit(),
        },
    }
    procs = ProcessSet()
    try:
        log(f"servers in {root}")
        targets = start_targets(procs, root, args.requests)
        runs: list[dict] = []
        result["runs"] = runs
        for i in range(args.repeat):
            log(f"repeat {i + 1}/{args.repeat}")
            runs.append(run_matrix(targets, args.requests, args.clients, i, log))
        procs.close()  # the matrix servers are done: free the CPU and memory for the keyspace part
        result["rows"] = summarise(matrix.rows(), runs)
        if args.keys > 0:
            log(f"keyspace costs at {args.keys:,} keys")
            result["keyspace"] = keyspace = keyspace_costs.measure(procs, root, args.keys, args.repeat)
            keyspace["memory_target"] = matrix.MEMORY_TARGET
            keyspace["meets_memory_target"] = meets_memory_target(keyspace)
        result["meta"]["seconds"] = time.perf_counter() - started
    except BaseException as e:  # keep what was measured before the failure (or Ctrl-C)
        result["error"] = repr(e)
        _write_json(out, result)
        print(f"partial results: {out}", file=sys.stderr)
        raise
    finally:
        procs.close()
        shutil.rmtree(root, ignore_errors=True)
    _write_json(out, result)
    print(f"\n{args.repeat} repeat(s), -n {args.requests} -c {args.clients}; ops/s, p50, p99 are medians; "
          "ratio = median over repeats of (ops/s / ops/s of the 'vs' row);\n"
          "latency is per request as redis-benchmark sees it (with -P16, per pipeline of 16)")
    print(table(result["rows"]))
    if "keyspace" in result:
        print(keyspace_table(result["keyspace"]))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers are already gone (ProcessSet.close in main's finally)
        print("interrupted", file=sys.stderr)
        sys.exit(130)
