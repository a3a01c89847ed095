from consensus.quorum import VoteResult, committed_index, has_quorum, majority, vote_result


def test_majority():
    assert [majority(n) for n in range(1, 7)] == [1, 2, 2, 3, 3, 4]


def test_committed_index():
    assert committed_index({1, 2, 3}, {1: 10, 2: 7, 3: 3}) == 7
    assert committed_index({1, 2, 3, 4}, {1: 10, 2: 7, 3: 3, 4: 9}) == 7
    assert committed_index({1, 2, 3}, {1: 10}) == 0  # missing voters have nothing
    assert committed_index({1}, {1: 4, 9: 100}) == 4  # non-voters (learners) do not count
    assert committed_index(set(), {}) == 0


def test_vote_result():
    v = {1, 2, 3}
    assert vote_result(v, {1: True}) == VoteResult.PENDING
    assert vote_result(v, {1: True, 2: True}) == VoteResult.WON
    assert vote_result(v, {1: True, 2: False, 3: False}) == VoteResult.LOST
    assert vote_result(v, {1: True, 7: True, 8: True}) == VoteResult.PENDING  # learners' votes
    assert vote_result({1}, {1: True}) == VoteResult.WON
    assert vote_result(set(), {1: True}) == VoteResult.LOST


def test_has_quorum():
    assert has_quorum({1, 2, 3}, [1, 3])
    assert not has_quorum({1, 2, 3}, [1, 9])
    assert not has_quorum(set(), [1])
