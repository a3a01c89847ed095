from consensus.membership import MembershipHistory, apply_conf_change, validate_conf_change
from consensus.messages import ConfChange, ConfChangeOp, Membership
from consensus.node import bootstrap_entries
from consensus.readindex import ReadIndexQueue

ADD, PROMOTE, REMOVE = ConfChangeOp.ADD_LEARNER, ConfChangeOp.PROMOTE, ConfChangeOp.REMOVE
BASE = Membership(frozenset({1, 2, 3}), frozenset(), {1: "a", 2: "b", 3: "c"})


def test_add_learner_promote_remove():
    m = apply_conf_change(BASE, ConfChange(ADD, 4, "d"))
    assert m.learners == {4} and m.addresses[4] == "d" and 4 not in m.voters
    m = apply_conf_change(m, ConfChange(PROMOTE, 4))
    assert m.voters == {1, 2, 3, 4} and not m.learners and m.addresses[4] == "d"
    m = apply_conf_change(m, ConfChange(REMOVE, 1))
    assert m.voters == {2, 3, 4} and 1 not in m.addresses
    assert BASE.voters == {1, 2, 3}  # records are never mutated


def test_invalid_changes_are_no_ops_and_refused_by_the_leader():
    assert apply_conf_change(BASE, ConfChange(PROMOTE, 9)) is BASE
    assert apply_conf_change(BASE, ConfChange(ADD, 2, "x")) is BASE
    assert validate_conf_change(BASE, ConfChange(PROMOTE, 9))
    assert validate_conf_change(BASE, ConfChange(ADD, 2))
    assert validate_conf_change(Membership(frozenset({1})), ConfChange(REMOVE, 1))
    assert validate_conf_change(BASE, ConfChange(REMOVE, 2)) is None


def test_history_truncate_compact_and_lookup():
    h = MembershipHistory(0, BASE)
    h.append(10, ConfChange(ADD, 4, "d"))
    h.append(20, ConfChange(PROMOTE, 4))
    assert h.current.voters == {1, 2, 3, 4} and h.last_change_index == 20
    assert h.at(15).learners == {4} and h.at(5) == BASE
    assert h.truncate(20) and h.current.learners == {4}
    h.compact(12, h.at(12))
    assert h.last_change_index == 0 and h.current.learners == {4}


def test_bootstrap_entries_are_deterministic():
    m = Membership(frozenset({3, 1}), frozenset({5}), {1: "a", 3: "c", 5: "e"})
    a, b = bootstrap_entries(m), bootstrap_entries(m)
    assert a == b and [e.index for e in a] == [1, 2, 3, 4, 5] and all(e.term == 1 for e in a)
    h = MembershipHistory(0, Membership())
    from consensus import codec

    for e in a:
        h.append(e.index, codec.decode_conf_change(e.data))
    assert h.current == m


def test_read_index_queue_rounds():
    q = ReadIndexQueue(self_id=1)
    q.add(0, "early", own_term_committed=False)
    assert not q.has_queued()
    q.own_term_committed()
    q.add(2, 77, own_term_committed=True)
    ctx1 = q.start_round(commit=10)
    q.add(0, "later", own_term_committed=True)
    ctx2 = q.start_round(commit=12)
    voters = {1, 2, 3}
    assert q.ack(9, ctx2, voters) == []  # not a voter
    # An answer to the later round confirms the earlier one too.
    assert q.ack(3, ctx2, voters) == [(0, "early", 10), (2, 77, 10), (0, "later", 12)]
    assert q.pending_count() == 0 and ctx1 < ctx2
