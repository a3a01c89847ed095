"""MONITOR: every command this node serves to its own clients, as Redis 7.0 shows it.

A line goes out when the command's reply is placed (``NodeStats.record`` calls ``feed``), so a
command appears after it ran, with the database it left the client in (SELECT shows the new
one), as in Redis::

    +1700000000.123456 [0 127.0.0.1:50312] "SET" "k" "v"

What a node shows: the commands its own clients send it, whichever node runs them (a
follower shows its clients' writes it relayed to the leader; the leader does not show them
again, nor anything else that arrived over a link from another node). Commands Redis does not
show are left out the same way: admin commands, commands refused before they ran (unknown,
wrong arity, -NOAUTH, -NOPERM, -OOM, -MOVED, -CLUSTERDOWN, -TRYAGAIN, ...), and commands
queued in MULTI until EXEC runs them (they are shown then, just before EXEC). The arguments
of AUTH, and HELLO's and MIGRATE's passwords, read ``(redacted)``.

Scripts: a script command (EVAL, FCALL, ...) is shown followed by the commands it ran, as
``[<db> lua]`` lines, as Redis shows them. The script runs when its log entry is applied, so
while a client monitors, the node's ``ExecContext.monitor`` is set and the script runner notes
the commands (``script_started``); the lines go out with the script's own when its reply does.
A follower relays its clients' scripts and may apply them only after the reply came back: its
monitors then see the script without its lines.

Cost: while no client monitors, ``NodeStats.monitor`` is ``None`` and ``record`` checks only
that (and a script, ``ExecContext.monitor``).
"""

from __future__ import annotations

import time
from typing import Any

from resp.types import ErrorReply
from server.commands.registry import lookup

# sdscatrepr's rules: \\ \" \n \r \t \a \b escaped, printable ASCII as is, the rest \xHH.
_REPR: list[bytes] = []
for _c in range(256):
    if _c in (0x5C, 0x22):
        _REPR.append(b"\\" + bytes([_c]))
    elif _c in (0x0A, 0x0D, 0x09, 0x07, 0x08):
        _REPR.append({0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x07: b"\\a", 0x08: b"\\b"}[_c])
    elif 0x20 <= _c <= 0x7E:
        _REPR.append(bytes([_c]))
    else:
        _REPR.append(b"\\x%02x" % _c)
_PLAIN = bytes(c for c in range(0x20, 0x7F) if c not in (0x5C, 0x22))

# Replies that mean the command was refused before it ran (Redis feeds monitors from call(),
# which these never reach).
_REFUSED = (b"-NOAUTH", b"-NOPERM", b"-OOM", b"-MOVED", b"-ASK ", b"-CLUSTERDOWN", b"-NOCLUSTER", b"-TRYAGAIN",
            b"-MISCONF", b"-READONLY", b"-LOADING", b"-BUSY", b"-ERR Command not allowed inside a transaction",
            b"-ERR Can't execute", b"-ERR Replica can't interact with the keyspace",
            b"-ERR Protocol error")
_QUEUED = b"+QUEUED\r\n"
SCRIPTS_KEPT = 256
_REDACTED = b"(redacted)"


def quote(arg: bytes) -> bytes:
    """``arg`` as Redis's sdscatrepr writes it, quotes included."""
    if not arg.translate(None, _PLAIN):
        return b'"' + arg + b'"'
    return b'"' + b"".join([_REPR[c] for c in arg]) + b'"'


def redacted(name: bytes, argv: list[bytes]) -> list[bytes]:
    """``argv`` with its secrets replaced, as Redis 7.0's redactClientCommandArgument does."""
    if name == b"auth":
        return [argv[0]] + [_REDACTED] * (len(argv) - 1)
    out = list(argv)
    if name == b"hello":
        i = 2
        while i < len(out):
            opt = out[i].lower()
            if opt == b"auth" and i + 2 < len(out):
                out[i + 1] = out[i + 2] = _REDACTED
                i += 3
            elif opt == b"setname" and i + 1 < len(out):
                i += 2
            else:
                i += 1
    elif name == b"migrate":
        i = 6
        while i < len(out):
            opt = out[i].lower()
            if opt == b"auth" and i + 1 < len(out):
                out[i + 1] = _REDACTED
                i += 2
            elif opt == b"auth2" and i + 2 < len(out):
                out[i + 1] = out[i + 2] = _REDACTED
                i += 3
            elif opt == b"keys":
                break
            else:
                i += 1
    return out


def line(now: float, db: int, source: str, argv: list[bytes]) -> bytes:
    """One monitor line, ``+<time> [<db> <source>] "arg" ...\\r\\n``."""
    sec = int(now)
    usec = int((now - sec) * 1_000_000)
    head = b"+%d.%06d [%d %s]" % (sec, usec, db, source.encode("latin-1", "replace"))
    return head + b"".join([b" " + quote(a) for a in argv]) + b"\r\n"


