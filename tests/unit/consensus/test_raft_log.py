import pytest

from consensus.log import RaftLog
from consensus.messages import Entry


def ents(lo, hi, term, size=0):
    return [Entry(i, term, data=b"x" * size) for i in range(lo, hi + 1)]


def test_empty_log():
    log = RaftLog()
    assert (log.first_index, log.last_index, log.last_term) == (1, 0, 0)
    assert log.term_at(0) == 0 and log.term_at(1) is None
    assert log.unstable_entries() == [] and log.next_committed() == []


def test_append_and_lookup():
    log = RaftLog()
    log.append(ents(1, 3, 1))
    assert log.last_index == 3 and log.term_at(2) == 1 and log.entry(3).index == 3
    with pytest.raises(ValueError):
        log.append(ents(5, 5, 1))


def test_handed_commit_applied_flow():
    log = RaftLog()
    log.append(ents(1, 5, 1))
    assert [e.index for e in log.unstable_entries()] == [1, 2, 3, 4, 5]
    log.commit_to(4)
    assert log.next_committed() == []  # not handed to the driver yet
    assert [e.index for e in log.take_unstable()] == [1, 2, 3, 4, 5]
    assert log.unstable_entries() == [] and log.stable == 0
    # Committed (on a majority) and being written here: applied without waiting for it.
    assert [e.index for e in log.next_committed()] == [1, 2, 3, 4]
    log.applied_to(3)
    log.stable_to(5, 1)
    assert [e.index for e in log.next_committed()] == [4]
    with pytest.raises(AssertionError):
        log.applied_to(5)


def test_stable_to_ignores_replaced_entries():
    log = RaftLog()
    log.append(ents(1, 5, 1))
    log.truncate_and_append(ents(4, 4, 2))
    log.stable_to(5, 1)  # the Ready that held 1..5 completed, but 4..5 were replaced
    assert log.stable == 0
    log.stable_to(4, 2)
    assert log.stable == 4


def test_truncate_lowers_stable_and_refuses_committed():
    log = RaftLog()
    log.append(ents(1, 5, 1))
    log.stable_to(5, 1)
    log.commit_to(2)
    log.truncate_and_append(ents(4, 6, 2))
    assert log.stable == 3 and log.last_index == 6 and log.term_at(4) == 2
    with pytest.raises(AssertionError):
        log.truncate_and_append(ents(2, 2, 3))


def test_find_conflict():
    log = RaftLog()
    log.append(ents(1, 3, 1) + ents(4, 5, 2))
    assert log.find_conflict(tuple(ents(1, 3, 1))) == 0
    assert log.find_conflict(tuple(ents(4, 6, 2))) == 6
    assert log.find_conflict(tuple(ents(3, 4, 3))) == 3
    assert log.find_conflict(tuple(ents(7, 8, 3))) == 7


def test_find_conflict_by_term_skips_whole_terms():
    log = RaftLog()
    log.append(ents(1, 2, 1) + ents(3, 6, 3) + ents(7, 9, 5))
    assert log.find_conflict_by_term(9, 4) == (6, 3)
    assert log.find_conflict_by_term(9, 5) == (9, 5)
    assert log.find_conflict_by_term(20, 2) == (2, 1)
    assert log.find_conflict_by_term(5, 0) == (0, 0)


def test_is_up_to_date():
    log = RaftLog()
    log.append(ents(1, 3, 2))
    assert log.is_up_to_date(3, 2) and log.is_up_to_date(1, 3)
    assert not log.is_up_to_date(2, 2) and not log.is_up_to_date(9, 1)


def test_slice_respects_max_bytes_but_returns_one():
    log = RaftLog()
    log.append(ents(1, 10, 1, size=100))
    assert len(log.slice(1, 10, 1)) == 1
    assert len(log.slice(1, 10, 250)) == 2
    assert len(log.slice(1, 10)) == 10
    assert len(log.slice(5, 20, 10_000)) == 6


def test_compact_keeps_suffix_and_term_of_snapshot():
    log = RaftLog()
    log.append(ents(1, 10, 1))
    log.stable_to(10, 1)
    log.commit_to(8)
    log.applied_to(6)
    with pytest.raises(ValueError):
        log.compact(7, 1)
    log.compact(5, 1)
    assert log.first_index == 6 and log.term_at(5) == 1 and log.term_at(4) is None
    assert log.last_index == 10
    with pytest.raises(IndexError):
        log.slice(3, 6)


def test_compact_never_cuts_past_the_durable_log():
    log = RaftLog()
    log.append(ents(1, 10, 1))
    log.take_unstable()
    log.stable_to(4, 1)
    log.commit_to(8)
    log.applied_to(8)  # applied once handed: ahead of what is durable here
    with pytest.raises(ValueError):
        log.compact(5, 1)
    log.compact(4, 1)
    assert log.first_index == 5


def test_restore_replaces_everything():
    log = RaftLog()
    log.append(ents(1, 4, 1))
    log.restore(20, 3)
    assert (log.first_index, log.last_index, log.last_term) == (21, 20, 3)
    assert log.committed == log.applied == log.stable == 20


def test_construct_from_persisted_state():
    log = RaftLog(5, 2, ents(3, 9, 2))  # the WAL may still hold entries the snapshot covers
    assert log.first_index == 6 and log.last_index == 9 and log.stable == 9
    assert log.applied == 5 and log.committed == 5
    with pytest.raises(ValueError):
        RaftLog(0, 0, ents(1, 2, 1) + ents(4, 4, 1))
