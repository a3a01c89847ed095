"""Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, READONLY/READWRITE and
CLIENT.  All CONN: ``handler(session, argv)``; they never touch the log.

SELECT only changes ``session.db_index``; the connection handler passes the index with every
READ/WRITE it runs or proposes.  QUIT sets ``session.close_after_reply``.  HELLO switches
``session.resp3`` before replying, so the reply is already in the new protocol, as in Redis.
"""

from __future__ import annotations

from resp.types import OK, PONG, RESET, ErrorReply, Map, SimpleString, Verbatim
from server import errors
from server.commands.arguments import string2ll
from server.commands.registry import CONN, command, container, subcommand
from server.session import Session

# What HELLO and INFO report.  7.2 so that clients enable the features they gate on it
# (CLIENT SETINFO, ...), all of which Raftis answers.
REDIS_VERSION = "7.2.0"

_INT_MIN = -(2**31)
_INT_MAX = 2**31 - 1
_FLAGS_CONN = "fast loading stale"


@command("ping", -1, "fast", kind=CONN, group="connection")
def ping(session: Session, argv: list[bytes]):
    """Ping the server"""
    if len(argv) > 2:
        return errors.wrong_arity(b"ping")
    subs = session.extra.get("pubsub")
    if subs and any(subs) and not session.resp3:
        # A RESP2 connection in subscribed mode gets PING's answer as a message-like array.
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    if len(argv) == 2:
        return argv[1]
    return PONG


@command("echo", 2, "fast loading stale", kind=CONN, group="connection")
def echo(session: Session, argv: list[bytes]):
    """Echo the given string"""
    return argv[1]


def _requirepass(session: Session) -> bytes:
    try:
        pairs = session.server.config_get(b"requirepass")
    except Exception:  # a server without that setting: no password
        return b""
    for name, value in pairs:
        if name == b"requirepass":
            return value
    return b""


def _authenticate(session: Session, user: bytes, password: bytes) -> bool:
    guard = getattr(session.server, "guard", None)
    if guard is not None:  # the node's users and ACLs (server.limits, server.auth)
        return guard.authenticate(session, user, password)
    required = _requirepass(session)
    if user != b"default":
        return False
    if required and password != required:
        return False
    session.authenticated = True
    session.user = user
    return True


def _valid_client_attr(value: bytes) -> bool:
    # Redis: every byte within '!'..'~'.
    return all(33 <= c <= 126 for c in value)


@command(
    "hello",
    -1,
    "noscript loading stale fast no_auth allow_busy",
    kind=CONN,
    group="connection",
    since="6.0.0",
)
def hello(session: Session, argv: list[bytes]):
    """Handshake with Redis"""
    ver = 0
    j = 1
    if len(argv) >= 2:
        v = string2ll(argv[1])
        if v is None:
            return errors.PROTOCOL_VERSION_NOT_INTEGER
        if v < 2 or v > 3:
            return errors.NOPROTO
        ver = v
        j = 2
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        more = n - 1 - j
        if opt == b"auth" and more >= 2:
            if not _authenticate(session, argv[j + 1], argv[j + 2]):
                return errors.WRONGPASS
            j += 3
        elif opt == b"setname" and more >= 1:
            if not _valid_client_attr(argv[j + 1]):
                return errors.CLIENT_NAME_INVALID
            session.name = argv[j + 1]
            j += 2
        else:
            return ErrorReply(b"ERR Syntax error in HELLO option '" + argv[j] + b"'")
    if not session.authenticated:
        return ErrorReply(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
            "select the RESP protocol version at the same time"
        )
    if ver:
        session.resp3 = ver == 3
    return Map(
        [
            (b"server", b"redis"),
            (b"version", REDIS_VERSION.encode()),
            (b"proto", 3 if session.resp3 else 2),
            (b"id", session.id),
            (b"mode", b"standalone"),
            (b"role", b"master"),
            (b"modules", []),
        ]
    )


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", kind=CONN, group="connection")
def auth(session: Session, argv: list[bytes]):
    """Authenticate to the server"""
    if len(argv) > 3:
        return errors.SYNTAX
    if len(argv) == 2:
        guard = getattr(session.server, "guard", None)
        if (not guard.users.auth_required) if guard is not None else not _requirepass(session):
            return errors.AUTH_NOT_CONFIGURED
        user, password = b"default", argv[1]
    else:
        user, password = argv[1], argv[2]
    return OK if _authenticate(session, user, password) else errors.WRONGPASS


