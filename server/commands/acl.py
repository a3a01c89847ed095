"""ACL WHOAMI, ACL LIST, ACL USERS, ACL CAT: the read side of Redis's ACL command.

Users come from ``--requirepass`` and ``--aclfile`` at start-up (``server.auth``); changing
them at run time (ACL SETUSER, DELUSER, LOAD, SAVE) is not offered.  All CONN.
"""

from __future__ import annotations

from resp.types import ErrorReply
from server.commands.registry import CONN, container, subcommand
from server.session import Session

container("acl", "", CONN, group="server", summary="A container for Access List Control commands")

_FLAGS = "noscript loading stale"


def _users(session: Session):
    guard = getattr(session.server, "guard", None)
    return guard.users if guard is not None else None


@subcommand("acl", "whoami", 2, _FLAGS, since="6.0.0")
def acl_whoami(session: Session, argv: list[bytes]):
    """Return the name of the user associated to the current connection"""
    return session.user


@subcommand("acl", "list", 2, "admin " + _FLAGS, since="6.0.0")
def acl_list(session: Session, argv: list[bytes]):
    """List the current ACL rules in ACL config file format"""
    users = _users(session)
    if users is None:
        return [b"user default on nopass ~* &* +@all"]
    return [u.describe().encode() for u in users.users.values()]


@subcommand("acl", "users", 2, "admin " + _FLAGS, since="6.0.0")
def acl_users(session: Session, argv: list[bytes]):
    """List the username of all the configured ACL users"""
    users = _users(session)
    return [name.encode() for name in (users.users if users is not None else {"default": None})]


@subcommand("acl", "cat", -2, _FLAGS, since="6.0.0")
def acl_cat(session: Session, argv: list[bytes]):
    """List the ACL categories or the commands inside a category"""
    from server.auth import all_commands, categories  # server.auth imports the command table

    if len(argv) > 3:
        return ErrorReply("ERR wrong number of arguments for 'acl|cat' command")
    if len(argv) == 2:
        return [c.encode() for c in categories()]
    cat = argv[2].decode(errors="replace").lower()
    if cat not in categories():
        return ErrorReply(f"ERR Unknown category '{argv[2].decode(errors='replace')}'")
    tag = "@" + cat
    return [c.name for c in all_commands() if tag in c.acl_categories]
