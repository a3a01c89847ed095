"""Where a Raftis node spends its time under one workload: a py-spy flame graph and a text
summary of the top functions.

    python -m benchmarks.profile --workload set --nodes 3          # SET -P1 through the leader
    python -m benchmarks.profile --workload get --nodes 1 -P 16
    python -m benchmarks.profile --workload set --nodes 3 --target follower

The node(s) start as usual; py-spy then attaches to the profiled node's PID (the leader, or a
follower with ``--target follower``) while redis-benchmark sends the load to the leader. Two
samplers run side by side in py-spy's non-blocking mode (the node is never paused; a stack may
now and then be torn): one writes ``flame.svg``, the other ``stacks.txt`` (``--format raw``, one
collapsed stack and its sample count a line), which ``top.txt`` aggregates per function: "self"
counts samples where the function was running, "total" samples where it was anywhere on the
stack. Idle threads are left out, so the figures are shares of on-CPU time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.args import at_least  # noqa: E402
from benchmarks.loadgen import LoadResult, Workload, run_load  # noqa: E402
from benchmarks.processes import ProcessSet, raise_on_sigterm  # noqa: E402
from benchmarks.systems import ROOT, RaftisCluster  # noqa: E402

PY_SPY = "py-spy"
_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_LINENO = re.compile(r":\d+\)$")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n")[0])
    p.add_argument("--workload", choices=("set", "get"), default="set")
    p.add_argument("--nodes", type=int, choices=(1, 3), default=3)
    p.add_argument("--target", choices=("leader", "follower"), default="leader",
                   help="which node py-spy watches (the load always goes to the leader)")
    p.add_argument("-n", "--requests", type=at_least(1), default=50_000)
    p.add_argument("-P", "--pipeline", type=at_least(1), default=1)
    p.add_argument("-c", "--clients", type=at_least(1), default=50)
    p.add_argument("--rate", type=at_least(1), default=100, help="py-spy samples per second")
    p.add_argument("--top", type=at_least(1), default=30, help="functions listed in top.txt")
    p.add_argument("--out-dir", default=None,
                   help="default benchmarks/results/profile-<workload>-<nodes>n-<timestamp>/")
    p.add_argument("--summarise", metavar="STACKS", default=None,
                   help="only print the summary of an existing stacks.txt (py-spy --format raw)")
    a = p.parse_args(argv)
    if a.target == "follower" and a.nodes == 1:
        p.error("--target follower needs --nodes 3")
    return a


def function_of(frame: str) -> str:
    """``apply (server/keyspace.py:120)`` -> ``apply (server/keyspace.py)``: one name per function,
    whatever line it was on."""
    return _LINENO.sub(")", frame)


def file_of(function: str) -> str:
    """``apply (server/keyspace.py)`` -> ``server/keyspace.py``."""
    return function[function.rfind("(") + 1:-1] if function.endswith(")") else function


def _stacks(raw: str) -> list[tuple[list[str], int]]:
    out = []
    for line in raw.splitlines():
        m = _LINE.match(line.strip())
        if m:
            frames = [function_of(f) for f in m["stack"].split(";") if f]
            if frames:
                out.append((frames, int(m["count"])))
    return out


def _trunks(stacks: list[tuple[list[str], int]]) -> dict[str, int]:
    """For each thread's root frame, how many frames every stack under that root shares (the
    ``runpy -> click -> ... -> Runner.run`` chain is on every main-thread sample and says nothing)."""
    trunk: dict[str, list[str]] = {}
    for frames, _ in stacks:
        prev = trunk.get(frames[0])
        if prev is None:
            trunk[frames[0]] = frames
            continue
        n = 0
        while n < min(len(prev), len(frames)) and prev[n] == frames[n]:
            n += 1
        trunk[frames[0]] = prev[:n]
    return {root: len(t) for root, t in trunk.items()}


def aggregate(raw: str) -> tuple[Counter, Counter, Counter, int]:
    """Self and total sample counts per function, and self counts per file, from py-spy's raw
    (collapsed) output. Totals leave out each thread's trunk (frames on all of its stacks)."""
    self_c: Counter = Counter()
    total_c: Counter = Counter()
    file_c: Counter = Counter()
    stacks = _stacks(raw)
    trunks = _trunks(stacks)
    samples = 0
    for frames, count in stacks:
        samples += count
        self_c[frames[-1]] += count
        file_c[file_of(frames[-1])] += count
        # a trunk as long as the stack would leave nothing: keep at least the leaf
        for f in set(frames[min(trunks[frames[0]], len(frames) - 1):]):
            total_c[f] += count
    return self_c, total_c, file_c, samples


