"""Client-side caching: CLIENT TRACKING, as in Redis 7.0.

A client that turns tracking on is told when a key it may have cached changes, so it can drop
its copy. Everything is local to the node the client is connected to: the node remembers the
keys its own clients read, and every node applies every write, so each node can tell its own
clients (reads a follower relays to the leader are remembered on the follower).

- **Default mode**: the keys of the read-only commands a client sends (and the keys a script
  declares) are remembered with the client's id; the first change to such a key sends the
  client ``invalidate [key]`` and forgets the key for it. With OPTIN, only the command after
  ``CLIENT CACHING yes`` counts; with OPTOUT, every command but the one after ``CLIENT CACHING
  no``.
- **BCAST**: nothing is remembered; every change to a key under one of the client's prefixes
  (all keys without a prefix) is sent, the keys of one event-loop turn in one message per
  prefix.
- **NOLOOP**: no message for a change made by the client itself (known for writes this node
  proposed for it; a write a follower relayed is applied there without its client).
- FLUSHDB, FLUSHALL, SWAPDB and an installed snapshot send ``invalidate`` with a null key list.

Messages go to the client itself in RESP3 (a push), or to the client named by REDIRECT: a
push if that one speaks RESP3, else a ``message`` on ``__redis__:invalidate`` if it is
subscribed there. A redirect to a client that is gone sends ``tracking-redir-broken`` (RESP3).

Ordering: a message to a client for its own tracked keys goes out after the replies to every
request it had sent when the change was applied. The key was remembered when its read was
parsed, so the read's reply can never follow the message that makes it stale, even when a
follower relays the read to the leader and applies the write before the reply comes back.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from resp.encoder import encode
from resp.types import Push

if TYPE_CHECKING:
    from server.session import Session

CHANNEL = b"__redis__:invalidate"
SCRIPTS = frozenset({b"eval", b"evalsha", b"eval_ro", b"evalsha_ro", b"fcall", b"fcall_ro"})


@dataclass(slots=True)
class ClientTracking:
    """``session.tracking`` while CLIENT TRACKING is on."""

    redirect: int = 0
    bcast: bool = False
    optin: bool = False
    optout: bool = False
    noloop: bool = False
    prefixes: list[bytes] = field(default_factory=list)
    caching: bool | None = None  # CLIENT CACHING yes/no, for the next command only
    broken: bool = False  # the redirect client went away

    def flags(self) -> list[bytes]:
        out = [b"on"]
        if self.bcast:
            out.append(b"bcast")
        if self.optin:
            out.append(b"optin")
            if self.caching is not None:
                out.append(b"caching-yes")
        if self.optout:
            out.append(b"optout")
            if self.caching is not None:
                out.append(b"caching-no")
        if self.noloop:
            out.append(b"noloop")
        if self.broken:
            out.append(b"broken_redirect")
        return out


class Tracking:
    """The node's tracking table, its BCAST prefixes, and the hooks the keyspace calls."""

    def __init__(self, node: Any, max_keys: int = 1_000_000) -> None:
        self.node = node
        self.max_keys = max_keys
        self.keys: dict[bytes, dict[int, None]] = {}  # key -> ids of the clients that read it
        self.prefixes: dict[bytes, dict[int, None]] = {}  # BCAST prefix -> client ids
        self.clients = 0  # sessions with tracking on
        self.items = 0  # (key, client) pairs in ``keys``
        # The session whose write is being applied (for NOLOOP), set by the apply loop.
        self.writer: Session | None = None
        self._changed: dict[bytes, dict[bytes, int]] = {}  # BCAST: prefix -> key -> writer id
        self._scheduled = False

    # -- turning it on and off ---------------------------------------------------------------
    def enable(self, session: Session, state: ClientTracking) -> None:
        if session.tracking is None:  # type: ignore[attr-defined]
            self.clients += 1
            if self.clients == 1:
                self._hook(True)
        else:
            self._drop_prefixes(session)
        session.tracking = state  # type: ignore[attr-defined]
        if state.bcast:
            for p in state.prefixes or [b""]:
                self.prefixes.setdefault(p, {})[session.id] = None

    def disable(self, session: Session) -> None:
        """Tracking off (CLIENT TRACKING OFF, RESET, the connection closing). The client's
        ids stay in the table and are skipped, as in Redis."""
        if session.tracking is None:  # type: ignore[attr-defined]
            return
        self._drop_prefixes(session)
        session.tracking = None  # type: ignore[attr-defined]
        self.clients -= 1
        if self.clients == 0:
            self._hook(False)
            self.keys.clear()
            self.items = 0

    def _drop_prefixes(self, session: Session) -> None:
        state = session.tracking  # type: ignore[attr-defined]
        if state is None or not state.bcast:
            return
        for p in state.prefixes or [b""]:
            ids = self.prefixes.get(p)
            if ids is not None:
                ids.pop(session.id, None)
                if not ids:
                    del self.prefixes[p]

    def _hook(self, on: bool) -> None:
        for db in self.node.keyspace.dbs:
            db.touched = self.touched if on else None
            db.flushed = self.flushed if on else None

    # -- reads ---------------------------------------------------------------------------------
    def command(self, session: Session, cmd: Any, argv: list[bytes]) -> None:
        """A tracking client's command is about to run (called once per command, in order)."""
        from server.auth import command_keys

        state = session.tracking  # type: ignore[attr-defined]
        caching = state.caching
        if cmd.name.startswith(b"client"):
            return  # as Redis: CLIENT CACHING's flag lasts through CLIENT commands
        if session.multi is None:  # and through a transaction's queued commands
            state.caching = None
        if state.bcast or (state.optin and caching is not True) or (state.optout and caching is False):
            return
        if cmd.name in SCRIPTS:
            keys: Iterable[bytes] = _script_keys(argv)
        elif "readonly" in cmd.flags:
            keys = command_keys(cmd, argv) or ()
        else:
            return
        table = self.keys
        cid = session.id
        for key in keys:
            ids = table.get(key)
            if ids is None:
                table[key] = {cid: None}
                self.items += 1
            elif cid not in ids:
                ids[cid] = None
                self.items += 1
        if self.max_keys and len(table) > self.max_keys:
            self._evict(len(table) - self.max_keys)

    def _evict(self, n: int) -> None:
        """Over tracking-table-max-keys: forget the oldest keys, telling their clients."""
        for key in list(itertools.islice(self.keys, n)):  # not a copy of the whole table
            self._invalidate(key, None)

    # -- changes (apply time, on every node) ---------------------------------------------------
    def touched(self, key: bytes) -> None:
        """The keyspace changed ``key``."""
        if key in self.keys:
            self._invalidate(key, self.writer)
        if self.prefixes:
            writer = self.writer.id if self.writer is not None else 0
            for prefix in self.prefixes:
                if key.startswith(prefix):
                    self._changed.setdefault(prefix, {})[key] = writer
                    if not self._scheduled:
                        self._scheduled = True
                        asyncio.get_running_loop().call_soon(self._send_changed)

    def _invalidate(self, key: bytes, writer: Session | None) -> None:
        ids = self.keys.pop(key)
        self.items -= len(ids)
        sessions = self.node.sessions
        for cid in ids:
            session = sessions.get(cid)
            if session is None:
                continue
            state = session.tracking  # type: ignore[attr-defined]
            if state is None or state.bcast or (state.noloop and session is writer):
                continue
            self._send(session, state, [key])

    def flushed(self) -> None:
        """Every key may have changed (FLUSHDB, FLUSHALL, SWAPDB, a snapshot installed)."""
        self.keys.clear()
        self.items = 0
        for session in list(self.node.sessions.values()):
            state = session.tracking  # type: ignore[attr-defined]
            if state is not None:
                self._send(session, state, None)

    def _send_changed(self) -> None:
        self._scheduled = False
        changed, self._changed = self._changed, {}
        sessions = self.node.sessions
        for prefix, keys in sorted(changed.items()):
            for cid in self.prefixes.get(prefix, ()):
                session = sessions.get(cid)
                state = session.tracking if session is not None else None  # type: ignore[attr-defined]
                if state is None:
                    continue
                mine = sorted(k for k, w in keys.items() if not (state.noloop and w == cid))
                if mine:
                    self._send(session, state, mine)
        self.node.flush_dirty()

    def _send(self, session: Session, state: ClientTracking, keys: list[bytes] | None) -> None:
        target = session
        if state.redirect:
            target = self.node.sessions.get(state.redirect)
            if target is None:
                if not state.broken:
                    state.broken = True
                    if session.resp3:
                        self._conn_of(session).push(encode(Push([b"tracking-redir-broken", state.redirect]), True))
                return
        conn = self._conn_of(target)
        if conn is None:
            return
        if target.resp3:
            data = encode(Push([b"invalidate", keys]), True)
        else:
            subs = target.extra.get("pubsub")
            if not subs or CHANNEL not in subs[0]:
                return
            data = (b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
                    + (encode(keys, False) if keys is not None else b"$-1\r\n"))
        if target is session:
            conn.push_in_turn(data)
        else:
            conn.push(data)

    @staticmethod
    def _conn_of(session: Session) -> Any:
        return session.extra.get("conn")


def _script_keys(argv: list[bytes]) -> list[bytes]:
    try:
        n = int(argv[2])
    except (IndexError, ValueError):
        return []
    return argv[3 : 3 + max(n, 0)]
