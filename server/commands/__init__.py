"""The command table.  Importing this package registers every command family.

Public surface (see ``registry``): ``COMMANDS``, ``Command``, ``lookup``, ``check_arity``,
``keys_of``, the kinds ``WRITE``/``READ``/``CONN``, and ``ExecContext`` (``context``).
A new family is one module here that uses ``@command``/``@subcommand``, imported below.
"""

from server.commands import connection, hashes, keys, server, strings, zsets  # noqa: F401  (registration side effects)
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
