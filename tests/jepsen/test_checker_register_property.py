"""Properties: generated register histories are linearizable until a read lies."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from .checker.linearizable import check_linearizable
from .checker.register_histories import sequential_register_history

histories = st.builds(
    sequential_register_history,
    st.integers(0, 2**32).map(random.Random),
    st.integers(0, 80),
    processes=st.integers(1, 6),
    values=st.integers(1, 5),
    unknown_rate=st.sampled_from([0.0, 0.05, 0.2]),
    fail_rate=st.sampled_from([0.0, 0.1]),
)


@settings(max_examples=200, deadline=None)
@given(histories)
def test_sequential_register_histories_are_linearizable(history) -> None:
    result = check_linearizable(history, time_limit=10)
    assert result.valid is True, result.explain()


@settings(max_examples=200, deadline=None)
@given(histories, st.data())
def test_a_read_of_a_never_written_value_is_not_linearizable(history, data) -> None:
    reads = [i for i, op in enumerate(history) if op.kind == "read" and op.outcome == "ok"]
    assume(reads)
    i = data.draw(st.sampled_from(reads))
    history[i] = dataclasses.replace(history[i], output=-1)
    result = check_linearizable(history, time_limit=10)
    assert result.valid is False
    assert history[i] in result.failures[0].stuck
