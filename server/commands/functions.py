"""FUNCTION and FCALL: libraries of Lua functions (Redis 7.0), kept in the replicated state.

FUNCTION LOAD goes through the log like a write: every node checks the library's code the
same way (``server.scripting.library_functions``) and stores it, and snapshots carry the
libraries (``Keyspace.functions``). FCALL is a write and FCALL_RO a read, as EVAL and EVAL_RO
are: the library's code runs again in a fresh Lua state on every node that applies the call,
then the function, with its keys and arguments. FUNCTION DUMP and RESTORE use Redis's payload
(``server.rdb``); RESTORE goes through the log and checks every library as LOAD does.
"""

from __future__ import annotations

from typing import Any

from resp.parser import split_args, string2ll
from resp.types import OK, ErrorReply, Map, SetReply, SimpleString
from server import errors, rdb, scripting
from server.commands.glob import glob_match
from server.commands.registry import CONN, READ, WRITE, command, container, subcommand
from server.commands.scripting import NOTBUSY, _call, _split

_NOT_FOUND = ErrorReply("ERR Function not found")
_BAD_NUMKEYS = ErrorReply("ERR Bad number of keys provided")
_RO_WRITE_FLAG = ErrorReply("ERR Can not execute a script with write flag using *_ro command.")
_BAD_NAME = ErrorReply("ERR Library names can only contain letters, numbers, or underscores(_) and must be at "
                       "least one character long")


def _valid_name(name: bytes) -> bool:
    return bool(name) and all(c == 95 or 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 for c in name)


