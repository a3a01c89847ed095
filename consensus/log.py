"""RaftLog: the whole log since the last snapshot, in memory.

Indexes, with the invariants the rest of the core relies on::

    snapshot_index <= applied <= committed <= last_index,  applied <= handed
    snapshot_index <= stable <= handed <= last_index

* ``snapshot_index``/``snapshot_term``: the last entry covered by the snapshot; entries up
  to it are gone from memory. ``term_at(snapshot_index)`` still answers.
* ``stable``: entries up to here are durable (the driver said so through ``advance``).
* ``handed``: entries up to here were handed to the driver in a Ready (durable or being
  written); the next Ready carries the ones after it.
* ``committed``: known committed; never decreases.
* ``applied``: handed to the state machine (in a Ready's ``committed_entries``).

Entries live in one Python list; ``_entries[i].index == _offset + i``. Appends and the
common lookups are O(1); truncation and compaction copy only what they drop or keep.
"""

from __future__ import annotations

from .messages import Entry


class RaftLog:
    __slots__ = ("_entries", "_offset", "snapshot_index", "snapshot_term", "stable", "handed", "committed",
                 "applied")

    def __init__(self, snapshot_index: int = 0, snapshot_term: int = 0, entries: list[Entry] | None = None):
        self.snapshot_index = snapshot_index
        self.snapshot_term = snapshot_term
        self._offset = snapshot_index + 1
        self._entries: list[Entry] = []
        if entries:
            ents = [e for e in entries if e.index > snapshot_index]
            for i, e in enumerate(ents):
                if e.index != self._offset + i:
                    raise ValueError(f"log entries not contiguous at index {e.index}")
            self._entries = ents
        self.stable = self.handed = self.last_index
        self.committed = snapshot_index
        self.applied = snapshot_index

    # --- queries ----------------------------------------------------------------------

    @property
    def first_index(self) -> int:
        return self._offset

    @property
    def last_index(self) -> int:
        return self._offset + len(self._entries) - 1

    @property
    def last_term(self) -> int:
        if self._entries:
            return self._entries[-1].term
        return self.snapshot_term

    def term_at(self, index: int) -> int | None:
        """The term of the entry at ``index``; None when compacted away or beyond the end."""
        i = index - self._offset
        if 0 <= i < len(self._entries):
            return self._entries[i].term
        if index == self.snapshot_index:
            return self.snapshot_term
        return None

    def entry(self, index: int) -> Entry:
        return self._entries[index - self._offset]

    def match_term(self, index: int, term: int) -> bool:
        return self.term_at(index) == term

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Raft's election restriction: is a log ending at (last_index, last_term) at least as
        up to date as ours?"""
        my_term = self.last_term
        return last_term > my_term or (last_term == my_term and last_index >= self.last_index)

    def slice(self, lo: int, hi: int, max_bytes: int | None = None) -> list[Entry]:
        """Entries lo..hi inclusive, cut after ``max_bytes`` of data (at least one entry)."""
        a = lo - self._offset
        b = hi - self._offset + 1
        if a < 0:
            raise IndexError(f"entry {lo} is compacted (first index {self._offset})")
        if max_bytes is None:
            return self._entries[a:b]
        ents = self._entries
        size = 0
        end = a
        b = min(b, len(ents))
        while end < b:
            size += len(ents[end].data) + 16
            if size > max_bytes and end > a:
                break
            end += 1
        return ents[a:end]

    def unstable_entries(self) -> list[Entry]:
        """Entries not handed to the driver yet."""
        return self._entries[self.handed + 1 - self._offset :]

    def take_unstable(self) -> list[Entry]:
        """Entries not handed to the driver yet; from now on they count as handed."""
        ents = self._entries[self.handed + 1 - self._offset :]
        self.handed = self.last_index
        return ents

    def next_committed(self) -> list[Entry]:
        """Committed, handed to the driver (so written, or being written, in order), not yet
        applied. A committed entry is durable on a majority already: applying it need not
        wait for this node's own write (a leader with a full disk still serves reads)."""
        hi = min(self.committed, self.handed)
        if hi <= self.applied:
            return []
        return self._entries[self.applied + 1 - self._offset : hi + 1 - self._offset]

    def has_next_committed(self) -> bool:
        return min(self.committed, self.handed) > self.applied

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """The largest index <= ``index`` whose term is <= ``term``, with that term.

        Used on both sides of accelerated backtracking: it skips every entry of a term the
        other side cannot have. Returns (index, 0) when it runs into the compacted prefix.
        """
        index = min(index, self.last_index)
        while True:
            t = self.term_at(index)
            if t is None:
                return index, 0
            if t <= term:
                return index, t
            index -= 1

    # --- mutation ---------------------------------------------------------------------

    def append(self, entries: list[Entry] | tuple[Entry, ...]) -> None:
        """Append entries that follow ``last_index`` directly (the leader's own proposals)."""
        if entries and entries[0].index != self.last_index + 1:
            raise ValueError(f"append at {entries[0].index} after last index {self.last_index}")
        self._entries.extend(entries)

    def find_conflict(self, entries: tuple[Entry, ...]) -> int:
        """Index of the first entry that is new or whose term differs from ours; 0 if none."""
        last = self.last_index
        if not entries or entries[0].index > last:
            return entries[0].index if entries else 0
        for e in entries:
            if e.index > last or self.term_at(e.index) != e.term:
                return e.index
        return 0

    def truncate_and_append(self, entries: tuple[Entry, ...] | list[Entry]) -> None:
        """Replace everything from entries[0].index on. Never touches committed entries."""
        first = entries[0].index
        if first <= self.committed:
            raise AssertionError(f"truncating committed entry {first} (committed {self.committed})")
        if first <= self.snapshot_index:
            raise AssertionError(f"truncating into the snapshot at {first}")
        del self._entries[first - self._offset :]
        if self.stable >= first:
            self.stable = first - 1
        if self.handed >= first:
            self.handed = first - 1
        self._entries.extend(entries)

    def commit_to(self, index: int) -> bool:
        if index > self.committed:
            if index > self.last_index:
                raise AssertionError(f"commit {index} beyond last index {self.last_index}")
            self.committed = index
            return True
        return False

    def stable_to(self, index: int, term: int) -> None:
        """The driver made entries up to ``index`` durable. Ignored when the entry has since
        been replaced (its term changed), in which case a later Ready rewrites it."""
        if index > self.stable and self.term_at(index) == term:
            self.stable = index
            if self.handed < index:
                self.handed = index

    def applied_to(self, index: int) -> None:
        if index > self.applied:
            if index > min(self.committed, self.handed):
                raise AssertionError(f"applied {index} beyond the handed-out commit")
            self.applied = index

    def compact(self, index: int, term: int) -> None:
        """Drop entries up to ``index`` (covered by a snapshot); keep the rest."""
        if index <= self.snapshot_index:
            return
        if index > self.applied:
            raise ValueError(f"compact at {index} beyond applied {self.applied}")
        if index > self.stable:
            raise ValueError(f"compact at {index} beyond the durable log ({self.stable})")
        del self._entries[: index + 1 - self._offset]
        self._offset = index + 1
        self.snapshot_index = index
        self.snapshot_term = term

    def restore(self, index: int, term: int) -> None:
        """Replace the whole log with a snapshot received from the leader."""
        self._entries = []
        self._offset = index + 1
        self.snapshot_index = index
        self.snapshot_term = term
        self.stable = self.handed = index
        self.committed = index
        self.applied = index
