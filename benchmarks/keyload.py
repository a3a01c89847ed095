"""Bulk loading small string keys with ``redis-cli --pipe`` (Redis's mass-insertion mode).

Key i is ``key:i`` and its value the 10-byte ``%010d`` of i, so the last key loaded,
``key:{n-1}``, tells a restarted server has everything.
"""

from __future__ import annotations

import os
import subprocess
import time

REDIS_CLI = "redis-cli"


def key(i: int) -> bytes:
    return b"key:%d" % i


def value(i: int) -> bytes:
    return b"%010d" % i


def write_set_commands(path: str, n: int) -> None:
    """RESP for ``SET key:i value(i)``, i in [0, n), in ``path``."""
    with open(path, "wb") as f:
        chunk = []
        for i in range(n):
            k = key(i)
            chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$10\r\n%s\r\n" % (len(k), k, value(i)))
            if len(chunk) == 10_000:
                f.write(b"".join(chunk))
                chunk.clear()
        f.write(b"".join(chunk))


def pipe_load(port: int, path: str, n: int, timeout: float = 900.0) -> float:
    """Send the commands in ``path`` and wait for every reply; returns the seconds it took."""
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        done = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(port), "--pipe"], stdin=f,
                              capture_output=True, text=True, timeout=timeout)
    took = time.perf_counter() - t0
    out = done.stdout + done.stderr
    if done.returncode != 0 or f"errors: 0, replies: {n}" not in out:
        raise RuntimeError(f"bulk load into port {port} failed ({done.returncode}):\n{out}")
    return took


def commands_file(root: str, n: int) -> str:
    path = os.path.join(root, f"set-{n}.resp")
    if not os.path.exists(path):
        write_set_commands(path, n)
    return path
