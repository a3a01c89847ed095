"""Linearizability checking of a multi-key history, one key at a time.

Linearizability is compositional (P-compositional in Horn & Kroening's terms):
a history over independent objects is linearizable iff each object's
sub-history is. So ops are grouped by `Op.key` and each group is searched on
its own with `wgl.search`, which keeps every search small.

Before searching, ``fail`` ops (certainly not applied) are dropped, and so are
unknown-outcome ops that the model says cannot change state (an unknown read
constrains nothing).

`valid` follows Jepsen's convention: True, False, or ``"unknown"`` when the
budget ran out before a verdict. A history is invalid if any key is; otherwise
unknown if any key is; otherwise valid.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .history import Op
from .models import Model, Register
from .wgl import search


@dataclass(frozen=True, slots=True)
class KeyResult:
    """The verdict for one key.

    `linearized` is the longest linearizable prefix found, in linearization
    order, and `state` the model state after it. On failure `stuck` holds the
    ops that could not be linearized after that prefix: the ok op that
    completed earliest among those left, and every op left that overlaps it.
    """

    key: Any
    valid: bool | str
    op_count: int
    steps: int
    seconds: float
    linearized: tuple[Op, ...] = ()
    state: Any = None
    stuck: tuple[Op, ...] = ()

    def explain(self, tail: int = 10) -> str:
        """A short human-readable account for a report."""
        head = (
            f"key {self.key!r}: valid={self.valid} ({self.op_count} ops, "
            f"{self.steps} steps, {self.seconds:.3f}s)"
        )
        if self.valid is True:
            return head
        lines = [head, f"  longest linearizable prefix: {len(self.linearized)} ops, ending"]
        lines += [f"    {format_op(op)}" for op in self.linearized[-tail:]]
        lines.append(f"  state after it: {self.state!r}")
        if self.stuck:
            lines.append("  none of these could be linearized next:")
            lines += [f"    {format_op(op)}" for op in self.stuck]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class LinearizabilityResult:
    """Verdicts for all keys; `valid` combines them as the module explains."""

    valid: bool | str
    keys: dict[Any, KeyResult] = field(default_factory=dict)

    @property
    def failures(self) -> list[KeyResult]:
        """Keys whose history is not linearizable."""
        return [r for r in self.keys.values() if r.valid is False]

    def explain(self) -> str:
        """Report text: every key that is not known to be valid."""
        bad = [r for r in self.keys.values() if r.valid is not True]
        if not bad:
            return f"linearizable ({len(self.keys)} keys)"
        return "\n".join(r.explain() for r in bad)


def format_op(op: Op) -> str:
    """One line per op: process, call, result and interval."""
    result = {"ok": f"-> {op.output!r}", "fail": "failed", "unknown": "-> ?"}[op.outcome]
    call = op.kind if op.value is None else f"{op.kind} {op.value!r}"
    return f"p{op.process} {call} {result} [{op.invoke_time}, {op.complete_time}]"


def check_linearizable(
    history: Iterable[Op],
    model: Model | None = None,
    *,
    time_limit: float | None = None,
    max_steps: int | None = None,
) -> LinearizabilityResult:
    """Check `history` against `model` (default: a `Register` starting at None).

    `time_limit` bounds the wall-clock seconds for the whole history and
    `max_steps` the search steps per key; when either runs out the affected
    keys (and those not yet searched) get ``valid="unknown"``.
    """
    model = Register() if model is None else model
    deadline = None if time_limit is None else time.monotonic() + time_limit
    by_key: dict[Any, list[Op]] = {}
    for op in history:
        if op.outcome == "fail" or (op.outcome == "unknown" and model.is_read_only(op)):
            continue
        by_key.setdefault(op.key, []).append(op)

    results: dict[Any, KeyResult] = {}
    for key, ops in by_key.items():
        started = time.monotonic()
        found = search(ops, model, max_steps=max_steps, deadline=deadline)
        results[key] = KeyResult(
            key=key,
            valid=found.valid,
            op_count=len(ops),
            steps=found.steps,
            seconds=time.monotonic() - started,
            linearized=tuple(ops[i] for i in found.longest),
            state=found.longest_state,
            stuck=tuple(ops[i] for i in found.stuck),
        )
    return LinearizabilityResult(_combine(r.valid for r in results.values()), results)


def _combine(verdicts: Iterable[bool | str]) -> bool | str:
    verdicts = list(verdicts)
    if False in verdicts:
        return False
    return "unknown" if "unknown" in verdicts else True
