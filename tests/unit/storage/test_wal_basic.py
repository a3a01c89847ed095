import logging
import os
import stat
from dataclasses import dataclass

import pytest
from storage_faults import ents

from storage import (
    CorruptWalError,
    DirLock,
    DirLockedError,
    EntryUnavailableError,
    HardState,
    LogCompactedError,
    Wal,
    WalIdentityError,
)
from storage import records as rec
from storage import segment as seg


def open_wal(d, **kw):
    kw.setdefault("cluster_id", "c1")
    kw.setdefault("node_id", 1)
    return Wal.open(d, **kw)


@dataclass
class ForeignEntry:  # any object with index/term/type/data will do
    index: int
    term: int
    type: int
    data: bytes


def test_empty_open_creates_segment_with_owner_only_modes(tmp_path):
    waldir = str(tmp_path / "data" / "wal")
    with open_wal(waldir) as w:
        r = w.recovered
        assert (r.hard_state, r.snapshot_index, r.entries) == (HardState(), 0, [])
        assert (w.first_index, w.last_index) == (1, 0)
        paths = w.segment_paths
    assert stat.S_IMODE(os.stat(waldir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.dirname(waldir)).st_mode) == 0o700
    for p in [*paths, os.path.join(waldir, "LOCK")]:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600


def test_append_read_reopen(waldir):
    with open_wal(waldir) as w:
        w.append([ForeignEntry(1, 1, 0, b"a"), ForeignEntry(2, 1, 1, b"b")], HardState(1, 1, 0))
        w.append(ents(3, 100, size=50))
        w.set_hard_state(HardState(2, 0, 50))
        assert w.sync() == 99
        assert w.entries(1, 3)[1].data == b"b" and w.entries(1, 3)[1].type == 1
        assert [e.index for e in w.entries(10, 20)] == list(range(10, 20))
        assert len(w.entries(10, 99, max_bytes=200)) == 2
        assert w.term(99) == 1
    with open_wal(waldir) as w:
        r = w.recovered
        assert r.hard_state == HardState(2, 0, 50)
        assert [e.index for e in r.entries] == list(range(1, 100))
        assert r.entries[50] == ents(51, 52, size=50)[0]
        assert r.torn_tail is None
        assert w.entry(42) == r.entries[41]


def test_append_must_follow_on(waldir):
    with open_wal(waldir) as w:
        w.append(ents(1, 5))
        with pytest.raises(ValueError, match="does not follow"):
            w.append(ents(7, 8))
        with pytest.raises(EntryUnavailableError):
            w.term(9)


def test_segments_roll_and_reads_span_them(waldir):
    with open_wal(waldir, segment_size=1024) as w:
        for i in range(1, 200, 10):
            w.append(ents(i, i + 10, size=40))
        w.sync()
        assert len(w.segment_paths) > 5
        assert [e.index for e in w.entries(1, 201)] == list(range(1, 201))
    with open_wal(waldir, segment_size=1024) as w:
        assert [e.index for e in w.recovered.entries] == list(range(1, 201))


def test_preallocated_zeros_follow_the_records_and_recovery_cuts_them(waldir):
    with open_wal(waldir, preallocate=4096) as w:
        w.append(ents(1, 11, size=40))
        w.sync()
        path = w.segment_paths[-1]
        end = w._segments[-1].size
        assert os.path.getsize(path) == end + 4096  # the records, then zeros
        w.append(ents(11, 21, size=40))  # into the zeros: the file does not grow
        w.sync()
        assert os.path.getsize(path) == end + 4096
    with open_wal(waldir, preallocate=4096) as w:
        assert [e.index for e in w.recovered.entries] == list(range(1, 21))
        # The zeros are cut and reported like a torn tail (zeroed records look the same).
        t = w.recovered.torn_tail
        assert t is not None and (t.offset, t.bytes_cut) == (w._segments[-1].size, end + 4096 - t.offset)
        assert os.path.getsize(path) == w._segments[-1].size
        w.append(ents(21, 31, size=40))  # past the end again: zeros ahead again
        w.sync()
        assert os.path.getsize(path) == w._segments[-1].size + 4096
    with open_wal(waldir) as w:  # opened without preallocating: the same log
        assert [e.index for e in w.recovered.entries] == list(range(1, 31))


def test_a_sealed_segment_is_cut_to_its_records(waldir):
    with open_wal(waldir, segment_size=1024, preallocate=300) as w:
        for i in range(1, 200, 10):
            w.append(ents(i, i + 10, size=40))
        w.sync()
        paths = w.segment_paths
        assert len(paths) > 5
        sizes = [s.size for s in w._segments]
        # Zeros end only the last segment.
        assert [os.path.getsize(p) for p in paths[:-1]] == sizes[:-1]
        assert os.path.getsize(paths[-1]) > sizes[-1]
    with open_wal(waldir, segment_size=1024, preallocate=300) as w:
        assert [e.index for e in w.recovered.entries] == list(range(1, 201))


