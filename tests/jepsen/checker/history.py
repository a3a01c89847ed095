"""Operation records for client histories, and their JSON-lines form.

A history is a sequence of `Op`, one per client call. Each op records when the
client invoked it, when (if ever) it learnt the result, and what it learnt:

- outcome ``"ok"``: the call completed and took effect exactly as `output` says
  (an ok cas whose `output` is False took effect as a comparison that failed);
- outcome ``"fail"``: the call certainly did not take effect (e.g. ``-MOVED``);
  checkers drop these before checking;
- outcome ``"unknown"``: timeout or dropped connection; the call may have taken
  effect at any instant after `invoke_time`, or never, and `output` is not
  known. Its `complete_time` is always ``math.inf``.

Real-time order: op A precedes op B iff ``A.complete_time < B.invoke_time``.
Ops whose intervals touch or overlap are concurrent.

The file format is one JSON object per line with the `Op` field names; an
unknown completion time is written as ``null``. JSON arrays are read back as
tuples so that values stay hashable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["ok", "fail", "unknown"]
OUTCOMES: frozenset[str] = frozenset(("ok", "fail", "unknown"))


@dataclass(frozen=True, slots=True)
class Op:
    """One client operation.

    Invariants: ``outcome in OUTCOMES``; for ok and fail ops
    ``invoke_time <= complete_time < inf``; for unknown ops
    ``complete_time == inf`` (``None`` is accepted and normalised to inf).

    `kind` and the meaning of `value`/`output` are defined by the model that
    checks the op (see `models.Register`, `list_append`, `counter`).
    """

    process: int
    kind: str
    key: Any
    value: Any
    invoke_time: float
    complete_time: float | None
    outcome: Outcome
    output: Any = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, got {self.outcome!r}")
        if self.outcome == "unknown":
            object.__setattr__(self, "complete_time", math.inf)
        elif self.complete_time is None or not self.invoke_time <= self.complete_time < math.inf:
            raise ValueError(f"{self.outcome} op needs invoke_time <= complete_time < inf: {self!r}")


def drop_failed(ops: Iterable[Op]) -> list[Op]:
    """The ops that may have taken effect: ``fail`` ops removed, order kept."""
    return [op for op in ops if op.outcome != "fail"]


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def op_to_json(op: Op) -> str:
    """One JSON line (without newline) for `op`; inf completion becomes null."""
    record = asdict(op)
    if op.outcome == "unknown":
        record["complete_time"] = None
    return json.dumps(record, separators=(",", ":"))


def op_from_json(line: str) -> Op:
    """Inverse of `op_to_json`; arrays come back as tuples."""
    record = json.loads(line)
    return Op(
        process=record["process"],
        kind=record["kind"],
        key=_freeze(record["key"]),
        value=_freeze(record["value"]),
        invoke_time=record["invoke_time"],
        complete_time=record["complete_time"],
        outcome=record["outcome"],
        output=_freeze(record.get("output")),
    )


def write_history(path: str | Path, ops: Iterable[Op]) -> None:
    """Write `ops` to `path` as JSON lines, replacing any existing file."""
    with open(path, "w", encoding="utf-8") as out:
        for op in ops:
            out.write(op_to_json(op))
            out.write("\n")


def iter_history(path: str | Path) -> Iterator[Op]:
    """Yield the ops stored at `path` in file order; blank lines are skipped."""
    with open(path, encoding="utf-8") as src:
        for line in src:
            if line.strip():
                yield op_from_json(line)


def read_history(path: str | Path) -> list[Op]:
    """All ops stored at `path`, in file order."""
    return list(iter_history(path))
