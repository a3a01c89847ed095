"""Sequential specifications that the linearizability search checks against.

A model is a pure function of (state, op): `step` says whether `op` could have
returned what it returned when applied to `state`, and the state after it.
States must be hashable and compare by value: the search memoises on them.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from .history import Op


class Model(Protocol):
    """What the search needs from a sequential specification."""

    def init(self) -> Hashable:
        """The state before any op."""
        ...

    def step(self, state: Any, op: Op) -> tuple[bool, Any]:
        """(`op` is legal in `state`, state after `op`).

        For an op with outcome ``"unknown"`` the output is not known, so only
        its effect matters and it must be legal in every state; that effect
        may depend only on the op's kind and value (the search treats unknown
        ops with equal kind and value as interchangeable).
        """
        ...

    def is_read_only(self, op: Op) -> bool:
        """True if `op` never changes the state; unknown read-only ops are dropped."""
        ...


@dataclass(frozen=True, slots=True)
class Register:
    """A single read/write/compare-and-set register.

    - ``read``: `output` is the value read; legal iff it equals the state.
    - ``write``: `value` is the value written; always legal.
    - ``cas``: `value` is ``(old, new)``; `output` is True if the swap happened.
      An ok cas with output True needs ``state == old`` and sets ``new``; one
      with output False needs ``state != old`` and changes nothing. An unknown
      cas swaps iff ``state == old``.
    """

    initial: Any = None

    def init(self) -> Any:
        return self.initial

    def step(self, state: Any, op: Op) -> tuple[bool, Any]:
        kind = op.kind
        if kind == "read":
            return op.output == state, state
        if kind == "write":
            return True, op.value
        if kind == "cas":
            old, new = op.value
            if op.outcome == "unknown":
                return True, new if state == old else state
            if op.output:
                return state == old, new
            return state != old, state
        raise ValueError(f"register has no op kind {kind!r}")

    def is_read_only(self, op: Op) -> bool:
        return op.kind == "read"
