"""List-append histories with and without anomalies."""

from __future__ import annotations

from .checker.history import Op
from .checker.list_append import check_list_append


def append(element, start, end, outcome="ok", key="l", p=0) -> Op:
    return Op(p, "append", key, element, start, end, outcome)


def read(seen, start, end, key="l", p=1, outcome="ok") -> Op:
    return Op(p, "read", key, None, start, end, outcome, tuple(seen) if outcome == "ok" else None)


def kinds(*ops: Op) -> list[str]:
    return sorted(a.kind for a in check_list_append(ops).anomalies)


def test_growing_prefix_consistent_reads_are_valid() -> None:
    history = [
        append(1, 0, 1),
        read([1], 2, 3),
        append(2, 4, 10),
        read([1], 5, 6),  # concurrent with the append of 2
        read([1, 2], 7, 8),
        append(3, 11, None, outcome="unknown"),
        read([1, 2, 3], 12, 13),
        read([1, 2], 12, 14, p=2),  # concurrent with the read above: may be ordered first
    ]
    result = check_list_append(history)
    assert result.valid, result.explain()


def test_unknown_append_may_never_appear() -> None:
    assert kinds(append(1, 0, None, outcome="unknown"), read([], 5, 6)) == []


def test_reads_that_timed_out_are_ignored() -> None:
    assert kinds(append(1, 0, 1), read([], 2, 3, outcome="unknown")) == []


def test_lost_acknowledged_append() -> None:
    assert kinds(append(1, 0, 1), append(2, 0, 1), read([1], 2, 3)) == ["lost"]


def test_element_seen_then_gone_is_lost_and_stale() -> None:
    history = [append(1, 0, 1), read([1], 2, 3), read([], 4, 5)]
    assert kinds(*history) == ["lost", "stale"]


def test_append_missing_only_from_a_concurrent_read_is_not_lost() -> None:
    assert kinds(append(1, 0, 5), read([], 1, 2), read([1], 6, 7)) == []


def test_duplicate_element() -> None:
    assert "duplicate" in kinds(append(1, 0, 1), read([1, 1], 2, 3))


def test_reordered_reads_are_incompatible() -> None:
    history = [append(1, 0, 1), append(2, 0, 1), read([1, 2], 2, 3), read([2, 1], 2, 3, p=2)]
    assert kinds(*history) == ["incompatible"]


def test_later_read_shorter_than_earlier_read_is_stale() -> None:
    history = [append(1, 0, 1), append(2, 0, 10), read([1, 2], 2, 3), read([1], 4, 5)]
    result = check_list_append(history)
    (stale,) = result.of_kind("stale")
    assert stale.ops == (history[2], history[3])


def test_failed_append_must_not_be_seen() -> None:
    assert kinds(append(1, 0, 1, outcome="fail"), read([1], 2, 3)) == ["failed-seen"]


def test_phantom_and_premature_elements() -> None:
    assert kinds(read([7], 0, 1)) == ["phantom"]
    assert kinds(read([1], 0, 1), append(1, 2, 3)) == ["premature"]


def test_keys_are_independent() -> None:
    history = [
        append(1, 0, 1, key="a"),
        append(1, 0, 1, key="b"),
        read([1], 2, 3, key="a"),
        read([], 2, 3, key="b"),
    ]
    (lost,) = check_list_append(history).anomalies
    assert (lost.kind, lost.key) == ("lost", "b")
