"""The floor on this machine: what a Python server that does almost nothing per command costs.

    python -m benchmarks.floor                 # SET and GET -P1 -c 50, 100,000 requests, 3 repeats
    python -m benchmarks.floor -n 20000 --repeat 1 --tests set

Side by side, in one run, with ``redis-benchmark``: redis-server with no persistence and with
``appendfsync always``, Raftis (one node and three), and bare servers built from the same
parts as Raftis (uvloop, ``asyncio.Protocol``, hiredis):

- ``bare-loop`` and ``bare-thread`` keep a dict, answer SET and GET only, and make each loop
  turn's SETs durable with one log write and one ``fdatasync`` before they answer them;
  ``bare-loop`` does that on the event loop's thread, ``bare-thread`` hands the fdatasync to
  a thread and answers when it is done.
- ``bare-3`` is three processes that do the network and disk work of a 3-node cluster and
  none of its logic (``benchmarks.bare_cluster``): a SET is answered once both followers
  have it on disk, a GET after one round trip to a follower.

For each: ops/s, p50, and the CPU per operation of the server's processes (user and system,
every thread, all three processes of a cluster), with the ratio to both redis-servers. What
Raftis costs above the bare servers is its own Python: parsing and checking, routing, the
Raft core, the log record, applying, the reply and the stats.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.args import at_least  # noqa: E402
from benchmarks.bare_cluster import BareCluster, bare_command  # noqa: E402
from benchmarks.cpu import cpu_total_seconds  # noqa: E402
from benchmarks.loadgen import Workload, run_load  # noqa: E402
from benchmarks.processes import ProcessSet, free_ports, raise_on_sigterm  # noqa: E402
from benchmarks.systems import RaftisCluster, Server, redis_server  # noqa: E402

MODES = ("loop", "thread")


# -- the bare server (run in its own process: python -m benchmarks.floor --serve ...) -----------

def bare_protocol(directory: str, mode: str, loop: asyncio.AbstractEventLoop) -> type[asyncio.Protocol]:
    """The bare server's connection class: a dict, and a log in ``directory`` written once
    per loop turn with one fdatasync (``mode`` "loop": on the loop thread; "thread": on a
    thread) before the SETs of that turn are answered. ``benchmarks.inproc --bare`` drives
    it with fake connections."""
    from concurrent.futures import ThreadPoolExecutor

    import hiredis

    data: dict[bytes, bytes] = {}
    fd = os.open(os.path.join(directory, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    pool = ThreadPoolExecutor(max_workers=1)
    state: dict = {"pending": [], "log": [], "scheduled": False, "writing": False}

    def flush_turn() -> None:
        state["scheduled"] = False
        if state["writing"] or not state["pending"]:
            return
        pending, records = state["pending"], state["log"]
        state["pending"], state["log"] = [], []
        for conn, _ in pending:
            conn.held = None  # later replies go with the next batch
        os.write(fd, b"".join(records))
        if mode == "loop":
            os.fdatasync(fd)
            answer(pending)
            return
        state["writing"] = True
        fut = loop.run_in_executor(pool, os.fdatasync, fd)
        fut.add_done_callback(lambda _f: synced(pending))

    def synced(pending: list) -> None:
        state["writing"] = False
        answer(pending)
        if state["pending"]:
            flush_turn()

    def answer(pending: list) -> None:
        for conn, replies in pending:
            conn.waiting -= 1
            if not conn.transport.is_closing():
                conn.transport.write(b"".join(replies))

    class Bare(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.reader = hiredis.Reader()
            self.held: list[bytes] | None = None  # replies going out with the next batch
            self.waiting = 0  # batches holding replies of this connection

        def data_received(self, chunk: bytes) -> None:
            self.reader.feed(chunk)
            out = []
            while (cmd := self.reader.gets()) is not False:
                reply, is_set = bare_command(data, state["log"], cmd)
                if is_set or self.waiting:
                    # A SET is answered once durable; anything after it waits its turn.
                    if self.held is None:
                        self.held = []
                        self.waiting += 1
                        state["pending"].append((self, self.held))
                        if not state["scheduled"]:
                            state["scheduled"] = True
                            loop.call_soon(flush_turn)
                    self.held.append(reply)
                else:
                    out.append(reply)
            if out:
                self.transport.write(b"".join(out))

    return Bare


def serve_bare(port: int, directory: str, mode: str) -> None:
    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(bare_protocol(directory, mode, loop), "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    uvloop.run(main())


def bare_server(procs: ProcessSet, root: str, mode: str) -> Server:
    (port,) = free_ports(1)
    d = os.path.join(root, f"bare-{mode}")
    cmd = [sys.executable, "-m", "benchmarks.floor", "--serve", str(port), d, mode]
    return Server(f"bare-{mode}", port, d, cmd, procs)


# -- the comparison ----------------------------------------------------------------------------

REDIS_NONE = "redis (no persistence)"
REDIS_AOF = "redis (appendfsync always)"


def measure(pids: list[int], port: int, workload: Workload, requests: int,
            clients: int) -> tuple[float, float, float]:
    """ops/s, p50 ms and the CPU microseconds per operation of the processes ``pids``."""
    before = [cpu_total_seconds(pid) for pid in pids]
    result = run_load(port, workload, requests, clients)
    after = [cpu_total_seconds(pid) for pid in pids]
    cpu = sum(a - b for a, b in zip(after, before, strict=True))
    return result.ops, result.p50_ms, cpu * 1e6 / requests


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__.split("\n")[0])
    p.add_argument("-n", "--requests", type=at_least(1), default=100_000)
    p.add_argument("-c", "--clients", type=at_least(1), default=50)
    p.add_argument("--repeat", type=at_least(1), default=3)
    p.add_argument("--tests", default="set,get", help="comma-separated: set, get")
    p.add_argument("--serve", nargs=3, metavar=("PORT", "DIR", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.tests = [t.strip().lower() for t in args.tests.split(",") if t.strip()]
    if not args.tests or any(t not in ("set", "get") for t in args.tests):
        p.error("--tests takes set, get or both")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        port, directory, mode = args.serve
        if mode not in MODES:
            raise SystemExit(f"mode must be one of {MODES}")
        serve_bare(int(port), directory, mode)
        return 0
    raise_on_sigterm()
    root = tempfile.mkdtemp(prefix="raftis-floor-")
    procs = ProcessSet()
    workloads = [Workload(t, 1) for t in args.tests]
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    try:
        servers = [redis_server(procs, root, REDIS_NONE, aof=False),
                   redis_server(procs, root, REDIS_AOF, aof=True),
                   bare_server(procs, root, "loop"), bare_server(procs, root, "thread")]
        for srv in servers:
            srv.start()
        for srv in servers:
            srv.wait_ping()
        bare3 = BareCluster(procs, root).start()
        one = RaftisCluster(procs, root, "raftis 1 node", 1).start()
        three = RaftisCluster(procs, root, "raftis 3 nodes", 3).start()
        leader = three.leader()
        # (name, pids whose CPU counts, port)
        targets = [(srv.name, [srv.pid], srv.port) for srv in servers]
        targets += [("raftis 1 node", [one.leader().pid], one.leader().port),
                    ("bare-3", [s.pid for s in bare3.servers], bare3.leader.port),
                    ("raftis 3 nodes", [s.pid for s in three.nodes.values()], leader.port)]
        for r in range(args.repeat):
            print(f"repeat {r + 1}/{args.repeat}", flush=True)
            for workload in workloads:
                for name, pids, port in targets:
                    res = measure(pids, port, workload, args.requests, args.clients)
                    results.setdefault((workload.label, name), []).append(res)
                    print(f"  {workload.label:<7} {name:<28} {res[0]:>9,.0f} ops/s  p50 {res[1]:.3f} ms  "
                          f"{res[2]:6.1f} us/op", flush=True)
    finally:
        procs.close()
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n-c {args.clients} -n {args.requests}, medians of {args.repeat}; CPU is user + system time "
          "per operation of the server's processes")
    print(f"{'workload':<8} {'server':<28} {'ops/s':>9} {'p50 ms':>8} {'us/op':>7} {'vs aof':>7} {'vs none':>8}")
    for workload in workloads:
        med = {name: tuple(statistics.median(r[i] for r in rows) for i in range(3))
               for (label, name), rows in results.items() if label == workload.label}
        aof, none = med[REDIS_AOF][0], med[REDIS_NONE][0]
        for name, (ops, p50, cpu) in med.items():
            print(f"{workload.label:<8} {name:<28} {ops:>9,.0f} {p50:>8.3f} {cpu:>7.1f} {ops / aof:>7.2f} "
                  f"{ops / none:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
