"""Server commands that never touch the log: COMMAND, CONFIG, INFO, TIME.

COMMAND's reply is built from the registry in Redis 7's layout (name, arity, flags, first,
last, step, ACL categories, tips, key specs, subcommands), so cluster-aware clients that
read key positions from it work.  INFO's text comes from ``session.server.info``.
"""

from __future__ import annotations

from resp.types import OK, ErrorReply, Map, SetReply, SimpleString, Verbatim
from server import errors
from server.commands.glob import compile_glob, glob_match
from server.commands.registry import COMMANDS, CONN, Command, command, container, keys_of, lookup, subcommand
from server.session import Session

_FLAGS = "loading stale"


def _visible() -> list[Command]:
    return [c for c in COMMANDS.values() if not c.internal]


def _key_specs(cmd: Command) -> list[Map]:
    if cmd.first_key <= 0:
        return []
    write = "write" in cmd.flags
    flags = SetReply(
        [SimpleString(b"RW"), SimpleString(b"update")]
        if write
        else [SimpleString(b"RO"), SimpleString(b"access")]
    )
    last = cmd.last_key - cmd.first_key if cmd.last_key >= 0 else cmd.last_key
    return [
        Map(
            [
                (b"flags", flags),
                (b"begin_search", Map([(b"type", b"index"), (b"spec", Map([(b"index", cmd.first_key)]))])),
                (
                    b"find_keys",
                    Map(
                        [
                            (b"type", b"range"),
                            (b"spec", Map([(b"lastkey", last), (b"keystep", cmd.step or 1), (b"limit", 0)])),
                        ]
                    ),
                ),
            ]
        )
    ]


def command_entry(cmd: Command) -> list:
    """One element of COMMAND / COMMAND INFO."""
    subs = [command_entry(s) for s in cmd.subcommands.values()] if cmd.subcommands else []
    return [
        cmd.name,
        cmd.arity,
        SetReply([SimpleString(f.encode()) for f in cmd.flags if f != "internal"]),
        cmd.first_key,
        cmd.last_key,
        cmd.step,
        SetReply([SimpleString(c.encode()) for c in cmd.acl_categories]),
        SetReply([]),
        SetReply(_key_specs(cmd)),
        SetReply(subs),
    ]


def _doc(cmd: Command) -> Map:
    pairs: list[tuple[bytes, object]] = [
        (b"summary", cmd.summary.encode()),
        (b"since", cmd.since.encode()),
        (b"group", cmd.group.encode()),
    ]
    if cmd.subcommands:
        pairs.append((b"subcommands", Map([(s.name, _doc(s)) for s in cmd.subcommands.values()])))
    return Map(pairs)


def _all_commands(session: Session, argv: list[bytes]):
    return [command_entry(c) for c in _visible()]


container(
    "command",
    "loading stale",
    CONN,
    group="server",
    summary="Get array of Redis command details",
    bare=_all_commands,
    acl="@connection",
)


@subcommand("command", "count", 2, _FLAGS, group="server", since="2.8.13", acl="@connection")
def command_count(session: Session, argv: list[bytes]):
    """Get total number of Redis commands"""
    return len(_visible())


@subcommand("command", "info", -2, _FLAGS, group="server", since="2.8.13", acl="@connection")
def command_info(session: Session, argv: list[bytes]):
    """Get array of specific Redis command details, or all when no argument is given"""
    if len(argv) == 2:
        return [command_entry(c) for c in _visible()]
    out = []
    for name in argv[2:]:
        cmd = _find(name)
        out.append(None if cmd is None else command_entry(cmd))
    return out


def _find(name: bytes) -> Command | None:
    top, _, sub = name.lower().partition(b"|")
    cmd = COMMANDS.get(top)
    if cmd is None or cmd.internal:
        return None
    if sub:
        return (cmd.subcommands or {}).get(sub)
    return cmd


@subcommand("command", "docs", -2, _FLAGS, group="server", since="7.0.0", acl="@connection")
def command_docs(session: Session, argv: list[bytes]):
    """Get array of specific Redis command documentation"""
    cmds = _visible() if len(argv) == 2 else [c for c in map(_find, argv[2:]) if c is not None]
    return Map([(c.name, _doc(c)) for c in cmds])


