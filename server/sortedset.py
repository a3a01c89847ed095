"""``ZSet``: the sorted-set value.

Two views of the same members, kept in step by every method here:

- ``scores``: member -> score (a dict, so membership and ZSCORE are O(1));
- ``order``: ``(score, member)`` tuples sorted ascending (``SortedPairs``), Redis's order
  (score, then member bytes compared like ``memcmp``).  Python compares the tuples exactly
  that way, so ``bisect`` finds ranks and score bounds in O(log n); inserts and deletes touch
  one bucket of a few hundred items.

Invariants: ``len(scores) == len(order)``; ``(scores[m], m)`` is in ``order`` for every
member; no score is NaN.

``compact`` mirrors Redis's listpack encoding (at most 128 members of at most 64 bytes; a
set that outgrows it never goes back, as in Redis).  It matters for replies: a listpack
stores a score as text, which turns ``-0`` into ``0``; ZSCAN returns a listpack whole; and a
lex range over members with mixed scores is found by a linear walk.  Store commands
(ZUNIONSTORE, ...) call ``shrink_if_fits`` like Redis's ``zsetConvertToListpackIfNeeded``.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator

__all__ = ["LISTPACK_ENTRIES", "LISTPACK_VALUE", "SortedPairs", "ZSet"]

# Redis 7.0's zset-max-listpack-entries / zset-max-listpack-value defaults.
LISTPACK_ENTRIES = 128
LISTPACK_VALUE = 64


def _score_of(item: tuple[float, bytes]) -> float:
    return item[0]


class SortedPairs:
    """``(score, member)`` tuples in ascending order, kept as a list of sorted buckets of at
    most ``2 * LOAD`` items with each bucket's last item in ``maxes`` (the layout of
    sortedcontainers' ``SortedList``).  Finding a position is two bisects, and an insert or
    delete moves at most one bucket's tail instead of the whole list's.  Ranks use the
    buckets' start offsets, rebuilt lazily (O(n / LOAD)) after a change.

    Invariants: no bucket is empty; ``maxes[i] == buckets[i][-1]``; every item of bucket i is
    below every item of bucket i + 1; ``size`` is the total count.
    """

    __slots__ = ("buckets", "maxes", "size", "_offsets")

    LOAD = 256

    def __init__(self, items: Iterable[tuple[float, bytes]] = ()) -> None:
        """``items`` must already be sorted."""
        self._fill(list(items))

    def _fill(self, flat: list[tuple[float, bytes]]) -> None:
        step = self.LOAD
        self.buckets: list[list[tuple[float, bytes]]] = [
            flat[i : i + step] for i in range(0, len(flat), step)
        ]
        self.maxes: list[tuple[float, bytes]] = [b[-1] for b in self.buckets]
        self.size = len(flat)
        self._offsets: list[int] | None = None

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        return itertools.chain.from_iterable(self.buckets)

    def __reversed__(self) -> Iterator[tuple[float, bytes]]:
        return itertools.chain.from_iterable(reversed(b) for b in reversed(self.buckets))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SortedPairs | list):
            return len(other) == self.size and list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"SortedPairs({list(self)!r})"

    def _starts(self) -> list[int]:
        offsets = self._offsets
        if offsets is None:
            offsets = [0]
            offsets.extend(itertools.accumulate(map(len, self.buckets)))
            self._offsets = offsets
        return offsets

    def _locate(self, index: int) -> tuple[int, int]:
        starts = self._starts()
        pos = bisect_right(starts, index) - 1
        return pos, index - starts[pos]

    def __getitem__(self, index: int) -> tuple[float, bytes]:
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError("SortedPairs index out of range")
        pos, idx = self._locate(index)
        return self.buckets[pos][idx]

    def range(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        """The items at positions ``start <= i < stop`` (clamped), as a list."""
        start = max(start, 0)
        stop = min(stop, self.size)
        if start >= stop:
            return []
        pos, idx = self._locate(start)
        out: list[tuple[float, bytes]] = []
        want = stop - start
        buckets = self.buckets
        while len(out) < want:
            bucket = buckets[pos]
            out.extend(bucket[idx : idx + want - len(out)])
            pos += 1
            idx = 0
        return out

    def add(self, item: tuple[float, bytes]) -> None:
        self._offsets = None
        self.size += 1
        maxes = self.maxes
        if not maxes:
            self.buckets.append([item])
            maxes.append(item)
            return
        pos = bisect_right(maxes, item)
        if pos == len(maxes):
            pos -= 1
            self.buckets[pos].append(item)
            maxes[pos] = item
        else:
            insort(self.buckets[pos], item)
        bucket = self.buckets[pos]
        if len(bucket) > 2 * self.LOAD:
            half = bucket[self.LOAD :]
            del bucket[self.LOAD :]
            self.buckets.insert(pos + 1, half)
            maxes[pos] = bucket[-1]
            maxes.insert(pos + 1, half[-1])

    def _drop(self, pos: int, idx: int) -> tuple[float, bytes]:
        self._offsets = None
        self.size -= 1
        bucket = self.buckets[pos]
        item = bucket.pop(idx)
        if bucket:
            self.maxes[pos] = bucket[-1]
        else:
            del self.buckets[pos]
            del self.maxes[pos]
        return item

    def remove(self, item: tuple[float, bytes]) -> None:
        pos = bisect_left(self.maxes, item)
        bucket = self.buckets[pos]
        idx = bisect_left(bucket, item)
        if bucket[idx] != item:
            raise ValueError("item not present")
        self._drop(pos, idx)

    def pop(self, index: int = -1) -> tuple[float, bytes]:
        if not self.size:
            raise IndexError("pop from empty SortedPairs")
        if index == 0:
            return self._drop(0, 0)
        if index == -1:
            return self._drop(len(self.buckets) - 1, len(self.buckets[-1]) - 1)
        if index < 0:
            index += self.size
        return self._drop(*self._locate(index))

    def delete_range(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        """Remove and return the items at positions ``start <= i < stop``."""
        gone = self.range(start, stop)
        if len(gone) * 8 > self.size:
            rest = self.range(0, start) + self.range(stop, self.size)
            self._fill(rest)
        else:
            for item in gone:
                self.remove(item)
        return gone

    def index(self, item: tuple[float, bytes]) -> int:
        """Position of ``item``, which must be present."""
        pos = bisect_left(self.maxes, item)
        return self._starts()[pos] + bisect_left(self.buckets[pos], item)

    def bisect_score(self, score: float, right: bool) -> int:
        """Position of the first item whose score is >= ``score`` (> when ``right``)."""
        find = bisect_right if right else bisect_left
        pos = find(self.maxes, score, key=_score_of)
        if pos == len(self.maxes):
            return self.size
        return self._starts()[pos] + find(self.buckets[pos], score, key=_score_of)


class ZSet:
    __slots__ = ("scores", "order", "compact")

    def __init__(self, compact: bool = True) -> None:
        self.scores: dict[bytes, float] = {}
        self.order = SortedPairs()
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
        self.order.add((score, member))
        return score

    def update(self, member: bytes, score: float) -> None:
        """Change a present member's score (the caller has checked it differs)."""
        old = self.scores[member]
        if self.compact and score == 0.0:
            score = 0.0
        self.order.remove((old, member))
        self.scores[member] = score
        self.order.add((score, member))

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        return True

    def delete_range(self, start: int, stop: int) -> int:
        """Remove the members at ranks ``start <= r < stop``; returns how many."""
        gone = self.order.delete_range(start, stop)
        scores = self.scores
        for _, member in gone:
            del scores[member]
        return len(gone)

    def pop(self, from_max: bool) -> tuple[bytes, float]:
        score, member = self.order.pop(-1 if from_max else 0)
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
            pairs = [(0.0 if s == 0.0 else s, m) for s, m in self.order]
            self.order = SortedPairs(pairs)
            self.scores = {m: s for s, m in pairs}

    # --- lookups -------------------------------------------------------------------------------
    def rank(self, member: bytes) -> int | None:
        score = self.scores.get(member)
        if score is None:
            return None
        return self.order.index((score, member))

    def score_start(self, low: float, exclusive: bool) -> int:
        """Rank of the first member whose score is >= ``low`` (> when exclusive)."""
        return self.order.bisect_score(low, exclusive)

    def score_stop(self, high: float, exclusive: bool) -> int:
        """One past the rank of the last member whose score is <= ``high`` (< when exclusive)."""
        return self.order.bisect_score(high, not exclusive)

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
        z.order = SortedPairs(self.order)
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
        z.order = SortedPairs(pairs)
        z.scores = {m: s for s, m in pairs}
        return z

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[bytes, float]], compact: bool) -> ZSet:
        """A set from distinct (member, score) pairs, in any order."""
        z = cls(compact)
        z.scores = dict(pairs)
        z.order = SortedPairs(sorted((s, m) for m, s in z.scores.items()))
        return z
