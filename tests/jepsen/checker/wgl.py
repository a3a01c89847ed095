"""Wing & Gong / Lowe linearizability search over one key's history.

Ok ops live in a doubly linked list of call and return entries in real-time
order (calls before returns at equal times, so touching intervals count as
concurrent). The search repeatedly picks an op whose call comes before the
first return still in the list, applies it to the model, and "lifts" the call
and its return out of the list. When no candidate works, the op owning that
first return cannot be linearized after what was chosen, so the search
backtracks. The history is linearizable iff every ok op gets lifted.

Unknown-outcome ops have no return: each may be linearized at any point after
its call, or never (equivalently, after everything else). They sit in a second
list and are tried only after the ok candidates, since each one lingers as a
candidate for the rest of the search and would otherwise multiply the states.

Pruning, all sound and complete (the search still finds a linearization if
one exists):

- Memoisation (Lowe): a configuration is (ok ops linearized, unknown ops
  linearized, model state). A new configuration is dropped if one with the same
  ok set and state and a *subset* of its unknown ops was reached before:
  unknown ops are optional and never expire, so having more of them left is
  never worse.
- Symmetry: unknown ops with the same kind and value are interchangeable, so
  they are linearized in invocation order only. This assumes, as `Model`
  states, that a model's step on an unknown op depends only on kind and value.

Sets are bitsets in Python ints; the search is iterative with an explicit
stack, so deep histories need no recursion.
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

# Node kinds. Node 0 heads the list of ok calls and returns; the last node
# heads the list of unknown calls; nodes in between are events in time order.
_HEAD, _CALL, _RETURN, _UNKNOWN_CALL, _UNKNOWN_HEAD = range(5)


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    """What one search found.

    `valid` is True, False, or ``"unknown"`` when the budget ran out.
    `longest` is the op positions (into the searched ops), in linearization
    order, of the linearizable sequence found with the most ok ops (the whole
    linearization when `valid` is True; unknown ops that it leaves out never
    took effect), and `longest_state` the model state after it. `stuck` lists
    the ok ops left over there that could have come next: the one that
    completed earliest and those that overlap it; empty unless `valid` is
    False.
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

    # Node numbers follow time order, so "call before the first return" is
    # a comparison of node numbers.
    uhead = len(events) + 1
    kind = [_HEAD] + [_CALL] * len(events) + [_UNKNOWN_HEAD]
    op_at = [-1] * (uhead + 1)
    ret_node = [0] * len(ops)
    nxt = [0] * (uhead + 1)
    prv = [0] * (uhead + 1)
    tails = {_HEAD: 0, _UNKNOWN_HEAD: uhead}
    for node, (_, is_ret, i) in enumerate(events, start=1):
        op_at[node] = i
        head = _HEAD
        if is_ret:
            kind[node] = _RETURN
            ret_node[i] = node
        elif ops[i].outcome == "unknown":
            kind[node] = _UNKNOWN_CALL
            head = _UNKNOWN_HEAD
        tail = tails[head]
        nxt[tail], prv[node] = node, tail
        tails[head] = node
    nxt[tails[_HEAD]], prv[0] = 0, tails[_HEAD]
    nxt[tails[_UNKNOWN_HEAD]], prv[uhead] = uhead, tails[_UNKNOWN_HEAD]

    # Each unknown op may only be linearized after the previous unknown op
    # with the same kind and value (its bit; 0: none). Ok ops and unknown ops
    # are numbered apart so that each bitset is only as wide as its own kind.
    bit = [0] * len(ops)
    same_before = [0] * len(ops)
    last_of: dict[tuple[str, Any], int] = {}
    counts = [0, 0]
    for i, op in enumerate(ops):
        unknown = op.outcome == "unknown"
        bit[i] = 1 << counts[unknown]
        counts[unknown] += 1
        if unknown:
            signature = (op.kind, op.value)
            same_before[i] = last_of.get(signature, 0)
            last_of[signature] = bit[i]

    ok_total = sum(1 for op in ops if op.outcome != "unknown")
    ok_left = ok_total
    state = model.init()
    if ok_left == 0:
        return SearchOutcome(True, 0, (), None, ())

    step = model.step
    ok_bits = 0
    unknown_bits = 0
    seen: dict[tuple[int, Any], list[int]] = {(0, state): [0]}
    stack: list[tuple[int, Any, int]] = []  # (call node, state before it, boundary)
    order: list[int] = []  # op positions, parallel to `stack`
    longest: list[int] = []
    longest_ok = 0
    longest_state = state
    limit = math.inf if max_steps is None else max_steps
    steps = 0
    boundary = 0  # while scanning unknown calls: the first return node
    entry = nxt[0]

    while True:
        steps += 1
        if steps >= limit or (
            deadline is not None and steps % _CLOCK_EVERY == 0 and time.monotonic() > deadline
        ):
            return SearchOutcome("unknown", steps, tuple(longest), longest_state, ())
        node_kind = kind[entry]
        if node_kind == _RETURN or node_kind == _HEAD:
            # No ok call left before this return: try the unknown calls.
            boundary = entry if node_kind == _RETURN else uhead
            entry = nxt[uhead]
            continue
        if node_kind == _UNKNOWN_HEAD or (node_kind == _UNKNOWN_CALL and entry > boundary):
            if not stack:
                return SearchOutcome(False, steps, tuple(longest), longest_state, _stuck(ops, longest))
            # Undo the most recent lift, relinking in the reverse order of unlinking.
            entry, state, boundary = stack.pop()
            i = order.pop()
            r = ret_node[i]
            if r:
                ok_bits ^= bit[i]
                ok_left += 1
                nxt[prv[r]] = r
                prv[nxt[r]] = r
            else:
                unknown_bits ^= bit[i]
            nxt[prv[entry]] = entry
            prv[nxt[entry]] = entry
            entry = nxt[entry]
            continue

        i = op_at[entry]
        is_ok_call = node_kind == _CALL
        if not is_ok_call and same_before[i] and not unknown_bits & same_before[i]:
            entry = nxt[entry]
            continue
        legal, new_state = step(state, ops[i])
        if not legal:
            entry = nxt[entry]
            continue
        if is_ok_call:
            new_ok, new_unknown = ok_bits | bit[i], unknown_bits
        else:
            new_ok, new_unknown = ok_bits, unknown_bits | bit[i]
        memo = (new_ok, new_state)
        reached = seen.get(memo)
        if reached is None:
            seen[memo] = [new_unknown]
        else:
            outside = ~new_unknown
            if any(not u & outside for u in reached):
                entry = nxt[entry]
                continue
            # Keep only the minimal unknown sets: a superset prunes nothing more.
            seen[memo] = [u for u in reached if new_unknown & ~u]
            seen[memo].append(new_unknown)

        stack.append((entry, state, boundary))
        order.append(i)
        state, ok_bits, unknown_bits = new_state, new_ok, new_unknown
        p, q = prv[entry], nxt[entry]
        nxt[p], prv[q] = q, p
        if is_ok_call:
            r = ret_node[i]
            p, q = prv[r], nxt[r]
            nxt[p], prv[q] = q, p
            ok_left -= 1
            if ok_left == 0:
                return SearchOutcome(True, steps, tuple(order), state, ())
            if ok_total - ok_left > longest_ok:
                longest, longest_ok, longest_state = order[:], ok_total - ok_left, state
        entry = nxt[0]


def _stuck(ops: Sequence[Op], done: Sequence[int]) -> tuple[int, ...]:
    """Ok ops left after `done` that overlap the earliest-completing one left."""
    linearized = set(done)
    left = [i for i, op in enumerate(ops) if i not in linearized and op.outcome != "unknown"]
    horizon = min((ops[i].complete_time for i in left), default=math.inf)
    return tuple(i for i in left if ops[i].invoke_time <= horizon)
