"""Extra checks for the list-append workload, one key at a time.

The campaign's verdict comes from `checker.list_append`; this module checks the same
conditions independently and adds the real-time order of appends, which that one does not.

Ops (see `history.Op`): ``append`` with `value` the element (unique across the history),
and ``read`` with `output` the whole list. Every append adds its element at the end of the
list, so all states the key ever had are prefixes of one another. A history is valid iff
there is such a list consistent with real time; the checker tests the conditions that
follow from that, each named in the error it reports:

- ``duplicate``: a read holds an element twice;
- ``phantom``: a read holds an element no append wrote, or one only a failed append wrote,
  or one whose append began after the read finished;
- ``divergent``: two reads are not prefixes of one another;
- ``stale``: a read misses an element whose ok append finished before the read began
  (a lost write if it is also missing from the longest read);
- ``order``: two elements appear in the opposite order of their appends in real time;
- ``non-monotonic``: a read that began after another finished is shorter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .checker.history import Op

MAX_ERRORS_PER_KEY = 20


@dataclass
class ListResult:
    valid: bool
    keys: int = 0
    reads: int = 0
    appends: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def explain(self) -> str:
        if self.valid:
            return f"list-append valid ({self.keys} keys, {self.appends} appends, {self.reads} reads)"
        return "\n".join(f"key {e['key']!r}: {e['type']}: {e['detail']}" for e in self.errors[:40])


def check_list_append(history: Iterable[Op]) -> ListResult:
    by_key: dict[Any, list[Op]] = {}
    for op in history:
        by_key.setdefault(op.key, []).append(op)
    result = ListResult(valid=True, keys=len(by_key))
    for key, ops in by_key.items():
        errors = _check_key(key, ops, result)
        if errors:
            result.valid = False
            result.errors.extend(errors[:MAX_ERRORS_PER_KEY])
    return result


def _short(op: Op) -> str:
    out = op.output
    if isinstance(out, tuple) and len(out) > 8:
        out = f"[{len(out)} elements, ..., {out[-3:]}]"
    return f"p{op.process} {op.kind} {op.value!r} {op.outcome} {out!r} [{op.invoke_time:.3f}, {op.complete_time:.3f}]"


def _check_key(key: Any, ops: list[Op], result: ListResult) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []

    def err(kind: str, detail: str) -> None:
        errors.append({"key": key, "type": kind, "detail": detail})

    appends: dict[Any, Op] = {}
    for op in ops:
        if op.kind == "append":
            appends[op.value] = op
    reads = [op for op in ops if op.kind == "read" and op.outcome == "ok"]
    result.reads += len(reads)
    result.appends += sum(1 for op in appends.values() if op.outcome != "fail")
    if not reads:
        return errors

    for r in reads:
        seen: set[Any] = set()
        for v in r.output:
            if v in seen:
                err("duplicate", f"{v!r} twice in {_short(r)}")
            seen.add(v)
            a = appends.get(v)
            if a is None or a.outcome == "fail" or a.invoke_time > r.complete_time:
                err("phantom", f"{v!r} in {_short(r)}; its append: {_short(a) if a else 'none'}")

    longest = max(reads, key=lambda op: len(op.output)).output
    position = {v: i for i, v in enumerate(longest)}
    for r in reads:
        if tuple(longest[: len(r.output)]) != tuple(r.output):
            err("divergent", f"{_short(r)} is not a prefix of the longest read (length {len(longest)})")

    # Real time: every ok append that finished before a read began is in that read.
    ok_appends = sorted((a for a in appends.values() if a.outcome == "ok"), key=lambda a: a.complete_time)
    for r in reads:
        present = set(r.output)
        for a in ok_appends:
            if a.complete_time >= r.invoke_time:
                break
            if a.value not in present:
                lost = "and from every read (lost write)" if a.value not in position else ""
                err("stale", f"{_short(r)} misses {a.value!r} appended by {_short(a)} {lost}")
                break

    # Appends ordered in real time appear in that order: scanning from the end of the list,
    # keep the ok append that finished earliest among the elements after the current one.
    earliest_after: Op | None = None
    for v in reversed(longest):
        a = appends.get(v)
        if a is None:
            continue
        if earliest_after is not None and earliest_after.complete_time < a.invoke_time:
            err("order", f"{v!r} precedes {earliest_after.value!r} in the list, but "
                         f"{_short(earliest_after)} finished before {_short(a)} began")
            if len(errors) > MAX_ERRORS_PER_KEY:
                break
        if a.outcome == "ok" and (earliest_after is None or a.complete_time < earliest_after.complete_time):
            earliest_after = a

    by_complete = sorted(reads, key=lambda r: r.complete_time)
    longest_done = None
    j = 0
    for r in sorted(reads, key=lambda r: r.invoke_time):
        while j < len(by_complete) and by_complete[j].complete_time < r.invoke_time:
            c = by_complete[j]
            if longest_done is None or len(c.output) > len(longest_done.output):
                longest_done = c
            j += 1
        if longest_done is not None and len(r.output) < len(longest_done.output):
            err("non-monotonic", f"{_short(r)} is shorter than {_short(longest_done)}, which finished before it began")
    return errors
