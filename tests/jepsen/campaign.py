"""One fault-injection run: start a cluster, run workloads under a nemesis, heal, check.

Phases, as in Jepsen and TigerBeetle's VOPR: a safety phase with faults; a healing phase
in which every fault is undone and the cluster must serve again (liveness); final reads of
every key through the leader; RAFT.CHECK (every member's data the same at one log entry);
then the checkers. The run's verdict is invalid if any
checker finds a violation, a node crashed (exited on its own, or wrote a Traceback), or
the healed cluster did not serve. Everything the run did is in its report directory.
"""

from __future__ import annotations

import glob
import os
import random
import shutil
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .checker.counter import check_counter
from .checker.history import Op
from .checker.linearizable import check_linearizable
from .checker.list_append import check_list_append
from .cluster import JepsenCluster, wait_for
from .counter_checker import check_counter as check_counter_replies
from .list_checker import check_list_append as check_list_order
from .nemesis import Nemesis
from .proxy import ProxyFabric
from .report import write_report
from .workloads import WORKLOADS, Call, Recorder, Worker

FINAL_PROCESS = 100000  # process ids of the final reads


@dataclass
class CampaignConfig:
    seed: int = 1
    duration: float = 60.0
    nodes: int = 3
    workloads: list[str] = field(default_factory=lambda: ["register", "list", "counter"])
    nemeses: list[str] = field(default_factory=list)
    report_dir: str = ""
    clients_per_workload: int = 3
    snapshot_threshold: int = 16384
    unsafe_local_reads: bool = False
    lease_reads: bool = False  # the nodes run with --lease-reads
    fault_seconds: tuple[float, float] = (2.0, 5.0)
    quiet_seconds: tuple[float, float] = (1.0, 2.5)
    client_timeout: float = 5.0
    check_seconds: float = 120.0
    keep_data: bool = False
    cycles: int = 0  # if set: exactly this many passes over the nemeses, ignoring `duration`
    overlap: float = 0.0  # probability that two faults (network + process/admin) run together


