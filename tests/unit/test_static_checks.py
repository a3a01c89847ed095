"""The linters the project is held to: ``ruff check`` over the whole tree, and ``mypy`` over
the packages pyproject.toml names (the Raft core, storage, the RESP codec). Each runs as the
developer would run it, from the repository root, and the test shows what it printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean():
    r = _run("ruff", "check", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_is_clean_on_the_core_packages(tmp_path):
    r = _run("mypy", "--cache-dir", str(tmp_path / "mypy-cache"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Success" in r.stdout
