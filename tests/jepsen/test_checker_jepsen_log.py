"""Parsing Jepsen text logs into ops."""

from __future__ import annotations

import math

from .checker.jepsen_log import parse_jepsen_log, parse_value

LOG = """\
2015-01-01 noise line
INFO  jepsen.util - 0\t:invoke\t:write\t3
INFO  jepsen.util - 1\t:invoke\t:cas\t[3 4]
INFO  jepsen.util - 0\t:ok\t:write\t3
INFO  jepsen.util - 2   :invoke :read   nil
INFO  jepsen.util - 1\t:fail\t:cas\t[3 4]
INFO  jepsen.util - 2   :fail   :read   :timed-out
INFO  jepsen.util - 3\t:invoke\t:write\t1
INFO  jepsen.util - 3\t:info\t:write\t:timed-out
INFO  jepsen.util - 4\t:invoke\t:read\tnil
INFO  jepsen.util - 4\t:ok\t:read\t1
INFO  jepsen.util - 5\t:invoke\t:cas\t[1 2]
"""


def test_values() -> None:
    assert parse_value("nil") is None
    assert parse_value("12") == 12
    assert parse_value("[1 2]") == (1, 2)
    assert parse_value(":timed-out") == ":timed-out"


def test_log_lines_become_ops() -> None:
    ops = {op.process: op for op in parse_jepsen_log(LOG.splitlines())}
    assert (ops[0].kind, ops[0].value, ops[0].outcome) == ("write", 3, "ok")
    assert (ops[0].invoke_time, ops[0].complete_time) == (1, 3)
    assert (ops[1].outcome, ops[1].output) == ("ok", False)
    assert ops[2].outcome == "fail"
    assert ops[3].outcome == "unknown" and ops[3].complete_time == math.inf
    assert ops[4].output == 1
    assert ops[5].outcome == "unknown"
    assert all(op.key == "r" for op in ops.values())
