"""Random simulator seeds, in chunks so a failure names a small range.

A failing seed prints the command that reproduces it. More seeds: ``make sim-long``.
"""

from __future__ import annotations

import pytest

from .simulator import run_seed

SEEDS = 700
CHUNK = 50


@pytest.mark.parametrize("start", range(0, SEEDS, CHUNK), ids=lambda s: f"seeds{s}-{s + CHUNK - 1}")
def test_random_seeds(start: int) -> None:
    failures = []
    for seed in range(start, start + CHUNK):
        res = run_seed(seed)
        if not res.ok:
            failures.append(f"seed {seed}: {res.violation}\n  reproduce: {res.reproduce()}")
    assert not failures, "\n".join(failures)
