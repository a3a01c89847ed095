"""Majority quorums over a single voter set.

Membership changes add or remove one server at a time, so any two successive voter sets
share a majority and no joint configuration is needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum


class VoteResult(IntEnum):
    PENDING = 0
    LOST = 1
    WON = 2


def majority(n: int) -> int:
    return n // 2 + 1


def committed_index(voters: Iterable[int], match: Mapping[int, int]) -> int:
    """The largest index a majority of ``voters`` have (0 for an empty voter set).

    A voter missing from ``match`` counts as having nothing.
    """
    acked = sorted((match.get(v, 0) for v in voters), reverse=True)
    if not acked:
        return 0
    return acked[majority(len(acked)) - 1]


def vote_result(voters: Iterable[int], votes: Mapping[int, bool]) -> VoteResult:
    """Granted/rejected votes of voters only; others' answers do not count."""
    granted = rejected = n = 0
    for v in voters:
        n += 1
        got = votes.get(v)
        if got is True:
            granted += 1
        elif got is False:
            rejected += 1
    if n == 0:
        return VoteResult.LOST
    q = majority(n)
    if granted >= q:
        return VoteResult.WON
    if rejected > n - q:
        return VoteResult.LOST
    return VoteResult.PENDING


def has_quorum(voters: Iterable[int], active: Iterable[int]) -> bool:
    """Do the ``active`` ids include a majority of ``voters``?"""
    vs = set(voters)
    if not vs:
        return False
    return len(vs.intersection(active)) >= majority(len(vs))
