"""A node keeps the promise it made its peers in the handshakes of its previous run: after a
restart it refuses votes for as long as it promised then, whatever its options are now (a
leader may hold a read lease counting on that run's acknowledgements)."""

import json
import os

from server.config import NodeConfig
from server.raft import RaftHost


def host(tmp_path, **kw) -> RaftHost:
    cfg = NodeConfig(node_id=1, dir=str(tmp_path), tick_ms=100, election_ticks=10, **kw)
    return RaftHost(None, cfg)  # type: ignore[arg-type]


def saved(tmp_path) -> dict:
    with open(os.path.join(tmp_path, "raftis.meta")) as f:
        return json.load(f)


def test_a_promise_is_written_down_before_it_is_made(tmp_path):
    h = host(tmp_path, lease_reads=True)
    assert h.cfg.vote_quiet_ms == 9 * 99
    # 891 ms in ticks counted 99 ms long, and one more as the first may come at once.
    assert h._vote_quiet_ticks({"node_id": 1}) == 10
    assert saved(tmp_path)["vote_quiet_ms"] == 891


async def test_a_restart_without_the_option_keeps_the_last_runs_promise(tmp_path):
    host(tmp_path, lease_reads=True)._vote_quiet_ticks({"node_id": 1})
    h = host(tmp_path)  # restarted without --lease-reads
    assert h.cfg.vote_quiet_ms == 0
    assert h._vote_quiet_ticks(saved(tmp_path)) == 10
    assert saved(tmp_path)["vote_quiet_ms"] == 891  # a second restart now keeps it too
    assert h._quiet_pending
    await h._quiet_over()
    assert saved(tmp_path)["vote_quiet_ms"] == 0
    assert host(tmp_path)._vote_quiet_ticks(saved(tmp_path)) == 0  # promised nothing since


def test_a_longer_promise_now_wins_over_a_shorter_one_before(tmp_path):
    h = host(tmp_path)
    h._save_meta({"node_id": 1, "vote_quiet_ms": 100})
    h = host(tmp_path, lease_reads=True)
    assert h._vote_quiet_ticks(saved(tmp_path)) == 10
    assert saved(tmp_path)["vote_quiet_ms"] == 891


def test_a_damaged_promise_counts_as_none(tmp_path):
    h = host(tmp_path)
    assert h._vote_quiet_ticks({"node_id": 1, "vote_quiet_ms": "soon"}) == 0
    assert h._vote_quiet_ticks({"node_id": 1, "vote_quiet_ms": -5}) == 0


def test_with_one_ms_ticks_the_node_stays_off_the_peer_port_instead(tmp_path):
    # A tick may fire a millisecond early: 1 ms ticks cannot measure the promise.
    host(tmp_path, lease_reads=True)._vote_quiet_ticks({"node_id": 1})
    h = RaftHost(None, NodeConfig(node_id=1, dir=str(tmp_path), tick_ms=1, election_ticks=10))  # type: ignore[arg-type]
    assert h._vote_quiet_ticks(saved(tmp_path)) == 0
    assert h._start_delay == 0.891
