"""Checker for INCRBY counters.

Ops (per key): ``add`` with `value` the increment (any sign), and ``read``
with `output` the counter's value; only ok reads are checked. The counter
starts at `initial`.

For a read R, an add is *certainly applied* if it is ok and completed before
R was invoked, and *possibly applied* if it is ok or unknown and was invoked
no later than R completed. R must lie within

    initial + sum(positive certain) + sum(negative possible)
    .. initial + sum(negative certain) + sum(positive possible)

which for non-negative increments is [acked before R, everything invoked
before R ends]. A final read after all ops is the special case where every
ok add is certain and the unknown ones are possible.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from .anomaly import Anomaly
from .history import Op


@dataclass(frozen=True, slots=True)
class CounterResult:
    """`valid` is True iff every read lies in its bounds; `anomalies` are of kind ``out-of-bounds``."""

    valid: bool
    anomalies: tuple[Anomaly, ...] = ()

    def explain(self) -> str:
        """Report text, one line per read out of bounds."""
        return "\n".join(a.explain() for a in self.anomalies) or "all reads within bounds"


def check_counter(history: Iterable[Op], initial: int = 0) -> CounterResult:
    """Check every ok read of every key against its bounds."""
    adds: dict[Any, list[Op]] = defaultdict(list)
    reads: dict[Any, list[Op]] = defaultdict(list)
    for op in history:
        if op.kind == "add":
            if op.outcome != "fail":
                adds[op.key].append(op)
        elif op.kind == "read":
            if op.outcome == "ok":
                reads[op.key].append(op)
        else:
            raise ValueError(f"counter history has no op kind {op.kind!r}")
    anomalies = []
    for key, key_reads in reads.items():
        bounds = _Bounds(adds[key], initial)
        for read in key_reads:
            low, high = bounds.of(read)
            if not low <= read.output <= high:
                detail = f"read {read.output} outside [{low}, {high}]"
                anomalies.append(Anomaly("out-of-bounds", key, (read,), detail))
    return CounterResult(not anomalies, tuple(anomalies))


class _Bounds:
    """Prefix sums that give a read's bounds in O(log n)."""

    def __init__(self, adds: list[Op], initial: int) -> None:
        self.initial = initial
        certain = sorted((op for op in adds if op.outcome == "ok"), key=lambda op: op.complete_time)
        possible = sorted(adds, key=lambda op: op.invoke_time)
        self.certain_times = [op.complete_time for op in certain]
        self.certain_up = [0, *accumulate(max(0, op.value) for op in certain)]
        self.certain_down = [0, *accumulate(min(0, op.value) for op in certain)]
        self.possible_times = [op.invoke_time for op in possible]
        self.possible_up = [0, *accumulate(max(0, op.value) for op in possible)]
        self.possible_down = [0, *accumulate(min(0, op.value) for op in possible)]

    def of(self, read: Op) -> tuple[int, int]:
        """(lowest, highest) value `read` may return."""
        c = bisect_left(self.certain_times, read.invoke_time)
        p = bisect_right(self.possible_times, read.complete_time)
        low = self.initial + self.certain_up[c] + self.possible_down[p]
        high = self.initial + self.certain_down[c] + self.possible_up[p]
        return low, high
