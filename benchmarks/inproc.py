"""The command path's own CPU cost, without the client network, the disk or other processes: a
single-node Raftis runs inside this process, and fake client connections hand it commands
directly (``data_received``) and count the replies it writes. With ``--nodes 3`` the whole
cluster runs in this process, its nodes talking over loopback as usual, and the clients are
on its leader: the figure is then the CPU of all three nodes per command, replication
included.

    python -m benchmarks.inproc --workload get                 # microseconds per GET
    python -m benchmarks.inproc --workload set --profile       # and a cProfile of the path
    python -m benchmarks.inproc --workload get --against ../old-checkout --runs 5
    python -m benchmarks.inproc --workload get --instructions --against ../old-checkout
    python -m benchmarks.inproc --workload set --nodes 3 --clients 10
    python -m benchmarks.inproc --workload set --pipeline 16   # as redis-benchmark -P 16

Each of ``--clients`` connections sends its next command as soon as it has the reply to the
last, as ``redis-benchmark -P 1`` does, ``--rounds`` commands each per pass. With ``--pipeline
P`` it sends ``--rounds`` pipelines of P commands instead, each in one piece once every reply to
the last one is in. For GET, each client's key is SET first, so every GET finds it, as after
redis-benchmark's SETs. The figure is
the main thread's CPU time per command (``time.thread_time``), the least of ``--reps`` timed
passes: the path through parsing, routing, the Raft core, the log and applying, with none of
the kernel's work for client sockets (a cluster's peer sockets are real). Its data
directory is on /dev/shm when there is one, so an fsync costs next to nothing.

With nothing else in the way the clients move in step, so a batch (a log entry, a read
round) holds one command of each: ``--clients`` sets the batch size. A real 3-node cluster
under ``redis-benchmark -c 50`` makes entries of about ten commands, so ``--nodes 3
--clients 10`` is the closer match; in step, though, each commit also goes to the followers
in an append of its own (and is acknowledged), where under a steady load it rides on the
next batch's append.

On this kind of machine a full cluster benchmark moves by 2x between windows; this figure
moves by a few percent (pin it with ``--cpu``), which is what comparing two versions of
the code needs. ``--against DIR`` does that: it runs this file against DIR's code and this
checkout's, alternately, ``--runs`` times each in fresh processes, and prints both.

``--instructions`` counts machine instructions per command instead of timing them: each side
runs twice under valgrind's callgrind, with ``--rounds`` and with three times as many, and the
difference is divided by the commands the extra rounds ran, so start-up and warm-up cancel
out; the nodes' timings (ticks, the leader's hold, the slow log's limit) are stretched by as
much as callgrind slows the code, so they behave as at full speed. The count does not depend
on what else the machine is doing (the same code gives the same figure to within half a
percent), so it shows a change of 1% that no timing here can; it does not see the cost of
cache misses, so a change that moves memory around needs the timing as well. It needs
valgrind and takes about a minute per side.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.inproc", description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", choices=("set", "get"), default="get")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--pipeline", type=int, default=1, metavar="P",
                   help="commands each client sends at once (redis-benchmark -P)")
    p.add_argument("--nodes", type=int, choices=(1, 3), default=1,
                   help="3: a whole cluster in this process, the clients on its leader")
    p.add_argument("--rounds", type=int, default=None,
                   help="rounds per timed pass (default 400; with --instructions, 100)")
    p.add_argument("--reps", type=int, default=9, help="timed passes; the least is reported")
    p.add_argument("--cpu", type=int, default=None, help="pin the process to this CPU")
    p.add_argument("--profile", action="store_true", help="one pass under cProfile; print the top functions")
    p.add_argument("--bytecodes", action="store_true",
                   help="one pass counting the bytecodes each Python function runs; print them per command")
    p.add_argument("--root", default=HERE, help="the checkout whose code runs (default: this one)")
    p.add_argument("--against", metavar="DIR", default=None,
                   help="compare with the checkout in DIR: alternate runs of both, fresh processes")
    p.add_argument("--runs", type=int, default=5, help="with --against: runs of each side")
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    p.add_argument("--instructions", action="store_true",
                   help="count instructions per command under callgrind instead of timing (needs valgrind)")
    p.add_argument("--bare", action="store_true",
                   help="instead of Raftis, the bare server of benchmarks.floor (a dict, hiredis, one log write "
                        "and fdatasync per loop turn): the floor of this harness")
    p.add_argument("--slowdown", type=float, default=1.0,
                   help="stretch the nodes' timings by this factor once they run (--instructions passes 50: "
                        "callgrind runs the code about that much slower)")
    a = p.parse_args(argv)
    if a.rounds is None:
        a.rounds = 100 if a.instructions else 400
    for name in ("clients", "pipeline", "rounds", "reps", "runs"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be at least 1")
    for name in ("root", "against"):
        d = getattr(a, name)
        if d is not None and not os.path.isfile(os.path.join(d, "server", "app.py")):
            p.error(f"--{name} {d}: not a Raftis checkout (no server/app.py there)")
    if a.slowdown <= 0:
        p.error(f"--slowdown must be above 0, not {a.slowdown}")
    if a.bare and (a.nodes != 1 or a.against):
        p.error("--bare is a single server of this process: not with --nodes 3 or --against")
    if a.instructions + a.profile + a.bytecodes > 1:
        p.error("--instructions, --profile and --bytecodes measure different things: give one")
    if a.instructions and shutil.which("valgrind") is None:
        p.error("--instructions needs valgrind (apt-get install valgrind)")
    if a.cpu is not None and a.cpu not in os.sched_getaffinity(0):
        p.error(f"--cpu {a.cpu}: this process may run on CPUs {sorted(os.sched_getaffinity(0))}")
    return a


class FakeTransport:
    """Stands in for a client socket: hands every write to ``on_write``."""

    def __init__(self, on_write: Callable[[bytes], Any]) -> None:
        self.write = on_write

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def _requests(workload: str, n: int) -> list[bytes]:
    if workload == "set":
        return [b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$3\r\nxxx\r\n" % i for i in range(n)]
    return [b"*2\r\n$3\r\nGET\r\n$16\r\nkey:%012d\r\n" % i for i in range(n)]


async def start_single_node(cfg: Any) -> tuple[Any, asyncio.Task]:
    """Run ``serve(cfg)`` (a single node) in this event loop until the node leads; the node
    and the task serving it. Raises serve()'s own error if the node fails to start."""
    from server.app import serve

    loop = asyncio.get_running_loop()
    ready: asyncio.Future = loop.create_future()
    if "on_ready" in inspect.signature(serve).parameters:
        task = loop.create_task(serve(cfg, ready.set_result))
        started: asyncio.Future = ready
    else:  # a checkout from before serve() took on_ready (for --against)
        event = asyncio.Event()
        task = loop.create_task(serve(cfg, event))
        started = loop.create_task(event.wait())
    await asyncio.wait({started, task}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # serve() failed: raise why
        raise RuntimeError("the node stopped before it was ready")
    if not started.done():
        raise RuntimeError("the node was not ready within 30 s")
    if started is ready:
        node = ready.result()
    else:
        from server.node import Node

        node = next(o for o in gc.get_objects() if isinstance(o, Node) and o.cfg is cfg)
    deadline = time.monotonic() + 30
    while node.raft.role.name != "LEADER":
        if time.monotonic() > deadline:
            raise RuntimeError("the node did not become leader within 30 s")
        await asyncio.sleep(0.01)
    return node, task


async def start_cluster(cfgs: list[Any]) -> tuple[Any, list[Any], list[asyncio.Task]]:
    """Run ``serve`` for each of ``cfgs`` (the nodes of one cluster) in this event loop until
    one of them leads; that node, every node, and the tasks serving them."""
    from server.app import serve

    loop = asyncio.get_running_loop()
    found: list[Any] = []
    tasks = [loop.create_task(serve(cfg, found.append)) for cfg in cfgs]
    deadline = time.monotonic() + 60
    while True:
        for task in tasks:
            if task.done():
                task.result()  # serve() failed: raise why
                raise RuntimeError("a node stopped before the cluster was ready")
        leaders = [n for n in found if n.raft.role.name == "LEADER"]
        if len(found) == len(cfgs) and len(leaders) == 1:
            leader = leaders[0]
            if all(n.raft.core.leader_id == leader.cfg.node_id for n in found):
                return leader, found, tasks
        if time.monotonic() > deadline:
            raise RuntimeError("the cluster had no leader within 60 s")
        await asyncio.sleep(0.01)


async def _measure(args: argparse.Namespace) -> dict:
    from benchmarks.processes import free_ports
    from server.config import NodeConfig, PeerAddress
    from server.connection import ClientConnection

    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="raftis-inproc-", dir=base) as d:
        ports = free_ports(2 * args.nodes)  # raft_port 0 would mean port + 10000, maybe taken
        node = None
        nodes: list[Any] = []
        tasks: list[asyncio.Task] = []
        if args.bare:
            from benchmarks.floor import bare_protocol

            new_conn = bare_protocol(d, "loop", asyncio.get_running_loop())
        elif args.nodes == 1:
            cfg = NodeConfig(dir=d, port=ports[0], raft_port=ports[1], bind="127.0.0.1")
            node, task = await start_single_node(cfg)
            nodes, tasks = [node], [task]
        else:
            peers = {i + 1: PeerAddress(i + 1, "127.0.0.1", ports[2 * i + 1], ports[2 * i])
                     for i in range(args.nodes)}
            cfgs = [NodeConfig(node_id=i + 1, dir=os.path.join(d, str(i + 1)), port=ports[2 * i],
                               raft_port=ports[2 * i + 1], bind="127.0.0.1", peers=peers)
                    for i in range(args.nodes)]
            node, nodes, tasks = await start_cluster(cfgs)
        if node is not None:
            def new_conn() -> Any:
                return ClientConnection(node)
        if args.slowdown != 1:
            slow_down(nodes, args.slowdown)
        loop = asyncio.get_running_loop()
        depth = args.pipeline

        def requests(workload: str) -> list[bytes]:
            return [r * depth for r in _requests(workload, args.clients)]

        reqs = requests(args.workload)
        conns: list[Any] = []
        left = [0] * args.clients  # pipelines each client still sends in this pass
        got = [0] * args.clients  # replies each client has to its current pipeline
        counter: list = [0, 0, asyncio.Event()]  # replies written, replies awaited, all in
        # Lines per reply to the requests being sent: "+OK" to a SET, "$3" and the value to a GET.
        lines = [1 if args.workload == "set" else 2]

        def client(i: int) -> Callable[[bytes], None]:
            def on_reply(data: bytes) -> None:
                n = data.count(b"\r\n") // lines[0]
                counter[0] += n
                got[i] += n
                if got[i] < depth:
                    return
                got[i] = 0
                if left[i]:  # as redis-benchmark: the next pipeline once every reply is in
                    left[i] -= 1
                    loop.call_soon(conns[i].data_received, reqs[i])
                elif counter[0] >= counter[1]:
                    counter[2].set()
            return on_reply

        for i in range(args.clients):
            conn = new_conn()
            conn.connection_made(FakeTransport(client(i)))  # type: ignore[arg-type]
            conns.append(conn)

        async def one_pass(rounds: int) -> None:
            """Each client sends ``rounds`` pipelines (of one command without --pipeline), the
            next once every reply to the last is in."""
            counter[2] = asyncio.Event()
            counter[1] = counter[0] + rounds * len(conns) * depth
            for i, conn in enumerate(conns):
                left[i] = rounds - 1
                conn.data_received(reqs[i])
            await asyncio.wait_for(counter[2].wait(), 60 + rounds)

        if args.workload == "get":  # as after redis-benchmark's SETs: every GET finds its key
            reqs[:] = requests("set")
            lines[0] = 1
            await one_pass(1)
            reqs[:] = requests("get")
            lines[0] = 2
        await one_pass(50)  # warm up: the interpreter has specialised
        best = None
        profile_text = ""
        if args.profile:
            import cProfile
            import io
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            await one_pass(args.rounds)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(30)
            profile_text = out.getvalue()
        elif args.bytecodes:
            # Tracing slows every command past the slow log's limit: keep the log out of it.
            thresholds = [n.ops_stats.slowlog.threshold_ns for n in nodes]
            for n in nodes:
                n.ops_stats.slowlog.threshold_ns = -1
            with BytecodeCounter() as counted:
                await one_pass(args.rounds)
            for n, t in zip(nodes, thresholds, strict=True):
                n.ops_stats.slowlog.threshold_ns = t
            profile_text = counted.report(args.rounds * args.clients * depth, args.root)
        for _ in range(args.reps):
            gc.collect()
            c0 = time.thread_time()
            await one_pass(args.rounds)
            spent = time.thread_time() - c0
            best = spent if best is None else min(best, spent)
        processed = node.ops_stats.total_calls if node is not None else counter[0]
        for conn in conns:
            conn.connection_lost(None)
        for n in nodes:
            n.shutdown_requested.set()
        await asyncio.gather(*tasks)
    n = args.rounds * args.clients * depth
    return {"workload": args.workload, "clients": args.clients, "pipeline": depth, "nodes": args.nodes, "bare": args.bare,
            "us_per_command": best / n * 1e6, "commands_processed": processed, "profile": profile_text}


