"""docs/commands.md is generated from the command table and must be current; commands Raftis
does not have answer ``-ERR unknown command`` (never a wrong result), and those it has (GEO,
LCS, ...) answer as redis-server does."""

from __future__ import annotations

import pytest

import server.commands  # noqa: F401  (registers every family)
from server.commands.doc import COMMON_REDIS, DOC_PATH, _known, render
from server.commands.registry import COMMANDS
from tests.compat.targets import RawConn


def test_committed_doc_is_current():
    assert DOC_PATH.read_text() == render(), (
        "docs/commands.md is stale: run `python -m server.commands.doc --write` and commit it")


def _unsupported() -> list[str]:
    return [n for names in COMMON_REDIS.values() for n in names if not _known(n)]


def test_unsupported_commands_answer_unknown_command(single_node, redis_server):
    ours = RawConn(single_node.nodes[1].port)
    try:
        for name in _unsupported():
            base, _, sub = name.partition("|")
            argv = [base.upper(), *([sub.upper()] if sub else []), "k", "*", "f", "v"]
            reply = ours.call(*argv).raw
            if sub:
                assert reply == f"-ERR unknown subcommand '{sub.upper()}'. Try {base.upper()} HELP.\r\n".encode(), name
            else:
                expected = f"-ERR unknown command '{base.upper()}', with args beginning with: 'k' '*' 'f' 'v' \r\n"
                assert reply == expected.encode(), name
    finally:
        ours.close()


@pytest.mark.parametrize("argv", [["OBJECT", "HELP"], ["CLIENT", "HELP"], ["CLUSTER", "HELP"], ["COMMAND", "HELP"],
                                  ["OBJECT", "NOSUCH"], ["XINFO", "HELP"], ["XGROUP", "HELP"], ["FCALL", "f", "0"],
                                  ["EVAL", "return 1", "0"], ["SCRIPT", "HELP"], ["FUNCTION", "HELP"],
                                  ["MEMORY", "HELP"], ["MEMORY", "NOSUCH"], ["PUBSUB", "HELP"], ["LATENCY", "HELP"],
                                  ["MODULE", "HELP"], ["MODULE", "LIST"], ["MODULE", "NOSUCH"], ["MODULE", "LIST", "x"],
                                  ["SCRIPT", "DEBUG", "NO"], ["SCRIPT", "DEBUG", "no"], ["SCRIPT", "DEBUG", "x"],
                                  ["SCRIPT", "DEBUG"], ["PFSELFTEST", "x"],
                                  ["RESTORE-ASKING", "doc:r", "0", "x"], ["RESTORE-ASKING", "doc:r", "-1", "x"],
                                  # (nothing here writes: the servers live for the whole session)
                                  ["GEOADD", "doc:g", "200", "100", "m"], ["GEOPOS", "doc:g", "x"],
                                  ["GEORADIUS", "doc:g", "15", "37", "200", "km"], ["GEOSEARCH", "doc:g", "BYBOX"],
                                  ["GEODIST", "doc:g", "a", "b", "parsec"], ["LCS", "doc:a", "doc:b", "IDX"],
                                  ["LCS", "doc:a", "doc:b", "LEN", "IDX"], ["DUMP", "doc:none"],
                                  ["RESTORE", "doc:r", "-1", "x"], ["RESTORE", "doc:r", "0", "x"],
                                  ["RESTORE", "doc:r", "0", "x", "FREQ", "300"]])
def test_help_and_unknown_replies(single_node, redis_server, argv):
    """Where Redis has the command, the reply must be Redis's; where Raftis lacks it, an error."""
    ours = RawConn(single_node.nodes[1].port)
    ref = RawConn(redis_server.port)
    try:
        mine = ours.call(*argv)
        if argv[0] == "CLUSTER":
            assert mine.kind == "*" and len(mine.value) > 5  # redis-server here is not in cluster mode
        elif argv[1] == "HELP":
            # The same layout; the text lists the subcommands Raftis has (and says "Print this
            # help." as Redis 7.2 does, where 7.0 says "Prints").
            theirs = ref.call(*argv)
            assert mine.kind == "*" and all(x.kind == "+" for x in mine.value)
            assert mine.value[0].raw == theirs.value[0].raw
            assert [x.value for x in mine.value[-2:]] == [b"HELP", b"    Print this help."]
            # every subcommand Redis lists that Raftis has is listed
            listed = {x.value.split(b" ")[0] for x in mine.value[1:] if not x.value.startswith(b" ")}
            wanted = {x.value.split(b" ")[0] for x in theirs.value[1:] if not x.value.startswith(b" ")}
            container = COMMANDS[argv[0].lower().encode()].subcommands or {}
            assert {w for w in wanted if w.lower() in container} <= listed
        else:
            assert mine.raw == ref.call(*argv).raw
    finally:
        ours.close()
        ref.close()


def test_script_debug_refuses_the_debugger(single_node):
    ours = RawConn(single_node.nodes[1].port)
    try:
        for mode in ("YES", "sync"):
            assert ours.call("SCRIPT", "DEBUG", mode).raw == (
                b"-ERR Raftis has no Lua debugger: scripts run as the log is applied, on every node\r\n")
        assert ours.call("EVAL", "return 1", "0").raw == b":1\r\n"  # no debugging session was opened
    finally:
        ours.close()


def test_pfselftest_passes(single_node, redis_server):
    ours, theirs = RawConn(single_node.nodes[1].port), RawConn(redis_server.port)
    try:
        assert ours.call("PFSELFTEST").raw == theirs.call("PFSELFTEST").raw == b"+OK\r\n"
    finally:
        ours.close()
        theirs.close()
