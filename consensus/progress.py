"""FollowerProgress: the leader's view of one peer's log.

States (as in etcd's tracker):

* PROBE: we do not know where the peer's log matches ours. Send one AppendEntries at a time
  and wait for the answer (or a heartbeat response) before sending another.
* REPLICATE: the peer is keeping up. Send optimistically (``next`` moves on send) with up
  to ``max_inflight`` messages outstanding.
* SNAPSHOT: the entries the peer needs are compacted away; a snapshot is being streamed in
  chunks. Nothing else is sent until it is installed.

Invariants: ``match < next``; ``match`` never decreases while this progress exists.
"""

from __future__ import annotations

from collections import deque
from enum import IntEnum

from .messages import SnapshotMeta, members


class ProgressState(IntEnum):
    PROBE = 0
    REPLICATE = 1
    SNAPSHOT = 2


_State = members(ProgressState)  # the hot paths' view of the members (see ``members``)


class Inflights:
    """The last index of every AppendEntries sent in REPLICATE state and not yet acked."""

    __slots__ = ("_q", "capacity")

    def __init__(self, capacity: int):
        self._q: deque[int] = deque()
        self.capacity = capacity

    def add(self, last_index: int) -> None:
        self._q.append(last_index)

    def free_le(self, index: int) -> None:
        q = self._q
        while q and q[0] <= index:
            q.popleft()

    def free_first_one(self) -> None:
        if self._q:
            self._q.popleft()

    def full(self) -> bool:
        return len(self._q) >= self.capacity

    def reset(self) -> None:
        self._q.clear()

    def __len__(self) -> int:
        return len(self._q)


class FollowerProgress:
    __slots__ = (
        "match",
        "next",
        "state",
        "probe_sent",
        "inflights",
        "recent_active",
        "read_ctx",
        "is_learner",
        "snapshot",
        "snapshot_size",
        "snapshot_sent",
        "snapshot_acked",
        "snapshot_done_sent",
        "snapshot_idle_ticks",
    )

    def __init__(self, next_index: int, max_inflight: int, is_learner: bool = False):
        self.match = 0
        self.next = next_index
        self.state = _State.PROBE
        self.probe_sent = False  # PROBE: one message is out, wait for its answer
        self.inflights = Inflights(max_inflight)
        self.recent_active = False  # heard from since the last check-quorum round
        self.read_ctx = 0  # the newest read round (heartbeat context) this peer answered
        self.is_learner = is_learner
        # SNAPSHOT state: which snapshot, how many bytes, sent and acknowledged so far.
        self.snapshot: SnapshotMeta | None = None
        self.snapshot_size = 0
        self.snapshot_sent = 0
        self.snapshot_acked = 0
        self.snapshot_done_sent = False  # the last chunk is out; wait for the install ack
        self.snapshot_idle_ticks = 0

    def _reset_state(self, state: ProgressState) -> None:
        self.state = state
        self.probe_sent = False
        self.inflights.reset()
        self.snapshot = None

    def become_probe(self) -> None:
        # Coming out of SNAPSHOT, the peer has everything up to the snapshot.
        if self.state == _State.SNAPSHOT and self.snapshot is not None:
            pending = self.snapshot.index
            self._reset_state(_State.PROBE)
            self.next = max(self.match + 1, pending + 1)
        else:
            self._reset_state(_State.PROBE)
            self.next = self.match + 1

    def become_replicate(self) -> None:
        self._reset_state(_State.REPLICATE)
        self.next = self.match + 1

    def become_snapshot(self, meta: SnapshotMeta, size: int) -> None:
        self._reset_state(_State.SNAPSHOT)
        self.snapshot = meta
        self.snapshot_size = size
        self.rewind_snapshot(0)

    def rewind_snapshot(self, offset: int) -> None:
        """Resend the snapshot from ``offset`` (what the follower has)."""
        self.snapshot_sent = offset
        self.snapshot_acked = offset
        self.snapshot_done_sent = False
        self.snapshot_idle_ticks = 0

    def maybe_update(self, index: int) -> bool:
        """An acknowledgement up to ``index``. False when it tells us nothing new."""
        updated = False
        if index > self.match:
            self.match = index
            updated = True
            self.probe_sent = False
        if self.next < index + 1:
            self.next = index + 1
        return updated

    def optimistic_update(self, last_sent: int) -> None:
        self.next = last_sent + 1

    def maybe_decr_to(self, rejected: int, match_hint: int) -> bool:
        """A rejection of the append whose previous index was ``rejected``. False if stale."""
        if self.state == _State.REPLICATE:
            if rejected <= self.match:
                return False
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False
        self.next = max(min(rejected, match_hint + 1), self.match + 1)
        self.probe_sent = False
        return True

    def is_paused(self) -> bool:
        if self.state == _State.PROBE:
            return self.probe_sent
        if self.state == _State.REPLICATE:
            return self.inflights.full()
        return True

    def __repr__(self) -> str:
        return f"FollowerProgress(match={self.match}, next={self.next}, state={self.state.name})"
