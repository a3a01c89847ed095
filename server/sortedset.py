"""``ZSet``: the sorted-set value.

Two views of the same members, kept in step by every method here:

- ``scores``: member -> score (a dict, so membership and ZSCORE are O(1));
- ``order``: ``(score, member)`` tuples sorted ascending, Redis's order (score, then member
  bytes compared like ``memcmp``).  Python compares the tuples exactly that way, and
  ``bisect`` finds ranks and score bounds in O(log n).  Inserting or deleting moves the list
  tail (a C ``memmove``), which stays cheap well past 1e5 members.

Invariants: ``len(scores) == len(order)``; ``(scores[m], m)`` is in ``order`` for every
member; no score is NaN.

``compact`` mirrors Redis's listpack encoding (at most 128 members of at most 64 bytes; a
set that outgrows it never goes back, as in Redis).  It matters for replies: a listpack
stores a score as text, which turns ``-0`` into ``0``; ZSCAN returns a listpack whole; and a
lex range over members with mixed scores is found by a linear walk.  Store commands
(ZUNIONSTORE, ...) call ``shrink_if_fits`` like Redis's ``zsetConvertToListpackIfNeeded``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable

__all__ = ["LISTPACK_ENTRIES", "LISTPACK_VALUE", "ZSet"]

# Redis 7.0's zset-max-listpack-entries / zset-max-listpack-value defaults.
LISTPACK_ENTRIES = 128
LISTPACK_VALUE = 64


def _score_of(item: tuple[float, bytes]) -> float:
    return item[0]


def _member_of(item: tuple[float, bytes]) -> bytes:
    return item[1]


class ZSet:
    __slots__ = ("scores", "order", "compact")

    def __init__(self, compact: bool = True) -> None:
        self.scores: dict[bytes, float] = {}
        self.order: list[tuple[float, bytes]] = []
        self.compact = compact

    def __len__(self) -> int:
        return len(self.scores)

    def __repr__(self) -> str:
        return f"ZSet({self.order!r})"

    @property
    def ENCODING(self) -> bytes:  # noqa: N802  (OBJECT ENCODING reads this name)
        return b"listpack" if self.compact else b"skiplist"

    # --- changes -------------------------------------------------------------------------------
    def add(self, member: bytes, score: float) -> float:
        """Insert a member that is not present; returns the score as stored."""
        if self.compact and (len(self.scores) + 1 > LISTPACK_ENTRIES or len(member) > LISTPACK_VALUE):
            self.compact = False
        if self.compact and score == 0.0:
            score = 0.0  # a listpack keeps the score as text, and "-0" is written as "0"
        self.scores[member] = score
        insort(self.order, (score, member))
        return score

    def update(self, member: bytes, score: float) -> None:
        """Change a present member's score (the caller has checked it differs)."""
        old = self.scores[member]
        if self.compact and score == 0.0:
            score = 0.0
        order = self.order
        del order[bisect_left(order, (old, member))]
        self.scores[member] = score
        insort(order, (score, member))

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        order = self.order
        del order[bisect_left(order, (score, member))]
        return True

    def delete_range(self, start: int, stop: int) -> int:
        """Remove the members at ranks ``start <= r < stop``; returns how many."""
        order = self.order
        gone = order[start:stop]
        del order[start:stop]
        scores = self.scores
        for _, member in gone:
            del scores[member]
        return len(gone)

    def pop(self, from_max: bool) -> tuple[bytes, float]:
        score, member = self.order.pop() if from_max else self.order.pop(0)
        del self.scores[member]
        return member, score

    def shrink_if_fits(self) -> None:
        """Back to the compact form when the set fits it (``zsetConvertToListpackIfNeeded``)."""
        if self.compact or len(self.scores) > LISTPACK_ENTRIES:
            return
        if any(len(m) > LISTPACK_VALUE for m in self.scores):
            return
        self.compact = True
        if any(s == 0.0 for s, _ in self.order):
            self.order = [(0.0 if s == 0.0 else s, m) for s, m in self.order]
            self.scores = {m: s for s, m in self.order}

    # --- lookups -------------------------------------------------------------------------------
    def rank(self, member: bytes) -> int | None:
        score = self.scores.get(member)
        if score is None:
            return None
        return bisect_left(self.order, (score, member))

    def score_start(self, low: float, exclusive: bool) -> int:
        """Rank of the first member whose score is >= ``low`` (> when exclusive)."""
        if exclusive:
            return bisect_right(self.order, low, key=_score_of)
        return bisect_left(self.order, low, key=_score_of)

    def score_stop(self, high: float, exclusive: bool) -> int:
        """One past the rank of the last member whose score is <= ``high`` (< when exclusive)."""
        if exclusive:
            return bisect_left(self.order, high, key=_score_of)
        return bisect_right(self.order, high, key=_score_of)

    def lex_first(self, at_least: Callable[[bytes], bool], at_most: Callable[[bytes], bool]) -> int | None:
        """Rank where a forward lex range starts (``zzlFirstInLexRange``): the first member
        not below the minimum, if it is not above the maximum.  Members are assumed to share
        one score; when they do not, the compact form walks from the start like a listpack and
        the large form bisects, which gives some deterministic answer (Redis's own depends on
        its skiplist's random levels)."""
        order = self.order
        if not order or not at_least(order[-1][1]) or not at_most(order[0][1]):
            return None
        if self.compact:
            for i, (_, member) in enumerate(order):
                if at_least(member):
                    return i if at_most(member) else None
            return None
        lo, hi = 0, len(order)
        while lo < hi:
            mid = (lo + hi) // 2
            if at_least(order[mid][1]):
                hi = mid
            else:
                lo = mid + 1
        if lo < len(order) and at_most(order[lo][1]):
            return lo
        return None

    def lex_last(self, at_least: Callable[[bytes], bool], at_most: Callable[[bytes], bool]) -> int | None:
        """Rank where a reverse lex range starts (``zzlLastInLexRange``)."""
        order = self.order
        if not order or not at_least(order[-1][1]) or not at_most(order[0][1]):
            return None
        if self.compact:
            for i in range(len(order) - 1, -1, -1):
                member = order[i][1]
                if at_most(member):
                    return i if at_least(member) else None
            return None
        lo, hi = 0, len(order)
        while lo < hi:  # first rank whose member is above the maximum
            mid = (lo + hi) // 2
            if at_most(order[mid][1]):
                lo = mid + 1
            else:
                hi = mid
        i = lo - 1
        if i >= 0 and at_least(order[i][1]):
            return i
        return None

    # --- whole-value operations (snapshots, COPY) ----------------------------------------------
    def copy(self) -> ZSet:
        z = ZSet(self.compact)
        z.scores = dict(self.scores)
        z.order = list(self.order)
        return z

    def dump(self) -> list:
        """``[compact, member, score, member, score, ...]`` in rank order (msgpack-able)."""
        out: list = [self.compact]
        for score, member in self.order:
            out.append(member)
            out.append(score)
        return out

    @classmethod
    def load(cls, flat: list) -> ZSet:
        z = cls(bool(flat[0]))
        it = iter(flat[1:])
        pairs = [(float(s), m) for m, s in zip(it, it, strict=True)]
        pairs.sort()
        z.order = pairs
        z.scores = {m: s for s, m in pairs}
        return z

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[bytes, float]], compact: bool) -> ZSet:
        """A set from distinct (member, score) pairs, in any order."""
        z = cls(compact)
        z.scores = dict(pairs)
        z.order = sorted((s, m) for m, s in z.scores.items())
        return z
