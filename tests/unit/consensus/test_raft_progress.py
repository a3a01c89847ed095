from consensus.messages import Membership, SnapshotMeta
from consensus.progress import FollowerProgress, ProgressState


def test_probe_sends_one_at_a_time():
    pr = FollowerProgress(11, max_inflight=4)
    assert pr.state == ProgressState.PROBE and not pr.is_paused()
    pr.probe_sent = True
    assert pr.is_paused()
    assert pr.maybe_update(10)  # an ack unpauses
    assert not pr.is_paused() and pr.match == 10 and pr.next == 11


def test_replicate_window():
    pr = FollowerProgress(1, max_inflight=2)
    pr.maybe_update(5)
    pr.become_replicate()
    assert pr.next == 6
    pr.optimistic_update(8)
    pr.inflights.add(8)
    pr.optimistic_update(10)
    pr.inflights.add(10)
    assert pr.is_paused() and pr.next == 11
    pr.maybe_update(8)
    pr.inflights.free_le(8)
    assert not pr.is_paused()


def test_maybe_decr_to_in_probe_uses_hint_and_ignores_stale():
    pr = FollowerProgress(21, max_inflight=4)
    assert not pr.maybe_decr_to(15, 3)  # not the last probe we sent: stale
    assert pr.maybe_decr_to(20, 7)
    assert pr.next == 8
    pr.maybe_update(5)
    pr.next = 9
    assert pr.maybe_decr_to(8, 0) and pr.next == 6  # never below match + 1


def test_maybe_decr_to_in_replicate_goes_back_to_match():
    pr = FollowerProgress(1, max_inflight=4)
    pr.maybe_update(5)
    pr.become_replicate()
    pr.optimistic_update(9)
    assert not pr.maybe_decr_to(4, 0)  # rejection of something already matched
    assert pr.maybe_decr_to(7, 0) and pr.next == 6


def test_snapshot_state_pauses_then_probes_after_it():
    pr = FollowerProgress(3, max_inflight=4)
    meta = SnapshotMeta(50, 3, Membership())
    pr.become_snapshot(meta, 1000)
    assert pr.is_paused() and pr.snapshot_sent == 0
    pr.snapshot_sent = 300
    pr.rewind_snapshot(100)
    assert pr.snapshot_sent == pr.snapshot_acked == 100
    pr.become_probe()
    assert pr.state == ProgressState.PROBE and pr.next == 51


def test_match_never_decreases():
    pr = FollowerProgress(1, max_inflight=4)
    pr.maybe_update(10)
    assert not pr.maybe_update(7)
    assert pr.match == 10
