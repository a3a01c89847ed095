"""``python -m benchmarks.run`` end to end at tiny sizes: it completes, leaves no server behind,
and its JSON has every row. Timings are not checked: this machine's speed is not under test."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from benchmarks import matrix

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(shutil.which("redis-benchmark") is None or shutil.which("redis-server") is None,
                                reason="needs redis-server and redis-benchmark")


def test_benchmark_run_writes_every_row(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "benchmarks/run.py", "-n", "300", "--keys", "2000", "--repeat", "1",
                           "--out", str(out), "--tmp", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    rows = {r["id"]: r for r in result["rows"]}
    assert set(rows) == {r.id for r in matrix.rows()}
    for r in matrix.rows():
        assert rows[r.id]["ops"] > 0
        assert (rows[r.id]["ratio"] is None) == (r.baseline is None)
    keyspace = result["keyspace"]
    for system in ("raftis", "redis"):
        for k in ("bytes_per_key", "snapshot_s", "restart_serving_s"):
            assert keyspace[system][k] is not None
    assert set(keyspace["ratios"]) >= {"bytes_per_key", "snapshot_s", "restart_serving_s"}
    assert "ratio" in done.stdout
    # every server the run started is gone, and so is its temp dir
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
    assert not _processes_mentioning(str(tmp_path))


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and int(pid) != os.getpid():
            found.append(f"{pid}: {cmdline}")
    return found


def test_cpu_accounting_runs_and_sums_the_processes():
    done = subprocess.run([sys.executable, "-m", "benchmarks.cpu", "--nodes", "3", "-n", "2000"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("SET -P1 -c 50 -n 2000 on 3 node(s)")
    roles = [ln.split()[2] for ln in lines if ln.startswith("node ")]
    assert sorted(roles) == ["(follower)", "(follower)", "(leader)"]
    assert any(ln.startswith("redis-benchmark") for ln in lines)
    assert "ops/s on" in lines[-1]