@command("select", 2, "loading stale fast", kind=CONN, group="connection")
def select(session: Session, argv: list[bytes]):
    """Change the selected database for the current connection"""
    v = string2ll(argv[1])
    if v is None or not _INT_MIN <= v <= _INT_MAX:
        return errors.NOT_INTEGER
    if not 0 <= v < 16:
        return errors.DB_INDEX_OUT_OF_RANGE
    session.db_index = v
    return OK


@command("quit", -1, "noscript loading stale fast no_auth allow_busy", kind=CONN, group="connection")
def quit_(session: Session, argv: list[bytes]):
    """Close the connection"""
    session.close_after_reply = True
    return OK


@command(
    "reset", 1, "noscript loading stale fast no_auth allow_busy", kind=CONN, group="connection", since="6.2.0"
)
def reset(session: Session, argv: list[bytes]):
    """Reset the connection"""
    pubsub = getattr(session.server, "pubsub", None)
    if pubsub is not None:
        pubsub.drop(session)
    forget_relay = getattr(session.server, "forget_relay", None)
    if forget_relay is not None:
        forget_relay(session)
    tracking = getattr(session.server, "tracking", None)
    if tracking is not None:
        tracking.disable(session)
    monitors = getattr(session.server, "monitors", None)
    if monitors is not None:
        monitors.remove(session)
    session.reset()
    guard = getattr(session.server, "guard", None)
    if guard is not None:
        guard.on_reset(session)
    return RESET


@command("readonly", 1, "loading stale fast", kind=CONN, group="connection", since="3.0.0")
def readonly(session: Session, argv: list[bytes]):
    """Allow this connection's reads to be served from this node's local state (stale reads)"""
    session.readonly = True
    return OK


@command("readwrite", 1, "loading stale fast", kind=CONN, group="connection", since="3.0.0")
def readwrite(session: Session, argv: list[bytes]):
    """Back to linearizable reads on this connection"""
    session.readonly = False
    return OK


# --- CLIENT ----------------------------------------------------------------------------------------
container("client", "", CONN, group="connection", summary="A container for client connection commands")

_FLAGS = "noscript loading stale"
_ADMIN = "admin noscript loading stale"


@subcommand("client", "id", 2, _FLAGS, group="connection", since="5.0.0")
def client_id(session: Session, argv: list[bytes]):
    """Returns the client ID for the current connection"""
    return session.id


@subcommand("client", "setname", 3, _FLAGS, group="connection", since="2.6.9")
def client_setname(session: Session, argv: list[bytes]):
    """Set the current connection name"""
    if not _valid_client_attr(argv[2]):
        return errors.CLIENT_NAME_INVALID
    session.name = argv[2]
    return OK


@subcommand("client", "getname", 2, _FLAGS, group="connection", since="2.6.9")
def client_getname(session: Session, argv: list[bytes]):
    """Get the current connection name"""
    return session.name or None


@subcommand("client", "setinfo", 4, _FLAGS, group="connection", since="7.2.0")
def client_setinfo(session: Session, argv: list[bytes]):
    """Set client or connection specific info"""
    attr = argv[2].lower()
    if attr not in (b"lib-name", b"lib-ver"):
        return ErrorReply(b"ERR Unrecognized option '" + argv[2] + b"'")
    if not _valid_client_attr(argv[3]):
        return ErrorReply(b"ERR " + argv[2] + b" cannot contain spaces, newlines or special characters.")
    if attr == b"lib-name":
        session.lib_name = argv[3]
    else:
        session.lib_ver = argv[3]
    return OK


