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

    ``multi`` is ``None`` outside MULTI, else the transaction state the MULTI/EXEC code keeps
    (queued commands, whether one was refused); ``multi_error`` is there for that code too.
    ``watched`` maps (db index, key) to the key's version when WATCH ran.  ``close_after_reply`` asks the
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
        "multi_error",
        "watched",
        "close_after_reply",
        "authenticated",
        "user",
        "no_evict",
        "no_touch",
        "server",
        "forwarded",
        "forward_multi",
        "extra",
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
        self.multi_error = False
        self.watched: dict[tuple[int, bytes], int] = {}
        self.close_after_reply = False
        self.authenticated = True
        self.user = b"default"
        self.no_evict = False
        self.no_touch = False
        self.server = server
        # Follower forwarding: this connection carries commands relayed by another node, and
        # whether the open MULTI is being relayed to the leader.
        self.forwarded = False
        self.forward_multi = False
        self.extra: dict[str, Any] = {}  # room for other layers (pub/sub channels, ...)

    def reset(self) -> None:
        """RESET: back to a fresh connection's state (id, address, name are kept as Redis does
        for id and address; the name is cleared)."""
        self.name = b""
        self.db_index = 0
        self.resp3 = False
        self.readonly = False
        self.multi = None
        self.multi_error = False
        self.watched = {}
        self.no_evict = False
        self.no_touch = False
        self.user = b"default"

    def __repr__(self) -> str:
        return f"Session(id={self.id}, addr={self.addr!r}, db={self.db_index}, resp3={self.resp3})"