@subcommand("command", "list", -2, _FLAGS, group="server", since="7.0.0", acl="@connection")
def command_list(session: Session, argv: list[bytes]):
    """Get an array of Redis command names"""
    names: list[tuple[bytes, Command]] = []
    for c in _visible():
        names.append((c.name, c))
        for s in (c.subcommands or {}).values():
            names.append((s.name, s))
    if len(argv) == 2:
        return [n for n, _ in names]
    if len(argv) != 5 or argv[2].lower() != b"filterby":
        return errors.SYNTAX
    kind, value = argv[3].lower(), argv[4]
    if kind == b"module":
        return []
    if kind == b"aclcat":
        cat = "@" + value.decode("latin-1").lower()
        return [n for n, c in names if cat in c.acl_categories]
    if kind == b"pattern":
        match = compile_glob(value, nocase=True)
        return [n for n, _ in names if match(n)]
    return errors.SYNTAX


@subcommand("command", "getkeys", -4, _FLAGS, group="server", since="2.8.13", acl="@connection")
def command_getkeys(session: Session, argv: list[bytes]):
    """Extract keys given a full Redis command"""
    target = argv[2:]
    cmd = lookup(target)
    if isinstance(cmd, ErrorReply):
        if COMMANDS.get(target[0].lower()) is None:
            return ErrorReply("ERR Invalid command specified")
        return ErrorReply("ERR Invalid number of arguments specified for command")
    from server.auth import command_keys  # server.auth imports the command table

    keys = command_keys(cmd, target) or keys_of(cmd, target)
    if not keys:
        return ErrorReply("ERR The command has no key arguments")
    return keys


@subcommand("command", "help", 2, _FLAGS, group="server", since="5.0.0", acl="@connection")
def command_help(session: Session, argv: list[bytes]):
    """Show helpful text about the different subcommands"""
    lines = [
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]


# --- CONFIG ---------------------------------------------------------------------------------------
container("config", "", CONN, group="server", summary="A container for server configuration commands")


@subcommand("config", "get", -3, "admin noscript loading stale", group="server", since="2.0.0")
def config_get(session: Session, argv: list[bytes]):
    """Get the values of configuration parameters"""
    found: dict[bytes, bytes] = {}
    for pattern in argv[2:]:
        p = pattern.lower()
        for name, value in session.server.config_get(p):
            if glob_match(p, name, nocase=True):
                found.setdefault(name, value)
    return Map(found)


@subcommand("config", "set", -4, "admin noscript loading stale", group="server", since="2.0.0")
def config_set(session: Session, argv: list[bytes]):
    """Set configuration parameters to the given values"""
    if len(argv) % 2 == 1:
        return errors.wrong_arity(b"config|set")
    setter = getattr(session.server, "config_set", None)
    if setter is None:
        return ErrorReply(b"ERR Unknown option or number of arguments for CONFIG SET - '" + argv[2] + b"'")
    problem = setter([(argv[i], argv[i + 1]) for i in range(2, len(argv), 2)])
    if problem:
        return problem if isinstance(problem, ErrorReply) else ErrorReply(problem)
    return OK


@subcommand("config", "resetstat", 2, "admin noscript loading stale", group="server", since="2.0.0")
def config_resetstat(session: Session, argv: list[bytes]):
    """Reset the stats returned by INFO"""
    reset = getattr(session.server, "reset_stats", None)
    if reset is not None:
        reset()
    return OK


@subcommand("config", "rewrite", 2, "admin noscript loading stale", group="server", since="2.8.0")
def config_rewrite(session: Session, argv: list[bytes]):
    """Rewrite the configuration file with the in memory configuration"""
    rewrite = getattr(session.server, "config_rewrite", None)
    problem = rewrite() if rewrite is not None else "ERR The server is running without a config file"
    return ErrorReply(problem) if problem else OK


@subcommand("config", "help", 2, "loading stale", group="server", since="5.0.0")
def config_help(session: Session, argv: list[bytes]):
    """Show helpful text about the different subcommands"""
    lines = [
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]


# --- INFO, TIME -------------------------------------------------------------------------------------


@command("info", -1, "loading stale", kind=CONN, group="server", acl="@dangerous")
def info(session: Session, argv: list[bytes]):
    """Get information and statistics about the server"""
    section = b" ".join(argv[1:]).decode("latin-1").lower() or None
    text = session.server.info(section)
    return Verbatim(b"txt", text.encode() if isinstance(text, str) else text)


@command("time", 1, "loading stale fast", kind=CONN, group="server", since="2.6.0")
def time_(session: Session, argv: list[bytes]):
    """Return the current server time"""
    now_us = getattr(session.server, "now_us", None)
    us = now_us() if now_us is not None else session.server.now_ms() * 1000
    return [b"%d" % (us // 1_000_000), b"%d" % (us % 1_000_000)]
