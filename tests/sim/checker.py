"""Checker: the safety invariants, checked as the simulation runs.

* Election safety: at most one leader per term.
* Log matching: an entry is identified by (index, term); every copy of it anywhere must
  have the same type, data and predecessor term (by induction: identical prefixes).
* Leader completeness: a new leader of term T has every entry committed before T.
* State machine safety: every node applies the same entry at each index, in order, and a
  snapshot restores exactly the state other nodes had at its index.
* Commit indexes of a live node never go backwards.
* A leader moves its commit index only to an entry of its own term (Raft 5.4.2): older
  entries commit along with it, never by counting their replicas (figure 8).
* Linearizable reads: a read index is at least the commit index known when the read was asked.
* Read leases (when modelled, ``lease_steps``): while a leader may serve reads under the lease
  a read round gave it (server/node.py, --lease-reads: from the step the round was asked, for
  half the least time a follower that answered it refuses other candidates), no node leads a
  later term; and a node that a leader reached helps elect no other candidate (grants no
  vote or pre-vote, a leadership transfer's aside) for election_tick - 1 ticks, the promise
  those leases rest on.
* Every proposal reported committed (applied anywhere) is in the final log (simulator.py).
"""

from __future__ import annotations

import zlib

from consensus.messages import CAMPAIGN_TRANSFER, Entry, Message, MessageType, ReadState, Role

MT = MessageType
_FROM_LEADER = (MT.APPEND, MT.HEARTBEAT, MT.INSTALL_SNAPSHOT)


class SimViolation(AssertionError):
    pass


def chain_hash(h: int, e: Entry) -> int:
    return zlib.crc32(e.data, zlib.crc32(b"%d:%d:%d" % (e.index, e.term, e.type), h))


