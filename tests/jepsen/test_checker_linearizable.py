"""Small hand-written register histories with known verdicts."""

from __future__ import annotations

import math
import random
import time

from .checker.history import Op
from .checker.linearizable import check_linearizable
from .checker.register_histories import sequential_register_history


def op(process, kind, value, start, end, output=None, outcome="ok", key="x") -> Op:
    return Op(process, kind, key, value, start, end, outcome, output)


def w(p, v, start, end, outcome="ok", key="x") -> Op:
    return op(p, "write", v, start, end, outcome=outcome, key=key)


def r(p, seen, start, end, outcome="ok", key="x") -> Op:
    return op(p, "read", None, start, end, seen, outcome, key)


def cas(p, old, new, start, end, swapped=True, outcome="ok") -> Op:
    return op(p, "cas", (old, new), start, end, swapped if outcome == "ok" else None, outcome)


def valid(*ops: Op) -> bool | str:
    return check_linearizable(ops).valid


def test_empty_history_is_linearizable() -> None:
    assert valid() is True


def test_sequential_write_then_read() -> None:
    assert valid(w(0, 1, 0, 1), r(1, 1, 2, 3)) is True


def test_initial_value_is_none() -> None:
    assert valid(r(0, None, 0, 1)) is True
    assert valid(r(0, 0, 0, 1)) is False


def test_stale_read_is_not_linearizable() -> None:
    assert valid(w(0, 1, 0, 1), w(0, 2, 2, 3), r(1, 1, 4, 5)) is False


def test_read_concurrent_with_write_may_see_either_value() -> None:
    assert valid(w(0, 1, 0, 1), w(0, 2, 2, 6), r(1, 1, 3, 4)) is True
    assert valid(w(0, 1, 0, 1), w(0, 2, 2, 6), r(1, 2, 3, 4)) is True


def test_reads_cannot_flip_back_during_a_write() -> None:
    history = [w(0, 1, 0, 1), w(0, 2, 2, 10), r(1, 2, 3, 4), r(2, 1, 5, 6)]
    assert valid(*history) is False


def test_touching_intervals_are_concurrent() -> None:
    assert valid(w(0, 1, 0, 2), r(1, None, 2, 3)) is True


def test_lost_write_is_not_linearizable() -> None:
    assert valid(w(0, 1, 0, 1), r(1, None, 2, 3)) is False


def test_failed_write_must_not_be_visible() -> None:
    assert valid(w(0, 1, 0, 1, outcome="fail"), r(1, 1, 2, 3)) is False
    assert valid(w(0, 1, 0, 1, outcome="fail"), r(1, None, 2, 3)) is True


def test_unknown_write_may_take_effect_late_or_never() -> None:
    assert valid(w(0, 1, 0, None, outcome="unknown"), r(1, None, 5, 6)) is True
    assert valid(w(0, 1, 0, None, outcome="unknown"), r(1, None, 5, 6), r(1, 1, 7, 8)) is True


def test_unknown_write_cannot_be_undone() -> None:
    history = [w(0, 1, 0, None, outcome="unknown"), r(1, 1, 5, 6), r(1, None, 7, 8)]
    assert valid(*history) is False


def test_unknown_write_cannot_take_effect_before_it_was_invoked() -> None:
    assert valid(r(1, 1, 0, 1), w(0, 1, 2, None, outcome="unknown")) is False


def test_unknown_read_constrains_nothing() -> None:
    assert valid(w(0, 1, 0, 1), r(1, 99, 2, None, outcome="unknown")) is True


def test_concurrent_cas_from_same_value_cannot_both_succeed() -> None:
    history = [w(0, 0, 0, 1), cas(1, 0, 1, 2, 5), cas(2, 0, 2, 2, 5)]
    assert valid(*history) is False
    history[2] = cas(2, 0, 2, 2, 5, swapped=False)
    assert valid(*history) is True


def test_failed_compare_means_current_differs() -> None:
    assert valid(w(0, 0, 0, 1), cas(1, 0, 1, 2, 3, swapped=False)) is False
    assert valid(w(0, 0, 0, 1), cas(1, 5, 1, 2, 3, swapped=False)) is True


def test_unknown_cas_swaps_only_if_current_matches() -> None:
    assert valid(w(0, 0, 0, 1), cas(1, 0, 1, 2, None, outcome="unknown"), r(2, 1, 5, 6)) is True
    assert valid(w(0, 0, 0, 1), cas(1, 3, 1, 2, None, outcome="unknown"), r(2, 1, 5, 6)) is False


def test_keys_are_checked_independently() -> None:
    history = [w(0, 1, 0, 1, key="a"), w(1, 2, 0, 1, key="b"), r(2, 1, 2, 3, key="a"), r(2, 1, 4, 5, key="b")]
    result = check_linearizable(history)
    assert result.valid is False
    assert result.keys["a"].valid is True
    assert [f.key for f in result.failures] == ["b"]


def test_failure_explains_prefix_and_stuck_ops() -> None:
    stale = r(1, 1, 4, 5)
    result = check_linearizable([w(0, 1, 0, 1), w(0, 2, 2, 3), stale])
    (failure,) = result.failures
    assert [o.value for o in failure.linearized] == [1, 2]
    assert failure.state == 2
    assert failure.stuck == (stale,)
    assert "could be linearized" in result.explain()


def test_success_reports_a_linearization() -> None:
    history = [w(0, 1, 0, 3), r(1, 1, 1, 2), w(2, 2, 0, 4, outcome="unknown")]
    result = check_linearizable(history)
    assert result.valid is True
    assert result.keys["x"].linearized[:2] == (history[0], history[1])


def test_step_budget_gives_unknown() -> None:
    history = sequential_register_history(random.Random(1), 200)
    result = check_linearizable(history, max_steps=10)
    assert result.valid == "unknown"
    assert check_linearizable(history).valid is True


def test_time_budget_gives_unknown() -> None:
    history = sequential_register_history(random.Random(2), 3000, processes=20)
    started = time.monotonic()
    result = check_linearizable(history, time_limit=0.0)
    assert result.valid == "unknown"
    assert time.monotonic() - started < 1.0


def test_five_thousand_ops_on_one_key_check_quickly() -> None:
    history = sequential_register_history(random.Random(3), 5000)
    started = time.monotonic()
    assert check_linearizable(history).valid is True
    assert time.monotonic() - started < 10.0


def test_deep_stale_read_is_found_without_recursion() -> None:
    history = sequential_register_history(random.Random(4), 5000, unknown_rate=0.0)
    last_read = max(i for i, o in enumerate(history) if o.kind == "read" and o.outcome == "ok")
    history[last_read] = r(99, -1, history[last_read].invoke_time, history[last_read].complete_time)
    assert check_linearizable(history, time_limit=30).valid is False


def test_unknown_completion_is_infinite() -> None:
    assert w(0, 1, 0, None, outcome="unknown").complete_time == math.inf
