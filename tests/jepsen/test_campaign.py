"""Fault-injection campaigns on real processes, short enough for CI.

`test_every_fault_once` runs one pass over every fault kind on three nodes with all three
workloads and fails on any violation, node crash, or failure to recover after healing.
`test_lease_reads_stay_linearizable` runs the faults a read lease must survive with
`--lease-reads` on. `test_unsafe_local_reads_are_caught` is the suite's own test: nodes
that read local state without ReadIndex must be caught serving stale reads while a
partition lasts. The seed is
printed in the report and can be set with RAFTIS_JEPSEN_SEED to replay a run; each run's
report directory is named in the failure message.
"""

from __future__ import annotations

import os

import pytest

from .campaign import CampaignConfig, default_report_dir, run_campaign
from .nemesis import KINDS

SEED = int(os.environ.get("RAFTIS_JEPSEN_SEED", "20261126"))


@pytest.mark.timeout(300)
def test_every_fault_once() -> None:
    cfg = CampaignConfig(seed=SEED, nodes=3, nemeses=list(KINDS), cycles=1, fault_seconds=(1.5, 3.0),
                         quiet_seconds=(0.5, 1.5), report_dir=default_report_dir(SEED, "ci"))
    result = run_campaign(cfg)
    print(result.summary())
    assert set(result.fault_counts) == set(KINDS), result.summary()
    assert result.valid, result.summary()
    for counts in result.op_counts.values():
        assert counts.get("ok", 0) > 100, result.summary()


@pytest.mark.timeout(180)
def test_unsafe_local_reads_are_caught() -> None:
    cfg = CampaignConfig(seed=SEED, nodes=3, workloads=["register"], nemeses=["partition-halves", "partition-leader"],
                         duration=15, fault_seconds=(3.0, 4.0), quiet_seconds=(0.5, 1.0), clients_per_workload=4,
                         unsafe_local_reads=True, report_dir=default_report_dir(SEED, "teeth"))
    result = run_campaign(cfg)
    print(result.summary())
    assert result.verdicts["register"]["valid"] is False, result.summary()
    assert not result.crashes, result.summary()


@pytest.mark.timeout(300)
def test_lease_reads_stay_linearizable() -> None:
    # The faults a read lease must survive: a leader cut off or paused (it may serve reads
    # only until its lease runs out, before anyone else can be elected), followers that
    # restart (they must not vote at once), and a transfer (the target campaigns at once).
    cfg = CampaignConfig(seed=SEED, nodes=3, workloads=["register"],
                         nemeses=["partition-leader", "partition-halves", "pause-leader", "kill", "kill-leader",
                                  "transfer-leader", "delay"],
                         cycles=1, fault_seconds=(1.5, 3.0), quiet_seconds=(0.5, 1.5), clients_per_workload=3,
                         lease_reads=True, report_dir=default_report_dir(SEED, "lease"))
    result = run_campaign(cfg)
    print(result.summary())
    assert result.valid, result.summary()
    assert result.verdicts["register"]["valid"] is True, result.summary()  # checked, not "unknown"
    assert result.op_counts["register"].get("ok", 0) > 100, result.summary()
    assert result.lease_reads > 0, "no read was served under a lease"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_long_campaign_five_nodes() -> None:
    cfg = CampaignConfig(seed=SEED, nodes=5, nemeses=list(KINDS), duration=900, overlap=0.3,
                         report_dir=default_report_dir(SEED, "long"))
    result = run_campaign(cfg)
    print(result.summary())
    assert result.valid, result.summary()
