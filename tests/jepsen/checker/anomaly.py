"""The anomaly record shared by the workload checkers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .history import Op


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One violation found in a history.

    `kind` names the anomaly (each checker documents its kinds), `ops` are
    the operations that show it, and `detail` says what is wrong in words.
    """

    kind: str
    key: Any
    ops: tuple[Op, ...]
    detail: str

    def explain(self) -> str:
        """One line for a report."""
        return f"{self.kind} on key {self.key!r}: {self.detail}"
