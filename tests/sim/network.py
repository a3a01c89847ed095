"""SimNetwork: a message queue with delay, loss, duplication, reordering and partitions.

Time is in simulator steps. Every message is delivered no earlier than one step after it
was sent; messages due in the same step come out in a random order. Partitions are a set
of blocked directed links, checked when a message is sent and again when it arrives.
"""

from __future__ import annotations

import heapq
import random

from consensus.messages import Message


class SimNetwork:
    def __init__(self, rng: random.Random, *, min_delay: int = 1, max_delay: int = 1, drop: float = 0.0,
                 duplicate: float = 0.0):
        self.rng = rng
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.drop = drop
        self.duplicate = duplicate
        self.blocked: set[tuple[int, int]] = set()
        self._q: list[tuple[int, float, int, Message]] = []
        self._seq = 0
        self.sent = 0
        self.delivered = 0
        # Appends carrying entries on their way, per (from, to): a large one takes a while to
        # cross, its bytes arriving meanwhile (SimCluster.streaming).
        self.appends_in_flight: dict[tuple[int, int], int] = {}

    def send(self, m: Message, now: int) -> None:
        self.sent += 1
        if (m.from_, m.to) in self.blocked:
            return
        rng = self.rng
        if self.drop and rng.random() < self.drop:
            return
        copies = 2 if self.duplicate and rng.random() < self.duplicate else 1
        for _ in range(copies):
            at = now + rng.randint(self.min_delay, self.max_delay)
            self._seq += 1
            heapq.heappush(self._q, (at, rng.random(), self._seq, m))
            if m.entries:
                link = (m.from_, m.to)
                self.appends_in_flight[link] = self.appends_in_flight.get(link, 0) + 1

    def due(self, now: int) -> list[Message]:
        out = []
        q = self._q
        while q and q[0][0] <= now:
            m = heapq.heappop(q)[3]
            if m.entries:
                self.appends_in_flight[(m.from_, m.to)] -= 1
            if (m.from_, m.to) not in self.blocked:
                out.append(m)
        self.delivered += len(out)
        return out

    def pending(self) -> int:
        return len(self._q)

    # --- partitions --------------------------------------------------------------------

    def partition(self, *groups: set[int] | frozenset[int] | list[int]) -> None:
        """Cut every link between different groups (nodes in no group are unaffected)."""
        gs = [set(g) for g in groups]
        for i, a in enumerate(gs):
            for b in gs[i + 1:]:
                for x in a:
                    for y in b:
                        self.blocked.add((x, y))
                        self.blocked.add((y, x))

    def isolate(self, node: int, others: set[int] | list[int]) -> None:
        for o in others:
            if o != node:
                self.blocked.add((node, o))
                self.blocked.add((o, node))

    def block(self, src: int, dst: int) -> None:
        self.blocked.add((src, dst))

    def heal(self) -> None:
        self.blocked.clear()
