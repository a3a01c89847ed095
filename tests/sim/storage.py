"""SimStorage: what one simulated node has made durable, and nothing else.

The simulated driver records a Ready here only when its persistence "completes"; a crash
before that loses it, exactly like an fsync that never returned.
"""

from __future__ import annotations

from consensus.messages import Entry, HardState, Ready, SnapshotMeta


def _key(meta: SnapshotMeta) -> tuple[int, int]:
    return (meta.index, meta.term)


class SimStorage:
    def __init__(self) -> None:
        self.hard_state = HardState()
        self.snapshot: SnapshotMeta | None = None
        self.entries: list[Entry] = []
        # Every snapshot this node made or received, by (index, term): the snapshot store.
        self.snapshots: dict[tuple[int, int], bytes] = {}
        self._partial: dict[tuple[int, int], bytearray] = {}

    @property
    def last_index(self) -> int:
        if self.entries:
            return self.entries[-1].index
        return self.snapshot.index if self.snapshot else 0

    def persist(self, rd: Ready) -> None:
        for c in rd.snapshot_chunks:
            k = _key(c.meta)
            if c.offset == 0:
                self._partial[k] = bytearray()
            buf = self._partial.get(k)
            if buf is None or len(buf) != c.offset:
                raise AssertionError(f"snapshot chunk at {c.offset} does not follow {None if buf is None else len(buf)}")
            buf += c.data
        if rd.snapshot is not None:
            k = _key(rd.snapshot)
            self.snapshots[k] = bytes(self._partial.pop(k))
            self.snapshot = rd.snapshot
            self.entries = []  # a received snapshot replaces the whole log
        if rd.hard_state is not None:
            self.hard_state = rd.hard_state
        if rd.entries:
            first = rd.entries[0].index
            if first > self.last_index + 1:
                raise AssertionError(f"WAL gap: appending {first} after {self.last_index}")
            if self.entries and first <= self.entries[-1].index:
                del self.entries[max(0, first - self.entries[0].index):]
            self.entries.extend(rd.entries)

    def save_snapshot(self, meta: SnapshotMeta, data: bytes) -> None:
        self.snapshots[_key(meta)] = data
        self.snapshot = meta
        self.entries = [e for e in self.entries if e.index > meta.index]

    def snapshot_data(self) -> bytes:
        assert self.snapshot is not None
        return self.snapshots[_key(self.snapshot)]


class SimSnapshotSource:
    def __init__(self, storage: SimStorage):
        self.storage = storage

    def size(self, meta: SnapshotMeta) -> int:
        return len(self.storage.snapshots[_key(meta)])

    def read_chunk(self, meta: SnapshotMeta, offset: int, max_bytes: int) -> bytes:
        return self.storage.snapshots[_key(meta)][offset:offset + max_bytes]