def test_truncate_is_durable_and_entries_never_reappear(waldir):
    with open_wal(waldir, segment_size=1024) as w:
        for i in range(1, 100, 10):
            w.append(ents(i, i + 10, size=40))
        w.sync()
        w.append(ents(30, 35, term=2))  # implicit truncation at 30, back in an old segment
        w.sync()
        assert w.last_index == 34 and w.term(30) == 2 and w.term(29) == 1
        w.truncate_suffix(33)
        w.sync()
    with open_wal(waldir, segment_size=1024) as w:
        r = w.recovered
        assert [(e.index, e.term) for e in r.entries[-5:]] == [(28, 1), (29, 1), (30, 2), (31, 2), (32, 2)]
        assert r.discarded == 71 + 2  # 30..100, then 33..34
        w.append(ents(33, 40, term=3))
        w.sync()
    with open_wal(waldir, segment_size=1024) as w:
        assert [e.term for e in w.recovered.entries[-10:]] == [2, 2, 2] + [3] * 7
        assert w.last_index == 39


def test_truncating_committed_entries_is_refused(waldir):
    with open_wal(waldir) as w:
        w.append(ents(1, 10), HardState(1, 1, 5))
        with pytest.raises(ValueError, match="committed"):
            w.truncate_suffix(5)
        w.truncate_suffix(6)
        assert w.last_index == 5


def test_compact_deletes_whole_segments_and_keeps_hard_state(waldir):
    with open_wal(waldir, segment_size=1024) as w:
        w.set_hard_state(HardState(7, 3, 0))
        for i in range(1, 300, 10):
            w.append(ents(i, i + 10, size=40))
        w.sync()
        before = w.segment_paths
        w.compact(150, 1)
        after = w.segment_paths
        assert len(after) < len(before) and after == before[-len(after) :]
        assert w.first_index == 151 and w.term(150) == 1
        with pytest.raises(LogCompactedError):
            w.entries(100, 101)
        first_kept = seg.parse_name(os.path.basename(after[0]))[1]
        assert first_kept <= 151
    with open_wal(waldir, segment_size=1024) as w:
        r = w.recovered
        assert r.hard_state == HardState(7, 3, 0)
        assert (r.snapshot_index, r.snapshot_term) == (150, 1)
        assert [e.index for e in r.entries] == list(range(151, 301))


def test_compact_beyond_last_index_restarts_the_log(waldir):
    with open_wal(waldir) as w:
        w.append(ents(1, 10), HardState(1, 0, 3))
        w.sync()
        w.compact(500, 4)
        assert (w.first_index, w.last_index, w.term(500)) == (501, 500, 4)
        assert len(w.segment_paths) == 1
        w.append(ents(501, 503, term=4))
        w.sync()
    with open_wal(waldir) as w:
        r = w.recovered
        assert (r.snapshot_index, r.snapshot_term) == (500, 4)
        assert [e.index for e in r.entries] == [501, 502]


def test_torn_tail_is_cut_with_a_warning(waldir, caplog):
    with open_wal(waldir) as w:
        w.append(ents(1, 20))
        w.sync()
        path = w.segment_paths[-1]
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - 5)
    with caplog.at_level(logging.WARNING), open_wal(waldir) as w:
        t = w.recovered.torn_tail
        assert t is not None and t.path == path and t.bytes_cut > 0
        assert [e.index for e in w.recovered.entries] == list(range(1, 19))
        assert any(path in m and "offset" in m and str(t.bytes_cut) in m for m in caplog.messages)
        w.append(ents(19, 21))
        w.sync()
    with open_wal(waldir) as w:
        assert w.recovered.torn_tail is None and w.last_index == 20


def test_bit_flip_before_the_tail_is_reported_with_file_and_offset(waldir):
    with open_wal(waldir) as w:
        w.append(ents(1, 20))
        w.sync()
        path = w.segment_paths[-1]
        loc = w._idx.locs[4] & ((1 << 40) - 1)
    with open(path, "r+b") as f:
        f.seek(loc + 20)
        b = f.read(1)
        f.seek(loc + 20)
        f.write(bytes([b[0] ^ 0x10]))
    with pytest.raises(CorruptWalError, match="checksum") as ei:
        open_wal(waldir)
    assert ei.value.path == path and ei.value.offset == loc


