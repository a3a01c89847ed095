"""Fuzz the command argument parsers: random argv for every READ and WRITE command of the
table, run in sequences on one in-process keyspace (so keys of every type meet every
command).  A handler may answer anything, errors included, but never raise."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import server.commands  # noqa: F401  (registers every family)
from resp.encoder import encode
from resp.types import ErrorReply
from server.commands.blocking import Blocked
from server.commands.registry import COMMANDS, CONN
from tests.security.fuzzing import fuzz_settings, run_reporting
from tests.unit.commands.commands_harness import LocalExecutor

COUNT = {"inputs": 0}

NAMES = sorted(n.decode() for n, c in COMMANDS.items() if c.kind != CONN and not c.internal)

ARGS = st.one_of(
    st.sampled_from([
        "k", "k", "h", "l", "s", "z", "0", "1", "-1", "2", "3", "10", "-100", "100000000000", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "1.5", "-0", "1e400", "nan", "inf",
        "-inf", "+inf", "(1", "[a", "(", "[", "-", "+", "EX", "PX", "EXAT", "PXAT", "NX", "XX", "GT", "LT", "CH", "INCR",
        "KEEPTTL", "GET", "WITHSCORES", "LIMIT", "COUNT", "MATCH", "TYPE", "BYSCORE", "BYLEX", "REV", "LEFT",
        "RIGHT", "BEFORE", "AFTER", "REPLACE", "DB", "WEIGHTS", "AGGREGATE", "SUM", "MIN", "MAX", "RANK",
        "MAXLEN", "IDLETIME", "FREQ", "ABSTTL", "PERSIST", "WITHVALUES", "LEN", "IDX", "MINMATCHLEN", "*", "?",
        "[a-", "\\", "", " ",
    ]),
    st.text(max_size=6),
    st.integers(-(2**65), 2**65).map(str),
    st.binary(max_size=8).map(lambda b: b.decode("latin-1")),
)
ARGV = st.tuples(st.sampled_from(NAMES), st.lists(ARGS, max_size=7)).map(lambda t: [t[0], *t[1]])

SEED = [["SET", "k", "1"], ["HSET", "h", "f", "1"], ["RPUSH", "l", "a", "b"], ["SADD", "s", "a", "1"]]


@fuzz_settings(400)
@given(program=st.lists(ARGV, min_size=1, max_size=6))
def fuzz_commands(program):
    COUNT["inputs"] += 1
    ex = LocalExecutor(clock=lambda: 1_700_000_000_000)
    for argv in SEED + program:
        reply = ex.run(*argv)
        if isinstance(reply, ErrorReply):
            assert "internal error" not in str(reply), argv
        if isinstance(reply, Blocked):
            continue  # a blocking command with nothing to pop: the node parks the client
        encode(reply, False)  # every reply must be encodable too
        encode(reply, True)


def test_fuzz_command_arguments():
    run_reporting("command arguments", fuzz_commands, COUNT)
