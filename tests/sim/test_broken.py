"""The simulator has teeth: each deliberately broken core is caught within the seed budget."""

from __future__ import annotations

import pytest

from .broken import VARIANTS
from .simulator import run_seed

BUDGET = 200  # seeds tried per variant; each is normally caught in far fewer


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_broken_core_is_caught(variant: str) -> None:
    node_cls = VARIANTS[variant]
    for seed in range(BUDGET):
        res = run_seed(seed, node_cls=node_cls)
        if not res.ok:
            return
    pytest.fail(f"the simulator found nothing wrong with the {variant!r} core in {BUDGET} seeds")
