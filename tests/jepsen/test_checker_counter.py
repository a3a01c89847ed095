"""Counter histories with reads inside and outside their bounds."""

from __future__ import annotations

from .checker.counter import check_counter
from .checker.history import Op


def add(delta, start, end, outcome="ok", key="c") -> Op:
    return Op(0, "add", key, delta, start, end, outcome)


def read(value, start, end, key="c") -> Op:
    return Op(1, "read", key, None, start, end, "ok", value)


def valid(*ops: Op, initial: int = 0) -> bool:
    return check_counter(ops, initial).valid


def test_reads_see_completed_increments() -> None:
    assert valid(add(1, 0, 1), add(2, 2, 3), read(3, 4, 5))
    assert not valid(add(1, 0, 1), add(2, 2, 3), read(1, 4, 5))


def test_concurrent_increment_may_or_may_not_be_seen() -> None:
    for seen in (1, 3):
        assert valid(add(1, 0, 1), add(2, 2, 10), read(seen, 3, 4))
    assert not valid(add(1, 0, 1), add(2, 2, 10), read(4, 3, 4))


def test_increment_invoked_after_the_read_cannot_be_seen() -> None:
    assert not valid(read(5, 0, 1), add(5, 2, 3))


def test_final_value_counts_unknown_increments_as_optional() -> None:
    history = [add(1, 0, 1), add(10, 0, None, outcome="unknown"), add(100, 0, 1, outcome="fail")]
    assert valid(*history, read(1, 5, 6))
    assert valid(*history, read(11, 5, 6))
    assert not valid(*history, read(0, 5, 6))
    assert not valid(*history, read(101, 5, 6))


def test_negative_increments_widen_the_bounds_downwards() -> None:
    assert valid(add(5, 0, 1), add(-3, 2, 10), read(2, 3, 4), initial=0)
    assert valid(add(5, 0, 1), add(-3, 2, 10), read(5, 3, 4), initial=0)
    assert not valid(add(5, 0, 1), add(-3, 2, 10), read(1, 3, 4), initial=0)


def test_initial_value_and_keys() -> None:
    history = [add(1, 0, 1, key="a"), read(11, 2, 3, key="a"), read(10, 2, 3, key="b")]
    assert valid(*history, initial=10)
    result = check_counter(history + [read(13, 4, 5, key="a")], initial=10)
    (bad,) = result.anomalies
    assert (bad.kind, bad.key) == ("out-of-bounds", "a")
    assert "[11, 11]" in result.explain()
