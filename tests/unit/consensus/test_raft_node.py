"""RaftNode driven by hand: vote rules, append handling and the Ready contract."""

import random

from consensus import (
    Accepted,
    ConfChange,
    ConfChangeOp,
    Config,
    Dropped,
    Entry,
    HardState,
    Membership,
    Message,
    MessageType,
    NotLeader,
    RaftNode,
    Role,
    TooManyUncommitted,
)
from consensus.messages import CAMPAIGN_TRANSFER
from consensus.progress import ProgressState

MT = MessageType
THREE = Membership(frozenset({1, 2, 3}), frozenset(), {1: "a", 2: "b", 3: "c"})
ONE = Membership(frozenset({1}), frozenset(), {1: "a"})


def node(nid=1, members=THREE, **cfg):
    return RaftNode(Config(id=nid, **cfg), random.Random(nid), bootstrap_membership=members)


def flush(n):
    """Act as a driver whose persistence completes at once; returns all messages."""
    out = []
    while n.has_ready():
        rd = n.ready()
        out += list(rd.messages) + list(rd.persisted_messages)
        n.advance(rd)
    return out


def restarted(nid, hs, entries, **cfg):
    return RaftNode(Config(id=nid, **cfg), random.Random(nid), hard_state=hs, entries=entries)


def test_bootstrap_writes_membership_into_the_log():
    n = node()
    rd = n.ready()
    assert rd.hard_state == HardState(1, 0, 6) and len(rd.entries) == 6
    # Committed by construction, and written in this same Ready: applied along with it.
    assert [e.index for e in rd.committed_entries] == list(range(1, 7))
    n.advance(rd)
    assert n.membership.voters == {1, 2, 3} and n.applied == 6 and n.log.stable == 6


def test_vote_request_needs_up_to_date_log_and_one_vote_per_term():
    n = node(1)
    flush(n)
    last, term = n.log.last_index, n.log.last_term
    n.step(Message(MT.VOTE, 1, 2, 5, log_term=term, index=last - 1))
    rd = n.ready()
    # Rejected, but the reply waits for term 5 to be durable like everything else.
    assert rd.messages == () and [m.reject for m in rd.persisted_messages] == [True]
    assert n.term == 5 and n.vote == 0
    n.advance(rd)
    n.step(Message(MT.VOTE, 1, 2, 5, log_term=term, index=last))
    rd = n.ready()
    # The grant may only leave once the vote is durable.
    assert rd.hard_state.vote == 2 and rd.messages == ()
    assert [(m.type, m.reject) for m in rd.persisted_messages] == [(MT.VOTE_RESP, False)]
    n.advance(rd)
    n.step(Message(MT.VOTE, 1, 3, 5, log_term=term, index=last))
    assert [m.reject for m in flush(n)] == [True]


def test_a_rejected_vote_request_of_a_higher_term_leaves_the_election_timer_running():
    """Only a vote granted restarts the election timer (Raft, figure 2). A candidate whose log
    is behind, campaigning again and again without pre-vote, used to reset it on every
    request, and a node on a slow clock that could win never timed out (simulator seed
    913207: two voters, the one with the newer log never campaigned)."""
    n = node(1, pre_vote=False)
    flush(n)
    last, term = n.log.last_index, n.log.last_term
    for _ in range(5):
        n.tick()
    assert n.election_elapsed == 5
    n.step(Message(MT.VOTE, 1, 2, 5, log_term=term, index=last - 1))  # behind: rejected
    assert [m.reject for m in flush(n)] == [True]
    assert n.term == 5 and n.election_elapsed == 5
    n.step(Message(MT.VOTE, 1, 3, 6, log_term=term, index=last))  # granted: restarts it
    assert [m.reject for m in flush(n)] == [False]
    assert n.term == 6 and n.election_elapsed == 0


def test_vote_survives_restart():
    n = restarted(1, HardState(5, 2, 0), [])
    n.step(Message(MT.VOTE, 1, 3, 5, log_term=0, index=0))
    assert [m.reject for m in flush(n)] == [True]


def test_prevote_does_not_change_term_or_vote():
    n = node(1)
    flush(n)
    n.step(Message(MT.PRE_VOTE, 1, 2, 9, log_term=1, index=6))
    msgs = flush(n)
    assert [(m.type, m.term, m.reject) for m in msgs] == [(MT.PRE_VOTE_RESP, 9, False)]
    assert (n.term, n.vote) == (1, 0)


