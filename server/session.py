"""Per-connection state, without any I/O.

The connection handler owns one ``Session`` per client and passes it to CONN commands.  The
``server`` attribute is whatever the node gives (see ``ServerView``): CONN handlers reach
configuration, the client list, INFO and the clock only through it, so they stay testable.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

__all__ = ["ServerView", "Session"]

_ids = itertools.count(1)


class ServerView(Protocol):
    """What CONN commands may ask of the running node."""

    node_id: int
    run_id: str

    def config_get(self, pattern: bytes) -> list[tuple[bytes, bytes]]: ...

    def clients(self) -> list[Session]: ...

    def info(self, section: str | None) -> str: ...

    def now_ms(self) -> int: ...


class Session:
    """One client connection's state.

    ``multi`` is ``None`` outside MULTI, else the transaction being queued
    (``server.transactions.TxState``).  ``watched`` maps (db index, key) to the key's
    version and liveness when WATCH ran.  ``close_after_reply`` asks the
    connection to close once the current reply is written (QUIT).
    """

    __slots__ = (
        "id",
        "name",
        "lib_name",
        "lib_ver",
        "db_index",
        "resp3",
        "addr",
        "laddr",
        "fd",
        "created_ms",
        "last_cmd",
        "last_interaction_ms",
        "readonly",
        "multi",
        "watched",
        "close_after_reply",
        "authenticated",
        "user",
        "no_evict",
        "no_touch",
        "server",
        "extra",
        "forwarded",
        "forward_multi",
        "relay",
        "tx_lost",
        "woff",
        "acl",
        "tracking",
    )

    def __init__(
        self,
        server: Any,
        *,
        addr: str = "",
        laddr: str = "",
        created_ms: int = 0,
        client_id: int | None = None,
        fd: int = -1,
    ) -> None:
        self.id = next(_ids) if client_id is None else client_id
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.db_index = 0
        self.resp3 = False
        self.addr = addr
        self.laddr = laddr
        self.fd = fd
        self.created_ms = created_ms
        self.last_cmd = b"NULL"
        self.last_interaction_ms = created_ms
        self.readonly = False
        self.multi: Any = None
        self.watched: dict[tuple[int, bytes], tuple[int, bool]] = {}
        self.close_after_reply = False
        self.authenticated = True
        self.user = b"default"
        self.no_evict = False
        self.no_touch = False
        self.server = server
        self.forwarded = False  # a link from another node relaying its clients' commands
        self.forward_multi = False  # a MULTI relayed to the leader is open on this connection
        # (link, "multi" | "watch"): the relay link whose leader session holds this connection's
        # open MULTI or its watches; ``tx_lost``: "multi" or "watch" once such state, or the
        # MULTI or watches kept here while this node led, can no longer reach EXEC.
        self.relay: tuple[Any, str] | None = None
        self.tx_lost: str | None = None
        # The log index of this connection's last write applied on this node (0: none): WAIT.
        self.woff = 0
        self.extra: dict[str, Any] = {}  # room for other layers (pub/sub channels, ...)
        # None: may run every command on every key; else its permission check (server.limits).
        self.acl: Any = None
        self.tracking: Any = None  # CLIENT TRACKING's state while it is on (server.tracking)

    def reset(self) -> None:
        """RESET: back to a fresh connection's state (id, address, name are kept as Redis does
        for id and address; the name is cleared)."""
        self.name = b""
        self.db_index = 0
        self.resp3 = False
        self.readonly = False
        self.multi = None
        self.watched = {}
        self.no_evict = False
        self.no_touch = False
        self.user = b"default"

    def __repr__(self) -> str:
        return f"Session(id={self.id}, addr={self.addr!r}, db={self.db_index}, resp3={self.resp3})"