class BytecodeCounter:
    """Counts the bytecodes each Python function runs (and its calls) while active, through
    ``sys.settrace`` with opcode events: a count that, unlike time, does not move with the
    machine, per function, where callgrind's count is per C function of the interpreter."""

    def __init__(self) -> None:
        self.ops: Counter[tuple[str, int, str]] = Counter()
        self.calls: Counter[tuple[str, int, str]] = Counter()

    def _trace(self, frame: Any, event: str, arg: Any) -> Any:
        code = frame.f_code
        key = (code.co_filename, code.co_firstlineno, code.co_name)
        if event == "call":
            frame.f_trace_opcodes = True
            self.calls[key] += 1
        elif event == "opcode":
            self.ops[key] += 1
        return self._trace

    def __enter__(self) -> BytecodeCounter:
        sys.settrace(self._trace)
        return self

    def __exit__(self, *exc: Any) -> None:
        sys.settrace(None)

    def report(self, commands: int, root: str, top: int = 30) -> str:
        prefix = os.path.abspath(root) + os.sep
        lines = [f"{sum(self.ops.values()) / commands:,.0f} bytecodes and "
                 f"{sum(self.calls.values()) / commands:.1f} Python calls per command; by function:",
                 f"{'bytecodes':>10} {'calls':>6}  function"]
        for key, n in self.ops.most_common(top):
            path, line, name = key
            lines.append(f"{n / commands:10.1f} {self.calls[key] / commands:6.2f}  "
                         f"{path.removeprefix(prefix)}:{line} {name}")
        return "\n".join(lines) + "\n"