def test_leader_stickiness_ignores_votes_while_leader_is_fresh():
    n = node(1)
    flush(n)
    n.step(Message(MT.HEARTBEAT, 1, 2, 2, commit=0))
    flush(n)
    n.step(Message(MT.PRE_VOTE, 1, 3, 3, log_term=9, index=99))
    n.step(Message(MT.VOTE, 1, 3, 3, log_term=9, index=99))
    assert flush(n) == [] and n.term == 2
    # ... unless the vote comes from a leadership transfer.
    n.step(Message(MT.VOTE, 1, 3, 3, log_term=9, index=99, context=CAMPAIGN_TRANSFER))
    assert [(m.type, m.reject) for m in flush(n)] == [(MT.VOTE_RESP, False)]


def test_a_large_append_arriving_from_the_leader_keeps_a_follower_from_campaigning():
    # The bytes of a big append still arriving (reported by the transport as heard_from)
    # stand for the heartbeats queued behind it: no election, and the leader hears back
    # once a tick (marked reject: "still receiving", not an answer to a heartbeat).
    n = node(1, election_tick=5, heartbeat_tick=1)
    flush(n)
    n.step(Message(MT.HEARTBEAT, 1, 2, 2, commit=0))
    flush(n)
    for _ in range(40):
        n.tick()
        n.heard_from(2)
        n.heard_from(2)
        out = flush(n)
        assert [(m.type, m.to, m.term, m.reject) for m in out] == [(MT.HEARTBEAT_RESP, 2, 2, True)]
    assert n.role == Role.FOLLOWER and n.term == 2
    # Still refusing another candidate: it heard from its leader.
    n.step(Message(MT.PRE_VOTE, 1, 3, 3, log_term=9, index=99))
    assert flush(n) == []
    # Bytes from a node that is not its leader count for nothing.
    for _ in range(10):
        n.tick()
        n.heard_from(3)
    assert any(m.type == MT.PRE_VOTE for m in flush(n))


def test_a_leader_and_a_candidate_ignore_heard_from():
    n = elect_leader()
    term = n.term
    n.heard_from(2)
    assert flush(n) == [] and n.role == Role.LEADER and n.term == term
    c = node(1)
    flush(c)
    c.campaign()
    flush(c)
    c.heard_from(2)
    assert flush(c) == [] and c.role != Role.FOLLOWER


def test_a_leader_stays_while_its_followers_answer_a_large_append_with_heard_from():
    n = elect_leader(election_tick=5, heartbeat_tick=1)
    # Node 2 still in probe, its probe on the way: the probe must not go again each tick.
    assert n.progress[2].state == ProgressState.PROBE and n.progress[2].probe_sent
    for _ in range(30):
        n.tick()
        assert all(m.type == MT.HEARTBEAT for m in flush(n))
        n.step(Message(MT.HEARTBEAT_RESP, 1, 2, n.term, reject=True))  # what heard_from on node 2 sends
        assert flush(n) == []
    assert n.role == Role.LEADER and n.progress[2].probe_sent
    for _ in range(11):
        n.tick()
        flush(n)
    assert n.role == Role.FOLLOWER  # check quorum: nobody answered for an election timeout


def test_a_vote_after_a_won_pre_vote_respects_a_leader_heard_since():
    # The pre-vote winner's real vote is not a transfer: a voter that heard from its leader
    # after granting the pre-vote refuses it (that leader may hold a read lease counting on
    # this voter), and only a TimeoutNow's campaign is forced past that.
    c = node(3)
    flush(c)
    c.campaign()
    flush(c)
    c.step(Message(MT.PRE_VOTE_RESP, 3, 2, c.term + 1))
    votes = [m for m in flush(c) if m.type == MT.VOTE]
    assert votes and {m.context for m in votes} == {0}

    n = node(1, election_tick=5)
    flush(n)
    n.step(Message(MT.HEARTBEAT, 1, 2, 2, commit=0))
    flush(n)
    for _ in range(5):  # no word from leader 2 for an election timeout
        n.tick()
    flush(n)
    last, term = n.log.last_index, n.log.last_term
    n.step(Message(MT.PRE_VOTE, 1, 3, 3, log_term=term, index=last))
    assert [(m.type, m.reject) for m in flush(n)] == [(MT.PRE_VOTE_RESP, False)]
    n.step(Message(MT.HEARTBEAT, 1, 2, 2, commit=0))  # leader 2 is back
    flush(n)
    n.step(Message(MT.VOTE, 1, 3, 3, log_term=term, index=last))
    assert flush(n) == [] and (n.term, n.leader_id) == (2, 2)


