"""A test cluster of real ``raftis server`` processes on loopback.

``Cluster`` starts nodes on free ports, kills and restarts them by PID, finds the leader,
and waits for conditions; every process it started is killed when it is closed, even after
a failed test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports (each also free at +10000 is not assumed: raft ports are
    picked separately)."""
    socks = []
    ports = []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def wait_for(cond: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - conditions poll servers that may be down
            last_exc = e
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what or cond}" + (f" (last error: {last_exc!r})" if last_exc else ""))


@dataclass
class NodeProc:
    node_id: int
    port: int
    raft_port: int
    dir: str
    args: list[str]
    proc: subprocess.Popen | None = None
    log_path: str = ""
    extra: list[str] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def client(self, **kw: Any) -> redis.Redis:
        kw.setdefault("socket_timeout", 15)
        kw.setdefault("protocol", 2)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)


class Cluster:
    def __init__(self, base_dir: str, n: int = 3, extra_args: list[str] | None = None,
                 fast: bool = True) -> None:
        self.base_dir = base_dir
        self.nodes: dict[int, NodeProc] = {}
        self.extra_args = list(extra_args or [])
        if fast:
            self.extra_args += ["--tick-ms", "20", "--election-ticks", "15", "--heartbeat-ticks", "2"]
        ports = free_ports(2 * n)
        self.peers = ",".join(f"{i + 1}=127.0.0.1:{ports[n + i]}:{ports[i]}" for i in range(n))
        for i in range(n):
            nid = i + 1
            self.nodes[nid] = NodeProc(nid, ports[i], ports[n + i], os.path.join(base_dir, f"node{nid}"),
                                       ["--peers", self.peers])

    def advertise_raft_ports(self, ports: dict[int, int]) -> None:
        """Before ``start``: the nodes reach each other's peer ports at these ports (a relay
        in between, say), while each still listens on its own."""
        self.peers = ",".join(f"{nid}=127.0.0.1:{ports.get(nid, nd.raft_port)}:{nd.port}"
                              for nid, nd in self.nodes.items())
        for nd in self.nodes.values():
            nd.args = ["--peers", self.peers]

    def _cmd(self, nd: NodeProc) -> list[str]:
        return [sys.executable, "-m", "server.cli", "server", "--id", str(nd.node_id), "--port", str(nd.port),
                "--raft-port", str(nd.raft_port), "--dir", nd.dir, *nd.args, *self.extra_args, *nd.extra]

    def start_node(self, nid: int) -> NodeProc:
        nd = self.nodes[nid]
        os.makedirs(self.base_dir, exist_ok=True)
        nd.log_path = os.path.join(self.base_dir, f"node{nid}.log")
        logf = open(nd.log_path, "ab")
        nd.proc = subprocess.Popen(self._cmd(nd), cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        return nd

    def start(self) -> Cluster:
        for nid in self.nodes:
            self.start_node(nid)
        for nid in self.nodes:
            self.wait_serving(nid)
        self.leader()
        # Every member knows the leader (a follower that has not heard from it yet answers
        # CLUSTERDOWN, as it should, but that is not what a test means by "started").

        def agreed() -> bool:
            known = {self.raft_info(nid).get("leader_id") for nid in self.nodes}
            return len(known) == 1 and known != {"0"}

        wait_for(agreed, 20, what="every node to know the leader")
        return self

    def wait_serving(self, nid: int, timeout: float = 20.0) -> None:
        nd = self.nodes[nid]

        def up() -> bool:
            if not nd.alive:
                raise RuntimeError(f"node {nid} exited:\n{self.tail(nid)}")
            return nd.client(socket_timeout=1).execute_command("RAFT.INFO")

        wait_for(up, timeout, what=f"node {nid} to accept connections")

    def add_node(self, nid: int, args: list[str]) -> NodeProc:
        port, raft_port = free_ports(2)
        self.nodes[nid] = NodeProc(nid, port, raft_port, os.path.join(self.base_dir, f"node{nid}"), args)
        return self.start_node(nid)

    def tail(self, nid: int, lines: int = 40) -> str:
        try:
            with open(self.nodes[nid].log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return ""

    def kill(self, nid: int, sig: int = signal.SIGKILL) -> None:
        nd = self.nodes[nid]
        if nd.proc is not None and nd.proc.poll() is None:
            nd.proc.send_signal(sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                nd.proc.wait(timeout=30)

    def restart(self, nid: int) -> None:
        self.kill(nid)
        self.start_node(nid)
        self.wait_serving(nid)

    def restart_from_snapshots(self) -> None:
        """Every node compacts its log into a snapshot, then the whole cluster restarts: what
        comes back comes from the snapshots, not from the log."""
        for nid in self.nodes:
            self.nodes[nid].client().execute_command("RAFT.SNAPSHOT")
            wait_for(lambda nid=nid: int(self.raft_info(nid)["snapshot_index"]) > 0, what="a snapshot")
        for nid in self.nodes:
            self.kill(nid)
        for nid in self.nodes:
            self.start_node(nid)
        for nid in self.nodes:
            self.wait_serving(nid)
        self.leader()

    def raft_info(self, nid: int) -> dict[str, str]:
        text = self.nodes[nid].client(socket_timeout=2).execute_command("RAFT.INFO")
        if isinstance(text, bytes):
            text = text.decode()
        out = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def leader(self, timeout: float = 20.0, among: list[int] | None = None) -> int:
        ids = among or [n for n, nd in self.nodes.items() if nd.alive]

        def find() -> int:
            votes = {}
            for nid in ids:
                try:
                    info = self.raft_info(nid)
                except Exception:  # noqa: BLE001
                    continue
                if info.get("role") == "leader":
                    votes[nid] = int(info["term"])
            if len(votes) == 1:
                return next(iter(votes))
            if votes:  # two claim leadership in different terms: take the newer once it settles
                return 0
            return 0

        return wait_for(find, timeout, what="a single leader")

    def follower(self) -> int:
        lead = self.leader()
        return next(n for n, nd in self.nodes.items() if nd.alive and n != lead)

    def close(self) -> None:
        for nd in self.nodes.values():
            if nd.proc is not None and nd.proc.poll() is None:
                nd.proc.kill()
                try:
                    nd.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SlowRelay:
    """A TCP relay on loopback in front of ``target_port``: bytes towards the target pass at
    ``rate`` bytes a second, in small pieces, like a slow network link; replies come back
    at once. Threads, closed with ``close``."""

    def __init__(self, target_port: int, rate: int) -> None:
        self.target_port = target_port
        self.rate = rate
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                continue
            self.socks += [client, server]
            threading.Thread(target=self._pump, args=(client, server, self.rate), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, 0), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, rate: int) -> None:
        piece = max(1, rate // 100) if rate else 1 << 16
        try:
            while not self.closed:
                data = src.recv(piece)
                if not data:
                    break
                dst.sendall(data)
                if rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.closed = True
        for s in [self.listener, *self.socks]:
            s.close()
