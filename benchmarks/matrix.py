"""The throughput matrix: which workloads run against which system, and what each is compared with.

A row is one (workload, system) pair. Rows with a baseline report the ratio
``ops/s of this row / ops/s of the baseline row``, computed within each repeat and then the
median over repeats: the machine's speed drifts between windows, the ratio much less. Within a
repeat a row runs right next to its baseline (see ``schedule``), seconds apart, so both see
the machine in the same state.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.loadgen import Workload

SET_P1, SET_P16 = Workload("set", 1), Workload("set", 16)
GET_P1, GET_P16 = Workload("get", 1), Workload("get", 16)
WORKLOADS = (SET_P1, SET_P16, GET_P1, GET_P16)

REDIS = "redis (no persistence)"
REDIS_AOF = "redis (appendfsync always)"
RAFTIS_3 = "raftis 3 nodes (leader)"
RAFTIS_3_FOLLOWER = "raftis 3 nodes (via follower)"
RAFTIS_3_LEASE = "raftis 3 nodes (lease reads)"  # a second cluster, started with --lease-reads
RAFTIS_1 = "raftis 1 node"

# Raftis's performance targets (docs/performance.md): the least ratio to its baseline a row
# should reach (the 3-node rows where RedisRaft stands on this kind of machine), and the most
# memory per key against redis-server's.
TARGETS = {
    (SET_P1, RAFTIS_3): 0.32,
    (GET_P1, RAFTIS_3): 0.7,
    (SET_P16, RAFTIS_3): 0.07,
    (SET_P1, RAFTIS_3_FOLLOWER): 0.5,
    (SET_P1, RAFTIS_1): 0.8,
}
MEMORY_TARGET = 2.0

SECTIONS = {
    "cluster": "3-node Raftis cluster against redis-server without persistence",
    "single": "single Raftis node against redis-server with appendfsync always",
}


@dataclass(frozen=True, slots=True)
class Row:
    section: str
    workload: Workload
    system: str
    baseline: str | None = None  # system of the row this one is divided by (same workload)
    baseline_workload: Workload | None = None  # when the baseline runs another workload

    @property
    def target(self) -> float | None:
        """The least ratio to the baseline this row should reach, if it has a target."""
        return TARGETS.get((self.workload, self.system))

    @property
    def id(self) -> str:
        return row_id(self.workload, self.system)

    @property
    def baseline_id(self) -> str | None:
        if self.baseline is None:
            return None
        return row_id(self.baseline_workload or self.workload, self.baseline)


def row_id(workload: Workload, system: str) -> str:
    return f"{workload.label} | {system}"


def rows() -> list[Row]:
    out = []
    for w in WORKLOADS:
        if w.test == "get":  # on the other side of the same baseline
            out.append(Row("cluster", w, RAFTIS_3_LEASE, REDIS))
        out.append(Row("cluster", w, REDIS))
        out.append(Row("cluster", w, RAFTIS_3, REDIS))
    out.append(Row("cluster", SET_P1, RAFTIS_3_FOLLOWER, RAFTIS_3, SET_P1))
    for w in WORKLOADS:
        out.append(Row("single", w, REDIS_AOF))
        out.append(Row("single", w, RAFTIS_1, REDIS_AOF))
    return out


def schedule(repeat: int) -> list[Row]:
    """The order of one repeat's loads (``repeat`` counts from 0): workload by workload, writes
    first so that GETs find keys, and every row right beside its baseline. Odd repeats take
    each workload's rows the other way round, so a change in the machine's speed during a pair
    weighs on Raftis in one repeat and on the baseline in the next.

    (On this kind of machine the speed moves by up to 2x within minutes: with each system's
    rows run together, a baseline and its Raftis row were measured 15-20 s apart.)"""
    order: list[Row] = []
    for w in WORKLOADS:
        group = [r for r in rows() if r.workload == w]
        order += reversed(group) if repeat % 2 else group
    return order
