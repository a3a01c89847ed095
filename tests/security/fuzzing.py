"""Shared settings of the fuzz tests: a short run by default, a long one on request.

``RAFTIS_FUZZ_EXAMPLES=100000 pytest tests/security -k fuzz`` runs each target that many
inputs (no deadline); the default is a few seconds per target.  Each target prints how many
inputs it ran and how long it took.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("RAFTIS_FUZZ_EXAMPLES", "0") or 0)


def fuzz_settings(default: int):
    return settings(
        max_examples=EXAMPLES or default,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=not EXAMPLES,  # the default run is the same every time; a long run explores
    )


def run_reporting(name: str, target, counter: dict) -> None:
    """Run a hypothesis target and print its figures (shown with ``pytest -s`` and in the
    captured output of a failure)."""
    import sys
    import time

    before = counter["inputs"]
    t0 = time.perf_counter()
    target()
    took = time.perf_counter() - t0
    sys.__stdout__.write(f"\nfuzz {name}: {counter['inputs'] - before} inputs in {took:.1f}s\n")
