"""Reader for Jepsen's plain-text logs of single-register workloads.

The lines that matter look like (fields separated by tabs or spaces)::

    INFO  jepsen.util - 3	:invoke	:cas	[1 4]
    INFO  jepsen.util - 3	:fail	:cas	[1 4]

Mapping to `Op` (one key, `key`; times are line numbers):

- ``:invoke`` starts an op for that process; a later completion of the same
  process ends it.
- ``:ok`` is an ok op; an ok read's value is its output (``nil`` is None).
- ``:fail :cas`` is an ok cas whose compare did not match (output False): the
  client was told the swap did not happen, which constrains the register.
  ``:fail`` of a read or write is a failed op (not applied).
- ``:info`` (e.g. ``:timed-out``) is an unknown outcome, as is an invoke that
  never completes before the log ends.

Other lines are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .history import Op

_LINE = re.compile(r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(\w+)\s+(.*?)\s*$")


def parse_value(text: str) -> Any:
    """``nil`` -> None, ``12`` -> 12, ``[1 2]`` -> (1, 2); anything else verbatim."""
    if text == "nil":
        return None
    if text.startswith("[") and text.endswith("]"):
        return tuple(parse_value(part) for part in text[1:-1].split())
    try:
        return int(text)
    except ValueError:
        return text


def parse_jepsen_log(lines: Iterable[str], key: Any = "r") -> list[Op]:
    """The ops of a Jepsen log, ordered by invocation."""
    pending: dict[int, tuple[str, Any, int]] = {}
    ops: list[Op] = []
    time = 0
    for time, line in enumerate(lines):
        m = _LINE.match(line)
        if m is None:
            continue
        process, phase, kind, text = int(m[1]), m[2], m[3], m[4]
        if phase == "invoke":
            if process in pending:
                raise ValueError(f"line {time + 1}: process {process} invokes twice")
            pending[process] = (kind, parse_value(text), time)
            continue
        if process not in pending or pending[process][0] != kind:
            raise ValueError(f"line {time + 1}: completion without a matching invoke")
        _, value, invoked = pending.pop(process)
        outcome, output = "ok", None
        if phase == "info":
            outcome = "unknown"
        elif kind == "read":
            outcome, output = ("ok", parse_value(text)) if phase == "ok" else ("fail", None)
        elif kind == "cas":
            output = phase == "ok"
        elif phase == "fail":
            outcome = "fail"
        ops.append(Op(process, kind, key, value, invoked, time, outcome, output))
    for process, (kind, value, invoked) in pending.items():
        ops.append(Op(process, kind, key, value, invoked, None, "unknown"))
    ops.sort(key=lambda op: op.invoke_time)
    return ops


def read_jepsen_log(path: str | Path, key: Any = "r") -> list[Op]:
    """`parse_jepsen_log` of the file at `path`."""
    with open(path, encoding="utf-8") as src:
        return parse_jepsen_log(src, key)
