"""A follower's promise to its leader outlives a higher term it learns from a message that is
not a leader's.

Read leases (server/node.py, --lease-reads) rest on check quorum's stickiness: a follower that
acknowledged leader L's heartbeat helps elect nobody else for an election timeout. The promise
was kept in ``leader_id`` and ``election_elapsed``, which any higher-term message resets: a
late PRE_VOTE_RESP rejection made the follower ``_become_follower(term, 0)`` and grant votes
at once, so a newer leader could commit while L still served reads under its lease. Now the
ticks since a leader last reached the node are counted apart, and no term change resets them.

Scenario, 3 voters, L=1 (leader, term 2), F=2, X=3, election_tick=10, lockstep ticks:
  1. L<->X cut for good; L->F messages lost for a while, so F stops hearing from L.
  2. Round 11: F times out, becomes a pre-candidate and sends PRE_VOTE(3) to X; that message
     is delayed in the network.
  3. Round 12: X times out; F (a pre-candidate, no leader) grants X's PRE_VOTE(3); X becomes a
     candidate in term 3; its VOTE(3) to F is lost.
  4. Rounds 13-27: L->F works again; F follows L in term 2 and acknowledges every heartbeat.
     At round 27 L runs a read round that F acknowledges: L's lease runs from round 27 for
     (election_tick - 1) / 2 = 4.5 ticks (Config.read_lease_seconds).
  5. Still round 27: F's delayed PRE_VOTE(3) reaches X, a candidate in term 3, which rejects
     it with term 3. F steps to term 3 with no leader. (L->F is lost from now on, so L does
     not hear of term 3.)
  6. Before the fix, round 31: X's election timer fired, F granted PRE_VOTE(4) and VOTE(4)
     4 ticks after it acknowledged L, X led term 4 and committed a write inside L's lease
     (until round 31.5), and a lease read on L returned the value before it. Now F helps
     elect nobody (itself included) until an election timeout after round 27; a newer
     leader commits only then.
"""

import random

from consensus import Config, Membership, MessageType, RaftNode, Role

MT = MessageType
THREE = Membership(frozenset({1, 2, 3}), frozenset(), {1: "a", 2: "b", 3: "c"})
E = 10  # election ticks; heartbeat every tick
LEASE_TICKS = (E - 1) / 2  # server/config.py read_lease_seconds, in ticks


class Net:
    def __init__(self) -> None:
        self.nodes = {i: RaftNode(Config(id=i, election_tick=E, heartbeat_tick=1), random.Random(i),
                                  bootstrap_membership=THREE) for i in (1, 2, 3)}
        self.queue: list = []
        self.held: list = []
        self.read_states: list = []

    def drive(self) -> None:
        for nid, n in self.nodes.items():
            while n.has_ready():
                rd = n.ready()
                self.queue += list(rd.messages) + list(rd.persisted_messages)
                if nid == 1:
                    self.read_states += list(rd.read_states)
                n.advance(rd)

    def deliver(self, drop=lambda m: False, hold=lambda m: False) -> None:
        while self.queue:
            msgs, self.queue = self.queue, []
            for m in msgs:
                if hold(m):
                    self.held.append(m)
                elif not drop(m):
                    self.nodes[m.to].step(m)
            self.drive()

    def release_held(self) -> None:
        self.queue += self.held
        self.held = []


def test_stale_prevote_reject_does_not_end_the_promise_to_the_leader():
    net = Net()
    L, F, X = net.nodes[1], net.nodes[2], net.nodes[3]
    net.drive()
    L.campaign()
    net.drive()
    net.deliver()
    assert L.role == Role.LEADER and L.term == 2
    L.propose([b"old"])
    net.drive()
    net.deliver()
    assert L.commit == F.commit == X.commit

    lease_start = None
    x_commit_round = None
    for rnd in range(1, 80):
        for n in net.nodes.values():
            n.tick()
        net.drive()
        if rnd == 27:
            L.read_index("lease-round")  # the round that (re)grants L's lease (on_read_states)
            net.drive()

        def drop(m, rnd=rnd):
            if {m.from_, m.to} == {1, 3}:
                return True  # L and X never hear each other
            if (m.from_, m.to) == (1, 2) and (rnd <= 12 or rnd >= 28):
                return True  # L -> F lost in these rounds
            return (m.from_, m.to) == (3, 2) and m.type == MT.VOTE and m.term == 3  # lost

        def hold(m):
            return (m.from_, m.to) == (2, 3) and m.type == MT.PRE_VOTE and m.term == 3

        net.deliver(drop, hold)
        if rnd == 12:
            assert X.role == Role.CANDIDATE and X.term == 3
        if rnd == 27:
            assert [rs.token for rs in net.read_states] == ["lease-round"]  # F acknowledged
            assert F.role == Role.FOLLOWER and F.leader_id == 1 and F.term == 2
            lease_start = rnd
            stale_index = net.read_states[0].index
            net.release_held()  # F's old PRE_VOTE(3) finally reaches X, which rejects it in term 3
            net.deliver(drop)
            assert F.term == 3 and F.leader_id == 0
        new = next((n for n in (F, X) if n.role == Role.LEADER), None)
        if new is not None and new.commit >= new.log.last_index:
            assert type(new.propose([b"new"])).__name__ == "Accepted"
            net.drive()
            net.deliver(drop)
            if new.commit == new.log.last_index:
                x_commit_round = rnd
                break

    assert x_commit_round is not None, "no newer leader ever committed"
    assert new is not None and new.term > 2 and new.commit > stale_index
    # No newer leader commits while L's lease holds, nor before F's promise (an election
    # timeout from its acknowledgement) has run out; but X does get elected after that.
    assert x_commit_round - lease_start >= E, (
        f"F acknowledged L's read round at tick {lease_start}; node {new.id} committed in term {new.term} "
        f"{x_commit_round - lease_start} ticks later, while L could still hold its {LEASE_TICKS}-tick lease "
        f"and serve reads at index {stale_index} < {new.commit}")