@dataclass
class CampaignResult:
    config: CampaignConfig
    report_dir: str
    valid: bool
    verdicts: dict[str, Any]
    op_counts: dict[str, dict[str, int]]
    fault_counts: dict[str, int]
    crashes: list[dict[str, Any]]
    problems: list[str]
    elapsed: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    lease_reads: int = 0  # reads the live nodes served under a read lease (INFO raft), at the end

    def summary(self) -> str:
        lines = [f"seed {self.config.seed}, {self.config.nodes} nodes, {self.elapsed:.0f}s: "
                 f"{'VALID' if self.valid else 'INVALID'}   report: {self.report_dir}"]
        for wl, counts in self.op_counts.items():
            lines.append(f"  {wl:9s} ops " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        lines.append("  errors   " + ", ".join(f"{k}: {v}" for k, v in list(self.errors.items())[:8]))
        lines.append("  faults   " + " ".join(f"{k}={v}" for k, v in sorted(self.fault_counts.items())))
        for wl, v in self.verdicts.items():
            lines.append(f"  {wl:9s} valid={v['valid']}" + ("" if v["valid"] is True else "\n" + _indent(v["explain"])))
        for c in self.crashes:
            lines.append(f"  CRASH node {c['node']}: {c.get('exit_code', '')} {c.get('detail', '')}")
        for p in self.problems:
            lines.append(f"  PROBLEM {p}")
        return "\n".join(lines)


def _indent(text: str, n: int = 4) -> str:
    return "\n".join(" " * n + line for line in text.splitlines()[:60])


def default_report_dir(seed: int, label: str = "") -> str:
    """``$RAFTIS_JEPSEN_REPORTS`` (default ``reports/jepsen``)/<UTC time>-<seed>[-label]."""
    root = os.environ.get("RAFTIS_JEPSEN_REPORTS", os.path.join("reports", "jepsen"))
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return os.path.join(root, f"{stamp}-{seed}" + (f"-{label}" if label else ""))


def run_campaign(cfg: CampaignConfig) -> CampaignResult:
    report_dir = os.path.abspath(cfg.report_dir or default_report_dir(cfg.seed))
    os.makedirs(report_dir, exist_ok=True)
    rng = random.Random(cfg.seed)
    fabric = ProxyFabric(cfg.seed)
    extra = ["--snapshot-threshold", str(cfg.snapshot_threshold)]
    if cfg.unsafe_local_reads:
        extra.append("--unsafe-local-reads")
    if cfg.lease_reads:
        extra.append("--lease-reads")
    cluster = JepsenCluster(os.path.join(report_dir, "cluster"), cfg.nodes, fabric, extra)
    recorder = Recorder(time.monotonic())
    nemesis = Nemesis(cluster, fabric, random.Random(rng.random()), recorder.now)
    problems: list[str] = []
    workloads = {name: WORKLOADS[name]() for name in cfg.workloads}
    lease_reads = 0
    try:
        cluster.start()
        lead = cluster.wait_leader()
        nemesis.log("setup", "note", f"cluster of {cfg.nodes} up; leader {lead}")
        for wl in workloads.values():
            if hasattr(wl, "probe"):
                nemesis.log("setup", "note", f"{wl.name} workload uses {wl.probe(cluster.nodes[lead].client())}")
        _run_phases(cfg, rng, cluster, nemesis, recorder, workloads, problems)
        lease_reads = _lease_reads(cluster)
    except Exception as e:  # noqa: BLE001 - report whatever happened, then fail the run
        problems.append(f"harness error: {e!r}")
        nemesis.log("harness", "note", f"error: {e!r}")
    finally:
        cluster.close()
        fabric.close()
    for nid in cluster.nodes:
        log_path = cluster.nodes[nid].log_path
        if log_path and os.path.exists(log_path):
            with open(log_path, errors="replace") as f:
                text = f.read()
            if "Traceback" in text:
                i = text.index("Traceback")
                nemesis.crashes.append({"node": nid, "exit_code": "", "detail": "Traceback in log",
                                        "log_tail": text[max(0, i - 500): i + 3000]})
    verdicts = _check(cfg, recorder, workloads)
    valid = all(v["valid"] is True or v["valid"] == "unknown" for v in verdicts.values()) \
        and not nemesis.crashes and not problems
    result = CampaignResult(cfg, report_dir, valid, verdicts, _op_counts(recorder), dict(nemesis.counts),
                            nemesis.crashes, problems, recorder.now(), _error_counts(recorder), lease_reads)
    write_report(report_dir, result, recorder, nemesis.timeline)
    if not cfg.keep_data and valid:
        for d in glob.glob(os.path.join(report_dir, "cluster", "node*")):
            if os.path.isdir(d):
                shutil.rmtree(d, ignore_errors=True)
    return result


def _lease_reads(cluster: JepsenCluster) -> int:
    total = 0
    for nid in cluster.live():
        try:
            total += int(cluster.nodes[nid].client(socket_timeout=5).info("raft").get("lease_reads", 0))
        except Exception:  # noqa: BLE001 - a node that does not answer counts nothing
            pass
    return total


def _run_phases(cfg: CampaignConfig, rng: random.Random, cluster: JepsenCluster, nemesis: Nemesis,
                recorder: Recorder, workloads: dict[str, Any], problems: list[str]) -> None:
    stop_clients = threading.Event()
    stop_nemesis = threading.Event()

    def targets() -> list[tuple[int, str, int]]:
        live = cluster.live() or cluster.members()
        return [(n, cluster.nodes[n].host, cluster.nodes[n].port) for n in live]

    workers: list[Worker] = []
    for wl in workloads.values():
        for _ in range(cfg.clients_per_workload):
            workers.append(Worker(len(workers), wl, recorder, targets, rng.randrange(1 << 30),
                                  stop_clients, timeout=cfg.client_timeout))
    for w in workers:
        w.start()
    until = time.monotonic() + cfg.duration
    if cfg.nemeses:
        nemesis.run(cfg.nemeses, until, stop_nemesis, cfg.fault_seconds, cfg.quiet_seconds, cfg.cycles,
                    cfg.overlap)
    else:
        while time.monotonic() < until:
            time.sleep(0.5)
            nemesis.check_crashes()

    # Healing: everything undone; the cluster must elect a leader and serve writes again.
    nemesis.log("heal", "start", "all faults healed; liveness check")
    nemesis.heal_all()
    healed_at = recorder.now()
    try:
        cluster.wait_leader(timeout=30)
    except TimeoutError:
        problems.append("no leader within 30s after healing")
    for name in workloads:
        try:
            wait_for(lambda name=name: _ok_since(recorder, name, healed_at), timeout=30, interval=0.2)
        except TimeoutError:
            problems.append(f"{name}: no successful op within 30s after healing")
    time.sleep(1.0)
    stop_clients.set()
    for w in workers:
        w.join(cfg.client_timeout + 5)
    nemesis.check_crashes()
    unexpected = sum(w.unexpected for w in workers)
    if unexpected:
        nemesis.log("clients", "note", f"{unexpected} unexpected error replies (counted as unknown)")

    # Final reads of every key, through the leader, so lost writes show up.
    nemesis.log("final-reads", "start")
    final = Worker(FINAL_PROCESS, None, recorder, lambda: [], 0, stop_clients, timeout=10)
    for name, wl in workloads.items():
        final.workload = wl
        for key in wl.all_keys():
            _final_read(cluster, final, wl.final_call(key), problems, name)
    nemesis.log("final-reads", "stop")
    nemesis.heal_all()
    # Every member must hold the same data at the same log entry.
    _members_agree(cluster, nemesis, problems)
    nemesis.check_crashes()


def _members_agree(cluster: JepsenCluster, nemesis: Nemesis, problems: list[str]) -> None:
    """RAFT.CHECK on the healed cluster: every member's digest at one log entry must be the
    same (a member still catching up is waited for, a minute at most)."""
    nemesis.log("check", "start", "RAFT.CHECK: every member's data at one log entry")
    deadline = time.monotonic() + 60
    last = ""
    while time.monotonic() < deadline:
        try:
            lead = cluster.wait_leader(timeout=10)
            reply = cluster.nodes[lead].client(socket_timeout=45).execute_command("RAFT.CHECK", "30")
        except Exception as e:  # noqa: BLE001 - a leader change during the check: ask again
            last = repr(e)
            time.sleep(1)
            continue
        verdict = reply[0].decode()
        last = f"{verdict}: " + "; ".join(f"node {nid} index {index} {digest.decode()}" for nid, index, digest in reply[1:])
        nemesis.log("check", "note", last)
        if verdict == "consistent":
            return
        if verdict == "DIVERGED":
            problems.append(f"the members' data diverged: {last}")
            return
        time.sleep(1)
    problems.append(f"RAFT.CHECK did not see every member's digest within 60s: {last}")


def _ok_since(recorder: Recorder, workload: str, t: float) -> bool:
    with recorder.lock:
        return any(op.outcome == "ok" and op.invoke_time >= t and extra["workload"] == workload
                   for op, extra in zip(reversed(recorder.ops[-2000:]), reversed(recorder.extra[-2000:]), strict=True))


def _final_read(cluster: JepsenCluster, worker: Worker, call: Call, problems: list[str], name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            lead = cluster.wait_leader(timeout=10)
        except TimeoutError:
            continue
        nd = cluster.nodes[lead]
        worker.nodes = lambda nd=nd: [(nd.node_id, nd.host, nd.port)]
        worker._drop()
        op = worker.run_call(call)
        if op.outcome == "ok":
            return
        time.sleep(0.5)
    problems.append(f"{name}: final read of {call.key!r} did not succeed in 30s")


def _split(recorder: Recorder) -> dict[str, list[Op]]:
    out: dict[str, list[Op]] = {}
    for op, extra in zip(recorder.ops, recorder.extra, strict=True):
        out.setdefault(extra["workload"], []).append(op)
    return out


def _op_counts(recorder: Recorder) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for op, extra in zip(recorder.ops, recorder.extra, strict=True):
        c = counts.setdefault(extra["workload"], {})
        c[op.outcome] = c.get(op.outcome, 0) + 1
    return counts


def _error_counts(recorder: Recorder) -> dict[str, int]:
    """How often each error came back, over all workloads ("connect: ..." = refused)."""
    counts: dict[str, int] = {}
    for extra in recorder.extra:
        if extra["error"]:
            code = extra["error"] if extra["error"].startswith("connect") else extra["error"][:60]
            counts[code] = counts.get(code, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _check(cfg: CampaignConfig, recorder: Recorder, workloads: dict[str, Any]) -> dict[str, Any]:
    by_workload = _split(recorder)
    verdicts: dict[str, Any] = {}
    for name in workloads:
        ops = by_workload.get(name, [])
        started = time.monotonic()
        if name == "register":
            res = check_linearizable(ops, time_limit=cfg.check_seconds)
            bad = [r for r in res.keys.values() if r.valid is not True]
            verdicts[name] = {"valid": res.valid, "explain": res.explain(), "keys": len(res.keys),
                              "bad_keys": [str(r.key) for r in bad]}
        else:
            # The shared checker gives the verdict; ours adds what it does not look at (the
            # real-time order of appends; INCRBY's replies), and either can fail the run.
            shared, extra = ((check_list_append(ops), check_list_order(ops)) if name == "list"
                             else (check_counter(ops), check_counter_replies(ops)))
            verdicts[name] = {"valid": shared.valid and extra.valid,
                              "explain": shared.explain() + "\n" + extra.explain(),
                              "anomalies": [a.explain() for a in shared.anomalies[:50]],
                              "errors": extra.errors[:50]}
        verdicts[name]["seconds"] = round(time.monotonic() - started, 3)
    return verdicts