class MonitorGate:
    """The ``session.acl`` of a monitoring connection: as in Redis, it may no longer run
    commands that touch the keyspace (it is a replica to Redis); the rest goes through the
    permission check it had before (``inner``)."""

    __slots__ = ("inner",)

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def check(self, cmd: Any, argv: list[bytes]) -> ErrorReply | None:
        flags = cmd.flags
        if "write" in flags or "readonly" in flags or "may_replicate" in flags:
            return ErrorReply("ERR Replica can't interact with the keyspace")
        return self.inner.check(cmd, argv) if self.inner is not None else None


class Monitors:
    """The connections of one node that are in MONITOR mode."""

    def __init__(self, stats: Any, ctx: Any = None) -> None:
        self.stats = stats
        self.ctx = ctx  # the node's ExecContext: its scripts report their commands here
        self.sessions: dict[Any, None] = {}
        # id(argv) of a script command this node ran -> (that argv, the (db, argv) of each
        # command the script ran), until its reply is fed (the argv is kept so its id stays
        # its own); the oldest go once there are more than SCRIPTS_KEPT.
        self.scripts: dict[int, tuple[list[bytes], list[tuple[int, list[bytes]]]]] = {}

    def __len__(self) -> int:
        return len(self.sessions)

    def add(self, session: Any) -> None:
        self.sessions[session] = None
        session.extra["monitor"] = True
        session.acl = MonitorGate(session.acl)
        self.stats.monitor = self
        if self.ctx is not None:
            self.ctx.monitor = self

    def remove(self, session: Any) -> None:
        """RESET or the connection went away."""
        if session.extra.pop("monitor", None) is None:
            return
        self.sessions.pop(session, None)
        if type(session.acl) is MonitorGate:
            session.acl = session.acl.inner
        if not self.sessions:
            self.stats.monitor = None
            if self.ctx is not None:
                self.ctx.monitor = None
            self.scripts.clear()

    def script_started(self, argv: list[bytes], ctx: Any, execute: Any) -> Any:
        """A script command (EVAL, FCALL, ...) is about to run: ``execute`` (its redis.call),
        noting each command it runs, for the ``[<db> lua]`` lines shown after the script's own."""
        calls: list[tuple[int, list[bytes]]] = []
        self.scripts[id(argv)] = (argv, calls)
        if len(self.scripts) > SCRIPTS_KEPT:
            del self.scripts[next(iter(self.scripts))]

        def noted(call: list[bytes], ro: bool) -> Any:
            reply = execute(call, ro)
            calls.append((ctx.db_index, call))  # after it ran, as Redis (a SELECT shows its db)
            return reply

        return noted

    def feed(self, argv: list[bytes], reply: bytes, session: Any) -> None:
        """``argv`` was answered ``reply``: show it to the monitors if Redis would."""
        if not argv or session.forwarded or not self.sessions:
            return
        if reply[:1] == b"-" and reply.startswith(_REFUSED):
            return
        cmd = lookup(argv)
        if type(cmd) is ErrorReply:
            return
        name = cmd.name
        if name == b"multi" or name == b"reset":
            session.extra.pop("monitor_tx", None)  # a transaction's queue starts afresh
        if reply == _QUEUED:
            session.extra.setdefault("monitor_tx", []).append(argv)
            return
        lines = []
        now = time.time()
        source = session.addr
        if name == b"exec" or name == b"discard":
            queued = session.extra.pop("monitor_tx", None)
            if queued and name == b"exec" and reply[:1] == b"*" and reply != b"*-1\r\n":
                for q in queued:
                    qcmd = lookup(q)
                    if type(qcmd) is not ErrorReply and self._shown(qcmd):
                        lines.append(line(now, session.db_index, source, self._args(qcmd.name, q)))
                        self._script_lines(q, now, lines)
        if self._shown(cmd):
            lines.append(line(now, session.db_index, source, self._args(name, argv)))
            self._script_lines(argv, now, lines)
        if lines:
            self.push(b"".join(lines))

    def _script_lines(self, argv: list[bytes], now: float, lines: list[bytes]) -> None:
        """The ``[<db> lua]`` lines of the commands the script ``argv`` ran, if it was one."""
        ran = self.scripts.pop(id(argv), None)
        if ran is None or ran[0] is not argv:
            # Applied from an entry decoded from the log (a transaction's, or one proposed
            # with one): the oldest script run with equal arguments.
            key = next((k for k, (a, _) in self.scripts.items() if a == argv), None)
            if key is None:
                return
            ran = self.scripts.pop(key)
        for db, call in ran[1]:
            cmd = lookup(call)
            if type(cmd) is not ErrorReply and "noscript" not in cmd.flags and self._shown(cmd):
                lines.append(line(now, db, "lua", self._args(cmd.name, call)))

    def push(self, data: bytes) -> None:
        for s in self.sessions:
            conn = s.extra.get("conn")
            if conn is not None:
                conn.push(data)

    @staticmethod
    def _shown(cmd: Any) -> bool:
        # Redis's skip_monitor commands (EVAL, FCALL and their kind) are fed by the script
        # runner itself, before the commands the script runs: shown here too.
        return "admin" not in cmd.flags

    @staticmethod
    def _args(name: bytes, argv: list[bytes]) -> list[bytes]:
        top = name.partition(b"|")[0]
        if top in (b"auth", b"hello", b"migrate"):
            return redacted(top, argv)
        return argv
