"""The command table: lookup, arity, key positions, COMMAND output."""

from __future__ import annotations

import hiredis
from commands_harness import LocalExecutor
from redis._parsers.helpers import parse_command, parse_command_resp3

from resp import ErrorReply, encode
from server.commands import COMMANDS, CONN, READ, WRITE, Command, check_arity, keys_of, lookup


def test_lookup_is_case_insensitive_and_resolves_subcommands():
    assert lookup([b"GET", b"k"]) is COMMANDS[b"get"]
    assert lookup([b"gEt", b"k"]) is COMMANDS[b"get"]
    sub = lookup([b"client", b"SETNAME", b"x"])
    assert isinstance(sub, Command) and sub.name == b"client|setname" and sub.kind == CONN
    assert lookup([b"OBJECT", b"encoding", b"k"]).kind == READ


def test_lookup_errors():
    assert lookup([b"nosuch", b"a"]) == ErrorReply(
        "ERR unknown command 'nosuch', with args beginning with: 'a' "
    )
    assert lookup([b"get"]) == ErrorReply("ERR wrong number of arguments for 'get' command")
    assert lookup([b"client"]) == ErrorReply("ERR wrong number of arguments for 'client' command")
    assert lookup([b"client", b"setname"]) == ErrorReply(
        "ERR wrong number of arguments for 'client|setname' command"
    )
    assert lookup([b"client", b"nope"]) == ErrorReply("ERR unknown subcommand 'nope'. Try CLIENT HELP.")


def test_check_arity_and_keys_of():
    mset = COMMANDS[b"mset"]
    assert check_arity(mset, [b"mset", b"a"]) is not None
    assert check_arity(mset, [b"mset", b"a", b"1"]) is None
    assert keys_of(mset, [b"mset", b"a", b"1", b"b", b"2"]) == [b"a", b"b"]
    assert keys_of(COMMANDS[b"del"], [b"del", b"a", b"b"]) == [b"a", b"b"]
    assert keys_of(COMMANDS[b"rename"], [b"rename", b"a", b"b"]) == [b"a", b"b"]
    assert keys_of(COMMANDS[b"ping"], [b"ping"]) == []
    assert keys_of(lookup([b"object", b"encoding", b"k"]), [b"object", b"encoding", b"k"]) == [b"k"]


def test_kinds():
    for name in (
        b"set",
        b"del",
        b"expire",
        b"hset",
        b"flushall",
        b"incrbyfloat",
        b"getex",
        b"getdel",
        b"copy",
    ):
        assert COMMANDS[name].kind == WRITE, name
    for name in (b"get", b"mget", b"exists", b"ttl", b"keys", b"scan", b"hgetall", b"randomkey", b"dbsize"):
        assert COMMANDS[name].kind == READ, name
    for name in (b"ping", b"hello", b"select", b"client", b"command", b"config", b"info", b"time", b"quit"):
        assert COMMANDS[name].kind == CONN, name
    # PUBLISH and SPUBLISH go through the log (so every node delivers messages in one order) although
    # Redis does not flag it as a write; so do scripts that may write, and the script cache's
    # changes (every node runs them, and keeps the same scripts).
    logged_not_writes = {b"publish", b"spublish", b"eval", b"evalsha", b"fcall", b"script|load", b"script|flush"}
    # MIGRATE runs on the leader's client connection (it talks to the target meanwhile) and
    # proposes its write itself: the deletion of the keys it copied, as a watched transaction.
    proposes_its_own_write = {b"migrate"}
    for cmd in COMMANDS.values():
        if cmd.name in proposes_its_own_write:
            assert "write" in cmd.flags and cmd.kind == CONN, cmd.name
        elif cmd.name not in logged_not_writes:
            assert ("write" in cmd.flags) == (cmd.kind == WRITE), cmd.name


def test_command_output_parses_with_redis_py():
    ex = LocalExecutor()
    raw = encode(ex.run("COMMAND"), False)
    r = hiredis.Reader()
    r.feed(raw)
    parsed = parse_command(r.gets())
    assert parsed["get"]["first_key_pos"] == 1 and parsed["mset"]["step_count"] == 2
    assert "raftis.expire" not in parsed
    assert ex.run("COMMAND", "COUNT") == len(parsed)
    ex.run("HELLO", "3")
    r = hiredis.Reader()
    r.feed(encode(ex.run("COMMAND"), True))
    parsed3 = parse_command_resp3(r.gets())
    assert parsed3["set"]["flags"] == {"write", "denyoom"}
    names = {e[0] for e in parsed3["client"]["subcommands"]}
    assert b"client|setinfo" in names


def test_command_info_docs_list_getkeys():
    ex = LocalExecutor()
    info = ex.run("COMMAND", "INFO", "get", "nosuch", "client|id")
    assert info[0][0] == b"get" and info[1] is None and info[2][0] == b"client|id"
    docs = ex.run("COMMAND", "DOCS", "get")
    assert dict(docs.items())[b"get"] is not None
    names = ex.run("COMMAND", "LIST")
    assert b"get" in names and b"config|get" in names and b"raftis.expire" not in names
    assert ex.run("COMMAND", "LIST", "FILTERBY", "PATTERN", "hget*") == [b"hget", b"hgetall"]
    assert ex.run("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == [b"a", b"b"]
    assert ex.run("COMMAND", "GETKEYS", "PING", "x") == ErrorReply("ERR The command has no key arguments")


def test_session_commands():
    ex = LocalExecutor()
    s = ex.session
    assert ex.run("HELLO", "3", "SETNAME", "me").pairs[2] == (b"proto", 3)
    assert s.resp3 and s.name == b"me"
    assert ex.run("CLIENT", "SETINFO", "LIB-NAME", "redis-py").value == b"OK"
    assert ex.run("CLIENT", "SETINFO", "lib-ver", "8.1.0").value == b"OK"
    line = ex.run("CLIENT", "INFO").data
    assert line.startswith(b"id=%d addr=" % s.id) and b" lib-name=redis-py lib-ver=8.1.0\n" in line
    assert ex.run("CLIENT", "SETINFO", "foo", "x") == ErrorReply("ERR Unrecognized option 'foo'")
    assert ex.run("SELECT", "3").value == b"OK" and s.db_index == 3
    ex.run("SET", "k", "v")
    assert ex.keyspace.dbs[3].data == {b"k": b"v"}
    assert ex.run("READONLY").value == b"OK" and s.readonly
    assert ex.run("RESET").value == b"RESET"
    assert (s.db_index, s.resp3, s.readonly, s.name) == (0, False, False, b"")
    assert ex.run("QUIT").value == b"OK" and s.close_after_reply
    assert ex.run("INFO").fmt == b"txt"
    sec, usec = ex.run("TIME")
    assert int(sec) > 1_600_000_000 and 0 <= int(usec) < 1_000_000
    assert dict(ex.run("CONFIG", "GET", "save", "append*").items()) == {b"save": b"", b"appendonly": b"no"}
