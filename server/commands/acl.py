"""Redis's ACL command: users, their rules, the log of refusals, the ACL file.

Users come from ``--requirepass`` and ``--aclfile`` at start-up (``server.auth``), and change
at run time with ACL SETUSER, DELUSER and LOAD; ACL SAVE writes them to the ACL file. Users
belong to the node, as in Redis Cluster, where each node has its own: a change applies to the
node that receives it (send it to every node, and ACL SAVE on each, or give every node the
same ACL file and ACL LOAD). All CONN.
"""

from __future__ import annotations

import logging
import os
import secrets
import time

from resp.types import OK, Double, ErrorReply, Map, SimpleString
from server.commands.arguments import parse_int
from server.commands.registry import COMMANDS, CONN, container, subcommand
from server.session import Session

log = logging.getLogger("raftis.acl")

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
    return [u.describe().encode(errors="surrogateescape") for u in users.in_order()]


@subcommand("acl", "users", 2, "admin " + _FLAGS, since="6.0.0")
def acl_users(session: Session, argv: list[bytes]):
    """List the username of all the configured ACL users"""
    users = _users(session)
    return [u.name.encode() for u in users.in_order()] if users is not None else [b"default"]


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


_NO_FILE = ErrorReply(
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
    "ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) "
    "in order to store users in the Redis configuration.")
_GENPASS = ErrorReply("ERR ACL GENPASS argument must be the number of bits for the output password, a positive "
                      "number up to 4096")
_ADMIN = "admin " + _FLAGS


def _guard(session: Session):
    guard = getattr(session.server, "guard", None)
    if guard is None:
        raise ErrorReply("ERR ACL users are not available here")
    return guard


@subcommand("acl", "setuser", -3, _ADMIN, since="6.0.0",
            summary="Modify or create the rules for a specific ACL user")
def acl_setuser(session: Session, argv: list[bytes]):
    from server.auth import AclRuleError  # server.auth imports the command table

    guard = _guard(session)
    name = argv[2].decode(errors="surrogateescape")
    if any(c in name for c in " \0"):
        return ErrorReply("ERR Usernames can't contain spaces or null characters")
    try:
        user = guard.users.setuser(name, [a.decode(errors="surrogateescape") for a in argv[3:]])
    except AclRuleError as e:
        return ErrorReply(f"ERR Error in ACL SETUSER modifier '{e.rule}': {e}")
    guard.user_changed(user, session)
    return OK


@subcommand("acl", "getuser", 3, _ADMIN, since="6.0.0", summary="Get the rules for a specific ACL user")
def acl_getuser(session: Session, argv: list[bytes]):
    user = _guard(session).users.users.get(argv[2].decode(errors="surrogateescape"))
    if user is None:
        return None
    return Map([
        (b"flags", [f.encode() for f in user.flags()]),
        (b"passwords", [h.encode() for h in sorted(user.passwords)]),
        (b"commands", user.commands_text().encode()),
        (b"keys", user.keys_text().encode()),
        (b"channels", user.channels_text().encode(errors="surrogateescape")),
        (b"selectors", []),
    ])


@subcommand("acl", "deluser", -3, _ADMIN, since="6.0.0",
            summary="Remove the specified ACL users and the associated rules")
def acl_deluser(session: Session, argv: list[bytes]):
    guard = _guard(session)
    names = [a.decode(errors="surrogateescape") for a in argv[2:]]
    if "default" in names:
        return ErrorReply("ERR The 'default' user cannot be removed")
    gone = {n for n in names if guard.users.users.pop(n, None) is not None}
    guard.drop_users(gone, session)
    return len(gone)


@subcommand("acl", "genpass", -2, _FLAGS, since="6.0.0",
            summary="Generate a pseudorandom secure password to use for ACL users")
