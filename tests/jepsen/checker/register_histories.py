"""Generators of register histories that are linearizable by construction.

Each of `processes` clients runs ops one at a time, as Jepsen's clients do:
an op is invoked, takes effect at a linearization point inside its interval,
and completes. A sequential register applies the ops in linearization-point
order, which gives every read and cas its output, so the history is
linearizable. Some ops are marked unknown (taking effect or not; the client
then gives up on it and carries on as a new process, as Jepsen does) or
failed (certainly not taking effect).

Written values and cas arguments are small non-negative ints, so any negative
value is one no client ever wrote.
"""

from __future__ import annotations

import random
from typing import Any

from .history import Op


def sequential_register_history(
    rng: random.Random,
    length: int,
    *,
    processes: int = 5,
    values: int = 5,
    unknown_rate: float = 0.05,
    fail_rate: float = 0.05,
    key: str = "x",
) -> list[Op]:
    """`length` ops on `key` forming a linearizable history, in invocation order."""
    planned: list[tuple[float, float, float, int, str, Any, str, bool]] = []
    clock = [0.0] * processes
    name = list(range(processes))
    for n in range(length):
        slot = n % processes
        invoke = clock[slot] + rng.random()
        point = invoke + rng.random() * 3
        complete = point + rng.random() * 3
        clock[slot] = complete
        kind = rng.choice(("read", "write", "cas"))
        value = None
        if kind == "write":
            value = rng.randrange(values)
        elif kind == "cas":
            value = (rng.randrange(values), rng.randrange(values))
        roll = rng.random()
        outcome = "unknown" if roll < unknown_rate else "fail" if roll < unknown_rate + fail_rate else "ok"
        # An unknown op took effect or not; a failed one certainly did not.
        applied = outcome == "ok" or (outcome == "unknown" and rng.random() < 0.5)
        planned.append((point, invoke, complete, name[slot], kind, value, outcome, applied))
        if outcome == "unknown":
            name[slot] += processes

    state = None
    ops = []
    for _, invoke, complete, process, kind, value, outcome, applied in sorted(planned):
        output = None
        if kind == "read":
            output = state
        elif kind == "write" and applied:
            state = value
        elif kind == "cas":
            output = state == value[0]
            if applied and output:
                state = value[1]
        if outcome != "ok":
            output = None
        ops.append(Op(process, kind, key, value, invoke, complete, outcome, output))
    ops.sort(key=lambda op: op.invoke_time)
    return ops
