"""The command table.  Importing this package registers every command family.

Public surface (see ``registry``): ``COMMANDS``, ``Command``, ``lookup``, ``lookup_internal``,
``check_arity``, ``keys_of``, the kinds ``WRITE``/``READ``/``CONN``, and ``ExecContext``.

How the node runs a command::

    cmd = lookup(argv)                  # Command, or the ErrorReply to send as is
    if cmd.kind == CONN:
        reply = cmd.handler(session, argv)
    elif cmd.kind == READ:              # after the linearizable read check
        reply = cmd.handler(ctx.for_read(now_ms, session.db_index), argv)
    else:                               # WRITE: propose (argv, now_ms, db_index); at apply:
        cmd = lookup_internal(argv)     # entries may hold internal commands (RAFTIS.EXPIRE)
        reply = cmd.handler(ctx.for_write(index, now_ms, db_index), argv)

A new family is one module in this package that uses ``@command``/``@subcommand``: every
module here is imported (in name order) when the package is, so dropping the file in is all
it takes to register it.
"""

import importlib
import pkgutil

from server.commands.context import ExecContext
from server.commands.registry import (
    COMMANDS,
    CONN,
    READ,
    WRITE,
    Command,
    check_arity,
    keys_of,
    lookup,
    lookup_internal,
)

__all__ = [
    "COMMANDS",
    "CONN",
    "READ",
    "WRITE",
    "Command",
    "ExecContext",
    "check_arity",
    "keys_of",
    "lookup",
    "lookup_internal",
]

# Modules that hold no commands, only what the families share.
_SUPPORT_MODULES = frozenset({"arguments", "blocking", "containers", "context", "doc", "glob", "registry", "scanning"})

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in _SUPPORT_MODULES:
        importlib.import_module(f"{__name__}.{_module}")
