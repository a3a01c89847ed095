"""`SnapshotStore`: durable snapshots with meta and a checksum, written and read in chunks.

File ``snap-{index:016x}-{term:016x}.snap``::

    magic "RAFTSNAP" | version:u16 | index:u64 | term:u64 | size:u64 | payload_crc32c:u32 |
    membership_len:u32 | header_crc32c:u32 | membership | payload

The header CRC covers the fixed fields and the membership bytes; the payload CRC covers the
payload. A snapshot is written to a ``*.tmp`` file; ``commit`` writes the final header,
fsyncs the file, renames it into place and fsyncs the directory. Only after that are older
snapshots beyond the newest ``keep`` deleted. Temp files left by a crash are removed when
the store is opened.

Writers accept data two ways: ``write(bytes)`` appends (a file-like sink for the state
machine's serializer) and ``write_chunk(offset, bytes)`` places a chunk received from the
leader (a re-sent chunk is accepted, a gap is refused). Chunks may be any size.

Threading: a store and its readers may be used from several threads; one writer is used
by one thread at a time.
"""

from __future__ import annotations

import itertools
import os
import re
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from crc32c import crc32c

from .errors import SnapshotCorruptError, StorageError
from .fs import OsFs

MAGIC = b"RAFTSNAP"
VERSION = 1
_fixed = struct.Struct("<8sHQQQII")
_crc = struct.Struct("<I")
FIXED_SIZE = _fixed.size + _crc.size
TMP_SUFFIX = ".tmp"
_name_re = re.compile(r"^snap-([0-9a-f]{16})-([0-9a-f]{16})\.snap$")
_BUFFER = 1 << 20


@dataclass(frozen=True, slots=True)
class SnapshotMeta:
    index: int  # last included index
    term: int  # its term
    membership: bytes  # opaque to storage
    size: int  # payload bytes
    crc: int  # crc32c of the payload
    name: str  # identifies the snapshot within its store


def snapshot_name(index: int, term: int) -> str:
    return f"snap-{index:016x}-{term:016x}.snap"


def _encode_header(index: int, term: int, membership: bytes, size: int, crc: int) -> bytes:
    fixed = _fixed.pack(MAGIC, VERSION, index, term, size, crc, len(membership))
    return fixed + _crc.pack(crc32c(membership, crc32c(fixed))) + membership


