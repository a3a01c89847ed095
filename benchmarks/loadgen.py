"""redis-benchmark as the load generator, read through its ``--csv`` output.

redis-benchmark 7.0 prints one CSV row per test with these columns:
``"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
"p99_latency_ms","max_latency_ms"``. Latency is measured per request from the client's side,
so with ``-P 16`` it is the time for a whole pipeline of 16.
"""

from __future__ import annotations

import csv
import io
import subprocess
import time
from dataclasses import asdict, dataclass

REDIS_BENCHMARK = "redis-benchmark"
KEYSPACE = 100_000  # -r: keys are key:000000000000..key:000000099999, so GETs mostly hit


@dataclass(frozen=True, slots=True)
class Workload:
    test: str  # redis-benchmark test name: "set" or "get"
    pipeline: int

    @property
    def label(self) -> str:
        return f"{self.test.upper()} -P{self.pipeline}"


@dataclass(frozen=True, slots=True)
class LoadResult:
    ops: float
    avg_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    seconds: float

    def to_json(self) -> dict:
        return asdict(self)


def parse_csv(text: str, test: str) -> dict[str, float]:
    """The row for ``test`` ("SET") from redis-benchmark --csv output, as floats."""
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("test", "").upper() == test.upper():
            return {k: float(v) for k, v in row.items() if k != "test"}
    raise ValueError(f"no {test} row in redis-benchmark output:\n{text}")


def run_load(port: int, workload: Workload, requests: int, clients: int = 50,
             timeout: float = 900.0) -> LoadResult:
    cmd = [REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(port), "-t", workload.test,
           "-n", str(requests), "-c", str(clients), "-P", str(workload.pipeline), "-r", str(KEYSPACE),
           "--csv"]

    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    # redis-benchmark prints server errors ("Error from server: ...") and carries on; a run that
    # got errors measured the error path, not the workload.
    if "Error from server" in done.stdout + done.stderr:
        raise RuntimeError(f"server errors during {workload.label}:\n{done.stderr or done.stdout}")
    row = parse_csv(done.stdout, workload.test)
    return LoadResult(ops=row["rps"], avg_ms=row["avg_latency_ms"], p50_ms=row["p50_latency_ms"],
                      p99_ms=row["p99_latency_ms"], max_ms=row["max_latency_ms"], seconds=seconds)
