"""Bulk loading small string keys, pipelined with a bounded number of commands in flight.

Key i is ``key:i`` and its value the 10-byte ``%010d`` of i, so the last key loaded,
``key:{n-1}``, tells a restarted server has everything.

The loader keeps at most ``CONNECTIONS * WINDOW * BATCH`` commands unanswered, as a
well-behaved client does. (``redis-cli --pipe`` streams everything at once: Raftis accepts it
all and, on a busy machine, the writes at the back of the queue are not committed within
``--command-timeout`` and get ``-TIMEOUT``.) Any error reply fails the load.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque

import hiredis

CONNECTIONS = 2
WINDOW = 2  # batches in flight per connection
BATCH = 1000


def key(i: int) -> bytes:
    return b"key:%d" % i


def value(i: int) -> bytes:
    return b"%010d" % i


def set_commands(start: int, end: int) -> bytes:
    """RESP for ``SET key:i value(i)``, i in [start, end)."""
    out = []
    for i in range(start, end):
        k = key(i)
        out.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$10\r\n%s\r\n" % (len(k), k, value(i)))
    return b"".join(out)


def _load_range(port: int, start: int, end: int, errors: list[str], timeout: float) -> None:
    reader = hiredis.Reader()
    in_flight: deque[int] = deque()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        i = start
        while i < end or in_flight:
            while i < end and len(in_flight) < WINDOW:
                j = min(i + BATCH, end)
                sock.sendall(set_commands(i, j))
                in_flight.append(j - i)
                i = j
            want = in_flight.popleft()
            while want:
                reply = reader.gets()
                if reply is False:
                    data = sock.recv(1 << 16)
                    if not data:
                        raise ConnectionError(f"port {port} closed the connection during the load")
                    reader.feed(data)
                    continue
                if reply != b"OK":
                    errors.append(repr(reply))
                want -= 1


def load(port: int, n: int, timeout: float = 120.0) -> float:
    """SET key:i for i in [0, n) over CONNECTIONS connections; returns the seconds it took."""
    errors: list[str] = []
    failures: list[BaseException] = []
    step = -(-n // CONNECTIONS)

    def worker(a: int, b: int) -> None:
        try:
            _load_range(port, a, b, errors, timeout)
        except BaseException as e:  # noqa: BLE001 - reported by the caller
            failures.append(e)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(a, min(a + step, n))) for a in range(0, n, step)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"bulk load into port {port} failed: {failures[0]!r}")
    if errors:
        raise RuntimeError(f"bulk load into port {port}: {len(errors)} error replies, first {errors[0]}")
    return took
