import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def test_wal_benchmark_runs_quick(tmp_path):
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "wal.py"), "--quick", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for label in ("fsync per record", "group commit", "pipelined"):
        assert out.count(label) >= 2, out
    assert "rec/s" in out and "MB/s" in out and "fsyncs" in out
    assert os.listdir(tmp_path) == []  # cleans up after itself
