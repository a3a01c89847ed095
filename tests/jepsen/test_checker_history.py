"""Op records and their JSON-lines files."""

from __future__ import annotations

import math

import pytest

from .checker.history import Op, drop_failed, op_from_json, op_to_json, read_history, write_history


def test_round_trip_keeps_every_field(tmp_path) -> None:
    ops = [
        Op(1, "cas", "k", (1, 2), 0.5, 1.5, "ok", True),
        Op(2, "write", "k", 3, 1, None, "unknown"),
        Op(3, "read", ["a", 1], None, 2, 3, "ok", [1, [2, 3]]),
        Op(4, "append", "l", 7, 2, 4, "fail"),
    ]
    path = tmp_path / "history.jsonl"
    write_history(path, ops)
    back = read_history(path)
    assert back[0] == ops[0]
    assert back[1].complete_time == math.inf and back[1] == ops[1]
    assert back[2].key == ("a", 1) and back[2].output == (1, (2, 3))
    assert back[3] == ops[3]


def test_unknown_completion_is_written_as_null() -> None:
    line = op_to_json(Op(2, "write", "k", 3, 1, math.inf, "unknown"))
    assert '"complete_time":null' in line
    assert op_from_json(line).complete_time == math.inf


@pytest.mark.parametrize(
    "kwargs",
    [
        {"outcome": "maybe"},
        {"complete_time": None},
        {"complete_time": math.inf},
        {"complete_time": 0.0},
    ],
)
def test_invalid_ops_are_rejected(kwargs) -> None:
    fields = {"process": 0, "kind": "read", "key": "k", "value": None, "invoke_time": 1.0}
    fields |= {"complete_time": 2.0, "outcome": "ok"} | kwargs
    with pytest.raises(ValueError):
        Op(**fields)


def test_drop_failed_keeps_ok_and_unknown_in_order() -> None:
    ops = [Op(0, "write", "k", 1, 0, 1, "fail"), Op(1, "write", "k", 2, 0, None, "unknown")]
    ops.append(Op(2, "read", "k", None, 0, 1, "ok", 2))
    assert drop_failed(ops) == ops[1:]
