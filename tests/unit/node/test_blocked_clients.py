"""Parked clients: a client proposed again keeps its deadline only while it waits; once
answered, or once its connection is gone, nothing of it stays behind for a later request."""

from __future__ import annotations

from types import SimpleNamespace

from consensus.messages import Role
from server.blocked_clients import BlockedClients
from server.commands.blocking import Blocked
from server.keyspace import Keyspace
from server.stream import Stream


class _Conn:
    def __init__(self) -> None:
        self.closing = False
        self.session = SimpleNamespace(resp3=False)
        self.answers: list[bytes] = []

    def resolve(self, seq: int, data: bytes) -> None:
        self.answers.append(data)

    def done_one(self) -> None:
        pass


def _node():
    proposed = []
    node = SimpleNamespace(keyspace=Keyspace(), proposed=proposed,
                           propose=lambda conn, db, argv, seq: proposed.append((conn, seq, argv)),
                           mark_dirty=lambda conn: None, raft=SimpleNamespace(role=Role.LEADER))
    return node


def test_a_served_retry_leaves_no_deadline_for_a_later_request():
    node = _node()
    blocked = BlockedClients(node)
    conn = _Conn()
    blocked.park(conn, 7, 0, [b"XREAD", b"BLOCK", b"0", b"STREAMS", b"k", b"0"], Blocked((b"k",), 0))
    db = node.keyspace.dbs[0]
    db.set(b"k", Stream(), 1)  # the key changes and holds a stream: proposed again
    blocked.after_apply()
    assert [(c, s) for c, s, _ in node.proposed] == [(conn, 7)] and not blocked.parked
    assert blocked.retrying
    blocked.settled(conn, 7)  # served this time
    assert not blocked.retrying
    assert blocked.deadline_of(conn, 7) is None


def test_entries_of_closed_connections_are_dropped():
    node = _node()
    blocked = BlockedClients(node)
    gone, other = _Conn(), _Conn()
    blocked.retrying[(gone, 1)] = 0.0
    blocked.retrying[(other, 1)] = 0.0
    gone.closing = True
    blocked.expire()
    assert list(blocked.retrying) == [(other, 1)]
