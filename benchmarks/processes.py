"""Processes the benchmarks start, and only those.

``ProcessSet`` remembers every child it started and kills exactly those PIDs, with whatever
they forked themselves (a Raftis node forks to write a snapshot), when it is closed, which ``run`` does in a ``finally`` (so after an exception or Ctrl-C too). Children are
also asked to die with their parent (``PR_SET_PDEATHSIG``), so a runner killed with SIGKILL does
not leave servers behind either.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: ProcessSet.close still kills by PID
        pass


def free_ports(n: int) -> list[int]:
    """n distinct TCP ports that were free a moment ago (all held at once, so never repeated)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (VmRSS in /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class ProcessSet:
    """Children started for one benchmark run; ``close()`` kills the ones still running."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen] = []

    def start(self, cmd: Sequence[str], log_path: str, cwd: str | None = None) -> subprocess.Popen:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(list(cmd), cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, sig: int = signal.SIGKILL, timeout: float = 30.0) -> None:
        forks = descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        _kill_all(forks)
        if proc in self._procs:
            self._procs.remove(proc)

    def close(self) -> None:
        forks = [pid for proc in self._procs for pid in descendants(proc.pid)]
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.kill()
        _kill_all(forks)
        for proc in self._procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._procs.clear()

    def __enter__(self) -> ProcessSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def descendants(pid: int) -> list[int]:
    """PIDs forked by ``pid`` and by its children, read from /proc (children first)."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name in parentheses may hold spaces: the fields after its ')' are fixed
        parent_of[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, pp in parent_of.items() if pp in frontier]
        found += kids
        frontier = kids
    return found


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.01)


def raise_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so ``finally`` blocks (and ProcessSet.close) run."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped by someone else counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:].split()[0] != b"Z"
