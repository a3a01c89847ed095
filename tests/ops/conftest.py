import os
import subprocess
import sys

import pytest

from tests.integration.cluster import ROOT, Cluster, free_ports, wait_for


@pytest.fixture
def cluster_factory(tmp_path):
    made: list[Cluster] = []

    def make(n: int = 3, **kw) -> Cluster:
        c = Cluster(str(tmp_path / f"c{len(made)}"), n, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


class Single:
    """One `raftis server` process started with any arguments; killed at the end of the test."""

    def __init__(self, tmp_path, args: list[str], name: str = "single") -> None:
        self.port, self.raft_port = free_ports(2)
        self.dir = str(tmp_path / name)
        self.log_path = str(tmp_path / f"{name}.log")
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self, extra: list[str] | None = None, with_ports: bool = True) -> "Single":
        cmd = [sys.executable, "-m", "server.cli", "server"]
        if with_ports:
            cmd += ["--port", str(self.port), "--raft-port", str(self.raft_port), "--dir", self.dir]
        cmd += [*self.args, *(extra or [])]
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT)
        wait_for(self._up, 30, what="the node to serve")
        return self

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"node exited:\n{self.log()}")
        import redis

        r = redis.Redis(port=self.port, socket_timeout=1, protocol=2)
        try:
            return r.set("__up", "1")
        finally:
            r.close()

    def client(self, **kw):
        import redis

        kw.setdefault("socket_timeout", 15)
        kw.setdefault("protocol", 2)
        return redis.Redis(port=self.port, **kw)

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def single(tmp_path):
    made: list[Single] = []

    def make(args: list[str] | None = None, name: str = "single") -> Single:
        s = Single(tmp_path, list(args or []), name)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


def raftis(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """Run the raftis CLI; returns the completed process (text output)."""
    env = dict(os.environ, COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env, **kw)
