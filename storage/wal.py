"""`Wal`: the write-ahead log, a directory of segment files.

Layout: ``{seq:016x}-{first_index:016x}.wal`` segments (see `segment`), each a header
followed by records (see `records`). A segment starts with the then-current hard state
and snapshot marker, so deleting older segments never loses either; recovery takes the
last of each. Entries, hard state, truncations and snapshot markers share one stream, so
one ``fdatasync`` covers all of them.

Contracts:

- ``write_batches`` encodes every record of every batch into one buffer and hands it to
  the kernel in one write; nothing is durable until ``sync`` returns. A failed write is
  cut off again (``ftruncate``) and the batch counts as not written; the WAL carries on.
  A failed sync truncates back to the last synced offset and reloads; if even that fails
  the WAL refuses further writes (`WalFailedError`) until it is reopened.
- A truncation is a ``TRUNCATE`` record in the stream: once it is durable the entries it
  voids never come back. Writing entries at or below ``last_index`` truncates implicitly.
- ``compact(index, term)`` writes a snapshot marker, syncs, then deletes whole segments
  that only hold entries ``<= index``.
- Recovery: a torn or partial record at the end of the LAST segment is cut off (with a
  warning naming file, offset and bytes cut); any other damage, a gap, a missing segment
  or a foreign header raises `CorruptWalError` naming file and offset.
- Preallocation (``preallocate``): a write past the end of the file carries zeros after
  its records, so later writes land in blocks the file already has and their fdatasync
  needs no file-system journal commit. A segment is cut to its records when it is sealed.
  On opening, zeros after the last record of the LAST segment are cut like a torn tail
  and reported in ``torn_tail`` (zeroed records look the same), logged at info level when
  the log preallocates; the next write past the end writes zeros ahead again.

Threading: every method may be called from any thread. Mutating calls (writes, sync,
compact, close) are serialised by one lock, held across the fsync; reads take a second,
short lock that is never held across an fsync, so a reader does not wait for the disk.
`GroupCommitter` drives the mutating side from its own thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crc32c import crc32c

from . import records as rec
from . import segment as seg
from .dirlock import DirLock
from .errors import CorruptWalError, StorageError, WalFailedError, WalWriteError
from .fs import OsFs
from .logindex import OFF_MASK, SEG_SHIFT, LogIndex, plan_batches
from .records import EntryLike, HardState, LogEntry

log = logging.getLogger(__name__)

DEFAULT_SEGMENT_SIZE = 64 << 20
# Writes at least this large are not joined into one buffer first (see write_batches).
_JOIN_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class TornTail:
    """What recovery cut off the end of the last segment."""

    path: str
    offset: int
    bytes_cut: int
    reason: str


@dataclass(slots=True)
class Recovery:
    """What `Wal.open` found: start the node from this."""

    hard_state: HardState
    snapshot_index: int
    snapshot_term: int
    entries: list[LogEntry]  # snapshot_index + 1 .. last, contiguous
    torn_tail: TornTail | None = None
    discarded: int = 0  # entries voided by truncate records during replay
    removed_temp_files: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Batch:
    """One unit of work: optional truncation, then entries, then hard state."""

    entries: Sequence[EntryLike] = ()
    hard_state: Any = None  # anything with term, vote, commit
    truncate_from: int | None = None


class _Segment:
    __slots__ = ("seq", "first_index", "path", "fd", "size", "synced", "allocated")

    def __init__(self, seq: int, first_index: int, path: str, fd: int, size: int) -> None:
        self.seq = seq
        self.first_index = first_index
        self.path = path
        self.fd = fd
        self.size = size  # where the records end
        self.synced = size
        self.allocated = size  # the file's length: records, then any zeros written ahead


class Wal:
    # Set by ``open`` (the constructor is not for use).
    directory: str
    cluster_id: str
    node_id: int
    segment_size: int
    preallocate: int
    recovered: Recovery
    _fs: OsFs
    _write_lock: threading.RLock
    _lock: threading.Lock
    _failed: BaseException | None
    _repair: bool
    _segments: list[_Segment]
    _durable_last: int
    _dirlock: DirLock | None
    _idx: LogIndex

    def __init__(self, *_: object) -> None:
        raise TypeError("use Wal.open(...)")

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        directory: str,
        *,
        cluster_id: str,
        node_id: int,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        fs: OsFs | None = None,
        lock: bool = True,
        repair: bool = False,
        preallocate: int = 0,
    ) -> Wal:
        """Open (creating if empty) the WAL in ``directory`` and recover it.

        The result of recovery is ``wal.recovered``. ``lock`` takes a `DirLock` on the
        directory for as long as the WAL is open. ``repair`` is for an operator who has
        read the `CorruptWalError`: damage in the LAST segment is then cut off there
        (with everything after it, logged as an error) instead of refusing to open.
        A crash can leave such damage without any acknowledged record being lost, when
        the kernel wrote back later pages of an unsynced write but not an earlier one.

        ``preallocate``: when a write goes past the end of the active segment's file, write
        this many zero bytes after it as well. The writes that follow then overwrite blocks
        the file already has, so their ``fdatasync`` flushes data only: a write that grows
        the file also makes the file system commit its journal (ext4), which costs about
        half as much again. A sealed segment is cut to its records; on opening, zeros after
        the last record are cut (see the module docstring).
        """
        self: Wal = object.__new__(cls)
        self.directory = directory
        self.cluster_id = cluster_id
        self.node_id = node_id
        self.segment_size = segment_size
        self.preallocate = preallocate
        self._fs = fs or OsFs()
        self._write_lock = threading.RLock()
        self._lock = threading.Lock()
        self._failed = None
        self._repair = False
        self._segments = []
        self._durable_last = 0
        self._dirlock = None
        fs_ = self._fs
        try:
            fs_.make_dirs_durable(directory)
            self._dirlock = DirLock(directory).acquire() if lock else None
            self._repair = repair
            self.recovered = self._recover()
        except BaseException as e:
            self._close_fds()
            if self._dirlock:
                self._dirlock.release()
            if isinstance(e, OSError):
                raise StorageError(f"cannot open WAL in {directory}: {e}") from e
            raise
        return self

    def _recover(self) -> Recovery:
        fs = self._fs
        removed = []
        for name in sorted(fs.listdir(self.directory)):
            if name.endswith(seg.TMP_SUFFIX):
                fs.unlink(os.path.join(self.directory, name))
                removed.append(name)
        if removed:
            log.warning("WAL %s: removed unfinished files %s", self.directory, ", ".join(removed))
            fs.fsync_dir(self.directory)
        self._idx, torn, discarded = self._replay()
        # A process that was killed (not a power cut) leaves its unsynced writes in the
        # page cache, where recovery reads them as part of the log. Make them durable
        # before anyone acts on them: only the last segment can hold such writes.
        fs.fdatasync(self._segments[-1].fd, durable=self._segments[-1].size)
        fs.fsync_dir(self.directory)
        idx = self._idx
        entries = idx.objs or []
        idx.objs = None
        self._durable_last = idx.last
        return Recovery(
            hard_state=idx.hard_state,
            snapshot_index=idx.snap_index,
            snapshot_term=idx.snap_term,
            entries=entries,
            torn_tail=torn,
            discarded=discarded,
            removed_temp_files=removed,
        )

    def _list_segments(self) -> list[tuple[int, int, str]]:
        found = []
        for name in self._fs.listdir(self.directory):
            parsed = seg.parse_name(name)
            if parsed:
                found.append((parsed[0], parsed[1], os.path.join(self.directory, name)))
        found.sort()
        for (a, _, _pa), (b, _, pb) in zip(found, found[1:], strict=False):
            if b != a + 1:
                raise CorruptWalError(
                    f"segment sequence jumps from {a} to {b}: a segment is missing", path=pb
                )
        return found

    def _replay(self) -> tuple[LogIndex, TornTail | None, int]:
        """Read every segment into a fresh index (and open the files)."""
        fs = self._fs
        self._close_fds()
        self._segments = []
        found = self._list_segments()
        if not found:
            idx = LogIndex(1, collect=True)
            self._segments.append(self._create_segment(0, 1, idx))
            return idx, None, 0
        idx = LogIndex(found[0][1], collect=True)
        head = rec.HEAD.unpack_from
        entry_fields = rec.ENTRY_FIELDS.unpack_from
        torn: TornTail | None = None
        discarded = 0
        for n, (seq, first, path) in enumerate(found):
            is_last = n == len(found) - 1
            buf = fs.read_all(path)
            header = seg.decode_header(buf, path)
            seg.check_identity(header, path, cluster_id=self.cluster_id, node_id=self.node_id)
            if (header.seq, header.first_index) != (seq, first):
                raise CorruptWalError("segment header does not match its file name", path=path, offset=0)
            if first != idx.last + 1:
                raise CorruptWalError(
                    f"segment starts at index {first}, expected {idx.last + 1}", path=path, offset=0
                )
            pos = seg.HEADER_SIZE
            loc_base = seq << SEG_SHIFT
            end = len(buf)
            mv = memoryview(buf)
            terms, locs, sizes, objs = idx.terms, idx.locs, idx.sizes, idx.objs
            assert objs is not None
            while pos < end:
                # Fast path for the common record, an intact entry that follows on;
                # anything else goes through the general decoder below.
                if end - pos >= rec.ENTRY_OVERHEAD:
                    crc, length, rtype = head(buf, pos)
                    stop = pos + rec.HEADER_SIZE + length
                    if (
                        rtype == rec.ENTRY
                        and 17 <= length
                        and stop <= end
                        and crc32c(mv[pos + 4 : stop]) == crc
                    ):
                        index, term, etype = entry_fields(buf, pos + rec.HEADER_SIZE)
                        if index == idx.base + len(terms):
                            terms.append(term)
                            locs.append(loc_base | pos)
                            sizes.append(stop - pos)
                            objs.append(LogEntry(index, term, etype, buf[pos + rec.ENTRY_OVERHEAD : stop]))
                            pos = stop
                            continue
                try:
                    rtype, value, size = rec.decode_at(buf, pos)
                except rec.RecordError as e:
                    # Only the tail of the last segment may be unsynced, so only there can
                    # damage be a torn write, and only if no intact record follows it (a
                    # flipped length field can look "torn" in the middle of a file).
                    repairing = is_last and self._repair
                    if is_last and (repairing or rec.valid_record_after(buf, pos + 1) is None):
                        torn = TornTail(path, pos, end - pos, str(e))
                        if self.preallocate and not repairing and buf.count(0, pos) == end - pos:
                            # Zeros to the end: most likely the space this log writes ahead
                            # of its records; they cannot be told from zeroed records, so
                            # they are cut and reported all the same, quietly.
                            log.info("WAL %s: %d zero bytes after the last record at offset %d; cut",
                                     path, end - pos, pos)
                        else:
                            (log.error if repairing else log.warning)(
                                "WAL %s: torn record at offset %d (%s); cutting %d bytes from the end",
                                path,
                                pos,
                                e,
                                end - pos,
                            )
                        fd = fs.open_write(path)
                        try:
                            fs.ftruncate(fd, pos)
                            fs.fsync(fd)
                        finally:
                            fs.close(fd)
                        end = pos
                        break
                    raise CorruptWalError(f"damaged record ({e})", path=path, offset=pos) from None
                try:
                    if rtype == rec.ENTRY:
                        idx.append(value.index, value.term, loc_base | pos, size, value)
                    elif rtype == rec.HARD_STATE:
                        idx.hard_state = value
                    elif rtype == rec.TRUNCATE:
                        discarded += idx.truncate(value)
                    else:
                        idx.compact(*value)
                except ValueError as e:
                    raise CorruptWalError(f"inconsistent record: {e}", path=path, offset=pos) from None
                pos += size
            fd = fs.open_write(path) if is_last else fs.open_read(path)
            self._segments.append(_Segment(seq, first, path, fd, end))
        if idx.base != idx.snap_index + 1:
            raise CorruptWalError(
                f"entries {idx.snap_index + 1}..{idx.base - 1} are missing (snapshot at {idx.snap_index}, "
                f"oldest segment starts at {found[0][1]})",
                path=found[0][2],
            )
        return idx, torn, discarded

    def _create_segment(
        self, seq: int, first_index: int, idx: LogIndex, snapshot: tuple[int, int] | None = None
    ) -> _Segment:
        """Write a new segment whole (header and head records), then make it visible."""
        fs = self._fs
        path = os.path.join(self.directory, seg.segment_name(seq, first_index))
        tmp = path + seg.TMP_SUFFIX
        parts: list[Any] = [
            seg.encode_header(seg.SegmentHeader(seq, first_index, self.node_id, self.cluster_id))
        ]
        rec.encode_hard_state(parts, idx.hard_state)
        rec.encode_snapshot(parts, *(snapshot or (idx.snap_index, idx.snap_term)))
        head = b"".join(parts)
        fd = fs.open_write(tmp, create=True)
        try:
            fs.write_at(fd, head, 0)
            fs.fdatasync(fd)
            fs.rename(tmp, path)
            fs.fsync_dir(self.directory)
        except BaseException:
            fs.close(fd)
            try:
                fs.unlink(tmp)
            except OSError:
                pass
            raise
        return _Segment(seq, first_index, path, fd, len(head))

    # ------------------------------------------------------------------ state

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
        """Last index covered by a completed sync (or found at recovery)."""
        return self._durable_last

    @property
    def segment_paths(self) -> list[str]:
        with self._lock:
            return [s.path for s in self._segments]

    def term(self, index: int) -> int:
        """Term of ``index``; ``snapshot_index`` answers with the snapshot term."""
        with self._lock:
            return self._idx.term(index)

    def entry(self, index: int) -> LogEntry:
        return self.entries(index, index + 1)[0]

    def entries(self, lo: int, hi: int, max_bytes: int | None = None) -> list[LogEntry]:
        """Entries ``lo <= index < hi`` (at least one if ``max_bytes`` cuts the range)."""
        out: list[LogEntry] = []
        if hi <= lo:
            return out
        with self._lock:
            idx = self._idx
            a = idx.pos(lo)
            b = idx.pos(hi - 1) + 1
            if max_bytes is not None:
                total = 0
                for k in range(a, b):
                    total += idx.sizes[k]
                    if total > max_bytes and k > a:
                        b = k
                        break
            by_seq = {s.seq: s for s in self._segments}
            k = a
            while k < b:
                sq = idx.locs[k] >> SEG_SHIFT
                j = k + 1
                while j < b and idx.locs[j] >> SEG_SHIFT == sq:
                    j += 1
                s = by_seq[sq]
                start = idx.locs[k] & OFF_MASK
                stop = (idx.locs[j - 1] & OFF_MASK) + idx.sizes[j - 1]
                buf = self._fs.pread(s.fd, stop - start, start)
                for m in range(k, j):
                    off = (idx.locs[m] & OFF_MASK) - start
                    try:
                        rtype, e, _ = rec.decode_at(buf, off)
                    except rec.RecordError as err:
                        raise CorruptWalError(
                            f"damaged record on read ({err})", path=s.path, offset=start + off
                        ) from None
                    if rtype != rec.ENTRY or e.index != idx.base + m:
                        raise CorruptWalError(
                            "index points at the wrong record", path=s.path, offset=start + off
                        )
                    out.append(e)
                k = j
        return out

    # ------------------------------------------------------------------ writing

    def append(self, entries: Sequence[EntryLike], hard_state: Any = None) -> int:
        """Write entries (truncating first if they start at or below ``last_index``) and
        optionally a hard state. Not durable until `sync`. Returns the last index."""
        return self.write_batches([Batch(entries, hard_state)])

    def set_hard_state(self, hard_state: Any) -> None:
        self.write_batches([Batch((), hard_state)])

    def truncate_suffix(self, index: int) -> None:
        """Void entries ``>= index`` (crash safe once synced)."""
        self.write_batches([Batch((), None, index)])

    def write_batches(self, batches: Iterable[Batch]) -> int:
        """Encode all batches into one buffer and write it; return the last index.

        Raises ``ValueError`` (before any I/O) for a batch that does not fit the log, and
        `WalWriteError` if the write fails, in which case none of the batches is written.
        """
        with self._write_lock:
            self._check_usable()
            idx = self._idx
            plan = plan_batches(idx, batches)
            parts: list[Any] = []
            offsets = []
            pos = 0
            for rtype, value in plan:
                offsets.append(pos)
                if rtype == rec.ENTRY:
                    pos += rec.encode_entry(parts, value)
                elif rtype == rec.TRUNCATE:
                    pos += rec.encode_truncate(parts, value)
                else:
                    pos += rec.encode_hard_state(parts, value)
            if not plan:
                return idx.last
            # A large write goes out piece by piece: joining would copy it while holding the
            # GIL, which the event loop's thread waits for.
            big = pos >= _JOIN_LIMIT
            data: bytes = b"" if big else b"".join(parts)
            active = self._segments[-1]
            if active.size + pos > self.segment_size and active.size > self._head_size():
                active = self._roll(idx.last + 1)
            off = active.size
            stop = off + pos
            written = pos
            if stop > active.allocated and self.preallocate and not big:
                pad = min(self.preallocate, self.segment_size - stop)
                if pad > 0:
                    data += bytes(pad)
                    written += pad
            try:
                if big:
                    at = off
                    for part in parts:
                        self._fs.write_at(active.fd, part, at)
                        at += len(part)
                else:
                    self._fs.write_at(active.fd, data, off)
            except OSError as e:
                self._cut_back(active, off, e)
                raise WalWriteError(f"WAL write of {pos} bytes to {active.path} failed: {e}") from e
            loc = (active.seq << SEG_SHIFT) | off
            with self._lock:
                active.size = stop
                if off + written > active.allocated:
                    active.allocated = off + written
                offsets.append(pos)
                for n, (rtype, value) in enumerate(plan):
                    if rtype == rec.ENTRY:
                        idx.append(value.index, value.term, loc + offsets[n], offsets[n + 1] - offsets[n])
                    elif rtype == rec.TRUNCATE:
                        idx.truncate(value)
                        self._durable_last = min(self._durable_last, value - 1)
                    else:
                        idx.hard_state = value
            return idx.last

    def sync(self) -> int:
        """Make everything written so far durable; return the durable last index."""
        with self._write_lock:
            self._check_usable()
            active = self._segments[-1]
            target_last = self._idx.last
            if active.synced == active.size:
                self._durable_last = target_last
                return target_last
            size = active.size
            try:
                self._fs.fdatasync(active.fd, durable=size)
            except OSError as e:
                self._recover_from_failed_sync(active, e)
                raise WalWriteError(f"WAL sync of {active.path} failed: {e}") from e
            active.synced = size
            self._durable_last = target_last
            return target_last

    def compact(self, index: int, term: int) -> None:
        """Entries up to ``index`` are in a durable snapshot: record that, sync, and delete
        the segments that hold nothing newer. ``index`` may be beyond ``last_index``
        (a snapshot from the leader); the log then continues at ``index + 1``."""
        with self._write_lock:
            self._check_usable()
            idx = self._idx
            if index <= idx.snap_index:
                return
            # The marker goes into the active segment and is synced first, beyond the log's
            # end too: replaying it makes the log continue at index + 1, so a crash (or an
            # unlink that fails) while a new segment starting there sits beside the old ones
            # still leaves a log that opens.
            parts: list[Any] = []
            rec.encode_snapshot(parts, index, term)
            buf = b"".join(parts)
            active = self._segments[-1]
            off = active.size
            try:
                self._fs.write_at(active.fd, buf, off)
            except OSError as e:
                self._cut_back(active, off, e)
                raise WalWriteError(f"WAL write to {active.path} failed: {e}") from e
            active.size += len(buf)
            if active.size > active.allocated:
                active.allocated = active.size
            self.sync()
            if index > idx.last:
                self._roll(index + 1, snapshot=(index, term))
                with self._lock:
                    idx.compact(index, term)
                    self._durable_last = idx.last
            else:
                with self._lock:
                    idx.compact(index, term)
            self._delete_old_segments(index)

    def _delete_old_segments(self, index: int) -> None:
        segs = self._segments
        k = 0
        for j, s in enumerate(segs):
            if s.first_index <= index + 1:
                k = j
        if k == 0:
            return
        with self._lock:
            doomed, self._segments = segs[:k], segs[k:]
        for s in doomed:
            self._fs.close(s.fd)
            try:
                self._fs.unlink(s.path)
            except OSError as e:
                # The marker is durable (in this segment or a later one), so a leftover
                # segment is only wasted space; recovery replays it harmlessly. Log and
                # retry at the next compaction.
                log.warning("WAL: could not delete %s: %s", s.path, e)
        try:
            self._fs.fsync_dir(self.directory)
        except OSError as e:
            log.warning("WAL: directory fsync after deleting segments failed: %s", e)

    def _head_size(self) -> int:
        return seg.HEADER_SIZE + (rec.HEADER_SIZE + 24) + (rec.HEADER_SIZE + 16)

    def _roll(self, first_index: int, snapshot: tuple[int, int] | None = None) -> _Segment:
        """Seal the active segment (sync it) and start a new one at ``first_index``."""
        active = self._segments[-1]
        trimmed = False
        if active.allocated > active.size:
            # A sealed segment holds records only (zeros end only the last one).
            try:
                self._fs.ftruncate(active.fd, active.size)
            except OSError as e:
                raise WalWriteError(f"cannot cut the preallocated end of {active.path}: {e}") from e
            active.allocated = active.size
            trimmed = True
        if trimmed or active.synced != active.size:
            size = active.size
            try:
                self._fs.fdatasync(active.fd, durable=size)
            except OSError as e:
                self._recover_from_failed_sync(active, e)
                raise WalWriteError(f"WAL sync of {active.path} failed: {e}") from e
            active.synced = size
            self._durable_last = self._idx.last
        try:
            new = self._create_segment(active.seq + 1, first_index, self._idx, snapshot)
        except OSError as e:
            raise WalWriteError(f"cannot create a new WAL segment in {self.directory}: {e}") from e
        with self._lock:
            self._segments.append(new)
        return new

    # ------------------------------------------------------------------ failure handling

    def _check_usable(self) -> None:
        if self._failed is not None:
            raise WalFailedError(
                f"WAL {self.directory} is unusable after an earlier I/O error ({self._failed}); reopen it"
            ) from self._failed
        if not self._segments:
            raise WalFailedError(f"WAL {self.directory} is closed")

    def _cut_back(self, active: _Segment, offset: int, cause: OSError) -> None:
        """A write failed: remove whatever part of it reached the file."""
        try:
            self._fs.ftruncate(active.fd, offset)
            active.allocated = offset
        except OSError as e:
            self._failed = e
            raise WalFailedError(
                f"WAL write to {active.path} failed ({cause}) and cutting it back to {offset} failed ({e})"
            ) from cause

    def _recover_from_failed_sync(self, active: _Segment, cause: OSError) -> None:
        """After a failed fsync the page cache can no longer be trusted: drop everything
        past the last synced offset and rebuild the index from the files."""
        try:
            self._fs.ftruncate(active.fd, active.synced)
            active.allocated = active.synced
            self._fs.fdatasync(active.fd, durable=active.synced)
            with self._lock:
                idx, _, _ = self._replay()
                idx.objs = None
                self._idx = idx
                self._durable_last = idx.last
        except (OSError, CorruptWalError) as e:
            self._failed = e
            raise WalFailedError(
                f"WAL sync of {active.path} failed ({cause}) and restoring the last synced state failed ({e})"
            ) from cause

    # ------------------------------------------------------------------ closing

    def _close_fds(self) -> None:
        for s in self._segments:
            try:
                self._fs.close(s.fd)
            except OSError:
                pass
        self._segments = []

    def close(self) -> None:
        """Close the files and release the directory lock. Does not sync."""
        with self._write_lock, self._lock:
            self._close_fds()
            if self._dirlock is not None:
                self._dirlock.release()
                self._dirlock = None

    def __enter__(self) -> Wal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