def test_a_node_that_starts_quiet_grants_no_vote_for_an_election_timeout():
    # With vote_quiet_ticks (what read leases need), a node that has just (re)started
    # treats itself as having heard from a leader: it may have acknowledged one before it
    # stopped, and that leader may serve reads under a lease counting on it.
    def ask(n, term):
        n.step(Message(MT.PRE_VOTE, 1, 3, term, log_term=9, index=99))
        n.step(Message(MT.VOTE, 1, 3, term, log_term=9, index=99))
        return [(m.type, m.reject) for m in flush(n)]

    quiet = restarted(1, HardState(2, 0, 0), [], election_tick=5, vote_quiet_ticks=5)
    for _ in range(4):
        assert ask(quiet, 3) == [] and quiet.term == 2
        quiet.tick()
    assert ask(quiet, 3) == [] and quiet.term == 2  # four ticks: still quiet
    quiet.tick()
    assert ask(quiet, 3) == [(MT.PRE_VOTE_RESP, False), (MT.VOTE_RESP, False)]
    # A transfer's campaign is answered at once, quiet or not.
    forced = restarted(1, HardState(2, 0, 0), [], election_tick=5, vote_quiet_ticks=5)
    forced.step(Message(MT.VOTE, 1, 3, 3, log_term=9, index=99, context=CAMPAIGN_TRANSFER))
    assert [(m.type, m.reject) for m in flush(forced)] == [(MT.VOTE_RESP, False)]
    # Without the setting a node that just started votes (the default, as in etcd).
    loud = restarted(1, HardState(2, 0, 0), [], election_tick=5)
    assert ask(loud, 3) == [(MT.PRE_VOTE_RESP, False), (MT.VOTE_RESP, False)]


def test_the_quiet_after_start_lasts_the_ticks_asked_for():
    # A node keeps the longer promise of its previous run, so its quiet may outlast its own
    # election timeout.
    n = restarted(1, HardState(2, 0, 0), [], election_tick=5, vote_quiet_ticks=8)
    for _ in range(8):
        n.step(Message(MT.VOTE, 1, 3, 3, log_term=9, index=99))
        assert flush(n) == [] and n.term == 2
        n.tick()
    n.step(Message(MT.VOTE, 1, 3, 3, log_term=9, index=99))
    assert [(m.type, m.reject) for m in flush(n)] == [(MT.VOTE_RESP, False)]


def test_a_quiet_node_starts_no_election_of_its_own():
    # Nor may it elect itself: with a shorter election timeout than the promise it made
    # before restarting, it would otherwise campaign inside the quiet time.
    n = node(1, ONE, election_tick=3, vote_quiet_ticks=12)
    flush(n)
    for _ in range(11):
        n.tick()
        assert n.role == Role.FOLLOWER
    for _ in range(6):
        n.tick()
    assert n.role == Role.LEADER  # the only voter, once the quiet time is over


def test_the_only_voter_elects_itself_at_start_without_waiting_an_election_timeout():
    n = node(1, ONE, election_tick=1000)
    assert n.campaign_at_start()
    assert n.role == Role.LEADER and n.leader_id == 1 and n.term == 2
    flush(n)
    # Its own entry of the new term commits with its own write: it serves at once.
    assert n.log.committed == n.log.last_index and n.log.term_at(n.log.committed) == 2
    # Restarted from what it wrote, it does the same in the next term.
    again = restarted(1, n.hard_state, n.log.slice(1, n.log.last_index), election_tick=1000)
    assert again.campaign_at_start() and again.role == Role.LEADER and again.term == 3


def test_campaign_at_start_leaves_a_cluster_and_a_quiet_node_to_the_timers():
    three = node(1, election_tick=10)
    assert not three.campaign_at_start()
    assert three.role == Role.FOLLOWER and three.term == 1 and flush(three) == []
    quiet = node(1, ONE, election_tick=10, vote_quiet_ticks=12)
    assert not quiet.campaign_at_start()
    assert quiet.role == Role.FOLLOWER and quiet.term == 1
    learner = node(2, ONE, election_tick=10)  # not a voter of its configuration
    assert not learner.campaign_at_start() and learner.role == Role.FOLLOWER


