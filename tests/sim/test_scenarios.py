"""Scripted Raft scenarios on the simulated cluster, each asserting its outcome.

Where a scenario exists to show that a rule matters, it is also run against a core that
breaks the rule (tests/sim/broken.py) and must then end in a reported violation.
"""

from __future__ import annotations

import random

import pytest

from consensus.messages import Accepted, ConfChange, ConfChangeOp, Dropped, Role
from consensus.node import RaftNode

from .broken import CommitOldTermEntries, ConfChangeBeforeOwnCommit, ReadWithoutHeartbeat
from .checker import SimViolation
from .cluster import SimCluster
from .network import SimNetwork

MANUAL = dict(pre_vote=False, check_quorum=False)


def make(voters: int = 3, *, learners: int = 0, node_cls: type[RaftNode] = RaftNode, ticking: bool = True,
         seed: int = 7, **config) -> SimCluster:
    rng = random.Random(seed)
    return SimCluster(rng, voters=voters, learners=learners, node_cls=node_cls, config=config,
                      net=SimNetwork(rng, min_delay=1, max_delay=1), ticking=ticking)


def elect(cl: SimCluster, nid: int, tries: int = 6) -> RaftNode:
    """Make ``nid`` campaign (again, after a lost election) until it leads."""
    for _ in range(tries):
        cl.node(nid).campaign()
        if cl.run_until(lambda: cl.node(nid).role in (Role.LEADER, Role.FOLLOWER), 30) and \
                cl.node(nid).role == Role.LEADER:
            return cl.node(nid)
    raise AssertionError(f"node {nid} did not win an election")


def settle(cl: SimCluster, steps: int = 20) -> None:
    cl.run(steps)


def wait_leader(cl: SimCluster, max_steps: int = 2000) -> RaftNode:
    assert cl.run_until(lambda: cl.leader() is not None, max_steps), "no leader elected"
    lead = cl.leader()
    assert lead is not None
    return lead


def all_applied(cl: SimCluster, ids, index: int) -> bool:
    return all(cl.nodes[i].node is not None and cl.nodes[i].applied >= index for i in ids)


# --- figure 8 of the Raft paper ----------------------------------------------------------


def figure8(node_cls: type[RaftNode]) -> tuple[SimCluster, int, bool]:
    """Returns the cluster, the contested index, and whether S1 counted it as committed."""
    cl = make(5, node_cls=node_cls, ticking=False, max_size_per_msg=1, **MANUAL)
    # Check the outcome, not the rule: a broken core must lose a committed entry.
    cl.checker.check_commit_rule = False
    s1 = elect(cl, 1)
    settle(cl)
    base = s1.log.last_index
    assert all_applied(cl, range(1, 6), base)
    # (a) S1 (term 2) replicates an entry only to S2.
    cl.net.partition({1, 2}, {3, 4, 5})
    assert isinstance(s1.propose([b"from-term-2"]), Accepted)
    settle(cl)
    contested = base + 1
    assert cl.node(2).log.term_at(contested) == s1.term
    # (b) S1 crashes; S5 wins with S3 and S4 and writes its own entry at that index, alone.
    cl.crash(1)
    s5 = elect(cl, 5)
    cl.net.isolate(5, range(1, 6))
    s5.propose([b"from-term-3"])
    settle(cl)
    assert s5.log.term_at(contested) == s5.term
    cl.crash(5)
    # (c) S1 comes back and wins with S2 and S3; it gets its old entry onto S3 (a majority).
    cl.net.heal()
    cl.net.partition({1, 2, 3}, {4}, {5})
    cl.restart(1)
    s1 = elect(cl, 1)
    assert cl.run_until(lambda: cl.node(1).progress[3].match >= contested, 40)
    assert cl.node(3).log.term_at(contested) == cl.node(1).log.term_at(contested)
    counted = cl.node(1).commit >= contested
    # Before its own no-op spreads, S1 is cut off and crashes.
    cl.net.isolate(1, range(1, 6))
    cl.crash(1)
    # (d) S5 returns and wins with S2, S3, S4: it overwrites the contested index.
    cl.net.heal()
    cl.net.isolate(1, range(1, 6))
    cl.restart(5)
    s5 = elect(cl, 5)
    settle(cl, 40)
    for _ in range(3):
        # Heartbeats: an append the network reordered behind its successor is resent only
        # when a heartbeat answer shows the follower behind (as in etcd), and nothing ticks here.
        s5.tick()
        settle(cl, 10)
    return cl, contested, counted


