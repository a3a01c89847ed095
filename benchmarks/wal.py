"""WAL throughput: group commit with many concurrent appenders beside fsync-per-record.

    python benchmarks/wal.py            # full run (a few seconds per case)
    python benchmarks/wal.py --quick    # tiny sizes, for a smoke test
    python benchmarks/wal.py --dir /mnt/ssd/tmp   # measure a particular disk

Both modes run in the same invocation on the same disk, so the ratio between them is the
figure to read; absolute numbers depend on the disk's fsync latency.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.args import at_least  # noqa: E402
from storage import GroupCommitter, LogEntry, Wal  # noqa: E402
from storage.fs import OsFs  # noqa: E402


class CountingFs(OsFs):
    def __init__(self) -> None:
        self.fsyncs = 0

    def fdatasync(self, fd: int, durable: int | None = None) -> None:
        self.fsyncs += 1
        super().fdatasync(fd, durable)

    def fsync(self, fd: int) -> None:
        self.fsyncs += 1
        super().fsync(fd)


def open_wal(root: str, name: str) -> tuple[Wal, CountingFs]:
    fs = CountingFs()
    return Wal.open(os.path.join(root, name), cluster_id="bench", node_id=1, fs=fs), fs


def fsync_per_record(root: str, size: int, count: int) -> dict:
    wal, fs = open_wal(root, f"single-{size}")
    data = os.urandom(size)
    base = fs.fsyncs
    t0 = time.perf_counter()
    for i in range(1, count + 1):
        wal.append([LogEntry(i, 1, 0, data)])
        wal.sync()
    dt = time.perf_counter() - t0
    wal.close()
    return {"records": count, "seconds": dt, "fsyncs": fs.fsyncs - base}


def group_commit(root: str, size: int, count: int, appenders: int) -> dict:
    wal, fs = open_wal(root, f"group-{size}")
    gc = GroupCommitter(wal)
    data = os.urandom(size)
    lock = threading.Lock()
    state = {"next": 1}
    per = count // appenders

    def appender() -> None:
        for _ in range(per):
            with lock:  # indexes reach the committer in order
                i = state["next"]
                state["next"] = i + 1
                fut = gc.submit([LogEntry(i, 1, 0, data)])
            fut.result()

    threads = [threading.Thread(target=appender) for _ in range(appenders)]
    base = fs.fsyncs
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    gc.close()
    wal.close()
    return {"records": per * appenders, "seconds": dt, "fsyncs": fs.fsyncs - base}


def pipelined(root: str, size: int, count: int, window: int) -> dict:
    """One submitting thread with many batches in flight: the server's shape (one batch of
    entries per event-loop turn, not waiting for the previous one to be durable)."""
    wal, fs = open_wal(root, f"pipe-{size}")
    gc = GroupCommitter(wal)
    data = os.urandom(size)
    per_batch = 16
    inflight: list = []
    base = fs.fsyncs
    t0 = time.perf_counter()
    i = 1
    while i <= count:
        batch = [LogEntry(j, 1, 0, data) for j in range(i, min(i + per_batch, count + 1))]
        inflight.append(gc.submit(batch))
        i += len(batch)
        if len(inflight) >= window:
            inflight.pop(0).result()
    for f in inflight:
        f.result()
    dt = time.perf_counter() - t0
    gc.close()
    wal.close()
    return {"records": count, "seconds": dt, "fsyncs": fs.fsyncs - base}


def line(label: str, size: int, r: dict) -> str:
    rps = r["records"] / r["seconds"]
    mbs = rps * size / 1e6
    per = r["records"] / max(1, r["fsyncs"])
    return (
        f"{label:<34} {size:>6} B  {r['records']:>8} rec  {rps:>11,.0f} rec/s  {mbs:>8.2f} MB/s  "
        f"{r['fsyncs']:>7} fsyncs  {per:>7.1f} rec/fsync"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    p.add_argument("--dir", default=None, help="where to put the WAL (default: a temp dir)")
    p.add_argument("--appenders", type=at_least(1), default=64)
    a = p.parse_args(argv)
    n_single = 50 if a.quick else 2000
    n_group = 256 if a.quick else 40000
    appenders = 8 if a.quick else a.appenders
    root = tempfile.mkdtemp(prefix="raftis-walbench-", dir=a.dir)
    try:
        print(f"WAL benchmark in {root} (python {sys.version.split()[0]})")
        for size in (100, 4096):
            single = fsync_per_record(root, size, n_single)
            group = group_commit(root, size, n_group, appenders)
            pipe = pipelined(root, size, n_group, 64)
            print(line("fsync per record", size, single))
            print(line(f"group commit, {appenders} appenders", size, group))
            print(line("group commit, pipelined x16 batches", size, pipe))
            base = single["records"] / single["seconds"]
            print(
                f"  -> group commit is {group['records'] / group['seconds'] / base:.1f}x, "
                f"pipelined {pipe['records'] / pipe['seconds'] / base:.1f}x fsync-per-record\n"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
