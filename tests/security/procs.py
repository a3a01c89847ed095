"""Real ``raftis server`` processes for the security tests, password-aware.

``start_node`` runs ``python -m server.cli server`` on free ports with extra arguments and
waits until it answers (authenticating when given a password); ``stop`` kills it by pid.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import redis

from tests.integration.cluster import ROOT, free_ports, wait_for


@dataclass
class NodeProcess:
    proc: subprocess.Popen
    port: int
    raft_port: int
    dir: str
    log_path: str
    password: str | None = None
    username: str | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def client(self, **kw: Any) -> redis.Redis:
        kw.setdefault("socket_timeout", 10)
        kw.setdefault("protocol", 2)
        if self.password is not None:
            kw.setdefault("password", self.password)
            if self.username:
                kw.setdefault("username", self.username)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def log(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def rss_kb(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def launch(data_dir: str, args: list[str], *, port: int | None = None, raft_port: int | None = None,
           node_id: int = 1) -> tuple[subprocess.Popen, int, int, str]:
    if port is None or raft_port is None:
        port, raft_port = free_ports(2)
    os.makedirs(os.path.dirname(data_dir.rstrip("/")) or ".", exist_ok=True)
    log_path = data_dir.rstrip("/") + f".{port}.log"
    cmd = [sys.executable, "-m", "server.cli", "server", "--id", str(node_id), "--port", str(port),
           "--raft-port", str(raft_port), "--dir", data_dir, "--tick-ms", "20", "--election-ticks", "10",
           *args]
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT)
    return proc, port, raft_port, log_path


def start_node(data_dir: str, args: list[str] = (), *, password: str | None = None, username: str | None = None,
               wait: bool = True, **kw: Any) -> NodeProcess:
    proc, port, raft_port, log_path = launch(data_dir, list(args), **kw)
    node = NodeProcess(proc, port, raft_port, data_dir, log_path, password, username)
    if wait:
        wait_ready(node)
    return node


def wait_ready(node: NodeProcess, timeout: float = 20.0) -> None:
    def up() -> bool:
        if node.proc.poll() is not None:
            raise RuntimeError(f"node exited:\n{node.log()[-3000:]}")
        c = node.client(socket_timeout=1)
        try:
            c.set("__ready__", "1")
            return True
        finally:
            c.close()

    wait_for(up, timeout, what="the node to take writes")


def redis_cli(port: int, *args: str, extra: list[str] = (), stdin: str | None = None, timeout: float = 10) -> str:
    cmd = ["redis-cli", "-p", str(port), *extra, *args]
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    return (out.stdout + out.stderr).strip()


def now() -> float:
    return time.monotonic()


def start_redis_server(data_dir: str, *args: str) -> tuple[subprocess.Popen, int]:
    """A reference redis-server without persistence on a free port (the test stops it)."""
    (port,) = free_ports(1)
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", data_dir, *args], stdout=subprocess.DEVNULL)
    wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True, 10)
    return proc, port
