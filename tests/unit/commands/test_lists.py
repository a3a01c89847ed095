"""List commands through the in-process executor: replies, errors, key versions (WATCH) and
the blocking forms' contract with the node (``Blocked``, never blocking inside EXEC)."""

from __future__ import annotations

import pytest
from commands_harness import LocalExecutor

from resp import ErrorReply
from resp.types import NULL_ARRAY, OK
from server.commands import COMMANDS, ExecContext
from server.commands.blocking import BLOCKING_COMMANDS, Blocked, blocked_keys, parse_timeout
from server.keyspace import List

WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")


class ExecCtx(ExecContext):
    """The context the node will pass, with its ``in_exec`` flag."""

    __slots__ = ("in_exec",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.in_exec = False


@pytest.fixture
def ex():
    e = LocalExecutor()
    e.ctx = ExecCtx(e.keyspace)
    return e


def items(ex, key=b"l"):
    v = ex.keyspace.dbs[0].data.get(key)
    return None if v is None else list(v)


def version(ex, key=b"l"):
    return ex.keyspace.dbs[0].version(key)


def test_push_and_pop(ex):
    assert ex.run("RPUSH", "l", "a", "b") == 2
    assert ex.run("LPUSH", "l", "x", "y") == 4
    assert items(ex) == [b"y", b"x", b"a", b"b"]
    assert type(ex.keyspace.dbs[0].data[b"l"]) is List
    assert ex.run("LPUSHX", "nokey", "a") == 0 and ex.run("RPUSHX", "nokey", "a") == 0
    assert b"nokey" not in ex.keyspace.dbs[0].data
    assert ex.run("RPUSHX", "l", "z") == 5
    assert ex.run("LPOP", "l") == b"y"
    assert ex.run("RPOP", "l") == b"z"
    assert ex.run("LPOP", "l", "2") == [b"x", b"a"]
    assert ex.run("LPOP", "l", "0") == []
    assert ex.run("RPOP", "l", "5") == [b"b"]
    assert items(ex) is None  # emptied lists are deleted
    assert ex.run("LPOP", "l") is None
    assert ex.run("LPOP", "l", "3") is NULL_ARRAY


def test_pop_errors(ex):
    ex.run("RPUSH", "l", "a")
    positive = ErrorReply("ERR value is out of range, must be positive")
    assert ex.run("LPOP", "l", "-1") == positive
    assert ex.run("LPOP", "l", "x") == positive
    assert ex.run("RPOP", "l", "1", "2") == ErrorReply("ERR wrong number of arguments for 'rpop' command")
    assert ex.run("LPOP") == ErrorReply("ERR wrong number of arguments for 'lpop' command")
    assert items(ex) == [b"a"]


def test_reads(ex):
    ex.run("RPUSH", "l", *"abcdef")
    assert ex.run("LLEN", "l") == 6 and ex.run("LLEN", "nokey") == 0
    assert ex.run("LRANGE", "l", "0", "-1") == [c.encode() for c in "abcdef"]
    assert ex.run("LRANGE", "l", "-2", "100") == [b"e", b"f"]
    assert ex.run("LRANGE", "l", "4", "5") == [b"e", b"f"]  # walked from the tail
    assert ex.run("LRANGE", "l", "3", "2") == []
    assert ex.run("LRANGE", "l", "x", "2") == ErrorReply("ERR value is not an integer or out of range")
    assert ex.run("LINDEX", "l", "-1") == b"f" and ex.run("LINDEX", "l", "6") is None
    assert ex.run("LINDEX", "nokey", "x") is None  # key first, then the index


def test_lpos(ex):
    ex.run("RPUSH", "l", *"abcabca")
    assert ex.run("LPOS", "l", "a") == 0
    assert ex.run("LPOS", "l", "a", "RANK", "-1") == 6
    assert ex.run("LPOS", "l", "a", "RANK", "2") == 3
    assert ex.run("LPOS", "l", "a", "COUNT", "0") == [0, 3, 6]
    assert ex.run("LPOS", "l", "a", "COUNT", "2", "RANK", "-1") == [6, 3]
    assert ex.run("LPOS", "l", "a", "COUNT", "0", "MAXLEN", "4") == [0, 3]
    assert ex.run("LPOS", "l", "z") is None
    assert ex.run("LPOS", "l", "z", "COUNT", "1") == []
    assert ex.run("LPOS", "nokey", "a", "COUNT", "1") == []
    assert ex.run("LPOS", "l", "a", "RANK", "0").message.startswith("ERR RANK can't be zero")
    assert ex.run("LPOS", "l", "a", "COUNT", "-1") == ErrorReply("ERR COUNT can't be negative")
    assert ex.run("LPOS", "l", "a", "MAXLEN", "x") == ErrorReply("ERR MAXLEN can't be negative")
    assert ex.run("LPOS", "l", "a", "RANK") == ErrorReply("ERR syntax error")


def test_in_place_changes(ex):
    ex.run("RPUSH", "l", "a", "b", "a", "c", "a")
    assert ex.run("LSET", "l", "-1", "z") == OK
    assert ex.run("LSET", "l", "9", "z") == ErrorReply("ERR index out of range")
    assert ex.run("LSET", "nokey", "0", "z") == ErrorReply("ERR no such key")
    assert ex.run("LINSERT", "l", "BEFORE", "b", "B") == 6
    assert ex.run("LINSERT", "l", "after", "b", "b2") == 7
    assert ex.run("LINSERT", "l", "after", "zz", "v") == -1
    assert ex.run("LINSERT", "nokey", "after", "zz", "v") == 0
    assert ex.run("LINSERT", "l", "around", "b", "v") == ErrorReply("ERR syntax error")
    assert items(ex) == [b"a", b"B", b"b", b"b2", b"a", b"c", b"z"]
    assert ex.run("LREM", "l", "-1", "a") == 1
    assert items(ex) == [b"a", b"B", b"b", b"b2", b"c", b"z"]
    assert ex.run("LREM", "l", "0", "nothing") == 0
    assert ex.run("LTRIM", "l", "1", "-2") == OK
    assert items(ex) == [b"B", b"b", b"b2", b"c"]
    assert ex.run("LTRIM", "l", "5", "10") == OK
    assert items(ex) is None
    assert ex.run("LTRIM", "nokey", "0", "1") == OK


def test_versions_bump_only_on_change(ex):
    ex.run("RPUSH", "l", "a", "b")
    assert version(ex) == ex.index
    changed_at = ex.index
    for noop in (
        ("LREM", "l", "0", "zz"),
        ("LINSERT", "l", "before", "zz", "v"),
        ("LSET", "l", "5", "v"),
        ("LPOP", "l", "0"),
        ("LPUSHX", "other", "v"),
        ("LMOVE", "nokey", "l", "left", "left"),
    ):
        ex.run(*noop)
        assert version(ex) == changed_at, noop
    for change in (
        ("LSET", "l", "0", "v"),
        ("LINSERT", "l", "before", "v", "w"),
        ("LREM", "l", "1", "w"),
        ("LTRIM", "l", "0", "-1"),  # Redis signals LTRIM even when nothing goes
        ("RPUSHX", "l", "c"),
        ("LPOP", "l"),
    ):
        ex.run(*change)
        assert version(ex) == ex.index, change
    ex.run("RPOP", "l", "10")
    assert items(ex) is None and version(ex) == ex.index  # deletion is a change too


def test_move(ex):
    ex.run("RPUSH", "src", "a", "b", "c")
    assert ex.run("LMOVE", "src", "dst", "left", "right") == b"a"
    assert ex.run("RPOPLPUSH", "src", "dst") == b"c"
    assert items(ex, b"dst") == [b"c", b"a"]
    assert version(ex, b"src") == version(ex, b"dst") == ex.index
    assert ex.run("LMOVE", "dst", "dst", "LEFT", "RIGHT") == b"c"  # rotation
    assert items(ex, b"dst") == [b"a", b"c"]
    assert ex.run("LMOVE", "src", "dst", "up", "left") == ErrorReply("ERR syntax error")
    ex.run("SET", "str", "x")
    assert ex.run("LMOVE", "src", "str", "left", "left") == WRONGTYPE
    assert items(ex, b"src") == [b"b"]  # nothing popped
    assert ex.run("LMOVE", "nokey", "str", "left", "left") is None  # source checked first
    assert ex.run("RPOPLPUSH", "src", "dst") == b"b"
    assert items(ex, b"src") is None
    single = ex.run("RPUSH", "one", "x")
    assert single == 1 and ex.run("RPOPLPUSH", "one", "one") == b"x" and items(ex, b"one") == [b"x"]


def test_lmpop(ex):
    ex.run("RPUSH", "b", "1", "2", "3")
    assert ex.run("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "2") == [b"b", [b"3", b"2"]]
    assert ex.run("LMPOP", "2", "a", "b", "LEFT", "COUNT", "9") == [b"b", [b"1"]]
    assert ex.run("LMPOP", "2", "a", "b", "LEFT") is NULL_ARRAY
    assert ex.run("LMPOP", "0", "a", "LEFT") == ErrorReply("ERR numkeys should be greater than 0")
    assert ex.run("LMPOP", "x", "a", "LEFT") == ErrorReply("ERR numkeys should be greater than 0")
    assert ex.run("LMPOP", "2", "a", "LEFT") == ErrorReply("ERR syntax error")
    count_err = ErrorReply("ERR count should be greater than 0")
    assert ex.run("LMPOP", "1", "a", "LEFT", "COUNT", "0") == count_err
    assert ex.run("LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1") == ErrorReply("ERR syntax error")


def test_wrongtype(ex):
    ex.run("SET", "s", "v")
    for cmd in (
        ("LPUSH", "s", "a"),
        ("RPUSHX", "s", "a"),
        ("LPOP", "s"),
        ("LLEN", "s"),
        ("LRANGE", "s", "0", "1"),
        ("LINDEX", "s", "0"),
        ("LSET", "s", "0", "a"),
        ("LINSERT", "s", "before", "a", "b"),
        ("LREM", "s", "0", "a"),
        ("LTRIM", "s", "0", "1"),
        ("LPOS", "s", "a"),
        ("LMPOP", "2", "nokey", "s", "left"),
        ("BLPOP", "nokey", "s", "0"),
        ("BLMPOP", "0", "1", "s", "left"),
        ("BRPOPLPUSH", "s", "d", "0"),
    ):
        assert ex.run(*cmd) == WRONGTYPE, cmd
    assert ex.keyspace.dbs[0].data[b"s"] == b"v"


# --- blocking --------------------------------------------------------------------------------
def test_blocking_serves_when_it_can(ex):
    ex.run("RPUSH", "b", "1", "2", "3")
    assert ex.run("BLPOP", "a", "b", "0") == [b"b", b"1"]
    assert ex.run("BRPOP", "a", "b", "1.5") == [b"b", b"3"]
    assert ex.run("BLMOVE", "b", "d", "LEFT", "LEFT", "0") == b"2"
    assert items(ex, b"b") is None and version(ex, b"b") == ex.index
    assert ex.run("BRPOPLPUSH", "d", "e", "0") == b"2"
    ex.run("RPUSH", "b", "x", "y")
    assert ex.run("BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "5") == [b"b", [b"y", b"x"]]


def test_blocking_returns_blocked_when_empty(ex):
    ex.run("RPUSH", "other", "v")
    before = ex.keyspace.dbs[0].versions.copy()
    assert ex.run("BLPOP", "a", "b", "0") == Blocked((b"a", b"b"), 0)
    assert ex.run("BRPOP", "a", "2.5") == Blocked((b"a",), 2500)
    assert ex.run("BLMOVE", "a", "other", "LEFT", "RIGHT", "0.1") == Blocked((b"a",), 100)
    assert ex.run("BRPOPLPUSH", "a", "other", "3") == Blocked((b"a",), 3000)
    assert ex.run("BLMPOP", "0.3", "2", "a", "b", "LEFT") == Blocked((b"a", b"b"), 300)
    assert ex.keyspace.dbs[0].versions == before  # waiting changes nothing
    assert items(ex, b"other") == [b"v"]


def test_blocking_inside_exec_answers_like_a_timeout(ex):
    ex.ctx.in_exec = True
    assert ex.run("BLPOP", "a", "0") is NULL_ARRAY
    assert ex.run("BRPOP", "a", "b", "0") is NULL_ARRAY
    assert ex.run("BLMPOP", "0", "1", "a", "LEFT") is NULL_ARRAY
    assert ex.run("BLMOVE", "a", "d", "LEFT", "LEFT", "0") is None
    assert ex.run("BRPOPLPUSH", "a", "d", "0") is None
    ex.run("RPUSH", "a", "v")
    assert ex.run("BLPOP", "a", "0") == [b"a", b"v"]
    ex.ctx.in_exec = False
    assert isinstance(ex.run("BLPOP", "a", "0"), Blocked)


def test_plain_context_without_in_exec_blocks():
    e = LocalExecutor()  # the stock ExecContext has no in_exec attribute
    assert e.run("BLPOP", "a", "0") == Blocked((b"a",), 0)


def test_blocking_errors_come_before_blocking(ex):
    not_float = ErrorReply("ERR timeout is not a float or out of range")
    negative = ErrorReply("ERR timeout is negative")
    assert ex.run("BLPOP", "a", "x") == not_float
    assert ex.run("BLPOP", "a", "nan") == not_float
    assert ex.run("BLPOP", "a", "-1") == negative
    assert ex.run("BLPOP", "a", "inf") == negative
    assert ex.run("BLPOP", "a", "1e20") == negative
    assert ex.run("BLMOVE", "a", "b", "up", "left", "0") == ErrorReply("ERR syntax error")
    assert ex.run("BLMPOP", "-1", "1", "a", "left") == negative
    assert ex.run("BLMPOP", "0", "1", "a", "left", "COUNT", "0") == ErrorReply(
        "ERR count should be greater than 0"
    )


def test_parse_timeout():
    assert parse_timeout(b"0") == 0
    assert parse_timeout(b"0.3") == 300  # long double product rounds up to 300, not 299
    assert parse_timeout(b"0.0001") == 0  # under a millisecond truncates to "forever"
    assert parse_timeout(b"1.5") == 1500
    assert parse_timeout(b"0x10") == 16000
    assert parse_timeout(b"9223372036854775.0") == 9223372036854775000  # no range check in 7.0


def test_blocking_command_table():
    assert set(BLOCKING_COMMANDS) >= {b"blpop", b"brpop", b"blmove", b"brpoplpush", b"blmpop"}
    for name in BLOCKING_COMMANDS:
        cmd = COMMANDS[name]
        # XREAD is a read that goes through the log only with BLOCK (the node routes it so)
        assert "blocking" in cmd.flags and (cmd.is_write or name == b"xread"), name
    assert blocked_keys([b"BLPOP", b"a", b"b", b"0"]) == [b"a", b"b"]
    assert blocked_keys([b"brpop", b"a", b"0"]) == [b"a"]
    assert blocked_keys([b"blmove", b"s", b"d", b"left", b"left", b"0"]) == [b"s"]
    assert blocked_keys([b"brpoplpush", b"s", b"d", b"0"]) == [b"s"]
    assert blocked_keys([b"blmpop", b"0", b"2", b"a", b"b", b"left", b"count", b"2"]) == [b"a", b"b"]
    assert BLOCKING_COMMANDS[b"blmpop"]([b"blmpop", b"0", b"1", b"k", b"right"]) == [3]


def test_lists_in_snapshots_and_copy(ex):
    import io

    from server.keyspace import Keyspace

    ex.run("RPUSH", "l", "a", "b")
    ex.run("COPY", "l", "l2")
    ex.run("RPUSH", "l2", "c")
    assert items(ex) == [b"a", b"b"] and ex.run("TYPE", "l2").value == b"list"
    buf = io.BytesIO()
    ex.keyspace.snapshot_to(buf)
    buf.seek(0)
    other = Keyspace()
    other.restore_from(buf)
    assert type(other.dbs[0].data[b"l2"]) is List and list(other.dbs[0].data[b"l2"]) == [b"a", b"b", b"c"]
