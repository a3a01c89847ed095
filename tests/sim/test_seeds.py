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


# Seeds that caught a follower helping elect another leader while it kept its promise to its
# own (read leases rest on that promise): a higher term learnt from a message that was not a
# leader's, such as a late pre-vote rejection, used to end it (consensus/node.py, _since_leader).
PROMISE_SEEDS = (1526, 2276, 2484)


def test_vote_promise_seeds() -> None:
    failures = [f"seed {s}: {r.violation}" for s in PROMISE_SEEDS if not (r := run_seed(s)).ok]
    assert not failures, "\n".join(failures)


# Liveness seeds, both without pre-vote: a candidate whose log was behind kept campaigning,
# and each of its vote requests, rejected, restarted the election timer of the node that could
# have won (on a slow clock in 913207), so no leader came (consensus/node.py, ``step``).
TIMER_SEEDS = (913207, 101011)


def test_rejected_vote_requests_do_not_stall_elections_seeds() -> None:
    failures = [f"seed {s}: {r.violation}" for s in TIMER_SEEDS if not (r := run_seed(s)).ok]
    assert not failures, "\n".join(failures)
