"""What the driver gives the core: its settings and a way to read snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .messages import SnapshotMeta


@dataclass(frozen=True, slots=True)
class Config:
    id: int
    # Ticks without hearing from a leader before campaigning; randomized per election in
    # [election_tick, 2 * election_tick). Also the leader's check-quorum period.
    election_tick: int = 10
    heartbeat_tick: int = 1
    # Bytes of entry data per AppendEntries (always at least one entry).
    max_size_per_msg: int = 1 << 20
    # AppendEntries in flight per follower in REPLICATE state.
    max_inflight: int = 256
    # Read-index rounds (heartbeat rounds confirming leadership for reads) unanswered at
    # once; reads arriving meanwhile share the next round.
    max_read_rounds: int = 1
    # A read round's heartbeat goes to just enough voters for a majority (the ones that
    # answered the newest round first) instead of every follower.
    read_round_to_quorum: bool = True
    # Proposals are refused while the leader's uncommitted tail holds this many bytes.
    max_uncommitted_bytes: int = 64 << 20
    pre_vote: bool = True
    check_quorum: bool = True
    # After it starts, a node grants no vote (unless the campaign is a leadership transfer)
    # and starts no election of its own for this many ticks, as if it had just heard from a
    # leader. A leader's read lease counts on its followers not voting for an election
    # timeout after they acknowledged it; a follower that restarted has forgotten it did.
    # Needs check_quorum.
    vote_quiet_ticks: int = 0
    snapshot_chunk_size: int = 1 << 20
    snapshot_window: int = 4  # chunks in flight per follower
    # Leader ticks without any snapshot ack before it resends from the last acked offset.
    snapshot_resend_ticks: int = 5

    def __post_init__(self) -> None:
        if self.id <= 0:
            raise ValueError("node ids are >= 1")
        if self.heartbeat_tick <= 0 or self.election_tick <= self.heartbeat_tick:
            raise ValueError("need 0 < heartbeat_tick < election_tick")
        if self.max_inflight <= 0 or self.max_read_rounds <= 0 or self.snapshot_window <= 0 or self.snapshot_chunk_size <= 0:
            raise ValueError("max_inflight, max_read_rounds, snapshot_window and snapshot_chunk_size must be > 0")
        if self.vote_quiet_ticks < 0:
            raise ValueError("vote_quiet_ticks must be >= 0")


class SnapshotSource(Protocol):
    """Read access to the local snapshots a leader streams to followers.

    The snapshot named by ``meta`` must stay readable while it is being sent; a store that
    keeps the newest few snapshots is enough, because the leader always starts a transfer
    with its newest one.
    """

    def size(self, meta: SnapshotMeta) -> int: ...

    def read_chunk(self, meta: SnapshotMeta, offset: int, max_bytes: int) -> bytes:
        """Raises ``LookupError`` when that snapshot no longer exists (a newer one replaced
        it); the leader then restarts the transfer with its newest snapshot."""
        ...