def test_figure8_old_term_entry_is_not_committed_by_counting():
    cl, contested, counted = figure8(RaftNode)
    assert not counted
    s5 = cl.node(5)
    assert all_applied(cl, [2, 3, 4, 5], s5.commit) and s5.commit > contested
    # The entry that sat on a majority was overwritten, and nobody ever applied it.
    assert cl.checker.applied[contested][2] != b"from-term-2"
    assert b"from-term-2" not in cl.checker.acked


def test_figure8_commit_by_counting_is_caught():
    with pytest.raises(SimViolation, match="leader completeness|state machine safety"):
        figure8(CommitOldTermEntries)


# --- elections ---------------------------------------------------------------------------


def isolated_follower_rejoins(pre_vote: bool) -> tuple[int, int, int, int]:
    cl = make(3, pre_vote=pre_vote)
    lead = wait_leader(cl)
    cl.ticks(20)
    leader_id, term = lead.id, lead.term
    follower = next(i for i in (1, 2, 3) if i != leader_id)
    cl.net.isolate(follower, [1, 2, 3])
    cl.ticks(100)  # many election timeouts
    cl.net.heal()
    cl.ticks(50)
    now = cl.leader()
    assert now is not None
    return leader_id, term, now.id, now.term


def test_prevote_rejoining_node_does_not_depose_leader():
    leader_id, term, now_id, now_term = isolated_follower_rejoins(pre_vote=True)
    assert (now_id, now_term) == (leader_id, term)


def test_without_prevote_rejoining_node_disrupts():
    # The control for the test above: the same schedule without pre-vote bumps the term.
    _, term, _, now_term = isolated_follower_rejoins(pre_vote=False)
    assert now_term > term


def test_check_quorum_leader_cut_off_steps_down():
    cl = make(3)
    old = wait_leader(cl)
    cl.ticks(10)
    cl.net.isolate(old.id, [1, 2, 3])
    cl.ticks(3 * 10)
    assert old.role != Role.LEADER
    others = [i for i in (1, 2, 3) if i != old.id]
    assert cl.run_until(lambda: any(cl.node(i).role == Role.LEADER for i in others), 400)
    new = cl.leader()
    assert new is not None and new.id != old.id and new.term > old.term


def test_without_check_quorum_cut_off_leader_stays():
    cl = make(3, check_quorum=False)
    old = wait_leader(cl)
    cl.net.isolate(old.id, [1, 2, 3])
    cl.ticks(40)
    assert old.role == Role.LEADER


# --- membership ----------------------------------------------------------------------------


def test_removing_the_leader():
    cl = make(3)
    lead = wait_leader(cl)
    cl.ticks(5)
    old = lead.id
    res = lead.propose_conf_change(ConfChange(ConfChangeOp.REMOVE, old))
    assert isinstance(res, Accepted)
    # Still leading (and replicating) until the removal commits, but not counting itself.
    assert lead.role == Role.LEADER and old not in lead.membership.voters
    assert cl.run_until(lambda: cl.node(old).role != Role.LEADER, 200)
    assert cl.node(old).commit >= res.last_index
    new = wait_leader(cl, 400)
    assert new.id != old and old not in new.membership
    term = cl.node(old).term
    for i in range(5):
        assert isinstance(new.propose([b"after-%d" % i]), Accepted)
    idx = new.log.last_index
    rest = [i for i in (1, 2, 3) if i != old]
    assert cl.run_until(lambda: all_applied(cl, rest, idx), 200)
    cl.ticks(100)
    # The removed node never campaigns again.
    assert cl.node(old).role == Role.FOLLOWER and cl.node(old).term <= max(term, cl.leader().term)
    assert cl.leader().id == new.id