# The driver's timings, in seconds of the wall clock (see server/driver.py).
_DRIVER_TIMINGS = ("SLOW_FSYNC_SECONDS", "HOLD_STALL_SECONDS", "HOLD_OFF_SECONDS", "HOLD_LAG_SECONDS",
                   "HOLD_MAX_SECONDS")


def slow_down(nodes: list[Any], factor: float) -> None:
    """Stretch every timing of the running ``nodes`` by ``factor`` (their ticks, hence
    heartbeats and elections, the leader's hold, the slow-fsync limit and the slow log's): a
    node run ``factor`` times slower, under callgrind, then does what it does at full speed
    instead of seeing every hold stall and every fsync as slow and logging every command as
    slow."""
    import server.driver as driver

    for name in _DRIVER_TIMINGS:
        if hasattr(driver, name):
            setattr(driver, name, getattr(driver, name) * factor)
    for node in nodes:
        node.raft.driver.tick_ms = int(node.raft.driver.tick_ms * factor)
        node.cfg.command_timeout *= factor
        slowlog = node.ops_stats.slowlog
        if slowlog.threshold_ns > 0:  # else every command, or none, is logged at any speed
            slowlog.threshold_ns = int(slowlog.threshold_ns * factor)


def _nodes(args: argparse.Namespace) -> str:
    if args.bare:
        return "the bare server"
    return "1 node" if args.nodes == 1 else f"{args.nodes} nodes"


