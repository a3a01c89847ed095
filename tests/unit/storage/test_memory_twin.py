"""`MemoryWal` and `Wal` give the same answers for the same calls, crashes included
(everything synced survives in both)."""

from __future__ import annotations

import shutil

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from storage_faults import scratch_dir

from storage import EntryUnavailableError, HardState, LogEntry, MemoryWal, Wal

calls = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(-3, 6), st.integers(1, 5)),
        st.tuples(st.just("truncate"), st.integers(0, 4)),
        st.tuples(st.just("hs"), st.integers(0, 5)),
        st.tuples(st.just("compact"), st.integers(0, 8)),
        st.tuples(st.just("sync")),
        st.tuples(st.just("reopen")),
    ),
    max_size=40,
)


def view(w) -> tuple:
    rng = range(w.first_index, w.last_index + 1)
    return (
        w.first_index,
        w.last_index,
        w.hard_state,
        w.snapshot_term,
        [w.term(i) for i in rng],
        w.entries(w.first_index, w.last_index + 1),
    )


@settings(max_examples=60, deadline=None)
@given(calls=calls)
def test_same_answers(calls):
    d = scratch_dir("twin-")
    try:
        f = Wal.open(d + "/w", cluster_id="c", node_id=1, segment_size=600)
        m = MemoryWal()
        term = 1
        for c in calls:
            kind = c[0]
            if kind == "append":
                lo = max(m.last_index + 1 + min(c[1], 0), m.hard_state.commit + 1, m.first_index)
                term += c[1] < 0
                es = [LogEntry(i, term, 0, bytes([i % 256]) * i) for i in range(lo, lo + c[2])]
                for w in (f, m):
                    w.append(es)
            elif kind == "truncate":
                t = m.last_index - c[1]
                for w in (f, m):
                    if t <= m.hard_state.commit or t <= m.snapshot_index:
                        with pytest.raises(ValueError):
                            w.truncate_suffix(t)
                    else:
                        w.truncate_suffix(t)
            elif kind == "hs":
                hs = HardState(term, c[1], min(m.last_index, m.hard_state.commit + c[1]))
                for w in (f, m):
                    w.set_hard_state(hs)
            elif kind == "compact":
                idx = min(m.hard_state.commit, m.snapshot_index + c[1])
                if idx > m.snapshot_index:
                    t = m.term(idx)
                    for w in (f, m):
                        w.compact(idx, t)
            elif kind == "sync":
                assert f.sync() == m.sync()
            else:
                f.sync()
                m.sync()
                f.close()
                f = Wal.open(d + "/w", cluster_id="c", node_id=1, segment_size=600)
                r = m.crash()
                assert f.recovered.entries == r.entries and f.recovered.hard_state == r.hard_state
            assert view(f) == view(m)
            with pytest.raises(EntryUnavailableError):
                f.term(f.last_index + 1)
            with pytest.raises(EntryUnavailableError):
                m.term(m.last_index + 1)
        f.close()
    finally:
        shutil.rmtree(d)


def test_memory_wal_crash_drops_unsynced_and_injected_errors():
    from storage import GroupCommitter, WalWriteError

    m = MemoryWal()
    m.append([LogEntry(i, 1, 0, b"x") for i in range(1, 6)], HardState(1, 1, 2))
    m.sync()
    m.append([LogEntry(i, 1, 0, b"y") for i in range(6, 9)], HardState(2, 0, 2))
    r = m.crash()
    assert [e.index for e in r.entries] == [1, 2, 3, 4, 5] and r.hard_state == HardState(1, 1, 2)
    m.fail_next_write = OSError(28, "No space left on device")
    gc = GroupCommitter(m)
    with pytest.raises(WalWriteError, match="No space"):
        gc.submit([LogEntry(6, 1, 0, b"z")]).result(5)
    m.fail_next_sync = OSError(5, "Input/output error")
    with pytest.raises(WalWriteError, match="Input/output"):
        gc.submit([LogEntry(6, 1, 0, b"z")]).result(5)
    assert m.last_index == 5
    assert gc.submit([LogEntry(6, 1, 0, b"z")]).result(5) == 6
    gc.close()
