"""The throughput matrix: which workloads run against which system, and what each is compared with.

A row is one (workload, system) pair. Rows with a baseline report the ratio
``ops/s of this row / ops/s of the baseline row``, computed within each repeat (both rows were
measured minutes apart on the same machine) and then the median over repeats: the machine's
speed drifts between windows, the ratio much less.
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
RAFTIS_1 = "raftis 1 node"

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
        out.append(Row("cluster", w, REDIS))
        out.append(Row("cluster", w, RAFTIS_3, REDIS))
    out.append(Row("cluster", SET_P1, RAFTIS_3_FOLLOWER, RAFTIS_3, SET_P1))
    for w in WORKLOADS:
        out.append(Row("single", w, REDIS_AOF))
        out.append(Row("single", w, RAFTIS_1, REDIS_AOF))
    return out


def workloads_for(system: str) -> tuple[Workload, ...]:
    """What runs against a system, in the order it runs (writes first, so GETs find keys)."""
    mine = {r.workload for r in rows() if r.system == system}
    return tuple(w for w in WORKLOADS if w in mine)