def acl_genpass(session: Session, argv: list[bytes]):
    if len(argv) > 3:
        return _unknown(argv[1])
    bits = 256
    if len(argv) == 3:
        bits = parse_int(argv[2])
        if bits <= 0 or bits > 4096:
            return _GENPASS
    chars = (bits + 3) // 4
    return secrets.token_hex((chars + 1) // 2)[:chars].encode()


@subcommand("acl", "dryrun", -4, _ADMIN, since="7.0.0",
            summary="Returns whether the user can execute the given command without executing the command.")
def acl_dryrun(session: Session, argv: list[bytes]):
    user = _guard(session).users.users.get(argv[2].decode(errors="surrogateescape"))
    if user is None:
        return ErrorReply(f"ERR User '{argv[2].decode(errors='replace')}' not found")
    cmd_argv = argv[3:]
    # Redis's order: an unknown command or subcommand, then the arity of what was found.
    cmd = COMMANDS.get(cmd_argv[0].lower())
    if cmd is not None and cmd.subcommands and len(cmd_argv) > 1:
        cmd = cmd.subcommands.get(cmd_argv[1].lower())
    if cmd is None or cmd.internal:
        return ErrorReply(f"ERR Command '{cmd_argv[0].decode(errors='replace')}' not found")
    if cmd.arity > 0 and cmd.arity != len(cmd_argv) or len(cmd_argv) < -cmd.arity:
        return ErrorReply(f"ERR wrong number of arguments for '{cmd.name.decode()}' command")
    denied = user.denial(cmd, cmd_argv)
    if denied is None:
        return OK
    err, reason, what = denied
    if reason in ("key", "channel") and what:
        return f"This user has no permissions to access the '{what.decode(errors='replace')}' {reason}".encode()
    return ("T" + str(err).removeprefix("NOPERM t")).encode()


@subcommand("acl", "log", -2, _ADMIN, since="6.0.0", summary="List latest events denied because of ACLs in place")
def acl_log(session: Session, argv: list[bytes]):
    guard = _guard(session)
    if len(argv) > 3:
        return _unknown(argv[1])
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            guard.acl_log.reset()
            return OK
        count = max(parse_int(argv[2]), 0)
    now = int(time.time() * 1000)
    return [Map([
        (b"count", e["count"]),
        (b"reason", e["reason"].encode()),
        (b"context", e["context"].encode()),
        (b"object", e["object"]),
        (b"username", e["username"]),
        (b"age-seconds", Double((now - e["ctime"]) / 1000)),
        (b"client-info", e["info"]),
    ]) for e in guard.acl_log.entries[:count]]


@subcommand("acl", "load", 2, _ADMIN, since="6.0.0", summary="Reload the ACLs from the configured ACL file")
def acl_load(session: Session, argv: list[bytes]):
    from server.auth import AclError

    guard = _guard(session)
    if not guard.aclfile:
        return _NO_FILE
    try:
        with open(guard.aclfile, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        return ErrorReply(f"ERR Error loading ACLs, opening file '{guard.aclfile}': {e.strerror}")
    try:
        guard.reload_users(text, session)
    except AclError as e:
        return ErrorReply(f"ERR {guard.aclfile}:{e}")
    return OK


@subcommand("acl", "save", 2, _ADMIN, since="6.0.0", summary="Save the current ACL rules in the configured ACL file")
def acl_save(session: Session, argv: list[bytes]):
    guard = _guard(session)
    if not guard.aclfile:
        return _NO_FILE
    text = "".join(u.describe() + "\n" for u in guard.users.in_order())
    tmp = f"{guard.aclfile}.tmp-{os.getpid()}"
    try:
        # Written aside and renamed over the file, so a crash leaves the old file or the new one.
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, guard.aclfile)
        dirfd = os.open(os.path.dirname(os.path.abspath(guard.aclfile)), os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    except OSError as e:
        log.warning("ACL SAVE to %s failed: %s", guard.aclfile, e)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return ErrorReply("ERR There was an error trying to save the ACLs. Please check the server logs for more "
                          "information")
    return OK


@subcommand("acl", "help", 2, "loading stale", since="6.0.0", summary="Show helpful text about the different subcommands")
def acl_help(session: Session, argv: list[bytes]):
    lines = [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]


def _unknown(sub: bytes) -> ErrorReply:
    return ErrorReply(f"ERR unknown subcommand or wrong number of arguments for '{sub.decode(errors='replace')}'. "
                      "Try ACL HELP.")

