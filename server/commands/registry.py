"""The command table: every command, its arity, flags, key positions and where it runs.

A family module registers its handlers with the decorators::

    @command("get", 2, "readonly fast", 1, 1, 1, READ, group="string")
    def get(ctx: ExecContext, argv: list[bytes]) -> Reply: ...

    @subcommand("client", "setname", 3, "noscript loading stale", kind=CONN)
    def client_setname(session: Session, argv: list[bytes]) -> Reply: ...

``kind`` says where a command runs:

- ``WRITE``: replicated.  The whole argv goes through the log and the handler runs at apply
  time on every node, with ``ExecContext(index=<entry index>, now_ms=<entry time>)``.
- ``READ``: runs on the local keyspace once the read is known to be linearizable.
- ``CONN``: connection and server commands, ``handler(session, argv)``; never touches the log.

Handlers return a reply (``resp.types``).  A handler may also raise ``ErrorReply`` from deep
inside argument parsing; the decorator turns that into the returned reply, so callers of
``Command.handler`` only ever see return values.  A WRITE handler validates its arguments and
the types it finds before it changes anything, so an error reply leaves the data as it was
(apart from reclaiming an expired key it looked at, which Redis does too and which is
deterministic).

Arity is Redis's: ``n > 0`` exactly n arguments including the name, ``n < 0`` at least -n.
Key positions are Redis's (first, last, step; last -1 means the last argument).  Container
commands (CLIENT, CONFIG, COMMAND, OBJECT) hold their subcommands; ``lookup`` resolves an argv
to the final ``Command`` (the subcommand when there is one) and checks its arity, so the
caller deals with one flat kind of thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from resp.types import ErrorReply
from server import errors

__all__ = [
    "COMMANDS",
    "CONN",
    "READ",
    "WRITE",
    "Command",
    "check_arity",
    "command",
    "keys_of",
    "lookup",
    "subcommand",
]

WRITE = "write"
READ = "read"
CONN = "conn"
_KINDS = (WRITE, READ, CONN)

# Redis 7 flags (COMMAND INFO spells them this way).
_KNOWN_FLAGS = frozenset(
    "write readonly denyoom module admin pubsub noscript blocking loading stale skip_monitor "
    "skip_slowlog asking fast no_auth may_replicate sentinel only_sentinel no_mandatory_keys "
    "protected no_async_loading no_multi movablekeys allow_busy internal".split()
)


@dataclass(slots=True, eq=False)
class Command:
    """One command (or one subcommand, whose ``name`` is ``container|sub``)."""

    name: bytes  # lower case; b"client|setname" for a subcommand
    arity: int
    flags: tuple[str, ...]
    first_key: int
    last_key: int
    step: int
    kind: str
    handler: Callable[[Any, list[bytes]], Any]  # returns an ErrorReply the command raises
    # The command's function itself, which raises its ErrorReply: for the hot paths that
    # catch it anyway (applying the log, running a read), one call fewer per command.
    run: Callable[[Any, list[bytes]], Any]
    group: str = "generic"
    summary: str = ""
    since: str = "1.0.0"
    subcommands: dict[bytes, Command] | None = None
    container: Command | None = None
    acl_categories: tuple[str, ...] = field(default=())
    # Internal commands (e.g. RAFTIS.EXPIRE) are log-only: clients cannot send them and
    # COMMAND does not list them.  Derived from the "internal" flag.
    internal: bool = False

    @property
    def is_write(self) -> bool:
        return self.kind == WRITE


COMMANDS: dict[bytes, Command] = {}
# lookup's table: lower-case and upper-case spellings, so most lookups skip bytes.lower().
_FAST: dict[bytes, Command] = {}


def _wrap(fn: Callable[[Any, list[bytes]], Any]) -> Callable[[Any, list[bytes]], Any]:
    def handler(target: Any, argv: list[bytes]) -> Any:
        try:
            return fn(target, argv)
        except ErrorReply as e:
            return e

    handler.__name__ = fn.__name__
    handler.__qualname__ = fn.__qualname__
    handler.__doc__ = fn.__doc__
    handler.__wrapped__ = fn  # type: ignore[attr-defined]
    return handler


# Redis lists a command's ACL categories in this order.
_ACL_ORDER = (
    "@keyspace @read @write @set @sortedset @list @hash @string @bitmap @hyperloglog @geo @stream @pubsub "
    "@admin @fast @slow @blocking @dangerous @connection @transaction @scripting"
).split()
_GROUP_CATEGORY = {
    "generic": "@keyspace",
    "string": "@string",
    "hash": "@hash",
    "list": "@list",
    "set": "@set",
    "sorted_set": "@sortedset",
    "sortedset": "@sortedset",
    "bitmap": "@bitmap",
    "hyperloglog": "@hyperloglog",
    "geo": "@geo",
    "stream": "@stream",
    "pubsub": "@pubsub",
    "connection": "@connection",
    "transactions": "@transaction",
    "scripting": "@scripting",
}


def _acl(flags: tuple[str, ...], group: str, extra: str) -> tuple[str, ...]:
    cats = set(extra.split())
    if "write" in flags:
        cats.add("@write")
    if "readonly" in flags and group != "scripting":  # EVAL_RO reads only through its script
        cats.add("@read")
    if "admin" in flags:
        cats.update(("@admin", "@dangerous"))
    if "blocking" in flags:
        cats.add("@blocking")
    if group in _GROUP_CATEGORY:
        cats.add(_GROUP_CATEGORY[group])
    cats.add("@fast" if "fast" in flags else "@slow")
    removed = {c[1:] for c in cats if c.startswith("-")}  # "-@keyspace": not that one
    cats = {c for c in cats if not c.startswith("-") and c not in removed}
    return tuple(sorted(cats, key=lambda c: _ACL_ORDER.index(c) if c in _ACL_ORDER else len(_ACL_ORDER)))


def _make(
    name: str,
    arity: int,
    flags: str,
    first_key: int,
    last_key: int,
    step: int,
    kind: str,
    group: str,
    summary: str,
    since: str,
    fn: Callable[[Any, list[bytes]], Any],
    acl: str = "",
) -> Command:
    if kind not in _KINDS:
        raise ValueError(f"{name}: kind must be WRITE, READ or CONN")
    flag_tuple = tuple(flags.split())
    unknown = set(flag_tuple) - _KNOWN_FLAGS
    if unknown:
        raise ValueError(f"{name}: unknown flags {sorted(unknown)}")
    return Command(
        name=name.lower().encode(),
        arity=arity,
        flags=flag_tuple,
        first_key=first_key,
        last_key=last_key,
        step=step,
        kind=kind,
        handler=_wrap(fn),
        run=fn,
        group=group,
        summary=summary or (fn.__doc__ or "").strip().split("\n")[0],
        since=since,
        acl_categories=_acl(flag_tuple, group, acl),
        internal="internal" in flag_tuple,
    )


def command(
    name: str,
    arity: int,
    flags: str = "",
    first_key: int = 0,
    last_key: int = 0,
    step: int = 0,
    kind: str = READ,
    *,
    group: str = "generic",
    summary: str = "",
    since: str = "1.0.0",
    acl: str = "",
) -> Callable[[Callable], Callable]:
    """Register a top-level command.  Returns the function undecorated (tests call it).
    ``acl`` adds ACL categories to those derived from flags and group (e.g. "@dangerous"), or
    takes one away ("-@keyspace")."""

    def deco(fn: Callable) -> Callable:
        cmd = _make(name, arity, flags, first_key, last_key, step, kind, group, summary, since, fn, acl)
        if cmd.name in COMMANDS:
            raise ValueError(f"command {name} registered twice")
        COMMANDS[cmd.name] = cmd
        _FAST[cmd.name] = cmd
        _FAST[cmd.name.upper()] = cmd
        return fn

    return deco


def container(
    name: str,
    flags: str = "",
    kind: str = CONN,
    *,
    group: str = "server",
    summary: str = "",
    bare: Callable[[Any, list[bytes]], Any] | None = None,
    acl: str = "",
) -> Command:
    """Register a container command (CLIENT, CONFIG, ...) whose subcommands register with
    ``subcommand``.  ``lookup`` resolves the subcommand; the container's own handler runs
    only for the bare name and only when ``bare`` is given (COMMAND with no subcommand)."""

    def no_handler(target: Any, argv: list[bytes]) -> Any:
        return errors.unknown_subcommand(argv[1] if len(argv) > 1 else b"", name)

    cmd = _make(
        name,
        -1 if bare is not None else -2,
        flags,
        0,
        0,
        0,
        kind,
        group,
        summary or f"A container for {name.upper()} commands",
        "2.0.0",
        bare or no_handler,
    )
    cmd.acl_categories = ("@slow",) if bare is None else _acl(cmd.flags, group, acl)
    cmd.subcommands = {}
    COMMANDS[cmd.name] = cmd
    _FAST[cmd.name] = cmd
    _FAST[cmd.name.upper()] = cmd
    return cmd


def subcommand(
    parent: str,
    name: str,
    arity: int,
    flags: str = "",
    first_key: int = 0,
    last_key: int = 0,
    step: int = 0,
    kind: str = CONN,
    *,
    group: str | None = None,
    summary: str = "",
    since: str = "2.0.0",
    acl: str = "",
) -> Callable[[Callable], Callable]:
    """Register ``PARENT NAME``; arity and key positions count the container's name too, as in
    Redis 7 (``CLIENT SETNAME name`` has arity 3)."""

    def deco(fn: Callable) -> Callable:
        box = COMMANDS[parent.lower().encode()]
        assert box.subcommands is not None, f"{parent} is not a container command"
        cmd = _make(
            f"{parent}|{name}",
            arity,
            flags,
            first_key,
            last_key,
            step,
            kind,
            group or box.group,
            summary,
            since,
            fn,
            acl,
        )
        cmd.container = box
        box.subcommands[name.lower().encode()] = cmd
        return fn

    return deco


def check_arity(cmd: Command, argv: list[bytes]) -> ErrorReply | None:
    """The wrong-arity error for ``argv``, or ``None`` when the count is right."""
    arity = cmd.arity
    n = len(argv)
    if (arity > 0 and n != arity) or n < -arity:
        return errors.wrong_arity(cmd.name)
    return None


def lookup(argv: list[bytes]) -> Command | ErrorReply:
    """Resolve ``argv`` to its ``Command`` (the subcommand for a container) with the arity
    checked; or the exact error Redis gives (unknown command / subcommand, wrong arity).
    ``argv`` must not be empty."""
    cmd = _FAST.get(argv[0])
    if cmd is None:
        cmd = COMMANDS.get(argv[0].lower())
        if cmd is None:
            return errors.unknown_command(argv)
    if cmd.internal:
        return errors.unknown_command(argv)
    arity = cmd.arity
    n = len(argv)
    if n != arity and (arity > 0 or n < -arity):
        return errors.wrong_arity(cmd.name)
    subs = cmd.subcommands
    if subs is not None:
        if n == 1:
            return cmd  # a container that answers on its own (COMMAND)
        sub = subs.get(argv[1].lower())
        if sub is None:
            return errors.unknown_subcommand(argv[1], cmd.name)
        arity = sub.arity
        if (arity > 0 and n != arity) or n < -arity:
            return errors.wrong_arity(sub.name)
        return sub
    return cmd


def lookup_internal(argv: list[bytes]) -> Command | ErrorReply:
    """``lookup`` for entries coming out of the log, where internal commands are allowed."""
    cmd = _FAST.get(argv[0])
    if cmd is None:
        cmd = COMMANDS.get(argv[0].lower())
        if cmd is None:
            return errors.unknown_command(argv)
    if not cmd.internal:
        if cmd.subcommands is None:
            arity = cmd.arity
            n = len(argv)
            if n == arity or (arity < 0 and n >= -arity):
                return cmd  # the common case: a plain command with a valid count
        return lookup(argv)
    err = check_arity(cmd, argv)
    return err if err is not None else cmd


def keys_of(cmd: Command, argv: list[bytes]) -> list[bytes]:
    """The key arguments of ``argv`` by the command's (first, last, step)."""
    first = cmd.first_key
    if first <= 0:
        return []
    last = cmd.last_key
    if last < 0:
        last = len(argv) + last
    step = cmd.step or 1
    return argv[first : last + 1 : step]
