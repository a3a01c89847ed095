"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: Lua scripts (``server.scripting``).

EVAL and EVALSHA are writes: the script runs as its entry is applied, on every node. EVAL_RO
and EVALSHA_RO are reads (linearizable like any read) whose scripts may only call reads.
SCRIPT LOAD and SCRIPT FLUSH go through the log too, so every node knows the same scripts.
"""

from __future__ import annotations

from typing import Any

from resp.parser import string2ll
from resp.types import OK, ErrorReply, SimpleString
from server import scripting
from server.commands.registry import CONN, READ, WRITE, command, container, lookup, subcommand
from server.commands.streams import xread_blocks
from server.transactions import _select_index

_NOT_ALLOWED = ErrorReply("ERR This Redis command is not allowed from script")
_UNKNOWN = ErrorReply("ERR Unknown Redis command called from script")
_ARITY = ErrorReply("ERR Wrong number of args calling Redis command from script")
_RO_WRITE = ErrorReply("ERR Write commands are not allowed from read-only scripts.")
_NOSCRIPT = ErrorReply("NOSCRIPT No matching script. Please use EVAL.")
_PONG = SimpleString(b"PONG")
# SCRIPT KILL and FUNCTION KILL: scripts run as the log is applied, within their budgets, so
# none is ever running while a command is read.
NOTBUSY = ErrorReply("NOTBUSY No scripts in execution right now.")


def _split(argv: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    numkeys = string2ll(argv[2])
    if numkeys is None:
        raise ErrorReply("ERR value is not an integer or out of range")
    if numkeys < 0:
        raise ErrorReply("ERR Number of keys can't be negative")
    if numkeys > len(argv) - 3:
        raise ErrorReply("ERR Number of keys can't be greater than number of args")
    return argv[3 : 3 + numkeys], argv[3 + numkeys :]


def _run(ctx: Any, body: bytes, argv: list[bytes], readonly: bool) -> Any:
    keys, args = _split(argv)
    db_index = ctx.db_index
    was_in_exec = ctx.in_exec
    was_readonly = ctx.readonly
    ctx.in_exec = True  # blocking commands answer at once, as in MULTI

    def execute(call: list[bytes], ro: bool) -> Any:
        return _call(ctx, call, ro)

    if ctx.monitor is not None:
        execute = ctx.monitor.script_started(argv, ctx, execute)

    try:
        return scripting.run(ctx, body, keys, args, readonly=readonly, execute=execute)
    finally:
        ctx.in_exec = was_in_exec
        ctx.readonly = was_readonly
        if ctx.db_index != db_index:
            ctx.select(db_index)  # a SELECT in the script does not outlive it


def _call(ctx: Any, argv: list[bytes], readonly_script: bool) -> Any:
    """One ``redis.call`` from a script: its reply, or an ``ErrorReply``."""
    cmd = lookup(argv)
    if isinstance(cmd, ErrorReply):
        text = cmd.data
        if text.startswith(b"ERR unknown command"):
            return _UNKNOWN
        if text.startswith(b"ERR wrong number of arguments"):
            return _ARITY
        return cmd
    if "noscript" in cmd.flags:
        return _NOT_ALLOWED
    if cmd.name in _STREAM_READS and xread_blocks(argv):
        return ErrorReply(b"ERR " + cmd.name + b" command is not allowed with BLOCK option from scripts")
    kind = cmd.kind
    if kind == CONN:
        name = cmd.name
        if name == b"ping":
            return _PONG if len(argv) == 1 else argv[1]
        if name == b"echo":
            return argv[1]
        if name == b"time":
            # The entry's time on every node (a read: the serving node's clock).
            ms = ctx.now_ms
            return [str(ms // 1000).encode(), str(ms % 1000 * 1000).encode()]
        if name == b"select":
            db = _select_index(argv[1])
            if isinstance(db, ErrorReply):
                return db
            ctx.select(db)
            return OK
        return _NOT_ALLOWED
    if kind == WRITE:
        if readonly_script:
            return _RO_WRITE
        ctx.readonly = False
    else:
        ctx.readonly = True
    try:
        return cmd.run(ctx, argv)
    except ErrorReply as err:
        return err


_STREAM_READS = (b"xread", b"xreadgroup")  # Redis refuses their BLOCK form in scripts (it never blocks there)


def _cache(ctx: Any, body: bytes) -> bytes:
    sha = scripting.sha1hex(body)
    ctx.keyspace.scripts[sha] = body
    return sha


def _eval(ctx: Any, argv: list[bytes], readonly: bool) -> Any:
    _split(argv)
    body = argv[1]
    err = scripting.compile_error(body)
    if err is not None:
        return err
    if not readonly:  # a read changes nothing, the cache included
        _cache(ctx, body)
    return _run(ctx, body, argv, readonly=readonly)


@command("eval", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", kind=WRITE,
         group="scripting", since="2.6.0", summary="Executes a server-side Lua script.")
def eval_(ctx: Any, argv: list[bytes]) -> Any:
    return _eval(ctx, argv, readonly=False)


def _by_sha(ctx: Any, sha: bytes) -> bytes:
    body = ctx.keyspace.scripts.get(sha.lower())
    if body is None:
        raise _NOSCRIPT
    return body


@command("evalsha", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", kind=WRITE,
         group="scripting", since="2.6.0", summary="Executes a server-side Lua script by SHA1 digest.")
def evalsha(ctx: Any, argv: list[bytes]) -> Any:
    _split(argv)
    return _run(ctx, _by_sha(ctx, argv[1]), argv, readonly=False)


@command("eval_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", kind=READ,
         group="scripting", since="7.0.0", summary="Executes a read-only server-side Lua script.")
def eval_ro(ctx: Any, argv: list[bytes]) -> Any:
    return _eval(ctx, argv, readonly=True)


@command("evalsha_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", kind=READ,
         group="scripting", since="7.0.0", summary="Executes a read-only server-side Lua script by SHA1 digest.")
def evalsha_ro(ctx: Any, argv: list[bytes]) -> Any:
    _split(argv)
    return _run(ctx, _by_sha(ctx, argv[1]), argv, readonly=True)


container("script", "", CONN, group="scripting", summary="A container for Lua scripts management commands")


@subcommand("script", "load", 3, "noscript stale", kind=WRITE, since="2.6.0",
            summary="Loads a server-side Lua script to the script cache.")
def script_load(ctx: Any, argv: list[bytes]) -> Any:
    err = scripting.compile_error(argv[2])
    if err is not None:
        return err
    return _cache(ctx, argv[2])


@subcommand("script", "exists", -3, "noscript", kind=READ, since="2.6.0",
            summary="Determines whether server-side Lua scripts exist in the script cache.")
def script_exists(ctx: Any, argv: list[bytes]) -> Any:
    scripts = ctx.keyspace.scripts
    return [1 if sha.lower() in scripts else 0 for sha in argv[2:]]


@subcommand("script", "flush", -2, "noscript", kind=WRITE, since="2.6.0",
            summary="Removes all server-side Lua scripts from the script cache.")
def script_flush(ctx: Any, argv: list[bytes]) -> Any:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].upper() not in (b"ASYNC", b"SYNC")):
        return ErrorReply("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    ctx.keyspace.scripts.clear()
    return OK


@subcommand("script", "kill", 2, "noscript allow_busy", kind=CONN, since="2.6.0",
            summary="Terminates a server-side Lua script during execution.")
def script_kill(session: Any, argv: list[bytes]) -> Any:
    return NOTBUSY


@subcommand("script", "debug", 3, "noscript", kind=CONN, since="3.2.0",
            summary="Sets the debug mode of server-side Lua scripts.")
def script_debug(session: Any, argv: list[bytes]) -> Any:
    """NO (the only mode there is) is accepted; YES and SYNC, which would open Redis's Lua
    debugger on this connection, are refused with the reason (a script runs as its log entry
    is applied on every node, where nobody can step through it)."""
    mode = argv[2].upper()
    if mode not in (b"YES", b"SYNC", b"NO"):
        return ErrorReply("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    if mode == b"NO":
        return OK
    return ErrorReply("ERR Raftis has no Lua debugger: scripts run as the log is applied, on every node")


@subcommand("script", "help", 2, "loading stale", kind=CONN, since="5.0.0",
            summary="Returns helpful text about the different subcommands.")
def script_help(session: Any, argv: list[bytes]) -> Any:
    lines = [
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG NO",
        "    Keep scripts out of the debugger (Raftis has none: YES and SYNC are refused).",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache, on every node.",
        "KILL",
        "    Answers NOTBUSY: scripts run as the log is applied, within their budget.",
        "LOAD <script>",
        "    Load a script into the scripts cache (of every node) without executing it.",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]