def test_handing_over_lasts_for_the_rest_of_the_leaders_term():
    n = elect_leader()
    assert not n.handing_over
    n.step(Message(MT.APPEND_RESP, 1, 2, n.term, index=n.log.last_index))
    flush(n)
    assert n.transfer_leadership(2)
    assert n.handing_over
    # The transfer times out (the target never campaigned): the leader keeps leading, but
    # the TimeoutNow it sent may still arrive, so it stays handing over in this term.
    for _ in range(3 * n.config.election_tick):
        n.tick()
        n.step(Message(MT.HEARTBEAT_RESP, 1, 2, n.term))
        flush(n)
    assert n.role == Role.LEADER and n.lead_transferee == 0 and n.handing_over
    # A new term of leadership starts without it.
    n.step(Message(MT.HEARTBEAT, 1, 2, n.term + 1, commit=0))
    flush(n)
    n.campaign()
    flush(n)
    n.step(Message(MT.PRE_VOTE_RESP, 1, 3, n.term + 1))
    flush(n)
    n.step(Message(MT.VOTE_RESP, 1, 3, n.term))
    flush(n)
    assert n.role == Role.LEADER and not n.handing_over


def test_an_aborted_transfer_takes_proposals_again_and_stays_handing_over():
    n = elect_leader()
    assert not n.abort_transfer()  # none under way
    assert n.transfer_leadership(2)  # node 2 lags: the leader first sends it what it lacks
    assert type(n.propose([b"x"])) is not Accepted
    assert n.abort_transfer() and n.lead_transferee == 0
    assert type(n.propose([b"x"])) is Accepted
    assert n.handing_over and not n.abort_transfer()


def test_single_voter_elects_itself_and_commits_after_persisting():
    n = node(1, Membership(frozenset({1}), frozenset(), {1: "a"}))
    flush(n)
    n.tick()
    for _ in range(30):
        n.tick()
    assert n.role == Role.LEADER
    res = n.propose([b"a", b"b"])
    assert isinstance(res, Accepted) and list(res.indexes) == [n.log.last_index - 1, n.log.last_index]
    rd = n.ready()
    assert n.commit < res.last_index  # own entries count only once durable
    n.advance(rd)
    assert n.commit == res.last_index
    assert n.read_index("t")
    rd = n.ready()
    assert [(r.token, r.index) for r in rd.read_states] == [("t", n.commit)]


def test_candidate_messages_wait_for_the_new_term_to_be_durable():
    n = node(1, pre_vote=False)
    flush(n)
    n.campaign()
    rd = n.ready()
    assert rd.hard_state.term == 2 and rd.hard_state.vote == 1
    assert rd.messages == () and {m.to for m in rd.persisted_messages} == {2, 3}


def test_propose_on_follower_names_the_leader():
    n = node(2)
    flush(n)
    assert n.propose([b"x"]) == NotLeader(0)
    n.step(Message(MT.HEARTBEAT, 2, 1, 2))
    assert n.propose([b"x"]) == NotLeader(1)


def elect_leader(pre_vote=True, **cfg):
    n = node(1, pre_vote=pre_vote, **cfg)
    flush(n)
    n.campaign()
    flush(n)
    if pre_vote:
        n.step(Message(MT.PRE_VOTE_RESP, 1, 2, n.term + 1))
        flush(n)
    n.step(Message(MT.VOTE_RESP, 1, 2, n.term))
    assert n.role == Role.LEADER
    flush(n)
    return n


def test_new_leader_appends_noop_and_refuses_conf_change_until_it_commits():
    n = elect_leader()
    noop = n.log.entry(n.log.last_index)
    assert noop.term == n.term and noop.data == b""
    assert isinstance(n.propose_conf_change(ConfChange(ConfChangeOp.ADD_LEARNER, 4, "d")), Dropped)
    n.step(Message(MT.APPEND_RESP, 1, 2, n.term, index=noop.index))
    flush(n)
    assert n.commit == noop.index
    res = n.propose_conf_change(ConfChange(ConfChangeOp.ADD_LEARNER, 4, "d"))
    assert isinstance(res, Accepted)
    assert 4 in n.membership.learners and 4 in n.progress  # effective on append
    assert n.pending_conf_change == res.last_index


def test_back_pressure_on_uncommitted_bytes():
    n = elect_leader(max_uncommitted_bytes=100)
    assert isinstance(n.propose([b"x" * 80]), Accepted)
    assert isinstance(n.propose([b"x" * 80]), TooManyUncommitted)


