"""ReadIndexQueue: the leader's linearizable reads waiting for a heartbeat round.

A read is served at the commit index the leader had when it was sure it was still the
leader. The leader is sure once a majority of voters answered a heartbeat sent after the
read arrived. Reads are batched: everything queued when a round starts rides on that round,
and one majority of answers releases all of them. At most ``max_rounds`` rounds are out at
once (see ``can_start``).

Lifecycle of a request: ``add`` (queued) -> ``start_round`` (in a round with index =
commit at that moment, heartbeat context = the round id) -> ``ack`` by a majority ->
released. An answer to round k also confirms every earlier round: the follower still
followed us after round k started, which is after the earlier ones started.

Until the leader has committed an entry of its own term its commit index may be behind
the real one, so reads wait in ``_waiting`` until then (``own_term_committed``).

A requester is 0 for the leader's own reads (token is the driver's), or a follower id
(token is that follower's request id, answered with READ_INDEX_RESP).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from .quorum import majority


class ReadRound:
    __slots__ = ("ctx", "index", "requests", "acks")

    def __init__(self, ctx: int, index: int, requests: list[tuple[int, object]], self_id: int):
        self.ctx = ctx
        self.index = index
        self.requests = requests
        self.acks = {self_id}


class ReadIndexQueue:
    __slots__ = ("_waiting", "_queued", "_rounds", "_next_ctx", "_self_id")

    def __init__(self, self_id: int):
        self._self_id = self_id
        self._waiting: list[tuple[int, object]] = []
        self._queued: list[tuple[int, object]] = []
        self._rounds: deque[ReadRound] = deque()
        self._next_ctx = 1

    def add(self, requester: int, token: object, own_term_committed: bool) -> None:
        (self._queued if own_term_committed else self._waiting).append((requester, token))

    def own_term_committed(self) -> None:
        if self._waiting:
            self._queued.extend(self._waiting)
            self._waiting = []

    def has_queued(self) -> bool:
        return bool(self._queued)

    def can_start(self, max_rounds: int) -> bool:
        """Reads are queued and fewer than ``max_rounds`` rounds are unanswered. Reads that
        arrive while a round is out wait for the next one, which starts as soon as that
        round is answered: under load one round carries many reads instead of each loop
        turn's few, at the cost of at most one more round trip of latency. A round whose
        answers are lost is answered by the next periodic heartbeat (it carries the latest
        round's context), so waiting reads are not stranded."""
        return bool(self._queued) and len(self._rounds) < max_rounds

    def start_round(self, commit: int) -> int:
        """Put every queued read in a new round; returns its heartbeat context."""
        ctx = self._next_ctx
        self._next_ctx += 1
        self._rounds.append(ReadRound(ctx, commit, self._queued, self._self_id))
        self._queued = []
        return ctx

    def take_queued(self) -> list[tuple[int, object]]:
        """For a single-voter leader, which needs no round."""
        q, self._queued = self._queued, []
        return q

    def take_rounds(self) -> list[tuple[int, object, int]]:
        """Every read in an unanswered round, with its index: for a leader that became
        the only voter (it needs no answers any more)."""
        out = [(req, tok, r.index) for r in self._rounds for req, tok in r.requests]
        self._rounds.clear()
        return out

    def latest_ctx(self) -> int:
        return self._rounds[-1].ctx if self._rounds else 0

    def ack(self, voter: int, ctx: int, voters: Iterable[int]) -> list[tuple[int, object, int]]:
        """A voter answered the heartbeat of round ``ctx``; returns released (requester, token, index)."""
        if not self._rounds or ctx == 0:
            return []
        for r in self._rounds:
            if r.ctx > ctx:
                break
            r.acks.add(voter)
        vs = set(voters)
        need = majority(len(vs))
        released: list[tuple[int, object, int]] = []
        while self._rounds and len(self._rounds[0].acks & vs) >= need:
            r = self._rounds.popleft()
            released.extend((req, tok, r.index) for req, tok in r.requests)
        return released

    def pending_count(self) -> int:
        return len(self._waiting) + len(self._queued) + sum(len(r.requests) for r in self._rounds)

    def clear(self) -> None:
        self._waiting = []
        self._queued = []
        self._rounds.clear()