def _metadata(code: bytes) -> tuple[bytes, bytes, bytes] | ErrorReply:
    """``functionExtractLibMetaData``: (engine, library name, the code after the first line,
    its newline kept so line numbers stay)."""
    if not code.startswith(b"#!"):
        return ErrorReply("ERR Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        return ErrorReply("ERR Invalid library metadata")
    parts = split_args(code[:end])
    if not parts:
        return ErrorReply("ERR Invalid library metadata")
    engine = parts[0][2:]
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                return ErrorReply("ERR Invalid metadata value, name argument was given multiple times")
            name = part[5:]
            continue
        return ErrorReply(b"ERR Invalid metadata value given: " + part)
    if name is None:
        return ErrorReply("ERR Library name was not given")
    return engine, name, code[end:]


def _function_index(ctx: Any) -> dict[bytes, tuple[bytes, tuple[str, ...]]]:
    """Function name -> (its library, its flags)."""
    return {fname: (lib, flags) for lib, (_, fns) in ctx.keyspace.functions.items() for fname, flags, _ in fns}


def denies_oom(keyspace: Any, name: bytes, argv: list[bytes]) -> bool:
    """Whether this EVAL, EVALSHA or FCALL is refused while the node is over maxmemory, as in
    Redis 7: a function, or a script with a shebang line, that says neither ``no-writes`` nor
    ``allow-oom``. (A script without a shebang line is in Redis's compatibility mode: its
    writes are what is refused.) An unknown script or function, or a shebang line in error,
    is left to the command's own error."""
    if name == b"fcall":
        flags: Any = next((f for _, fns in keyspace.functions.values() for fname, f, _ in fns if fname == argv[1]),
                          None)
    else:
        body = argv[1] if name == b"eval" else keyspace.scripts.get(argv[1].lower())
        if body is None:
            return False
        try:
            _, flags = scripting.shebang(body)
        except ErrorReply:
            return False
    return flags is not None and "no-writes" not in flags and "allow-oom" not in flags


# -- FCALL ----------------------------------------------------------------------------------------
def _fcall(ctx: Any, argv: list[bytes], readonly_command: bool) -> Any:
    found = _function_index(ctx).get(argv[1])
    if found is None:
        return _NOT_FOUND
    if string2ll(argv[2]) is None:
        return _BAD_NUMKEYS
    keys, args = _split(argv)
    lib, flags = found
    no_writes = "no-writes" in flags
    if readonly_command and not no_writes:
        return _RO_WRITE_FLAG
    code = ctx.keyspace.functions[lib][0]
    _, _, body = _metadata(code)  # type: ignore[misc]  (checked when it was loaded)
    db_index = ctx.db_index
    was_in_exec, was_readonly = ctx.in_exec, ctx.readonly
    ctx.in_exec = True

    def execute(call: list[bytes], ro: bool) -> Any:
        return _call(ctx, call, ro)

    if ctx.monitor is not None:
        execute = ctx.monitor.script_started(argv, ctx, execute)
    try:
        return scripting.run_function(body, argv[1], keys, args, readonly=readonly_command or no_writes,
                                      execute=execute)
    finally:
        ctx.in_exec, ctx.readonly = was_in_exec, was_readonly
        if ctx.db_index != db_index:
            ctx.select(db_index)


@command("fcall", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", kind=WRITE,
         group="scripting", since="7.0.0", summary="Invoke a function")
def fcall(ctx: Any, argv: list[bytes]) -> Any:
    return _fcall(ctx, argv, False)


@command("fcall_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", kind=READ,
         group="scripting", since="7.0.0", summary="Invoke a read-only function")
def fcall_ro(ctx: Any, argv: list[bytes]) -> Any:
    return _fcall(ctx, argv, True)


# -- FUNCTION -------------------------------------------------------------------------------------
container("function", "", CONN, group="scripting", summary="A container for function commands")


def _library(code: bytes) -> tuple[bytes, bytes] | ErrorReply:
    """A library's name and the code after its metadata line, checked as Redis does first."""
    meta = _metadata(code)
    if isinstance(meta, ErrorReply):
        return meta
    engine, name, body = meta
    if not _valid_name(name):
        return _BAD_NAME
    if engine.lower() != b"lua":
        return ErrorReply(b"ERR Engine '" + engine + b"' not found")
    return name, body


def _functions(body: bytes) -> list | ErrorReply:
    """What a library's code registers (it runs once, in a fresh state)."""
    fns = scripting.library_functions(body)
    if isinstance(fns, ErrorReply):
        return fns
    if not fns:
        return ErrorReply("ERR No functions registered")
    return fns


def _collision(libraries: dict, new: dict) -> ErrorReply | None:
    """A function of ``new``'s libraries that one of ``libraries`` (the others) has too."""
    taken = {fname for lib, (_, fns) in libraries.items() if lib not in new for fname, _, _ in fns}
    for _, fns in new.values():
        for fname, _, _ in fns:
            if fname in taken:
                return ErrorReply(b"ERR Function " + fname + b" already exists")
            taken.add(fname)
    return None


@subcommand("function", "load", -3, "write denyoom noscript", kind=WRITE, since="7.0.0",
            summary="Create a function with the given arguments (name, code, description)")
def function_load(ctx: Any, argv: list[bytes]) -> Any:
    replace = False
    pos = 2
    while pos < len(argv) - 1:
        opt = argv[pos]
        pos += 1
        if opt.lower() == b"replace":
            replace = True
            continue
        return ErrorReply(b"ERR Unknown option given: " + opt)
    code = argv[pos]
    lib = _library(code)
    if isinstance(lib, ErrorReply):
        return lib
    name, body = lib
    libraries = ctx.keyspace.functions
    if name in libraries and not replace:
        return ErrorReply(b"ERR Library '" + name + b"' already exists")
    fns = _functions(body)
    if isinstance(fns, ErrorReply):
        return fns
    err = _collision(libraries, {name: (code, fns)})
    if err is not None:
        return err
    libraries[name] = (code, fns)
    return name


@subcommand("function", "dump", 2, "noscript", kind=READ, since="7.0.0",
            summary="Dump all functions into a serialized binary payload")
def function_dump(ctx: Any, argv: list[bytes]) -> Any:
    return rdb.dump_functions([code for code, _ in ctx.keyspace.functions.values()])


_POLICIES = (b"append", b"replace", b"flush")


@subcommand("function", "restore", -3, "write denyoom noscript", kind=WRITE, since="7.0.0",
            summary="Restore all the functions on the given payload")
def function_restore(ctx: Any, argv: list[bytes]) -> Any:
    """All the payload's libraries or none: APPEND (the default) refuses a library that is
    there already, REPLACE replaces it, FLUSH replaces every library."""
    if len(argv) > 4:
        return errors.subcommand_syntax(argv)
    policy = argv[3].lower() if len(argv) == 4 else b"append"
    if policy not in _POLICIES:
        return ErrorReply("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    try:
        codes = rdb.load_functions(argv[2])
    except rdb.VersionError:
        return errors.DUMP_PAYLOAD_VERSION
    except rdb.PayloadError as e:
        return ErrorReply(f"ERR {e}")
    new: dict[bytes, tuple[bytes, list]] = {}
    for code in codes:
        lib = _library(code)
        if isinstance(lib, ErrorReply):
            return lib
        name, body = lib
        if name in new:
            return ErrorReply(b"ERR Library '" + name + b"' already exists")
        fns = _functions(body)
        if isinstance(fns, ErrorReply):
            return fns
        err = _collision({}, {**new, name: (code, fns)})
        if err is not None:
            return err
        new[name] = (code, fns)
    libraries = ctx.keyspace.functions
    if policy == b"flush":
        libraries.clear()
    else:
        for name in new:
            if name in libraries and policy == b"append":
                return ErrorReply(b"ERR Library " + name + b" already exists")
        err = _collision(libraries, new)
        if err is not None:
            return err
    libraries.update(new)
    return OK


@subcommand("function", "delete", 3, "write noscript", kind=WRITE, since="7.0.0",
            summary="Delete a function by name")
def function_delete(ctx: Any, argv: list[bytes]) -> Any:
    if ctx.keyspace.functions.pop(argv[2], None) is None:
        return ErrorReply("ERR Library not found")
    return OK


@subcommand("function", "flush", -2, "write noscript", kind=WRITE, since="7.0.0",
            summary="Deleting all functions")
def function_flush(ctx: Any, argv: list[bytes]) -> Any:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].upper() not in (b"ASYNC", b"SYNC")):
        return ErrorReply("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    ctx.keyspace.functions.clear()
    return OK


@subcommand("function", "list", -2, "noscript", kind=READ, since="7.0.0",
            summary="List information about all the functions")
def function_list(ctx: Any, argv: list[bytes]) -> Any:
    with_code = False
    pattern = None
    i = 2
    while i < len(argv):
        arg = argv[i]
        if not with_code and arg.lower() == b"withcode":
            with_code = True
        elif pattern is None and arg.lower() == b"libraryname":
            if i >= len(argv) - 1:
                return ErrorReply("ERR library name argument was not given")
            i += 1
            pattern = argv[i]
        else:
            return ErrorReply(b"ERR Unknown argument " + arg)
        i += 1
    out = []
    for name, (code, fns) in ctx.keyspace.functions.items():
        if pattern is not None and not glob_match(pattern, name, True):
            continue
        entry: list[tuple[Any, Any]] = [
            (b"library_name", name),
            (b"engine", b"LUA"),
            (b"functions", [Map([(b"name", fname), (b"description", desc),
                                 (b"flags", SetReply([SimpleString(f.encode()) for f in flags]))])
                                for fname, flags, desc in fns]),
        ]
        if with_code:
            entry.append((b"library_code", code))
        out.append(Map(entry))
    return out


@subcommand("function", "stats", 2, "noscript allow_busy", kind=READ, since="7.0.0",
            summary="Return information about the function currently running (name, description, duration)")
def function_stats(ctx: Any, argv: list[bytes]) -> Any:
    libraries = ctx.keyspace.functions
    count = sum(len(fns) for _, fns in libraries.values())
    return Map([(b"running_script", None),
                (b"engines", Map([(b"LUA", Map([(b"libraries_count", len(libraries)),
                                                (b"functions_count", count)]))]))])


@subcommand("function", "kill", 2, "noscript allow_busy", kind=CONN, since="7.0.0",
            summary="Kill the function currently in execution.")
def function_kill(session: Any, argv: list[bytes]) -> Any:
    return NOTBUSY


@subcommand("function", "help", 2, "loading stale", kind=CONN, since="7.0.0",
            summary="Show helpful text about the different subcommands")
def function_help(session: Any, argv: list[bytes]) -> Any:
    lines = [
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code (on every node).",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running (always none: functions run as the "
        "log is applied).",
        "KILL",
        "    Answers NOTBUSY: functions run within their budget.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION "
        "RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload (on every node), it is possible to give a "
        "restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]