def test_follower_rejects_gap_with_hint_and_truncates_conflicts():
    n = node(2)
    flush(n)
    t = 2
    n.step(Message(MT.APPEND, 2, 1, t, log_term=1, index=6, commit=6,
                   entries=(Entry(7, t, data=b"a"), Entry(8, t, data=b"b"))))
    msgs = flush(n)
    assert [(m.type, m.index, m.reject) for m in msgs] == [(MT.APPEND_RESP, 8, False)]
    n.step(Message(MT.APPEND, 2, 1, t, log_term=t, index=20, commit=6))
    (m,) = flush(n)
    assert m.reject and m.index == 20 and m.reject_hint == 8 and m.log_term == t
    # A new leader overwrites the uncommitted tail.
    n.step(Message(MT.APPEND, 2, 3, 3, log_term=t, index=7, commit=7, entries=(Entry(8, 3, data=b"c"),)))
    rd = n.ready()
    assert [(e.index, e.term) for e in rd.entries] == [(8, 3)]
    n.advance(rd)
    assert n.log.entry(8).data == b"c" and n.commit == 7


def test_membership_change_is_reverted_when_its_entry_is_truncated():
    n = node(2)
    flush(n)
    cc = ConfChange(ConfChangeOp.ADD_LEARNER, 4, "d")
    from consensus import codec
    from consensus.messages import EntryType

    e7 = Entry(7, 2, EntryType.CONF_CHANGE, codec.encode_conf_change(cc))
    n.step(Message(MT.APPEND, 2, 1, 2, log_term=1, index=6, commit=6, entries=(e7,)))
    assert 4 in n.membership.learners and n.pending_conf_change == 7
    n.step(Message(MT.APPEND, 2, 3, 3, log_term=1, index=6, commit=6, entries=(Entry(7, 3),)))
    assert 4 not in n.membership and n.pending_conf_change == 0


def test_learner_and_outsider_never_campaign():
    m = Membership(frozenset({1}), frozenset({2}), {1: "a", 2: "b"})
    learner = node(2, m)
    outsider = RaftNode(Config(id=5), random.Random(5))
    for n in (learner, outsider):
        flush(n)
        for _ in range(100):
            n.tick()
        assert n.role == Role.FOLLOWER and n.term <= 1 and flush(n) == []


def test_follower_read_is_forwarded_and_answered():
    n = node(2)
    flush(n)
    assert not n.read_index("t")  # no leader known
    n.step(Message(MT.HEARTBEAT, 2, 1, 2))
    flush(n)
    assert n.read_index("t")
    (req,) = flush(n)
    assert req.type == MT.READ_INDEX and req.to == 1
    n.step(Message(MT.READ_INDEX_RESP, 2, 3, 2, index=5, context=req.context))  # not who we asked
    n.step(Message(MT.READ_INDEX_RESP, 2, 1, 2, index=5, context=req.context))
    rd = n.ready()
    assert [(r.token, r.index) for r in rd.read_states] == [("t", 5)]


def test_leader_batches_reads_into_one_heartbeat_round():
    n = elect_leader(read_round_to_quorum=False)
    n.step(Message(MT.APPEND_RESP, 1, 2, n.term, index=n.log.last_index))
    flush(n)
    for t in range(5):
        n.read_index(t)
    rd = n.ready()
    hbs = [m for m in rd.messages if m.type == MT.HEARTBEAT]
    assert len(hbs) == 2 and len({m.context for m in hbs}) == 1 and rd.read_states == ()
    n.advance(rd)
    n.step(Message(MT.HEARTBEAT_RESP, 1, 3, n.term, context=hbs[0].context))
    rd = n.ready()
    assert [r.token for r in rd.read_states] == [0, 1, 2, 3, 4]


def _read_round(n, tokens):
    for t in tokens:
        n.read_index(t)
    rd = n.ready()
    n.advance(rd)
    return [m for m in rd.messages if m.type == MT.HEARTBEAT]


