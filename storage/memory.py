"""In-memory twins of `Wal` and `SnapshotStore` for simulators and tests.

Same methods and the same meaning (the WAL twin replays its record stream through the same
`LogIndex` rules as the file WAL), plus ``crash()``: forget everything not yet synced (or
committed, for snapshots) and return what a restart would recover.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from crc32c import crc32c

from .errors import SnapshotCorruptError, StorageError, WalWriteError
from .logindex import LogIndex, plan_batches
from .records import ENTRY, HARD_STATE, SNAPSHOT, TRUNCATE, EntryLike, HardState, LogEntry
from .snapshots import SnapshotMeta, snapshot_name
from .wal import Batch, Recovery


def _as_log_entry(e: EntryLike) -> LogEntry:
    return e if isinstance(e, LogEntry) else LogEntry(e.index, e.term, e.type, bytes(e.data))


class MemoryWal:
    """`Wal` without files. ``fail_next_write``/``fail_next_sync`` inject one I/O error."""

    def __init__(self) -> None:
        self._records: list[tuple[int, Any]] = [(HARD_STATE, HardState()), (SNAPSHOT, (0, 0))]
        self._synced = len(self._records)
        self._lock = threading.RLock()
        self._idx = LogIndex(1, collect=True)
        self._durable_last = 0
        self.fail_next_write: OSError | None = None
        self.fail_next_sync: OSError | None = None
        self.recovered = Recovery(HardState(), 0, 0, [])

    # state
    @property
    def first_index(self) -> int:
        return self._idx.snap_index + 1

    @property
    def last_index(self) -> int:
        return self._idx.last

    @property
    def snapshot_index(self) -> int:
        return self._idx.snap_index

    @property
    def snapshot_term(self) -> int:
        return self._idx.snap_term

    @property
    def hard_state(self) -> HardState:
        return self._idx.hard_state

    @property
    def durable_index(self) -> int:
        return self._durable_last

    def term(self, index: int) -> int:
        with self._lock:
            return self._idx.term(index)

    def entry(self, index: int) -> LogEntry:
        return self.entries(index, index + 1)[0]

    def entries(self, lo: int, hi: int, max_bytes: int | None = None) -> list[LogEntry]:
        if hi <= lo:
            return []
        with self._lock:
            idx = self._idx
            a, b = idx.pos(lo), idx.pos(hi - 1) + 1
            assert idx.objs is not None
            out = idx.objs[a:b]
        if max_bytes is not None:
            total = 0
            for k, e in enumerate(out):
                total += len(e.data) + 26
                if total > max_bytes and k > 0:
                    return out[:k]
        return out

    # writing
    def append(self, entries: Sequence[EntryLike], hard_state: Any = None) -> int:
        return self.write_batches([Batch(entries, hard_state)])

    def set_hard_state(self, hard_state: Any) -> None:
        self.write_batches([Batch((), hard_state)])

    def truncate_suffix(self, index: int) -> None:
        self.write_batches([Batch((), None, index)])

    def write_batches(self, batches: Iterable[Batch]) -> int:
        with self._lock:
            plan = plan_batches(self._idx, batches)
            if self.fail_next_write is not None:
                e, self.fail_next_write = self.fail_next_write, None
                raise WalWriteError(f"WAL write failed: {e}") from e
            for rtype, value in plan:
                if rtype == ENTRY:
                    value = _as_log_entry(value)
                self._records.append((rtype, value))
                self._apply(self._idx, rtype, value)
                if rtype == TRUNCATE:
                    self._durable_last = min(self._durable_last, value - 1)
            return self._idx.last

    @staticmethod
    def _apply(idx: LogIndex, rtype: int, value: Any) -> int:
        if rtype == ENTRY:
            idx.append(value.index, value.term, 0, 0, value)
        elif rtype == HARD_STATE:
            idx.hard_state = value
        elif rtype == TRUNCATE:
            return idx.truncate(value)
        else:
            idx.compact(*value)
        return 0

    def sync(self) -> int:
        with self._lock:
            if self.fail_next_sync is not None:
                e, self.fail_next_sync = self.fail_next_sync, None
                # Like the file WAL: unsynced records are dropped and the state rebuilt.
                self._records = self._records[: self._synced]
                self._idx, _ = self._replay()
                self._durable_last = self._idx.last
                raise WalWriteError(f"WAL sync failed: {e}") from e
            self._synced = len(self._records)
            self._durable_last = self._idx.last
            return self._durable_last

    def compact(self, index: int, term: int) -> None:
        with self._lock:
            if index <= self._idx.snap_index:
                return
            self._records.append((SNAPSHOT, (index, term)))
            self._idx.compact(index, term)
            self.sync()
            # Like deleting old segments: keep only what the current state needs.
            idx = self._idx
            assert idx.objs is not None
            self._records = [(HARD_STATE, idx.hard_state), (SNAPSHOT, (idx.snap_index, idx.snap_term))]
            self._records += [(ENTRY, e) for e in idx.objs]
            self._synced = len(self._records)

    def _replay(self) -> tuple[LogIndex, int]:
        idx = LogIndex(1, collect=True)
        discarded = 0
        for rtype, value in self._records:
            discarded += self._apply(idx, rtype, value)
        return idx, discarded

    def crash(self) -> Recovery:
        """Drop everything not synced; return what a restart recovers."""
        with self._lock:
            self._records = self._records[: self._synced]
            self._idx, discarded = self._replay()
            self._durable_last = self._idx.last
            idx = self._idx
            assert idx.objs is not None
            self.recovered = Recovery(
                idx.hard_state, idx.snap_index, idx.snap_term, list(idx.objs), None, discarded
            )
            return self.recovered

    def close(self) -> None:
        pass


class _MemoryFile:
    __slots__ = ("meta", "data")

    def __init__(self, meta: SnapshotMeta, data: bytes) -> None:
        self.meta = meta
        self.data = data


class MemorySnapshotWriter:
    def __init__(self, store: MemorySnapshotStore, index: int, term: int, membership: bytes) -> None:
        self._store = store
        self.index, self.term, self.membership = index, term, bytes(membership)
        self.name = snapshot_name(index, term)
        self._buf = bytearray()
        self._done = False
        store._open_writers.add(self)

    @property
    def size(self) -> int:
        return len(self._buf)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._done:
            raise StorageError("snapshot writer is finished")
        self._buf += data
        return len(data)

    def write_chunk(self, offset: int, data: bytes) -> int:
        have = len(self._buf)
        if offset > have:
            raise ValueError(f"snapshot chunk at offset {offset} leaves a gap (have {have} bytes)")
        if offset + len(data) > have:
            self.write(memoryview(data)[have - offset :])
        return len(self._buf)

    def commit(self, *, expected_size: int | None = None, expected_crc: int | None = None) -> SnapshotMeta:
        if self._done:
            raise StorageError("snapshot writer is finished")
        data = bytes(self._buf)
        crc = crc32c(data)
        if (expected_size is not None and expected_size != len(data)) or (
            expected_crc is not None and expected_crc != crc
        ):
            self.abort()
            raise SnapshotCorruptError(f"snapshot {self.name}: size or checksum mismatch")
        self._done = True
        self._store._open_writers.discard(self)
        meta = SnapshotMeta(self.index, self.term, self.membership, len(data), crc, self.name)
        self._store._add(_MemoryFile(meta, data))
        return meta

    def abort(self) -> None:
        self._done = True
        self._store._open_writers.discard(self)

    def __enter__(self) -> MemorySnapshotWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()


class MemorySnapshotReader:
    def __init__(self, f: _MemoryFile) -> None:
        self.meta = f.meta
        self._data = f.data
        self._pos = 0

    @property
    def size(self) -> int:
        return self.meta.size

    def read_chunk(self, offset: int, n: int) -> bytes:
        return self._data[offset : offset + max(0, n)]

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = self.meta.size - self._pos
        data = self.read_chunk(self._pos, n)
        self._pos += len(data)
        return data

    def chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        for off in range(0, self.meta.size, chunk_size):
            yield self.read_chunk(off, chunk_size)

    def verify(self) -> None:
        if crc32c(self._data) != self.meta.crc:
            raise SnapshotCorruptError(f"snapshot {self.meta.name}: payload checksum mismatch")

    def read_all(self) -> bytes:
        self.verify()
        return self._data

    def close(self) -> None:
        pass

    def __enter__(self) -> MemorySnapshotReader:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class MemorySnapshotStore:
    """`SnapshotStore` without files; ``corrupt(name)`` flips a payload bit for tests."""

    def __init__(self, keep: int = 2) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.keep = keep
        self._files: dict[str, _MemoryFile] = {}
        self._open_writers: set[MemorySnapshotWriter] = set()
        self._lock = threading.Lock()

    def create(self, index: int, term: int, membership: bytes = b"") -> MemorySnapshotWriter:
        return MemorySnapshotWriter(self, index, term, membership)

    def _add(self, f: _MemoryFile) -> None:
        with self._lock:
            self._files[f.meta.name] = f
            names = sorted(self._files)
            for n in names[: max(0, len(names) - self.keep)]:
                del self._files[n]

    def list(self) -> list[SnapshotMeta]:
        with self._lock:
            return [self._files[n].meta for n in sorted(self._files)]

    def latest(self) -> SnapshotMeta | None:
        metas = self.list()
        return metas[-1] if metas else None

    def open(self, meta: SnapshotMeta, *, verify: bool = False) -> MemorySnapshotReader:
        with self._lock:
            f = self._files.get(meta.name)
        if f is None:
            raise StorageError(f"snapshot {meta.name} does not exist")
        reader = MemorySnapshotReader(f)
        if verify:
            reader.verify()
        return reader

    def corrupt(self, name: str) -> None:
        f = self._files[name]
        data = bytearray(f.data)
        if data:
            data[len(data) // 2] ^= 1
        f.data = bytes(data)

    def crash(self) -> None:
        """Writers in progress are lost; committed snapshots survive."""
        for w in list(self._open_writers):
            w.abort()
