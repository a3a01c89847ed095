"""Child process for the SIGKILL test: appends under load with group commit and prints
every index it has seen made durable (one line each, flushed before going on)."""

from __future__ import annotations

import sys
import threading

from storage import GroupCommitter, HardState, LogEntry, Wal


def payload(i: int) -> bytes:
    return f"entry-{i}-".encode() * (1 + i % 7)


def main(directory: str, writers: int) -> None:
    wal = Wal.open(directory, cluster_id="kill-test", node_id=1, segment_size=256 << 10)
    out = sys.stdout
    lock = threading.Lock()

    def durable(index: int) -> None:
        out.write(f"{index}\n")
        out.flush()

    gc = GroupCommitter(wal, on_durable=durable)
    state = {"next": wal.last_index + 1}
    print(f"start {wal.last_index}", flush=True)

    def writer(n: int) -> None:
        while True:
            with lock:  # indexes must reach the committer in order
                lo = state["next"]
                batch = [LogEntry(i, 1, 0, payload(i)) for i in range(lo, lo + 1 + n % 3)]
                state["next"] = batch[-1].index + 1
                hs = HardState(1, 1, max(0, lo - 50)) if lo % 10 == 0 else None
                fut = gc.submit(batch, hs)
            fut.result()

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