def client_info_line(s: Session, now_ms: int) -> bytes:
    """One line of CLIENT LIST / CLIENT INFO, in Redis 7.2's field order."""
    subs = s.extra.get("pubsub") or ((), (), ())
    flags = "O" if "monitor" in s.extra else ""
    if any(subs):
        flags += "P"
    if s.multi is not None:
        flags += "x"
    if s.readonly:
        flags += "r"
    if s.no_evict:
        flags += "e"
    if s.no_touch:
        flags += "T"
    flags = flags or "N"
    age = max(now_ms - s.created_ms, 0) // 1000 if s.created_ms else 0
    idle = max(now_ms - s.last_interaction_ms, 0) // 1000 if s.last_interaction_ms else 0
    multi = -1 if s.multi is None else len(s.multi)
    last = s.last_cmd.decode("latin-1") if isinstance(s.last_cmd, bytes) else str(s.last_cmd)
    fields = (
        f"id={s.id} addr={s.addr} laddr={s.laddr} fd={s.fd} name={s.name.decode('latin-1')} age={age} idle={idle} "
        f"flags={flags} db={s.db_index} sub={len(subs[0])} psub={len(subs[1])} ssub={len(subs[2])} multi={multi} qbuf=0 qbuf-free=0 argv-mem=0 "
        f"multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={last} "
        f"user={s.user.decode('latin-1')} redir=-1 resp={3 if s.resp3 else 2} "
        f"lib-name={s.lib_name.decode('latin-1')} lib-ver={s.lib_ver.decode('latin-1')}\n"
    )
    return fields.encode("latin-1")


@subcommand("client", "info", 2, _FLAGS, group="connection", since="6.2.0")
def client_info(session: Session, argv: list[bytes]):
    """Returns information about the current client connection."""
    return Verbatim(b"txt", client_info_line(session, session.server.now_ms()))


@subcommand("client", "list", -2, _ADMIN, group="connection", since="2.4.0")
def client_list(session: Session, argv: list[bytes]):
    """Get the list of client connections"""
    clients = session.server.clients()
    j = 2
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"type" and j + 1 < len(argv):
            kind = argv[j + 1].lower()
            if kind not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
                return ErrorReply(b"ERR Unknown client type '" + argv[j + 1] + b"'")
            if kind != b"normal":
                clients = []
            j += 2
        elif opt == b"id" and j + 1 < len(argv):
            ids = []
            for arg in argv[j + 1 :]:
                v = string2ll(arg)
                if v is None or v <= 0:
                    return ErrorReply("ERR Invalid client ID")
                ids.append(v)
            wanted = dict.fromkeys(ids)
            clients = [c for c in clients if c.id in wanted]
            break
        else:
            return errors.SYNTAX
    now = session.server.now_ms()
    return Verbatim(b"txt", b"".join(client_info_line(c, now) for c in clients))


def _on_off(session: Session, argv: list[bytes], attr: str):
    v = argv[2].lower()
    if v == b"on":
        setattr(session, attr, True)
    elif v == b"off":
        setattr(session, attr, False)
    else:
        return errors.SYNTAX
    return OK


@subcommand("client", "no-evict", 3, _ADMIN, group="connection", since="7.0.0")
def client_no_evict(session: Session, argv: list[bytes]):
    """Set client eviction mode for the current connection"""
    return _on_off(session, argv, "no_evict")


@subcommand("client", "no-touch", 3, _FLAGS, group="connection", since="7.2.0")
def client_no_touch(session: Session, argv: list[bytes]):
    """Controls whether commands sent by the client will alter the LRU/LFU of the keys they access."""
    return _on_off(session, argv, "no_touch")


