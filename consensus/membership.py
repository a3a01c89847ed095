"""Applying single-server membership changes.

A change takes effect on every node as soon as its entry is appended to that node's log
(not when it commits), and is undone if the entry is truncated away. ``MembershipHistory``
keeps the membership as of the snapshot plus one version per conf-change entry still in
the log, so truncation and compaction can find the right version without rescanning.
"""

from __future__ import annotations

from .messages import ConfChange, ConfChangeOp, Membership


def apply_conf_change(m: Membership, cc: ConfChange) -> Membership:
    """The membership after ``cc``. Changes that do not fit (promote a non-learner, add an
    existing member) leave it as it is: every node must reach the same result from the
    same log, so invalid entries are no-ops rather than errors."""
    nid = cc.node_id
    if cc.op == ConfChangeOp.ADD_LEARNER:
        if nid in m.voters or nid in m.learners:
            return m
        addresses = dict(m.addresses)
        addresses[nid] = cc.address
        return Membership(m.voters, m.learners | {nid}, addresses)
    if cc.op == ConfChangeOp.PROMOTE:
        if nid not in m.learners:
            return m
        addresses = m.addresses
        if cc.address:
            addresses = dict(addresses)
            addresses[nid] = cc.address
        return Membership(m.voters | {nid}, m.learners - {nid}, addresses)
    if cc.op == ConfChangeOp.REMOVE:
        if nid not in m.voters and nid not in m.learners:
            return m
        addresses = dict(m.addresses)
        addresses.pop(nid, None)
        return Membership(m.voters - {nid}, m.learners - {nid}, addresses)
    raise ValueError(f"unknown conf change op {cc.op!r}")


def validate_conf_change(m: Membership, cc: ConfChange) -> str | None:
    """Why the leader should refuse ``cc`` against membership ``m``; None if it is fine."""
    nid = cc.node_id
    if nid <= 0:
        return "node ids are >= 1"
    if cc.op == ConfChangeOp.ADD_LEARNER:
        if nid in m:
            return f"node {nid} is already a member"
    elif cc.op == ConfChangeOp.PROMOTE:
        if nid not in m.learners:
            return f"node {nid} is not a learner"
    elif cc.op == ConfChangeOp.REMOVE:
        if nid not in m:
            return f"node {nid} is not a member"
        if m.voters == {nid}:
            return "cannot remove the last voter"
    else:
        return f"unknown op {cc.op!r}"
    return None


class MembershipHistory:
    """The membership at the snapshot, then one (index, membership) per conf entry after it."""

    __slots__ = ("base_index", "base", "_changes")

    def __init__(self, base_index: int, base: Membership):
        self.base_index = base_index
        self.base = base
        self._changes: list[tuple[int, Membership]] = []

    @property
    def current(self) -> Membership:
        return self._changes[-1][1] if self._changes else self.base

    @property
    def last_change_index(self) -> int:
        return self._changes[-1][0] if self._changes else 0

    def append(self, index: int, cc: ConfChange) -> None:
        self._changes.append((index, apply_conf_change(self.current, cc)))

    def truncate(self, from_index: int) -> bool:
        """Forget changes at or after ``from_index``. True when the membership changed."""
        changed = False
        while self._changes and self._changes[-1][0] >= from_index:
            self._changes.pop()
            changed = True
        return changed

    def at(self, index: int) -> Membership:
        m = self.base
        for i, mm in self._changes:
            if i > index:
                break
            m = mm
        return m

    def compact(self, index: int, membership: Membership) -> None:
        self._changes = [(i, m) for i, m in self._changes if i > index]
        self.base_index = index
        self.base = membership

    def reset(self, index: int, membership: Membership) -> None:
        self._changes = []
        self.base_index = index
        self.base = membership
