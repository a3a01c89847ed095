"""Wing & Gong / Lowe linearizability search over one key's history.

The history is a doubly linked list of call and return entries in real-time
order (calls before returns at equal times, so touching intervals count as
concurrent). The search repeatedly picks a call that appears before the first
return still in the list, applies it to the model, and "lifts" the call and its
return out of the list; when the first entry is a return, the op it belongs to
can no longer be linearized after everything before it, so the search
backtracks. Unknown-outcome ops have no return entry: they may be linearized
anywhere after their call, and any left over at the end are taken never to
have happened. The history is linearizable iff every ok op gets lifted.

Memoisation (Lowe): a (set of linearized ops, model state) pair that has
been reached before leads nowhere new, so it is not explored twice. Sets are
bitsets held in Python ints; the search is iterative with an explicit stack.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .history import Op
from .models import Model

_CLOCK_EVERY = 4096  # steps between deadline checks; reading the clock is not free


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    """What one search found.

    `valid` is True, False, or ``"unknown"`` when the budget ran out.
    `longest` is the longest sequence of op positions (into the searched ops)
    that was found linearizable, and `longest_state` the model state after it.
    `stuck` lists the positions of the ops that were left over there and could
    have come next (the ok op with the earliest completion among them, and the
    ops concurrent with it); empty when `valid` is True.
    """

    valid: bool | str
    steps: int
    longest: tuple[int, ...]
    longest_state: Any
    stuck: tuple[int, ...]


def search(
    ops: Sequence[Op],
    model: Model,
    *,
    max_steps: int | None = None,
    deadline: float | None = None,
) -> SearchOutcome:
    """Decide whether `ops` (one key, no fail ops) is linearizable under `model`.

    Stops with ``valid="unknown"`` after `max_steps` search steps or once
    ``time.monotonic()`` passes `deadline`, whichever comes first.
    """
    events: list[tuple[float, int, int]] = []
    for i, op in enumerate(ops):
        events.append((op.invoke_time, 0, i))
        if op.outcome != "unknown":
            events.append((op.complete_time, 1, i))
    events.sort()

    # Node 0 is the head of a circular list; nodes 1.. are the events in order.
    size = len(events) + 1
    nxt = list(range(1, size)) + [0]
    prv = [size - 1] + list(range(size - 1))
    op_at = [-1] * size
    is_call = [False] * size
    ret_node = [0] * len(ops)  # 0: the op has no return entry (unknown outcome)
    for node, (_, is_ret, i) in enumerate(events, start=1):
        op_at[node] = i
        if is_ret:
            ret_node[i] = node
        else:
            is_call[node] = True

    known_left = sum(1 for op in ops if op.outcome != "unknown")
    state = model.init()
    if known_left == 0:
        return SearchOutcome(True, 0, (), state, ())

    step = model.step
    linearized = 0
    seen: set[tuple[int, Any]] = set()
    stack: list[tuple[int, Any]] = []  # (call node, state before it)
    order: list[int] = []  # op positions, parallel to `stack`
    longest: list[int] = []
    longest_state = state
    limit = math.inf if max_steps is None else max_steps
    steps = 0
    entry = nxt[0]

    while True:
        steps += 1
        if steps >= limit or (
            deadline is not None and steps % _CLOCK_EVERY == 0 and time.monotonic() > deadline
        ):
            return SearchOutcome("unknown", steps, tuple(longest), longest_state, ())
        if is_call[entry]:
            i = op_at[entry]
            legal, new_state = step(state, ops[i])
            if legal:
                new_linearized = linearized | (1 << i)
                memo = (new_linearized, new_state)
                if memo not in seen:
                    seen.add(memo)
                    stack.append((entry, state))
                    order.append(i)
                    state = new_state
                    linearized = new_linearized
                    p, q = prv[entry], nxt[entry]
                    nxt[p], prv[q] = q, p
                    r = ret_node[i]
                    if r:
                        p, q = prv[r], nxt[r]
                        nxt[p], prv[q] = q, p
                        known_left -= 1
                        if known_left == 0:
                            return SearchOutcome(True, steps, tuple(order), state, ())
                    if len(order) > len(longest):
                        longest = order[:]
                        longest_state = state
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
        else:
            if not stack:
                stuck = _stuck(ops, longest)
                return SearchOutcome(False, steps, tuple(longest), longest_state, stuck)
            # Undo the most recent lift, in the reverse order of its unlinks.
            entry, state = stack.pop()
            i = order.pop()
            linearized ^= 1 << i
            r = ret_node[i]
            if r:
                nxt[prv[r]] = r
                prv[nxt[r]] = r
                known_left += 1
            nxt[prv[entry]] = entry
            prv[nxt[entry]] = entry
            entry = nxt[entry]


def _stuck(ops: Sequence[Op], done: Sequence[int]) -> tuple[int, ...]:
    """Ops left after `done` that overlap the earliest-completing ok op left."""
    linearized = set(done)
    left = [i for i in range(len(ops)) if i not in linearized]
    horizon = min((ops[i].complete_time for i in left if ops[i].outcome != "unknown"), default=math.inf)
    return tuple(i for i in left if ops[i].invoke_time <= horizon)
