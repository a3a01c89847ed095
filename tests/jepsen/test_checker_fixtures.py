"""The linearizability checker against published Jepsen etcd histories.

Each fixture has a known verdict (fixtures/lincheck/expected.tsv); the checker
must reach exactly that verdict within the per-history budget, never
"unknown".
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .checker.jepsen_log import read_jepsen_log
from .checker.linearizable import check_linearizable

FIXTURES = Path(__file__).parent / "fixtures" / "lincheck"
SECONDS_PER_HISTORY = 20.0


def _expected() -> list[tuple[str, bool]]:
    rows = []
    for line in (FIXTURES / "expected.tsv").read_text().splitlines():
        if line.strip():
            name, verdict = line.split()
            rows.append((name, verdict == "true"))
    return rows


EXPECTED = _expected()


def test_every_fixture_has_a_verdict_except_the_empty_one() -> None:
    logs = {p.name for p in FIXTURES.glob("etcd_*.log")}
    assert len(EXPECTED) == 102
    assert logs - {name for name, _ in EXPECTED} == {"etcd_095.log"}
    assert read_jepsen_log(FIXTURES / "etcd_095.log") == []


@pytest.mark.parametrize(("name", "linearizable"), EXPECTED, ids=[name for name, _ in EXPECTED])
def test_fixture_verdict(name: str, linearizable: bool) -> None:
    history = read_jepsen_log(FIXTURES / name)
    started = time.monotonic()
    result = check_linearizable(history, time_limit=SECONDS_PER_HISTORY)
    elapsed = time.monotonic() - started
    assert result.valid is linearizable, result.explain()
    assert elapsed < SECONDS_PER_HISTORY
    if not linearizable:
        (failure,) = result.failures
        assert failure.stuck, "a violation names the ops that could not be linearized"