class SnapshotWriter:
    """Collects one snapshot's payload; `commit` makes it durable and visible."""

    def __init__(self, store: SnapshotStore, index: int, term: int, membership: bytes) -> None:
        self._store = store
        self._fs = store._fs
        self.index, self.term, self.membership = index, term, bytes(membership)
        self.name = snapshot_name(index, term)
        n = next(store._counter)
        self._tmp = os.path.join(store.directory, f"{self.name}.{os.getpid()}.{n}{TMP_SUFFIX}")
        self._header = _encode_header(index, term, self.membership, 0, 0)
        self._fd: int | None = self._fs.open_write(self._tmp, create=True)
        self._buf: list[bytes] = []
        self._buffered = 0
        self._written = 0  # payload bytes handed to the kernel
        self._crc = 0
        self._done = False
        try:
            self._fs.write_at(self._fd, self._header, 0)
        except BaseException:
            self.abort()
            raise

    @property
    def size(self) -> int:
        """Payload bytes received so far."""
        return self._written + self._buffered

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data`` to the payload."""
        if self._done:
            raise StorageError("snapshot writer is finished")
        data = bytes(data)
        self._crc = crc32c(data, self._crc)
        self._buf.append(data)
        self._buffered += len(data)
        if self._buffered >= _BUFFER:
            self._flush()
        return len(data)

    def write_chunk(self, offset: int, data: bytes) -> int:
        """Place a chunk at ``offset``; return the payload size after it.

        A chunk that lies wholly within what was already received is a re-send and is
        ignored; one that overlaps the end contributes only its new part; a chunk that
        starts beyond the end is a gap and raises ``ValueError``.
        """
        have = self.size
        if offset > have:
            raise ValueError(f"snapshot chunk at offset {offset} leaves a gap (have {have} bytes)")
        if offset + len(data) > have:
            self.write(memoryview(data)[have - offset :])
        return self.size

    def _flush(self) -> None:
        if not self._buf:
            return
        assert self._fd is not None
        data = b"".join(self._buf)
        self._fs.write_at(self._fd, data, len(self._header) + self._written)
        self._written += len(data)
        self._buf, self._buffered = [], 0

    def commit(self, *, expected_size: int | None = None, expected_crc: int | None = None) -> SnapshotMeta:
        """Make the snapshot durable and visible; return its meta.

        ``expected_size``/``expected_crc`` (from the leader) are checked first; a mismatch
        aborts the snapshot and raises `SnapshotCorruptError`.
        """
        if self._done:
            raise StorageError("snapshot writer is finished")
        try:
            if expected_size is not None and expected_size != self.size:
                raise SnapshotCorruptError(
                    f"snapshot {self.name}: received {self.size} bytes, expected {expected_size}"
                )
            if expected_crc is not None and expected_crc != self._crc:
                raise SnapshotCorruptError(f"snapshot {self.name}: payload checksum mismatch")
            self._flush()
            assert self._fd is not None
            fs = self._fs
            fs.write_at(
                self._fd, _encode_header(self.index, self.term, self.membership, self.size, self._crc), 0
            )
            fs.fsync(self._fd)
            fs.close(self._fd)
            self._fd = None
            final = os.path.join(self._store.directory, self.name)
            replacing = fs.exists(final)  # the same snapshot again: never remove the old copy
            fs.rename(self._tmp, final)
            if not replacing:
                self._tmp = final  # from here on, abort removes the renamed file
            fs.fsync_dir(self._store.directory)
        except BaseException:
            # Not durable, so not committed: do not leave it visible either.
            self.abort()
            raise
        self._done = True
        meta = SnapshotMeta(self.index, self.term, self.membership, self.size, self._crc, self.name)
        self._store._prune()
        return meta

    def abort(self) -> None:
        """Discard the snapshot (idempotent)."""
        self._done = True
        if self._fd is not None:
            try:
                self._fs.close(self._fd)
            except OSError:
                pass
            self._fd = None
        try:
            self._fs.unlink(self._tmp)
        except OSError:
            pass

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()


class SnapshotReader:
    """Reads one snapshot's payload: by offset (chunks for a follower) or as a stream."""

    def __init__(self, fs: OsFs, path: str, meta: SnapshotMeta, data_offset: int) -> None:
        self.meta = meta
        self._fs = fs
        self._fd = fs.open_read(path)
        self._path = path
        self._base = data_offset
        self._pos = 0

    @property
    def size(self) -> int:
        return self.meta.size

    def read_chunk(self, offset: int, n: int) -> bytes:
        n = max(0, min(n, self.meta.size - offset))
        data = self._fs.pread(self._fd, n, self._base + offset) if n else b""
        if len(data) != n:
            raise SnapshotCorruptError(f"snapshot {self._path} is shorter than its header says")
        return data

    def read(self, n: int = -1) -> bytes:
        """File-like sequential read (no checksum check: use `verify` or `read_all`)."""
        if n < 0:
            n = self.meta.size - self._pos
        data = self.read_chunk(self._pos, n)
        self._pos += len(data)
        return data

    def chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        for off in range(0, self.meta.size, chunk_size):
            yield self.read_chunk(off, chunk_size)

    def verify(self) -> None:
        """Read the whole payload and check its checksum; raises `SnapshotCorruptError`."""
        crc = 0
        for chunk in self.chunks():
            crc = crc32c(chunk, crc)
        if crc != self.meta.crc:
            raise SnapshotCorruptError(f"snapshot {self._path}: payload checksum mismatch")

    def read_all(self) -> bytes:
        """The whole payload, checked against its checksum."""
        data = self.read_chunk(0, self.meta.size)
        if crc32c(data) != self.meta.crc:
            raise SnapshotCorruptError(f"snapshot {self._path}: payload checksum mismatch")
        return data

    def close(self) -> None:
        if self._fd is not None:
            self._fs.close(self._fd)
            self._fd = None  # type: ignore[assignment]

    def __enter__(self) -> SnapshotReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SnapshotStore:
    def __init__(self, directory: str, keep: int = 2, *, fs: OsFs | None = None, clean: bool = True) -> None:
        """``clean``: remove the temporary files a killed process left (only the store's owner
        may: a second store in a forked child would delete snapshots being written or
        received by the parent)."""
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.directory = directory
        self.keep = keep
        self._fs = fs or OsFs()
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._fs.make_dirs_durable(directory)
        stale = [n for n in self._fs.listdir(directory) if n.endswith(TMP_SUFFIX)] if clean else []
        for n in stale:
            self._fs.unlink(os.path.join(directory, n))
        # Also covers a rename whose directory fsync a killed process never made.
        self._fs.fsync_dir(directory)
        self.removed_temp_files = stale

    def create(self, index: int, term: int, membership: bytes = b"") -> SnapshotWriter:
        """Start a snapshot that includes the log through ``index`` (at ``term``)."""
        return SnapshotWriter(self, index, term, membership)

    def _names(self) -> list[tuple[int, int, str]]:
        out = []
        for n in self._fs.listdir(self.directory):
            m = _name_re.match(n)
            if m:
                out.append((int(m.group(1), 16), int(m.group(2), 16), n))
        out.sort()
        return out

    def _read_meta(self, name: str) -> tuple[SnapshotMeta, int]:
        path = os.path.join(self.directory, name)
        fs = self._fs
        fd = fs.open_read(path)
        try:
            head = fs.pread(fd, FIXED_SIZE, 0)
            if len(head) < FIXED_SIZE:
                raise SnapshotCorruptError(f"snapshot {path}: header truncated")
            magic, version, index, term, size, crc, mlen = _fixed.unpack_from(head)
            if magic != MAGIC or version != VERSION:
                raise SnapshotCorruptError(f"snapshot {path}: bad magic or version")
            membership = fs.pread(fd, mlen, FIXED_SIZE)
            (hcrc,) = _crc.unpack_from(head, _fixed.size)
            if len(membership) != mlen or crc32c(membership, crc32c(head[: _fixed.size])) != hcrc:
                raise SnapshotCorruptError(f"snapshot {path}: header checksum mismatch")
            data_offset = FIXED_SIZE + mlen
            if fs.size(fd) != data_offset + size:
                raise SnapshotCorruptError(
                    f"snapshot {path}: file is {fs.size(fd)} bytes, header says {data_offset + size}"
                )
        finally:
            fs.close(fd)
        return SnapshotMeta(index, term, membership, size, crc, name), data_offset

    def list(self) -> list[SnapshotMeta]:
        """All snapshots, oldest first."""
        return [self._read_meta(n)[0] for _, _, n in self._names()]

    def latest(self) -> SnapshotMeta | None:
        """The newest snapshot's meta (header checked), or None."""
        names = self._names()
        return self._read_meta(names[-1][2])[0] if names else None

    def open(self, meta: SnapshotMeta, *, verify: bool = False) -> SnapshotReader:
        """Open a snapshot for reading; ``verify`` checks the whole payload first."""
        fresh, data_offset = self._read_meta(meta.name)
        if fresh != meta:
            raise SnapshotCorruptError(f"snapshot {meta.name} changed on disk")
        reader = SnapshotReader(self._fs, os.path.join(self.directory, meta.name), fresh, data_offset)
        if verify:
            try:
                reader.verify()
            except BaseException:
                reader.close()
                raise
        return reader

    def _prune(self) -> None:
        with self._lock:
            names = self._names()
            doomed = names[: max(0, len(names) - self.keep)]
            for _, _, n in doomed:
                self._fs.unlink(os.path.join(self.directory, n))
            if doomed:
                self._fs.fsync_dir(self.directory)