@subcommand("client", "help", 2, "loading stale", group="connection", since="5.0.0")
def client_help(session: Session, argv: list[bytes]):
    """Show helpful text about the different subcommands"""
    lines = [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port> (a client of this node).",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections of this node. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "    * MAXAGE <maxage>",
        "      Kill connections older than the specified age.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "NO-TOUCH (ON|OFF)",
        "    Will not touch LRU/LFU stats when this mode is on.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients of this node for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.",
        "    * LIB-VER: the client lib version.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]


@subcommand("client", "reply", 3, _FLAGS, group="connection", since="3.2.0")
def client_reply(session: Session, argv: list[bytes]):
    """Instruct the server whether to reply to commands"""
    how = argv[2].lower()
    if how not in (b"on", b"off", b"skip"):
        return errors.SYNTAX
    from server.reply_mode import set_reply_mode

    set_reply_mode(session, how)
    return OK


# --- CLIENT KILL / PAUSE / UNPAUSE / UNBLOCK (this node's clients only) -------------------------------------
_CLIENT_TYPES = (b"normal", b"master", b"replica", b"slave", b"pubsub")


def _close(caller: Session, target: Session) -> None:
    """Disconnect ``target``; the caller itself is closed once its reply is written."""
    if target is caller:
        caller.close_after_reply = True
        return
    conn = target.extra.get("conn")
    if conn is not None and not conn.closing:
        conn.closing = True
        conn.queue.clear()
        if conn.transport is not None:
            conn.transport.close()


@subcommand("client", "kill", -3, _ADMIN, group="connection", since="2.4.0")
def client_kill(session: Session, argv: list[bytes]):
    """Kill the connection of a client"""
    clients = session.server.clients()
    if len(argv) == 3:  # the old form: CLIENT KILL addr:port
        for c in clients:
            if c.addr.encode() == argv[2]:
                _close(session, c)
                return OK
        return errors.NO_SUCH_CLIENT
    if len(argv) % 2:
        return errors.SYNTAX
    skipme = True
    now = session.server.now_ms()
    tests = []
    for j in range(2, len(argv), 2):
        opt, val = argv[j].lower(), argv[j + 1]
        if opt == b"id":
            v = string2ll(val)
            if v is None or v <= 0:
                return ErrorReply("ERR client-id should be greater than 0")
            tests.append(lambda c, v=v: c.id == v)
        elif opt == b"type":
            kind = val.lower()
            if kind not in _CLIENT_TYPES:
                return ErrorReply(b"ERR Unknown client type '" + val + b"'")
            # Raftis has only normal clients (pub/sub ones count as normal here too).
            tests.append(lambda c, kind=kind: kind == b"normal")
        elif opt == b"addr":
            tests.append(lambda c, val=val: c.addr.encode() == val)
        elif opt == b"laddr":
            tests.append(lambda c, val=val: c.laddr.encode() == val)
        elif opt == b"user":
            tests.append(lambda c, val=val: c.user == val)
        elif opt == b"skipme":
            if val.lower() == b"yes":
                skipme = True
            elif val.lower() == b"no":
                skipme = False
            else:
                return errors.SYNTAX
        elif opt == b"maxage":
            v = string2ll(val)
            if v is None:
                return errors.SYNTAX
            tests.append(lambda c, v=v: c.created_ms and (now - c.created_ms) // 1000 >= v)
        else:
            return errors.SYNTAX
    killed = 0
    for c in clients:
        if skipme and c is session:
            continue
        if all(t(c) for t in tests):
            _close(session, c)
            killed += 1
    return killed


@subcommand("client", "pause", -3, _ADMIN, group="connection", since="3.0.0")
def client_pause(session: Session, argv: list[bytes]):
    """Stop processing commands from clients for some time"""
    if len(argv) > 4:
        return errors.subcommand_syntax(argv)
    every = True
    if len(argv) == 4:  # Redis checks the mode before the timeout
        mode = argv[3].lower()
        if mode == b"write":
            every = False
        elif mode != b"all":
            return ErrorReply("ERR CLIENT PAUSE mode must be WRITE or ALL")
    timeout = string2ll(argv[2])
    if timeout is None:
        return ErrorReply("ERR timeout is not an integer or out of range")
    if timeout < 0:
        return ErrorReply("ERR timeout is negative")
    pause = getattr(session.server, "pause_clients", None)
    if pause is None:
        return ErrorReply("ERR this server cannot pause clients")
    pause(timeout, every)
    return OK


@subcommand("client", "unpause", 2, _ADMIN, group="connection", since="6.2.0")
def client_unpause(session: Session, argv: list[bytes]):
    """Resume processing of clients that were paused"""
    unpause = getattr(session.server, "unpause_clients", None)
    if unpause is not None:
        unpause()
    return OK


@subcommand("client", "unblock", -3, _ADMIN, group="connection", since="5.0.0")
def client_unblock(session: Session, argv: list[bytes]):
    """Unblock a client blocked in a blocking command from a different connection"""
    if len(argv) > 4:
        return ErrorReply(b"ERR unknown subcommand or wrong number of arguments for '" + argv[1]
                          + b"'. Try CLIENT HELP.")
    client_id = string2ll(argv[2])
    if client_id is None:
        return errors.NOT_INTEGER
    error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason not in (b"timeout", b"error"):
            return ErrorReply("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        error = reason == b"error"
    blocked = getattr(session.server, "blocked", None)
    return 1 if blocked is not None and blocked.unblock(client_id, error) else 0