def test_adding_a_node_that_needs_a_snapshot():
    cl = make(3, snapshot_chunk_size=16, snapshot_window=2)
    lead = wait_leader(cl)
    for i in range(40):
        assert isinstance(lead.propose([b"v%d" % i]), Accepted)
    idx = lead.log.last_index
    assert cl.run_until(lambda: all_applied(cl, [1, 2, 3], idx), 300)
    for i in (1, 2, 3):
        assert cl.compact(i, pad=100)
    assert lead.log.first_index > 1
    sn = cl.new_node()
    res = cl.propose_conf_change(lead.id, ConfChangeOp.ADD_LEARNER, sn.id)
    assert isinstance(res, Accepted)
    assert cl.run_until(lambda: cl.nodes[sn.id].applied >= res.last_index, 400)
    newcomer = cl.node(sn.id)
    assert cl.snapshots_installed >= 1
    assert newcomer.log.snapshot_index >= idx
    assert sn.id in newcomer.membership.learners
    assert newcomer.membership.voters == lead.membership.voters
    # Promote it, and the cluster commits with it as a voter.
    res = cl.propose_conf_change(lead.id, ConfChangeOp.PROMOTE, sn.id)
    assert isinstance(res, Accepted)
    assert cl.run_until(lambda: all_applied(cl, [1, 2, 3, sn.id], res.last_index), 200)
    assert sn.id in newcomer.membership.voters


def test_one_membership_change_at_a_time_and_only_after_own_term_commit():
    cl = make(3, ticking=False, **MANUAL)
    lead = elect(cl, 1)
    # The no-op of this term has not committed yet.
    res = lead.propose_conf_change(ConfChange(ConfChangeOp.ADD_LEARNER, 9, "n9"))
    assert isinstance(res, Dropped)
    settle(cl)
    res = cl.propose_conf_change(1, ConfChangeOp.ADD_LEARNER, 9)
    assert isinstance(res, Accepted) and lead.pending_conf_change == res.last_index
    assert isinstance(cl.propose_conf_change(1, ConfChangeOp.ADD_LEARNER, 10), Dropped)
    settle(cl)
    assert lead.pending_conf_change == 0
    assert isinstance(cl.propose_conf_change(1, ConfChangeOp.ADD_LEARNER, 10), Accepted)


def single_server_change_bug(node_cls: type[RaftNode]) -> tuple[SimCluster, object]:
    """Ongaro's single-server membership change bug (raft-dev, 2015), with learners.

    C0 = voters {1,2,3,4} + learner 5. S1 appends C1 (promote 5) and reaches only S5. S2
    wins term 3 in C0 and, unless it must first commit its own no-op, appends C2 (remove
    S1), which {2,3} commit as a majority of C2 = {2,3,4}. S1 then wins in C1 with S4 and
    S5, whose logs are behind its own, and overwrites what {2,3} committed.
    """
    cl = make(4, learners=1, node_cls=node_cls, ticking=False, **MANUAL)
    s1 = elect(cl, 1)
    settle(cl)
    cl.net.partition({1, 5}, {2, 3, 4})
    assert isinstance(cl.propose_conf_change(1, ConfChangeOp.PROMOTE, 5), Accepted)
    settle(cl)
    assert 5 in cl.node(5).membership.voters and 5 not in cl.node(2).membership.voters
    cl.crash(1)
    s2 = elect(cl, 2)
    cl.net.isolate(4, range(1, 6))  # S4 voted for S2 but hears nothing more from it
    c2 = cl.propose_conf_change(2, ConfChangeOp.REMOVE, 1)
    settle(cl)
    cl.crash(2)
    cl.net.heal()
    cl.net.partition({1, 4, 5}, {2, 3})
    cl.restart(1)
    s1 = elect(cl, 1)
    settle(cl)
    assert s1.term > s2.term
    return cl, c2


def test_single_server_change_bug_is_prevented():
    cl, c2 = single_server_change_bug(RaftNode)
    assert isinstance(c2, Dropped)
    # S1 leads C1 and commits; nothing S2 did was ever committed, so nothing is lost.
    assert cl.node(1).commit == cl.node(1).log.last_index
    assert 5 in cl.node(1).membership.voters


def test_single_server_change_bug_without_the_fix_is_caught():
    with pytest.raises(SimViolation):
        single_server_change_bug(ConfChangeBeforeOwnCommit)


# --- leadership transfer -------------------------------------------------------------------


def test_transfer_to_a_lagging_node():
    cl = make(3)
    lead = wait_leader(cl)
    target = next(i for i in (1, 2, 3) if i != lead.id)
    cl.net.isolate(target, [1, 2, 3])
    for i in range(30):
        assert isinstance(lead.propose([b"t%d" % i]), Accepted)
    idx = lead.log.last_index
    cl.ticks(3)
    assert cl.node(target).log.last_index < idx
    cl.net.heal()
    assert lead.transfer_leadership(target)
    assert isinstance(lead.propose([b"refused"]), Dropped)
    assert cl.run_until(lambda: cl.node(target).role == Role.LEADER, 200)
    new = cl.node(target)
    assert new.term > lead.term - 1 and lead.role == Role.FOLLOWER
    assert new.log.last_index > idx
    assert isinstance(new.propose([b"after-transfer"]), Accepted)
    last = new.log.last_index
    assert cl.run_until(lambda: all_applied(cl, [1, 2, 3], last), 200)


