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

A new family is one module here that uses ``@command``/``@subcommand``, imported below.
"""

from server.commands import connection, hashes, keys, server, strings  # noqa: F401  (registration side effects)
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