def _clients(args: argparse.Namespace) -> str:
    return f"{args.clients} clients" + (f", pipelines of {args.pipeline}" if args.pipeline > 1 else "")


def _run_one(args: argparse.Namespace) -> dict:
    sys.path.insert(0, os.path.abspath(args.root))
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    import logging

    logging.disable(logging.WARNING)
    import uvloop

    return uvloop.run(_measure(args))


def _compare(args: argparse.Namespace) -> int:
    """Alternate fresh processes of this file against DIR's code and this checkout's."""
    sides = {"against": os.path.abspath(args.against), "this": os.path.abspath(args.root)}
    results: dict[str, list[float]] = {k: [] for k in sides}
    base = [sys.executable, os.path.abspath(__file__), "--workload", args.workload, "--clients",
            str(args.clients), "--pipeline", str(args.pipeline), "--nodes", str(args.nodes), "--rounds",
            str(args.rounds), "--reps", str(args.reps), "--json"]
    if args.cpu is not None:
        base += ["--cpu", str(args.cpu)]
    for _ in range(args.runs):
        for side, root in sides.items():
            proc = subprocess.run(base + ["--root", root], capture_output=True, text=True, cwd=root, timeout=600)
            if proc.returncode != 0:
                print(f"the run against {root} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                return 1
            results[side].append(json.loads(proc.stdout.strip().splitlines()[-1])["us_per_command"])
    print(f"{args.workload.upper()}, {_nodes(args)} in-process, {_clients(args)}, "
          f"main-thread CPU per command ({args.runs} runs each, alternating):")
    for side, root in sides.items():
        vals = results[side]
        print(f"  {root:<40} least {min(vals):6.2f} us   median {statistics.median(vals):6.2f} us   "
              f"all {' '.join(f'{v:.2f}' for v in vals)}")
    ratio = min(results["this"]) / min(results["against"])
    print(f"  this / against (least): {ratio:.3f}")
    return 0


# About how much slower code runs under callgrind than natively, here.
CALLGRIND_SLOWDOWN = 50
_COLLECTED = re.compile(rb"Collected : (\d+)")


def _instructions_of(args: argparse.Namespace, root: str, rounds: int) -> int:
    """Instructions one fresh process of this file executes, under callgrind, for ``rounds``
    timed rounds (one pass) on ``root``'s code."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
           os.path.abspath(__file__), "--workload", args.workload, "--clients", str(args.clients),
           "--pipeline", str(args.pipeline), *(["--bare"] if args.bare else []),
           "--nodes", str(args.nodes), "--rounds", str(rounds), "--reps", "1", "--root", root, "--json",
           "--slowdown", str(CALLGRIND_SLOWDOWN)]
    env = dict(os.environ, PYTHONHASHSEED="0")  # the same dict layouts in every run
    proc = subprocess.run(cmd, capture_output=True, cwd=root, env=env, timeout=1800)
    found = _COLLECTED.search(proc.stderr)
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"the run under callgrind on {root} failed:\n"
                           f"{proc.stderr.decode(errors='replace')[-2000:]}")
    return int(found.group(1))


def instructions_per_command(args: argparse.Namespace, root: str) -> float:
    """Instructions per command on ``root``'s code: the difference between a run of
    ``args.rounds`` rounds and one of three times as many, per command of the difference."""
    few = _instructions_of(args, root, args.rounds)
    many = _instructions_of(args, root, 3 * args.rounds)
    return (many - few) / (2 * args.rounds * args.clients * args.pipeline)


def _count(args: argparse.Namespace) -> int:
    sides = [("this", os.path.abspath(args.root))]
    if args.against:
        sides.insert(0, ("against", os.path.abspath(args.against)))
    results = {}
    for side, root in sides:
        try:
            results[side] = instructions_per_command(args, root)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(e, file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps({"workload": args.workload, "clients": args.clients,
                          "instructions_per_command": results}))
        return 0
    print(f"{args.workload.upper()}, {_nodes(args)} in-process, {_clients(args)}, instructions per command "
          f"(callgrind, {args.rounds} against {3 * args.rounds} rounds):")
    for side, root in sides:
        print(f"  {root:<40} {results[side]:10,.0f}")
    if args.against:
        print(f"  this / against: {results['this'] / results['against']:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.instructions:
        return _count(args)
    if args.against:
        return _compare(args)
    res = _run_one(args)
    if args.json:
        print(json.dumps({k: v for k, v in res.items() if k != "profile"}))
        return 0
    if res["profile"]:
        print(res["profile"])
    print(f"{args.workload.upper()}, {_nodes(args)} in-process, {_clients(args)}: main-thread CPU "
          f"{res['us_per_command']:.2f} us per command (least of {args.reps} passes of {args.rounds} rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