def test_transfer_aborts_after_an_election_timeout():
    cl = make(3)
    lead = wait_leader(cl)
    target = next(i for i in (1, 2, 3) if i != lead.id)
    cl.net.isolate(target, [1, 2, 3])
    assert lead.transfer_leadership(target)
    assert isinstance(lead.propose([b"x"]), Dropped)
    cl.ticks(12)
    assert lead.role == Role.LEADER and lead.lead_transferee == 0
    assert isinstance(lead.propose([b"y"]), Accepted)


# --- ReadIndex -----------------------------------------------------------------------------


def deposed_leader_read(node_cls: type[RaftNode]) -> tuple[SimCluster, list]:
    # Without check-quorum the old leader never notices on its own: the worst case.
    cl = make(3, node_cls=node_cls, check_quorum=False)
    old = wait_leader(cl)
    cl.ticks(5)
    cl.net.isolate(old.id, [1, 2, 3])
    others = [i for i in (1, 2, 3) if i != old.id]
    assert cl.run_until(lambda: any(cl.node(i).role == Role.LEADER for i in others), 800)
    new = cl.leader()
    assert new is not None and new.id != old.id
    assert isinstance(new.propose([b"written-by-new-leader"]), Accepted)
    idx = new.log.last_index
    assert cl.run_until(lambda: new.commit >= idx, 100)
    cl.ticks(2)
    served = []
    orig = cl.checker.on_read_state
    cl.checker.on_read_state = lambda nid, rs: (served.append((nid, rs)), orig(nid, rs))
    assert old.role == Role.LEADER
    assert cl.read(old.id, "stale?")
    cl.ticks(20)
    cl.net.heal()
    cl.ticks(20)
    return cl, served


def test_deposed_leader_cannot_serve_a_read_index():
    cl, served = deposed_leader_read(RaftNode)
    assert served == []
    # Once it hears of the new term it steps down and the request is dropped, never served.
    old = [sn.node for sn in cl.live() if sn.node.role != Role.LEADER]
    assert old and cl.leader() is not None


def test_read_without_heartbeat_round_is_caught():
    with pytest.raises(SimViolation, match="stale read"):
        deposed_leader_read(ReadWithoutHeartbeat)


def test_read_index_on_leader_and_follower():
    cl = make(3)
    lead = wait_leader(cl)
    cl.ticks(3)
    for i in range(5):
        lead.propose([b"w%d" % i])
    idx = lead.log.last_index
    assert cl.run_until(lambda: lead.commit >= idx, 100)
    follower = next(i for i in (1, 2, 3) if i != lead.id)
    got = []
    orig = cl.checker.on_read_state
    cl.checker.on_read_state = lambda nid, rs: (got.append((nid, rs.token, rs.index)), orig(nid, rs))
    # A batch of reads on the leader rides one heartbeat round.
    for t in range(10):
        assert cl.read(lead.id, ("leader", t))
    assert cl.read(follower, ("follower", 0))
    assert cl.run_until(lambda: len(got) == 11, 40)
    assert all(index >= idx for _, _, index in got)
    assert {nid for nid, tok, _ in got if tok[0] == "leader"} == {lead.id}
    assert [nid for nid, tok, _ in got if tok[0] == "follower"] == [follower]


def test_new_leader_serves_reads_only_after_its_noop_commits():
    cl = make(3, ticking=False, **MANUAL)
    lead = elect(cl, 1)
    cl.net.isolate(1, [1, 2, 3])
    got = []
    orig = cl.checker.on_read_state
    cl.checker.on_read_state = lambda nid, rs: (got.append(rs), orig(nid, rs))
    assert lead.commit < lead.log.last_index
    cl.read(1, "r")
    settle(cl)
    assert got == []
    cl.net.heal()
    cl.ticking = True  # heartbeats resume probing the followers
    assert cl.run_until(lambda: len(got) == 1, 40)
    assert got[0].index >= lead.log.last_index