def test_a_read_round_asks_just_a_majority_and_falls_back_to_the_periodic_heartbeat():
    n = elect_leader()  # three voters: the leader and one follower make a majority
    n.step(Message(MT.APPEND_RESP, 1, 2, n.term, index=n.log.last_index))
    n.step(Message(MT.APPEND_RESP, 1, 3, n.term, index=n.log.last_index))
    flush(n)
    hbs = _read_round(n, [0, 1])
    assert [m.to for m in hbs] == [2]  # nobody answered a round yet: by id
    # Node 2 does not answer. Reads that arrive meanwhile wait for the next round.
    assert _read_round(n, [2]) == []
    # The periodic heartbeat goes to everyone with the newest round's context.
    for _ in range(n.config.heartbeat_tick):
        n.tick()
    rd = n.ready()
    n.advance(rd)
    periodic = [m for m in rd.messages if m.type == MT.HEARTBEAT]
    assert sorted(m.to for m in periodic) == [2, 3] and {m.context for m in periodic} == {hbs[0].context}
    n.step(Message(MT.HEARTBEAT_RESP, 1, 3, n.term, context=hbs[0].context))
    rd = n.ready()
    n.advance(rd)
    assert [r.token for r in rd.read_states] == [0, 1]
    # The queued read's round goes to node 3 now: it answered the newest round.
    nxt = [m for m in rd.messages if m.type == MT.HEARTBEAT]
    assert [m.to for m in nxt] == [3] and nxt[0].context > hbs[0].context
    n.step(Message(MT.HEARTBEAT_RESP, 1, 3, n.term, context=nxt[0].context))
    rd = n.ready()
    assert [r.token for r in rd.read_states] == [2]


def test_a_read_round_asks_two_of_four_followers_in_a_five_node_cluster():
    five = Membership(frozenset({1, 2, 3, 4, 5}), frozenset(), {i: str(i) for i in range(1, 6)})
    n = node(1, five)
    flush(n)
    n.campaign()
    flush(n)
    for voter in (2, 3):
        n.step(Message(MT.PRE_VOTE_RESP, 1, voter, n.term + 1))
    flush(n)
    for voter in (2, 3):
        n.step(Message(MT.VOTE_RESP, 1, voter, n.term))
    flush(n)
    for voter in (2, 3, 4, 5):
        n.step(Message(MT.APPEND_RESP, 1, voter, n.term, index=n.log.last_index))
    flush(n)
    assert n.role == Role.LEADER
    hbs = _read_round(n, [7])
    assert sorted(m.to for m in hbs) == [2, 3]
    n.step(Message(MT.HEARTBEAT_RESP, 1, 2, n.term, context=hbs[0].context))
    assert n.ready().read_states == ()  # the leader and one follower are not a majority of five
    n.step(Message(MT.HEARTBEAT_RESP, 1, 3, n.term, context=hbs[0].context))
    assert [r.token for r in n.ready().read_states] == [7]


def test_follower_snapshot_chunks_in_order_duplicates_and_gaps():
    from consensus import SnapshotMeta

    n = node(4, Membership())  # a new, empty node
    flush(n)
    meta = SnapshotMeta(50, 3, THREE)

    def chunk(off, data, done=False):
        n.step(Message(MT.INSTALL_SNAPSHOT, 4, 1, 3, snapshot=meta, offset=off, data=data, done=done))
        return flush_keep(n)

    def flush_keep(n):
        rd = n.ready()
        n.advance(rd)
        return rd

    rd = chunk(0, b"aaaa")
    assert [(c.offset, c.data) for c in rd.snapshot_chunks] == [(0, b"aaaa")]
    assert [(m.offset, m.reject) for m in rd.persisted_messages] == [(4, False)]
    rd = chunk(0, b"aaaa")  # a duplicate of the first chunk starts over
    assert [c.offset for c in rd.snapshot_chunks] == [0]
    rd = chunk(8, b"cccc")  # a gap: ask for offset 4 again
    assert rd.snapshot_chunks == () and [(m.offset, m.reject) for m in rd.messages] == [(4, True)]
    rd = chunk(4, b"bbbb")
    assert [c.offset for c in rd.snapshot_chunks] == [4]
    rd = chunk(4, b"bbbb")  # a duplicate of a chunk we have: just say where we are
    assert rd.snapshot_chunks == () and [(m.offset, m.reject) for m in rd.messages] == [(8, False)]
    rd = chunk(8, b"cc", done=True)
    assert rd.snapshot == meta and rd.snapshot_chunks[-1].done
    assert [(m.type, m.done) for m in rd.persisted_messages] == [(MT.INSTALL_SNAPSHOT_RESP, True)]
    assert n.commit == n.applied == 50 and n.log.last_index == 50 and n.membership == THREE
