"""Raftis against redis-server 7, reply for reply: seeded random sequences (valid and invalid
commands, transactions, databases, expiry, RESP2 and RESP3) and the regression scripts, on a
single node and through a follower of a three-node cluster.

``RAFTIS_DIFF_COMMANDS`` (default 20000) is the number of commands sent to Raftis in total,
split between the two targets; ``RAFTIS_DIFF_SEED`` moves the first seed.  A failure names
the seed and the step; ``SequenceRunner(...).run(seed, ...)`` replays it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.compat.differential import run_many, run_script

SCRIPTS = Path(__file__).parent / "scripts"
TOTAL = int(os.environ.get("RAFTIS_DIFF_COMMANDS", "20000"))
FIRST_SEED = int(os.environ.get("RAFTIS_DIFF_SEED", "0"))


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.txt")))
def test_scripts_match_redis(redis_server, target_port, script, resp3):
    problems = run_script((SCRIPTS / script).read_text(), redis_server.port, target_port, resp3=resp3)
    assert not problems, "\n".join(problems)


@pytest.mark.timeout(max(600, TOTAL // 20))
def test_random_sequences_match_redis(redis_server, target_port, request):
    # The two targets get different seeds, so together they cover more ground.
    offset = 0 if "single" in request.node.callspec.id else 1_000_000
    totals = run_many(redis_server.port, target_port, commands=TOTAL // 2, first_seed=FIRST_SEED + offset)
    print(f"{totals.sequences} sequences, {totals.commands} commands, {len(totals.mismatches)} differences")
    assert not totals.mismatches, "\n\n".join(str(m) for m in totals.mismatches[:5])
