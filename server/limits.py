"""The client guard: who may connect, what each connection may do, and how much it may cost.

One ``ClientGuard`` per node (``node.guard``).  The connection handler calls it at three
points and nowhere else:

- ``admit(conn)`` when a connection is made: ``maxclients`` (Redis's ``-ERR max number of
  clients reached``), protected mode (no password and no ACL users: only loopback clients,
  others get Redis's ``-DENIED`` text), then the connection's starting user and its parser
  limits (``proto-max-bulk-len``; until it authenticates, Redis's small limits for
  unauthenticated clients: 10 arguments, 16 KB per argument);
- ``check(session, cmd, argv)`` for each command, only when the session is restricted
  (``session.acl`` is not ``None``) or memory is over ``maxmemory``: ``-NOAUTH``, ``-NOPERM``
  and ``-OOM`` for commands flagged ``denyoom`` (and scripts and functions flagged neither
  ``no-writes`` nor ``allow-oom``);
- ``output_over(conn, size)`` when a write leaves more than the connection's smallest hard
  output limit queued: decides by the client's class (normal or pub/sub).

Everything that is about time runs in one sweep per ``SWEEP_S`` over the connections: the
idle ``timeout``, a request left incomplete for longer than ``request_timeout`` (slow-loris:
no command completed during the whole time a partial one was held), the soft output limit
(over the soft size for the given seconds), and the resident memory measured against
``maxmemory``.  The sweep keeps the per-read path free of clock calls.

Invariant: ``session.acl is None`` exactly when the connection may run every command on every
key; the fast path in the connection handler skips ``check`` then.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resp.types import ErrorReply
from server.auth import NOAUTH, AclError, User, UserDirectory
from server.commands.functions import denies_oom
from server.monitor import MonitorGate

if TYPE_CHECKING:
    from server.commands.registry import Command
    from server.config import NodeConfig
    from server.connection import ClientConnection
    from server.session import Session

log = logging.getLogger("raftis.limits")

SWEEP_S = 0.5
UNAUTH_MAX_MULTIBULK = 10
UNAUTH_MAX_BULK = 16384

MAXCLIENTS = b"-ERR max number of clients reached\r\n"
OOM = ErrorReply("OOM command not allowed when used memory > 'maxmemory'.")
# Refused over maxmemory by their script's or function's flags (server.commands.functions.denies_oom).
_SCRIPT_CALLS = (b"eval", b"evalsha", b"fcall")
DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set "
    b"for the default user. In this mode connections are only accepted from the loopback interface. If you "
    b"want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just "
    b"disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by "
    b"connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly "
    b"accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    b"Alternatively you can just disable the protected mode by editing the Redis configuration file, and "
    b"setting the protected mode option to 'no', and then restarting the server. 3) If you started the server "
    b"manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an "
    b"authentication password for the default user. NOTE: You only need to do one of the above things in "
    b"order for the server to start accepting connections from the outside.\r\n"
)


class Unauthenticated:
    """The ``session.acl`` of a connection that has not authenticated: only commands flagged
    ``no_auth`` (AUTH, HELLO, QUIT, RESET)."""

    __slots__ = ()

    def check(self, cmd: Command, argv: list[bytes]) -> ErrorReply | None:
        return None if "no_auth" in cmd.flags else NOAUTH


UNAUTHENTICATED = Unauthenticated()


@dataclass(slots=True)
class OutputLimit:
    hard: int  # bytes; 0: none
    soft: int
    soft_seconds: float


def parse_size(text: str) -> int:
    """Redis memory units: 1k=1000, 1kb=1024, 1m, 1mb, 1g, 1gb; plain bytes otherwise."""
    t = text.strip().lower()
    units = {"k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
    for suffix in ("kb", "mb", "gb", "k", "m", "g"):
        if t.endswith(suffix):
            return int(t[: -len(suffix)]) * units[suffix]
    return int(t)


def parse_output_limits(text: str) -> dict[str, OutputLimit]:
    """``"normal 0 0 0 pubsub 32mb 8mb 60"`` (Redis's client-output-buffer-limit) -> per class."""
    words = text.split()
    if len(words) % 4:
        raise ValueError("client-output-buffer-limit takes <class> <hard> <soft> <seconds> groups")
    out: dict[str, OutputLimit] = {}
    for i in range(0, len(words), 4):
        cls = words[i].lower()
        if cls not in ("normal", "pubsub", "replica", "slave"):
            raise ValueError(f"unknown client class '{words[i]}'")
        out[cls] = OutputLimit(parse_size(words[i + 1]), parse_size(words[i + 2]), float(words[i + 3]))
    return out


def is_loopback(addr: Any) -> bool:
    if not isinstance(addr, tuple):
        return True  # unix socket
    try:
        ip = ipaddress.ip_address(addr[0].split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


# Commands that Redis 7.0 runs only when its enable-*-command setting allows (CMD_PROTECTED):
# name -> (what the refusal calls it, the setting, the NodeConfig field).
PROTECTED = {
    b"debug": ("DEBUG", "enable-debug-command", "enable_debug_command"),
    b"module|load": ("MODULE", "enable-module-command", "enable_module_command"),
    b"module|loadex": ("MODULE", "enable-module-command", "enable_module_command"),
    b"module|unload": ("MODULE", "enable-module-command", "enable_module_command"),
}


def _local_client(addr: str) -> bool:
    """Redis's ``islocalClient``: a unix-socket client, or one from 127.0.0.1 or ::1."""
    if not addr or ":" not in addr:
        return True
    host = addr.rsplit(":", 1)[0]
    if host.startswith("["):
        host = host[1:-1]
    return is_loopback((host, 0))


def protected_denial(session: Session, name: bytes) -> ErrorReply | None:
    """Redis's refusal of a protected command (``PROTECTED``) that the node's setting does not
    allow for this client, or None."""
    what, option, field = PROTECTED[name]
    cfg = getattr(session.server, "cfg", None)
    setting = getattr(cfg, field, "no")
    if setting == "yes" or setting == "local" and _local_client(session.addr):
        return None
    return ErrorReply(f"ERR {what} command not allowed. If the {option} option is set to \"local\", you can run "
                      "it from a local connection, otherwise you need to set this option in the configuration "
                      "file, and then restart the server.")


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def raise_fd_limit(wanted: int) -> None:
    """As Redis does: make room for ``maxclients`` connections plus the node's own files."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        target = soft
    if target < wanted:
        log.warning("open files limit is %d: fewer than the %d that maxclients needs", target, wanted)


class AclLog:
    """ACL LOG: refused commands and failed logins, newest first.  A refusal like one of the
    last ten (same reason, context, object and user, within a minute) counts on that entry."""

    GROUP_MS = 60_000
    SCAN = 10

    def __init__(self, max_len: int) -> None:
        self.max_len = max_len
        self.entries: list[dict[str, Any]] = []

    def add(self, session: Session, reason: str, what: bytes, username: bytes) -> None:
        from server.commands.connection import client_info_line  # the command table imports this module

        now = int(time.time() * 1000)
        context = "multi" if session.multi is not None or session.forward_multi else "toplevel"
        info = client_info_line(session, now).rstrip(b"\n")
        for i, e in enumerate(self.entries[: self.SCAN]):
            if (e["reason"] == reason and e["context"] == context and e["object"] == what
                    and e["username"] == username and now - e["ctime"] <= self.GROUP_MS):
                e["count"] += 1
                e["ctime"] = now
                e["info"] = info
                self.entries.insert(0, self.entries.pop(i))
                return
        self.entries.insert(0, {"count": 1, "reason": reason, "context": context, "object": what,
                                "username": username, "ctime": now, "info": info})
        del self.entries[self.max_len:]

    def set_max_len(self, max_len: int) -> None:
        self.max_len = max_len
        del self.entries[max_len:]

    def reset(self) -> None:
        self.entries.clear()


class ClientGuard:
    def __init__(self, node: Any, cfg: NodeConfig) -> None:
        self.node = node
        acl_text = ""
        aclfile = getattr(cfg, "aclfile", "")
        if aclfile:
            try:
                with open(aclfile, encoding="utf-8") as f:
                    acl_text = f.read()
            except OSError as e:
                raise SystemExit(f"cannot read the ACL file {aclfile}: {e}") from None
        try:
            self.users = UserDirectory(getattr(cfg, "requirepass", ""), acl_text, cfg.cluster_secret)
        except AclError as e:
            raise SystemExit(f"error in the ACL file {aclfile}: {e}") from None
        self.aclfile = aclfile
        self.acl_log = AclLog(getattr(cfg, "acllog_max_len", 128))
        self.protected_mode = getattr(cfg, "protected_mode", True)
        self.maxclients = getattr(cfg, "maxclients", 10000)
        self.timeout = getattr(cfg, "timeout", 0)
        self.request_timeout = getattr(cfg, "request_timeout", 0.0)
        self.max_bulk = getattr(cfg, "proto_max_bulk_len", 512 * 1024 * 1024)
        self.query_limit = getattr(cfg, "client_query_buffer_limit", 1024 * 1024 * 1024)
        self.maxmemory = getattr(cfg, "maxmemory", 0)
        limits = parse_output_limits("normal 0 0 0 pubsub 32mb 8mb 60")
        limits.update(parse_output_limits(getattr(cfg, "client_output_buffer_limit", "")))
        self.normal = limits["normal"]
        self.pubsub = limits["pubsub"]
        hards = [x.hard for x in (self.normal, self.pubsub) if x.hard]
        self.min_hard = min(hards) if hards else 1 << 62
        self.over_memory = False
        self.rss = 0
        self.closed_for: dict[str, int] = {"maxclients": 0, "protected": 0, "timeout": 0, "request_timeout": 0,
                                           "output": 0}
        self._watch: dict[int, tuple[int, int, float, float, float]] = {}  # id(conn) -> seq, bytes held, active, partial, soft
        self._sweeper: asyncio.TimerHandle | None = None
        raise_fd_limit(self.maxclients + 64)


    # -- connect ---------------------------------------------------------------------------------
    @property
    def protected(self) -> bool:
        return self.protected_mode and not self.users.auth_required and len(self.users.users) == 1

    def admit(self, conn: ClientConnection) -> bool:
        """Set up a new connection; ``False`` when it was refused (and is being closed)."""
        tr = conn.transport
        assert tr is not None and conn.session is not None
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(SWEEP_S, self.sweep)
        if len(self.node.sessions) > self.maxclients:
            self.closed_for["maxclients"] += 1
            return self._refuse(conn, MAXCLIENTS)
        if self.protected and not is_loopback(tr.get_extra_info("peername")):
            self.closed_for["protected"] += 1
            return self._refuse(conn, DENIED)
        conn.out_limit = self.min_hard
        conn.qbuf_limit = self.query_limit
        conn.parser.max_bulk_len = self.max_bulk
        session = conn.session
        if self.users.auth_required:
            self._set_user(conn, session, None)
        else:
            self._set_user(conn, session, self.users.default)
        return True

    def _refuse(self, conn: ClientConnection, reply: bytes) -> bool:
        conn.closing = True
        tr = conn.transport
        assert tr is not None
        tr.write(reply)
        # Half-close and drop what the client sends until it hangs up (or 2 s pass): closing
        # with its request unread would reset the connection and could lose the reply.
        if tr.can_write_eof():
            tr.write_eof()
            asyncio.get_running_loop().call_later(2.0, tr.close)
        else:
            tr.close()
        return False

    def _set_user(self, conn: Any, session: Session, user: User | None) -> None:
        parser = conn.parser if conn is not None else None
        if user is None:
            session.authenticated = False
            session.acl = UNAUTHENTICATED
            if parser is not None:
                parser.max_multibulk_len = UNAUTH_MAX_MULTIBULK
                parser.max_bulk_len = min(UNAUTH_MAX_BULK, self.max_bulk)
            return
        session.authenticated = True
        session.user = user.name.encode()
        session.acl = None if user.unrestricted else user
        if "monitor" in session.extra:  # still a monitor: still kept off the keyspace
            from server.monitor import MonitorGate

            session.acl = MonitorGate(session.acl)
        if parser is not None:
            from resp.parser import PROTO_MAX_MULTIBULK_LEN

            parser.max_multibulk_len = PROTO_MAX_MULTIBULK_LEN
            parser.max_bulk_len = self.max_bulk

    # -- commands --------------------------------------------------------------------------------
    def check(self, session: Session, cmd: Command, argv: list[bytes]) -> ErrorReply | None:
        if cmd.name in PROTECTED:  # refused before authentication, as in Redis
            denied = protected_denial(session, cmd.name)
            if denied is not None:
                return denied
        acl = session.acl
        if type(acl) is User:
            denied = acl.denial(cmd, argv)
            if denied is not None:
                err, reason, what = denied
                if reason:
                    self.acl_log.add(session, reason, what, session.user)
                return err
        elif acl is not None:  # not logged in yet, or a MONITOR connection
            err = acl.check(cmd, argv)
            if err is not None:
                return err
        if self.over_memory and ("denyoom" in cmd.flags or cmd.name in _SCRIPT_CALLS
                                 and denies_oom(self.node.keyspace, cmd.name, argv)):
            return OOM
        return None

    def authenticate(self, session: Session, name: bytes, password: bytes) -> bool:
        user = self.users.authenticate(name, password)
        if user is None:
            log.info("client %s: failed authentication as %r", session.addr, name.decode(errors="replace"))
            self.acl_log.add(session, "auth", b"AUTH", name)
            return False
        self._set_user(session.extra.get("conn"), session, user)
        return True

    # -- ACL changes (ACL SETUSER, DELUSER, LOAD) ------------------------------------------------
    def user_changed(self, user: User, current: Session | None = None) -> None:
        """``user``'s rules changed: its connections follow them from their next command, and
        those subscribed to a channel or pattern it may no longer use are disconnected, as in
        Redis (``current`` after its reply)."""
        name = user.name.encode()
        for session in list(self.node.sessions.values()):
            if not session.authenticated or session.user != name:
                continue
            rules = None if user.unrestricted else user
            if isinstance(session.acl, MonitorGate):
                session.acl.inner = rules
            else:
                session.acl = rules
            subs = session.extra.get("pubsub")
            if subs and any(user.channel_denied(c, pattern)
                            for pattern, names in ((False, subs[0]), (True, subs[1]), (False, subs[2]))
                            for c in names):
                self._disconnect(session, current, "its user may no longer use a channel it subscribed to")

    def _disconnect(self, session: Session, current: Session | None, why: str) -> None:
        if session is current:
            session.close_after_reply = True
            return
        conn = session.extra.get("conn")
        if conn is not None and conn.transport is not None and not conn.closing:
            log.info("client %s closed: %s", session.addr, why)
            conn.closing = True
            conn.transport.close()

    def drop_users(self, names: set[str], current: Session | None) -> None:
        """Disconnect the clients logged in as ``names`` (users deleted or replaced), as Redis
        does; ``current`` gets its reply first."""
        wanted = {n.encode() for n in names}
        for session in list(self.node.sessions.values()):
            if session.authenticated and session.user in wanted:
                self._disconnect(session, current, "its user was removed")

    def reload_users(self, acl_text: str, current: Session | None) -> None:
        """ACL LOAD: replace every user with those of ``acl_text`` (raises ``AclError`` and
        changes nothing when it does not parse).  As in Redis, clients of users other than
        ``default`` are disconnected; those of ``default`` go on with its new rules."""
        users = self.users.parse(acl_text)
        old = self.users.users
        default = old["default"]
        default.replace_with(users["default"])
        users["default"] = default
        self.users.users = users
        self.drop_users(set(old) - {"default"}, current)
        self.user_changed(default, current)

    def on_reset(self, session: Session) -> None:
        """RESET: back to the default user, authenticated only if it needs no password."""
        self._set_user(session.extra.get("conn"), session,
                       None if self.users.auth_required else self.users.default)

    def user_of(self, session: Session) -> str:
        return session.user.decode(errors="replace") if session.authenticated else "default"

    # -- output ------------------------------------------------------------------------------------
    def output_over(self, conn: ClientConnection, size: int) -> bool:
        """The write buffer holds ``size`` bytes: is that over this client's hard limit?"""
        limit = self._class_of(conn).hard
        return bool(limit) and size > limit

    def _class_of(self, conn: Any) -> OutputLimit:
        session = conn.session
        subs = session.extra.get("pubsub") if session is not None else None
        if subs and any(subs):
            return self.pubsub
        return self.normal

    # -- the periodic sweep ------------------------------------------------------------------------
    def sweep(self) -> None:
        loop = asyncio.get_running_loop()
        self._sweeper = loop.call_later(SWEEP_S, self.sweep)
        if self.maxmemory:
            self.rss = rss_bytes()
            over = self.rss > self.maxmemory
            if over != self.over_memory:
                log.warning("memory %s maxmemory (%d > %d bytes): commands that add data are %s",
                            "over" if over else "back under", self.rss, self.maxmemory,
                            "refused" if over else "accepted again")
                self.over_memory = over
        now = time.monotonic()
        watch = self._watch
        seen: dict[int, tuple[int, int, float, float, float]] = {}
        for session in list(self.node.sessions.values()):
            conn = session.extra.get("conn")
            if conn is None or conn.transport is None or conn.closing:
                continue
            key = id(conn)
            seq = conn.next_seq
            parser = conn.parser
            buffered = parser.buffered
            prev = watch.get(key)
            # last activity: a command completed or bytes arrived since the previous sweep
            since = now if prev is None or prev[0] != seq or prev[1] != buffered else prev[2]
            # a partial request: held since it was first seen, unless a command completed since
            if parser.idle:
                partial = 0.0
            elif prev is not None and prev[0] == seq and prev[3]:
                partial = prev[3]
            else:
                partial = now
            try:
                out = conn.transport.get_write_buffer_size()
            except Exception:  # noqa: BLE001 - a transport being torn down
                out = 0
            limit = self._class_of(conn)
            soft_since = 0.0
            if limit.soft and out > limit.soft:
                soft_since = prev[4] if prev is not None and prev[4] else now
                if now - soft_since >= limit.soft_seconds:
                    self._close(conn, "output", f"output buffer over {limit.soft} bytes for "
                                f"{limit.soft_seconds:g}s (it does not read its replies)")
                    continue
            if self.request_timeout and partial and now - partial >= self.request_timeout:
                self._close(conn, "request_timeout", f"a request incomplete for over {self.request_timeout:g}s")
                continue
            if (self.timeout and now - since >= self.timeout and conn.inflight == 0 and not session.forwarded
                    and not (session.extra.get("pubsub") and any(session.extra["pubsub"]))):
                self._close(conn, "timeout", f"idle for over {self.timeout}s")
                continue
            seen[key] = (seq, buffered, since, partial, soft_since)
        self._watch = seen

    def _close(self, conn: Any, why: str, text: str) -> None:
        self.closed_for[why] += 1
        log.info("client %s closed: %s", conn.session and conn.session.addr, text)
        conn.closing = True
        conn.transport.abort()

    def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
