"""The in-memory index of the live log, and the rules that replay records into it.

`LogIndex` describes entries ``base .. last`` with their terms and where each record
lives, so a read by index is a lookup and one ``pread``, never a scan. Both the file WAL
and `MemoryWal` replay their record stream through the same four operations, so they
agree on what a stream means:

- ``append(index)`` requires ``index == last + 1`` (anything else is a gap or a repeat);
- ``truncate(t)`` voids entries ``>= t``; ``t`` must be above the snapshot index;
- ``compact(s, term)`` voids entries ``<= s``; afterwards ``first == s + 1``;
- hard state: the last one wins.

Invariant once replay is complete: ``base == snap_index + 1``; ``base > snap_index + 1``
means entries between the snapshot and the oldest segment are missing.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

from .errors import EntryUnavailableError, LogCompactedError
from .records import ENTRY, HARD_STATE, TRUNCATE, HardState, LogEntry

SEG_SHIFT = 40
OFF_MASK = (1 << SEG_SHIFT) - 1


class LogIndex:
    __slots__ = ("base", "terms", "locs", "sizes", "objs", "snap_index", "snap_term", "hard_state")

    def __init__(self, base: int = 1, *, collect: bool = False) -> None:
        self.base = base  # index of terms[0]
        self.terms = array("Q")
        self.locs = array("Q")  # seq << SEG_SHIFT | offset of the record
        self.sizes = array("I")  # record size in bytes
        self.objs: list[LogEntry] | None = [] if collect else None
        self.snap_index = 0
        self.snap_term = 0
        self.hard_state = HardState()

    @property
    def last(self) -> int:
        return self.base + len(self.terms) - 1

    def __len__(self) -> int:
        return len(self.terms)

    def append(self, index: int, term: int, loc: int, size: int, obj: Any = None) -> None:
        if index != self.base + len(self.terms):
            raise ValueError(f"entry {index} does not follow {self.last}")
        self.terms.append(term)
        self.locs.append(loc)
        self.sizes.append(size)
        if self.objs is not None:
            self.objs.append(obj)

    def truncate(self, t: int) -> int:
        """Void entries ``>= t``; return how many were dropped."""
        if t <= self.snap_index:
            raise ValueError(f"cannot truncate at {t}: entries up to {self.snap_index} are in a snapshot")
        last = self.last
        if t > last:
            return 0
        cut = max(t - self.base, 0)
        dropped = len(self.terms) - cut
        self._cut_from(cut)
        if t < self.base:
            self.base = t
        return dropped

    def compact(self, s: int, term: int) -> None:
        if s <= self.snap_index:
            return
        self.snap_index, self.snap_term = s, term
        if s >= self.last:
            self._cut_from(0)
            self.base = s + 1
        elif s >= self.base:
            n = s + 1 - self.base
            del self.terms[:n], self.locs[:n], self.sizes[:n]
            if self.objs is not None:
                del self.objs[:n]
            self.base = s + 1

    def _cut_from(self, k: int) -> None:
        del self.terms[k:], self.locs[k:], self.sizes[k:]
        if self.objs is not None:
            del self.objs[k:]

    def pos(self, index: int) -> int:
        """Position of ``index`` in the arrays; raises if it is not live."""
        if index < self.base or index > self.last:
            if index <= self.snap_index:
                raise LogCompactedError(f"entry {index} is compacted (snapshot at {self.snap_index})")
            raise EntryUnavailableError(
                f"entry {index} is not in the log (first {self.snap_index + 1}, last {self.last})"
            )
        return index - self.base

    def term(self, index: int) -> int:
        if index == self.snap_index:
            return self.snap_term
        return self.terms[self.pos(index)]


def plan_batches(idx: LogIndex, batches: Iterable[Any]) -> list[tuple[int, Any]]:
    """Check batches against the log and turn them into records ``(type, value)``.

    Entries starting at or below the last index imply a truncation there. Truncating
    committed or snapshotted entries, or entries that do not follow on, raise
    ``ValueError`` before anything is written.
    """
    plan: list[tuple[int, Any]] = []
    last = idx.last
    commit = idx.hard_state.commit
    for b in batches:
        t = b.truncate_from
        entries = b.entries
        if entries and t is None and entries[0].index <= last:
            t = entries[0].index
        if t is not None and t <= last:
            if t <= idx.snap_index or t <= commit:
                raise ValueError(
                    f"cannot truncate at {t}: committed through {commit}, snapshot at {idx.snap_index}"
                )
            plan.append((TRUNCATE, t))
            last = t - 1
        for e in entries:
            if e.index != last + 1:
                raise ValueError(f"entry {e.index} does not follow {last}")
            plan.append((ENTRY, e))
            last = e.index
        if b.hard_state is not None:
            hs = as_hard_state(b.hard_state)
            plan.append((HARD_STATE, hs))
            commit = hs.commit
    return plan


def as_hard_state(hs: Any) -> HardState:
    return hs if isinstance(hs, HardState) else HardState(hs.term, hs.vote, hs.commit)
