"""A real process appends with group commit and is SIGKILLed at a random moment: every
index it reported durable must be there after reopening."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from wal_child import payload

from storage import Wal

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


@pytest.mark.parametrize("round_", range(3))
def test_sigkill_loses_nothing_reported_durable(tmp_path, round_):
    d = str(tmp_path / "wal")
    rng = random.Random()
    seen = 0
    for life in range(2):  # kill, restart on the same directory, kill again
        env = dict(os.environ, PYTHONPATH=ROOT)
        child = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "wal_child.py"), d, "8"],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None
        start = child.stdout.readline().decode()
        assert start.startswith("start "), start
        assert int(start.split()[1]) >= seen
        deadline = time.monotonic() + rng.uniform(0.2, 0.8)
        lines = 0
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            seen = max(seen, int(line))
            lines += 1
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate()
        for line in rest.split():
            seen = max(seen, int(line))  # printed before the kill landed
        assert lines > 10, f"child made little progress (life {life})"
        with Wal.open(d, cluster_id="kill-test", node_id=1) as w:
            r = w.recovered
            assert w.last_index >= seen, f"reported {seen} durable, recovered only up to {w.last_index}"
            assert [e.index for e in r.entries] == list(range(1, w.last_index + 1))
            assert all(e.data == payload(e.index) for e in r.entries)
