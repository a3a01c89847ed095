"""The servers a benchmark talks to: Raftis nodes (alone or as a cluster) and redis-server.

Each server runs as a child process of a ``ProcessSet`` on free ports in its own directory
under the run's temp dir, with its output in ``<dir>.log``. Raftis runs with its default
settings (fsync on, default Raft timing): the benchmark measures what a user gets.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from benchmarks.processes import ProcessSet, free_ports

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REDIS_SERVER = "redis-server"


def wait_for(cond: Callable[[], Any], timeout: float, what: str, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = cond()
            if value:
                return value
        except (redis.RedisError, OSError) as e:  # the server is still starting
            last = e
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}" + (f" (last error: {last!r})" if last else ""))


def client(port: int, timeout: float = 30.0) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, protocol=2, socket_timeout=timeout,
                       socket_connect_timeout=timeout)


def parse_info(text: str | bytes) -> dict[str, str]:
    if isinstance(text, bytes):
        text = text.decode()
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


@dataclass
class Server:
    """One server process: ``name`` says what it is (``raftis-3 node 2``, ``redis aof``)."""

    name: str
    port: int
    dir: str
    cmd: list[str]
    procs: ProcessSet
    proc: subprocess.Popen | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log_path(self) -> str:
        return self.dir + ".log"

    def start(self) -> None:
        os.makedirs(self.dir, exist_ok=True)
        self.proc = self.procs.start(self.cmd, self.log_path, cwd=ROOT)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None:
            self.procs.stop(self.proc, sig)

    def client(self, timeout: float = 30.0) -> redis.Redis:
        return client(self.port, timeout)

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited; last log lines:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return ""

    def wait_ping(self, timeout: float = 30.0) -> None:
        def up() -> bool:
            self.check_alive()
            return bool(self.client(1.0).ping())

        wait_for(up, timeout, f"{self.name} to answer PING")


def redis_server(procs: ProcessSet, root: str, name: str, aof: bool) -> Server:
    """redis-server with ``appendfsync always`` (aof) or with no persistence at all."""
    (port,) = free_ports(1)
    d = os.path.join(root, name.replace(" ", "-"))
    persistence = ["--appendonly", "yes", "--appendfsync", "always"] if aof else ["--appendonly", "no"]
    cmd = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "",
           "--daemonize", "no", *persistence]
    return Server(name, port, d, cmd, procs)


def raftis_cmd(node_id: int, port: int, raft_port: int, d: str, peers: str | None,
               extra: tuple[str, ...] = ()) -> list[str]:
    cmd = [sys.executable, "-m", "server.cli", "server", "--id", str(node_id), "--port", str(port),
           "--raft-port", str(raft_port), "--dir", d, *extra]
    return cmd + (["--peers", peers] if peers else [])


def raft_info(srv: Server) -> dict[str, str]:
    return parse_info(srv.client(5.0).execute_command("RAFT.INFO"))


class RaftisCluster:
    """n Raftis nodes (n=1: a single node started without ``--peers``), each started with
    ``extra`` options as well."""

    def __init__(self, procs: ProcessSet, root: str, name: str, n: int, extra: tuple[str, ...] = ()) -> None:
        self.name = name
        ports = free_ports(2 * n)
        peers = ",".join(f"{i + 1}=127.0.0.1:{ports[n + i]}:{ports[i]}" for i in range(n)) if n > 1 else None
        self.nodes = {
            i + 1: Server(f"{name} node {i + 1}", ports[i], os.path.join(root, f"{name}-node{i + 1}"),
                          raftis_cmd(i + 1, ports[i], ports[n + i], os.path.join(root, f"{name}-node{i + 1}"),
                                     peers, extra), procs)
            for i in range(n)
        }

    def start(self, timeout: float = 60.0) -> RaftisCluster:
        for node in self.nodes.values():
            node.start()
        for node in self.nodes.values():
            node.wait_ping(timeout)
        self.leader(timeout)
        return self

    def leader(self, timeout: float = 60.0) -> Server:
        """The one node that says it leads, once the others agree on it."""

        def find() -> Server | None:
            roles = {}
            for nid, node in self.nodes.items():
                node.check_alive()
                info = raft_info(node)
                roles[nid] = (info.get("role"), info.get("leader_id"))
            leaders = [nid for nid, (role, _) in roles.items() if role == "leader"]
            if len(leaders) == 1 and all(lid == str(leaders[0]) for _, lid in roles.values()):
                return self.nodes[leaders[0]]
            return None

        return wait_for(find, timeout, f"{self.name} to elect a leader")

    def follower(self) -> Server:
        lead = self.leader()
        return next(node for node in self.nodes.values() if node is not lead)

    def kill(self) -> None:
        for node in self.nodes.values():
            node.kill()