def top_report(raw: str, top: int, header: str) -> str:
    self_c, total_c, file_c, samples = aggregate(raw)
    lines = [header, f"{samples} samples (threads py-spy did not see idle)",
             "notes: uvloop's event loop is C code, so self time in asyncio's Runner.run is the loop itself",
             "(epoll, socket reads, callbacks' C parts); transport.write shows as self time of its caller.",
             "In non-blocking mode a thread blocked in a syscall (fdatasync) or waiting on a queue",
             "(ThreadPoolExecutor _worker at its work_queue.get line) may be counted as running.", ""]
    for title, counter in (("self (running in the function itself)", self_c),
                           ("self, per file", file_c),
                           ("total (anywhere on the stack below the thread's common trunk)", total_c)):
        lines += [f"top {top} by {title}", f"{'samples':>8} {'share':>7}  function"]
        for fn, n in counter.most_common(top):
            lines.append(f"{n:>8} {100 * n / max(samples, 1):>6.1f}%  {fn}")
        lines.append("")
    return "\n".join(lines)


def record(pid: int, out_dir: str, rate: int) -> list[subprocess.Popen]:
    base = [PY_SPY, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking"]
    recorders = []
    for fmt, name in (("flamegraph", "flame.svg"), ("raw", "stacks.txt")):
        with open(os.path.join(out_dir, f"py-spy-{fmt}.log"), "wb") as log:
            recorders.append(subprocess.Popen(base + ["--format", fmt, "-o", os.path.join(out_dir, name)],
                                              stdout=subprocess.DEVNULL, stderr=log))
    return recorders


def stop_recorders(recorders: list[subprocess.Popen]) -> None:
    for r in recorders:
        if r.poll() is None:
            r.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    for r in recorders:
        try:
            r.wait(timeout=60)
        except subprocess.TimeoutExpired:
            r.kill()
            r.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.summarise:
        with open(args.summarise) as f:
            print(top_report(f.read(), args.top, args.summarise))
        return 0
    if shutil.which(PY_SPY) is None:
        print("py-spy is needed: pip install py-spy", file=sys.stderr)
        return 2
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = args.out_dir or os.path.join(ROOT, "benchmarks", "results",
                                           f"profile-{args.workload}-{args.nodes}n-{stamp}")
    os.makedirs(out_dir, exist_ok=True)
    raise_on_sigterm()
    root = tempfile.mkdtemp(prefix="raftis-profile-")
    procs = ProcessSet()
    recorders: list[subprocess.Popen] = []
    workload = Workload(args.workload, args.pipeline)
    try:
        cluster = RaftisCluster(procs, root, f"raftis-{args.nodes}", args.nodes).start()
        leader = cluster.leader()
        target = leader if args.target == "leader" else cluster.follower()
        if args.workload == "get":  # give the GETs keys to find, before py-spy is watching
            run_load(leader.port, Workload("set", 16), args.requests, args.clients)
        recorders = record(target.pid, out_dir, args.rate)
        time.sleep(1.0)  # let py-spy attach before the load starts
        result: LoadResult = run_load(leader.port, workload, args.requests, args.clients)
        stop_recorders(recorders)
    finally:
        stop_recorders(recorders)
        procs.close()
        shutil.rmtree(root, ignore_errors=True)
    with open(os.path.join(out_dir, "stacks.txt")) as f:
        raw = f.read()
    header = (f"{workload.label} -c {args.clients} -n {args.requests} against a {args.nodes}-node cluster, "
              f"profiling the {args.target}: {result.ops:,.0f} ops/s, p50 {result.p50_ms:.3f} ms, "
              f"p99 {result.p99_ms:.3f} ms (under py-spy)")
    report = top_report(raw, args.top, header)
    with open(os.path.join(out_dir, "top.txt"), "w") as f:
        f.write(report)
    print(report)
    print(f"flame graph: {os.path.join(out_dir, 'flame.svg')}\nsummary: {os.path.join(out_dir, 'top.txt')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