class Checker:
    def __init__(self) -> None:
        self.leaders: dict[int, int] = {}  # term -> leader id
        self._leader_commit: dict[int, int] = {}  # node id -> term it was last seen leading
        self.check_commit_rule = True
        self._entries: dict[tuple[int, int], tuple] = {}  # (index, term) -> (type, data, prev term)
        self.applied: list[tuple | None] = [None]  # index -> (term, type, data), first node to apply
        self.hashes: list[int] = [0]  # index -> state hash after applying it
        self.commit_terms: list[int] = [0]  # index -> term of the committed entry (0: unknown)
        self.commit_seen_in: list[int] = [0]  # index -> term of the node that first saw it committed
        self.commit_high = 0
        self.acked: dict[bytes, int] = {}  # proposal payload -> index where it was applied
        self._reads: dict[object, int] = {}
        self._votes: dict[tuple[int, int], int] = {}  # (node id, term) -> durable vote
        self.reads_served = 0
        self.now = 0
        # Read leases: modelled when set (steps a lease lasts); read token -> step asked;
        # node id -> (term, step its lease ends, membership it was taken under).
        self.lease_steps: int | None = None
        self._asked: dict[object, int] = {}
        self.leases: dict[int, tuple] = {}
        self._heard: dict[int, tuple[int, int]] = {}  # node id -> (step a leader reached it, leader)
        self._transfers: set[tuple[int, int]] = set()  # (candidate, term) campaigning by transfer

    def fail(self, what: str) -> None:
        raise SimViolation(f"step {self.now}: {what}")

    # --- elections ---------------------------------------------------------------------

    def on_leader(self, node) -> None:
        known = self.leaders.get(node.term)
        if known is None:
            self.leaders[node.term] = node.id
            self._check_leader_completeness(node)
        elif known != node.id:
            self.fail(f"two leaders in term {node.term}: {known} and {node.id}")

    def on_durable_vote(self, node_id: int, term: int, vote: int) -> None:
        """One vote per node per term, across restarts: a durable vote never changes to
        another candidate in the same term."""
        if not vote:
            return
        known = self._votes.setdefault((node_id, term), vote)
        if known != vote:
            self.fail(f"node {node_id} voted for {known} and then for {vote} in term {term}")

    def on_leader_commit(self, node, previous_commit: int) -> None:
        if not self.check_commit_rule:
            return
        if self._leader_commit.get(node.id) != node.term:
            # Elected since the last check: the commit index it came in with is not its own.
            self._leader_commit[node.id] = node.term
            return
        if node.commit > previous_commit and node.log.term_at(node.commit) != node.term:
            self.fail(f"leader {node.id} of term {node.term} committed {node.commit} by counting an entry "
                      f"of term {node.log.term_at(node.commit)}")

    def _check_leader_completeness(self, node) -> None:
        log = node.log
        lo = max(1, log.snapshot_index + 1)
        for i in range(lo, self.commit_high + 1):
            t = self.commit_terms[i]
            if t and self.commit_seen_in[i] < node.term and log.term_at(i) != t:
                self.fail(
                    f"leader completeness: node {node.id} leads term {node.term} without committed "
                    f"entry {i} (term {t}); it has term {log.term_at(i)}"
                )

    # --- logs --------------------------------------------------------------------------

    def on_entries(self, node, entries: tuple[Entry, ...], prev: int | None = None) -> None:
        """Entries that became durable on ``node``; ``prev`` is the term of the entry before
        them in its log when they were handed out. (Entries that were never durable do not
        count: a leader whose new term was lost in a crash never sent them, and may reuse
        that term after restarting.)"""
        if not entries:
            return
        table = self._entries
        for e in entries:
            key = (e.index, e.term)
            got = table.get(key)
            if got is None:
                table[key] = (e.type, e.data, prev)
            elif got[0] != e.type or got[1] != e.data or (prev is not None and got[2] is not None and got[2] != prev):
                self.fail(f"log matching: node {node.id} has a different entry {key}: {got} vs {(e.type, e.data, prev)}")
            prev = e.term

    def record_commits(self, node) -> None:
        c = node.commit
        if c <= self.commit_high:
            return
        log = node.log
        for i in range(self.commit_high + 1, c + 1):
            self.commit_terms.append(log.term_at(i) or 0)
            self.commit_seen_in.append(node.term)
        self.commit_high = c

    # --- state machines ----------------------------------------------------------------

    def on_apply(self, sim_node, e: Entry) -> None:
        if e.index != sim_node.applied + 1:
            self.fail(f"node {sim_node.id} applied {e.index} after {sim_node.applied}")
        h = chain_hash(sim_node.hash, e)
        rec = (e.term, e.type, e.data)
        if e.index < len(self.applied):
            if self.applied[e.index] != rec:
                self.fail(f"state machine safety: node {sim_node.id} applied {rec} at {e.index}, "
                          f"another node applied {self.applied[e.index]}")
        elif e.index == len(self.applied):
            self.applied.append(rec)
            self.hashes.append(h)
        else:
            self.fail(f"node {sim_node.id} applied {e.index} beyond anything known")
        sim_node.applied = e.index
        sim_node.hash = h
        if e.data:
            prev = self.acked.setdefault(e.data, e.index)
            if prev != e.index:
                self.fail(f"payload {e.data!r} applied at {prev} and {e.index}")

    def on_restore(self, sim_node, index: int, h: int) -> None:
        if index >= len(self.hashes) or self.hashes[index] != h:
            self.fail(f"node {sim_node.id} restored a snapshot at {index} that matches no applied state")
        sim_node.applied = index
        sim_node.hash = h

    # --- reads -------------------------------------------------------------------------

    def on_read_request(self, token: object) -> None:
        self._reads[token] = self.commit_high
        if self.lease_steps is not None:
            self._asked[token] = self.now

    def on_read_state(self, node_id: int, rs: ReadState) -> None:
        need = self._reads.pop(rs.token, None)
        if need is None:
            self.fail(f"node {node_id}: read state for unknown or repeated token {rs.token!r}")
        if rs.index < need:
            self.fail(f"stale read: node {node_id} got read index {rs.index} for a read asked when "
                      f"{need} was already committed")
        self.reads_served += 1

    # --- read leases -------------------------------------------------------------------

    def on_lease_round(self, node, rs: ReadState) -> None:
        """A read round came back on ``node``: as a leader with --lease-reads, it now holds a
        lease from the step the round was asked (server/node.py ``_read_at``)."""
        asked = self._asked.pop(rs.token, None)
        if self.lease_steps is None or asked is None or node.role != Role.LEADER or node.handing_over:
            return
        until = asked + self.lease_steps
        held = self.leases.get(node.id)
        if held is None or held[0] != node.term or held[1] < until:
            self.leases[node.id] = (node.term, until, node.membership)

    def check_leases(self, nodes: dict) -> None:
        """No node leads a later term while a leader may still serve reads under its lease.
        A lease ends when its time is up, or when its holder stops leading that term, starts
        a leadership transfer or sees its membership change (as the server's does)."""
        for nid, (term, until, membership) in list(self.leases.items()):
            holder = nodes.get(nid)
            if (self.now >= until or holder is None or holder.role != Role.LEADER or holder.term != term
                    or holder.handing_over or holder.membership != membership):
                del self.leases[nid]
                continue
            for other in nodes.values():
                if other is not None and other.role == Role.LEADER and other.term > term:
                    self.fail(f"read lease: node {other.id} leads term {other.term} while node {nid} "
                              f"may serve reads of term {term} under its lease until step {until}")

    def before_step(self, node, m: Message) -> tuple | None:
        """``node`` is about to step ``m``: for a vote request, what to judge its answer by."""
        if m.type != MT.VOTE and m.type != MT.PRE_VOTE:
            return None
        if m.context == CAMPAIGN_TRANSFER:
            self._transfers.add((m.from_, m.term))
        return self._heard.get(node.id), len(node._msgs), len(node._msgs_after_persist)

    def after_step(self, node, m: Message, before: tuple | None) -> None:
        """``node`` has just stepped ``m``: a leader reached it, or it answered a vote request
        (judged by what it had heard when the request came)."""
        if m.type in _FROM_LEADER:
            if node.leader_id == m.from_ and node.term == m.term:
                self._heard[node.id] = (self.now, m.from_)
            return
        if before is None:
            return
        heard, n_msgs, n_after = before
        if heard is None or heard[1] == m.from_ or (m.from_, m.term) in self._transfers:
            return
        if self.now - heard[0] >= 2 * self.lease_steps:  # type: ignore[operator]
            return
        for r in (*node._msgs[n_msgs:], *node._msgs_after_persist[n_after:]):
            if r.to == m.from_ and (r.type == MT.VOTE_RESP or r.type == MT.PRE_VOTE_RESP) and not r.reject:
                self.fail(f"vote promise: node {node.id} granted {r.type.name} for term {r.term} to node {m.from_} "
                          f"{self.now - heard[0]} steps after leader {heard[1]} reached it")
