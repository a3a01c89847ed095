"""``pqsort``: Redis's partial quicksort (pqsort.c, NetBSD's Bentley-McIlroy qsort that skips
the partitions outside a range of ranks), step for step.

Redis uses it where a command wants only the first N of a sorted result (GEORADIUS and
GEOSEARCH with COUNT).  Elements that compare equal end up in an order only this exact
sequence of swaps gives, so it is ported as it is rather than replaced by a stable sort.
Positions are list indexes here where the C code has byte pointers; every swap moves whole
elements, as it does there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["pqsort"]

Cmp = Callable[[Any, Any], int]


def pqsort(items: list[Any], cmp: Cmp, lrange: int, rrange: int) -> None:
    """Sort ``items`` in place enough that ranks ``lrange..rrange`` (inclusive) hold what a
    full sort by ``cmp`` would put there, in the order Redis's pqsort leaves them."""
    _pqsort(items, 0, len(items), cmp, lrange, rrange)


def _med3(x: list[Any], a: int, b: int, c: int, cmp: Cmp) -> int:
    if cmp(x[a], x[b]) < 0:
        if cmp(x[b], x[c]) < 0:
            return b
        return c if cmp(x[a], x[c]) < 0 else a
    if cmp(x[b], x[c]) > 0:
        return b
    return a if cmp(x[a], x[c]) < 0 else c


def _vecswap(x: list[Any], a: int, b: int, n: int) -> None:
    for i in range(n):
        x[a + i], x[b + i] = x[b + i], x[a + i]


def _outside(start: int, count: int, lrange: int, rrange: int) -> bool:
    """Whether ranks ``start .. start+count-1`` miss the wanted range entirely."""
    end = start + count
    return (lrange < start and rrange < start) or (lrange >= end and rrange >= end)


def _pqsort(x: list[Any], a: int, n: int, cmp: Cmp, lrange: int, rrange: int) -> None:
    while True:
        if n < 7:  # insertion sort
            for pm in range(a + 1, a + n):
                pl = pm
                while pl > a and cmp(x[pl - 1], x[pl]) > 0:
                    x[pl], x[pl - 1] = x[pl - 1], x[pl]
                    pl -= 1
            return
        pm = a + n // 2
        if n > 7:
            pl = a
            pn = a + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(x, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(x, pm - d, pm, pm + d, cmp)
                pn = _med3(x, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(x, pl, pm, pn, cmp)
        x[a], x[pm] = x[pm], x[a]
        pa = pb = a + 1
        pc = pd = a + n - 1
        while True:
            while pb <= pc:
                r = cmp(x[pb], x[a])
                if r > 0:
                    break
                if r == 0:
                    x[pa], x[pb] = x[pb], x[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                r = cmp(x[pc], x[a])
                if r < 0:
                    break
                if r == 0:
                    x[pc], x[pd] = x[pd], x[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            x[pb], x[pc] = x[pc], x[pb]
            pb += 1
            pc -= 1

        pn = a + n
        r = min(pa - a, pb - pa)
        _vecswap(x, a, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(x, pb, pn - r, r)
        r = pb - pa
        if r > 1 and not _outside(a, r, lrange, rrange):
            _pqsort(x, a, r, cmp, lrange, rrange)
        r = pd - pc
        if r > 1:
            # Iterate rather than recurse (as the C code does, to save stack).
            a = pn - r
            n = r
            if not _outside(a, n, lrange, rrange):
                continue
        return
