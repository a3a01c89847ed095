"""Extra checks for the counter workload, one key at a time.

The campaign's verdict comes from `checker.counter`, which bounds reads; this module also
holds INCRBY's replies to the same bounds and requires them to be distinct.

Ops: ``add`` with `value` a positive delta and `output` the counter after it (INCRBY's
reply), and ``read`` with `output` the counter (0 for a missing key). With only positive
deltas the counter never goes down, so for every ok op that observed the counter:

- it is at least the sum of the ok adds that finished before the op began (plus the op's
  own delta for an add): less means a lost or stale write (``too-low``);
- it is at most the sum of the ok and unknown adds that began before the op finished:
  more means a phantom or doubly applied write (``too-high``);
- no two ok adds saw the same value (``duplicate``): each add moves the counter.

These are the interval conditions Jepsen's counter checker uses; they do not imply
linearizability of reads against each other, which the register workload covers.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .checker.history import Op

MAX_ERRORS_PER_KEY = 20


@dataclass
class CounterResult:
    valid: bool
    keys: int = 0
    reads: int = 0
    adds: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def explain(self) -> str:
        if self.valid:
            return f"counter valid ({self.keys} keys, {self.adds} adds, {self.reads} reads)"
        return "\n".join(f"key {e['key']!r}: {e['type']}: {e['detail']}" for e in self.errors[:40])


def check_counter(history: Iterable[Op]) -> CounterResult:
    by_key: dict[Any, list[Op]] = {}
    for op in history:
        if op.outcome != "fail":
            by_key.setdefault(op.key, []).append(op)
    result = CounterResult(valid=True, keys=len(by_key))
    for key, ops in by_key.items():
        errors = _check_key(key, ops, result)
        if errors:
            result.valid = False
            result.errors.extend(errors[:MAX_ERRORS_PER_KEY])
    return result


def _prefix(points: list[tuple[float, int]]) -> tuple[list[float], list[int]]:
    points.sort()
    times = [t for t, _ in points]
    sums = [0]
    for _, d in points:
        sums.append(sums[-1] + d)
    return times, sums


def _fmt(op: Op) -> str:
    return (f"p{op.process} {op.kind} {op.value!r} -> {op.output!r} "
            f"[{op.invoke_time:.3f}, {op.complete_time:.3f}]")


def _check_key(key: Any, ops: list[Op], result: CounterResult) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    adds = [op for op in ops if op.kind == "add"]
    reads = [op for op in ops if op.kind == "read" and op.outcome == "ok"]
    result.adds += len(adds)
    result.reads += len(reads)
    done_times, done_sums = _prefix([(op.complete_time, op.value) for op in adds if op.outcome == "ok"])
    begun_times, begun_sums = _prefix([(op.invoke_time, op.value) for op in adds])

    seen: dict[int, Op] = {}
    for op in ops:
        if op.outcome != "ok" or op.kind not in ("add", "read"):
            continue
        low = done_sums[bisect.bisect_left(done_times, op.invoke_time)]
        if op.kind == "add":
            low += op.value
            if op.output in seen:
                errors.append({"key": key, "type": "duplicate",
                               "detail": f"{_fmt(op)} and {_fmt(seen[op.output])} saw the same value"})
            seen[op.output] = op
        high = begun_sums[bisect.bisect_right(begun_times, op.complete_time)]
        value = op.output
        if value < low:
            errors.append({"key": key, "type": "too-low",
                           "detail": f"{_fmt(op)}: at least {low} had been acknowledged before it began"})
        elif value > high:
            errors.append({"key": key, "type": "too-high",
                           "detail": f"{_fmt(op)}: at most {high} had been attempted before it finished"})
        if len(errors) > MAX_ERRORS_PER_KEY:
            break
    return errors
