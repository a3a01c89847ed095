"""Checker for the list-append workload.

Ops (per key):

- ``append``: ``RPUSH key element`` inside MULTI/EXEC; `value` is the element,
  unique per key across the whole history.
- ``read``: ``LRANGE key 0 -1``; `output` is the tuple of elements read.
  Only ok reads are checked; a read that failed or timed out tells nothing.

Since every element is appended once, all reads of a key should be prefixes
of one list that only grows, in real-time order. Anomaly kinds:

- ``duplicate``: a read contains an element more than once.
- ``incompatible``: a read is not a prefix of the longest read of its key
  (elements lost from the middle or reordered).
- ``stale``: a read that began after another read completed is shorter than
  it (the list went back in time).
- ``lost``: an ok append is missing from a read that began after the append
  completed.
- ``failed-seen``: a read contains an element whose append failed.
- ``phantom``: a read contains an element nobody appended.
- ``premature``: a read contains an element whose append was invoked only
  after the read completed.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .anomaly import Anomaly
from .history import Op


@dataclass(frozen=True, slots=True)
class ListAppendResult:
    """`valid` is True iff no anomaly was found."""

    valid: bool
    anomalies: tuple[Anomaly, ...] = field(default=())

    def of_kind(self, kind: str) -> list[Anomaly]:
        """The anomalies of one kind."""
        return [a for a in self.anomalies if a.kind == kind]

    def explain(self) -> str:
        """Report text, one line per anomaly."""
        return "\n".join(a.explain() for a in self.anomalies) or "no anomalies"


def check_list_append(history: Iterable[Op]) -> ListAppendResult:
    """Check a list-append history; see the module docstring for the anomalies."""
    appends: dict[Any, dict[Any, Op]] = defaultdict(dict)
    reads: dict[Any, list[Op]] = defaultdict(list)
    for op in history:
        if op.kind == "append":
            appends[op.key][op.value] = op
        elif op.kind == "read" and op.outcome == "ok":
            reads[op.key].append(op)
        elif op.kind != "read":
            raise ValueError(f"list-append history has no op kind {op.kind!r}")
    anomalies: list[Anomaly] = []
    for key in appends.keys() | reads.keys():
        key_reads = sorted(reads[key], key=lambda op: op.invoke_time)
        anomalies += _check_reads(key, key_reads)
        anomalies += _check_elements(key, appends[key], key_reads)
    return ListAppendResult(not anomalies, tuple(anomalies))


def _check_reads(key: Any, reads: list[Op]) -> list[Anomaly]:
    """Duplicates, incompatible orders and stale reads among `reads` (by invoke time)."""
    found = []
    for read in reads:
        extra = [e for e, n in Counter(read.output).items() if n > 1]
        if extra:
            found.append(Anomaly("duplicate", key, (read,), f"elements {extra} appear more than once"))
    if not reads:
        return found
    longest = max(reads, key=lambda op: len(op.output))
    for read in reads:
        if tuple(longest.output[: len(read.output)]) != tuple(read.output):
            found.append(
                Anomaly("incompatible", key, (read, longest), "read is not a prefix of the longest read")
            )
    # Sweep in invoke order, knowing the longest read completed before each one began.
    completed: list[tuple[float, int]] = []
    best: Op | None = None
    for index, read in enumerate(reads):
        heapq.heappush(completed, (read.complete_time, index))
        while completed[0][0] < read.invoke_time:
            earlier = reads[heapq.heappop(completed)[1]]
            if best is None or len(earlier.output) > len(best.output):
                best = earlier
        if best is not None and len(read.output) < len(best.output):
            detail = f"saw {len(read.output)} elements after a read that had seen {len(best.output)}"
            found.append(Anomaly("stale", key, (best, read), detail))
    return found


def _check_elements(key: Any, appends: dict[Any, Op], reads: list[Op]) -> list[Anomaly]:
    """Lost, failed, phantom and premature elements; `reads` sorted by invoke time."""
    found = []
    seen_in: dict[Any, list[int]] = defaultdict(list)
    for index, read in enumerate(reads):
        for element in dict.fromkeys(read.output):
            seen_in[element].append(index)
            append = appends.get(element)
            if append is None:
                found.append(Anomaly("phantom", key, (read,), f"{element!r} was never appended"))
            elif append.outcome == "fail":
                found.append(
                    Anomaly("failed-seen", key, (append, read), f"{element!r} was appended in a failed op")
                )
            elif append.invoke_time > read.complete_time:
                found.append(
                    Anomaly("premature", key, (append, read), f"{element!r} was read before it was appended")
                )
    for element, append in appends.items():
        if append.outcome != "ok":
            continue
        # The last read missing the element: below the run of reads at the end that contain it.
        indices = seen_in.get(element, [])
        last_missing = len(reads) - 1
        for index in reversed(indices):
            if index != last_missing:
                break
            last_missing -= 1
        if last_missing >= 0 and reads[last_missing].invoke_time > append.complete_time:
            detail = f"acknowledged {element!r} is missing from a read that began after it"
            found.append(Anomaly("lost", key, (append, reads[last_missing]), detail))
    return found