def test_damaged_length_field_in_the_middle_is_not_mistaken_for_a_torn_tail(waldir):
    with open_wal(waldir) as w:
        w.append(ents(1, 20))
        w.sync()
        path = w.segment_paths[-1]
        loc = w._idx.locs[10] & ((1 << 40) - 1)
    with open(path, "r+b") as f:
        f.seek(loc + 4)
        f.write((10**6).to_bytes(4, "little"))
    with pytest.raises(CorruptWalError):
        open_wal(waldir)


def test_damage_in_an_older_segment_is_reported(waldir):
    with open_wal(waldir, segment_size=1024) as w:
        for i in range(1, 100, 10):
            w.append(ents(i, i + 10, size=40))
        w.sync()
        first = w.segment_paths[0]
    size = os.path.getsize(first)
    with open(first, "r+b") as f:
        f.truncate(size - 3)  # a torn record anywhere but the last segment is damage
    with pytest.raises(CorruptWalError) as ei:
        open_wal(waldir, segment_size=1024)
    assert first in str(ei.value)


def test_missing_middle_segment_is_reported(waldir):
    with open_wal(waldir, segment_size=1024) as w:
        for i in range(1, 100, 10):
            w.append(ents(i, i + 10, size=40))
        w.sync()
        paths = w.segment_paths
    os.unlink(paths[2])
    with pytest.raises(CorruptWalError, match="missing"):
        open_wal(waldir)


def test_missing_oldest_segment_is_reported(waldir):
    with open_wal(waldir, segment_size=1024) as w:
        for i in range(1, 100, 10):
            w.append(ents(i, i + 10, size=40))
        w.sync()
        paths = w.segment_paths
    os.unlink(paths[0])
    with pytest.raises(CorruptWalError, match="missing"):
        open_wal(waldir)


def test_index_gap_inside_a_segment_is_reported(waldir):
    with open_wal(waldir) as w:
        w.append(ents(1, 3))
        w.sync()
        path = w.segment_paths[-1]
    parts = []
    rec.encode_entry(parts, ents(5, 6)[0])  # well formed, but 3 and 4 are missing
    with open(path, "ab") as f:
        f.write(b"".join(parts))
    with pytest.raises(CorruptWalError, match="does not follow") as ei:
        open_wal(waldir)
    assert ei.value.path == path


def test_foreign_cluster_or_node_is_refused(waldir):
    with open_wal(waldir) as w:
        w.append(ents(1, 3))
        w.sync()
    with pytest.raises(WalIdentityError, match="cluster"):
        open_wal(waldir, cluster_id="other")
    with pytest.raises(WalIdentityError, match="node 1"):
        open_wal(waldir, node_id=2)


def test_stale_temp_segment_is_removed(waldir):
    with open_wal(waldir) as w:
        w.append(ents(1, 3))
        w.sync()
    junk = os.path.join(waldir, seg.segment_name(1, 3) + seg.TMP_SUFFIX)
    with open(junk, "wb") as f:
        f.write(b"half a segment")
    with open_wal(waldir) as w:
        assert w.recovered.removed_temp_files == [os.path.basename(junk)]
        assert not os.path.exists(junk) and w.last_index == 2


def test_directory_lock(waldir, tmp_path):
    with open_wal(waldir):
        with pytest.raises(DirLockedError, match=f"pid {os.getpid()}"):
            open_wal(waldir)
    with open_wal(waldir):
        pass
    d = str(tmp_path / "data")
    os.makedirs(d)
    with DirLock(d):
        with pytest.raises(DirLockedError, match=d):
            DirLock(d).acquire()
    DirLock(d).acquire().release()


def test_hole_in_the_tail_is_reported_and_repair_cuts_it(waldir, caplog):
    """A lost page in the middle of an unsynced write, with later pages written: recovery
    cannot tell it from damage to acknowledged data, so it refuses; ``repair`` cuts there."""
    with open_wal(waldir) as w:
        w.append(ents(1, 50, size=30))
        w.sync()
        path = w.segment_paths[-1]
        loc = w._idx.locs[40] & ((1 << 40) - 1)
    with open(path, "r+b") as f:
        f.seek(loc)
        f.write(bytes(20))
    with pytest.raises(CorruptWalError) as ei:
        open_wal(waldir)
    assert ei.value.offset == loc
    with caplog.at_level(logging.ERROR), open_wal(waldir, repair=True) as w:
        assert w.last_index == 40
        assert w.recovered.torn_tail.offset == loc
        assert any("cutting" in m for m in caplog.messages)
    with open_wal(waldir) as w:
        assert w.last_index == 40
