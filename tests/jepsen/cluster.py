"""Real ``raftis server`` processes behind fault-injecting proxies.

Extends the integration suite's `Cluster`: node N binds 127.0.1.N and advertises 127.0.2.N,
where its `NodeProxy` listens on the same two port numbers. Every peer address in the
membership (from ``--peers``, ``--join`` or ``RAFT.ADDNODE``) is therefore a proxy address,
and the harness's clients talk to the real address directly.

Each node runs with ``RAFTIS_TEST_SYNC_LEDGER`` set, so the storage layer notes how much of
each file every fsync made durable; `power_loss` uses that to cut off what a power failure
would have lost. Every process started here is killed on `close`, by PID.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.integration.cluster import ROOT, Cluster, NodeProc, free_ports, wait_for

from .proxy import ProxyFabric

FAST_TIMING = ["--tick-ms", "20", "--election-ticks", "20", "--heartbeat-ticks", "2"]


def node_host(nid: int) -> str:
    return f"127.0.1.{nid}"


def proxy_host(nid: int) -> str:
    return f"127.0.2.{nid}"


def make_client(host: str, port: int, timeout: float) -> redis.Redis:
    """A client that never retries by itself: a retried write could be applied twice, and
    the history must record exactly what each call learnt."""
    return redis.Redis(host=host, port=port, socket_timeout=timeout, socket_connect_timeout=min(timeout, 2.0),
                       protocol=2, retry=Retry(NoBackoff(), 0), single_connection_client=True)


@dataclass
class JepsenNode(NodeProc):
    host: str = "127.0.0.1"
    ledger: str = ""

    def client(self, **kw: Any) -> redis.Redis:
        return make_client(self.host, self.port, kw.get("socket_timeout", 15))

    @property
    def peer_address(self) -> str:
        return f"{self.node_id}={proxy_host(self.node_id)}:{self.raft_port}:{self.port}"


class JepsenCluster(Cluster):
    """A `Cluster` whose peer traffic goes through a `ProxyFabric`."""

    def __init__(self, base_dir: str, n: int, fabric: ProxyFabric, extra_args: list[str] | None = None) -> None:
        self.base_dir = base_dir
        self.fabric = fabric
        self.nodes: dict[int, JepsenNode] = {}  # type: ignore[assignment]
        self.extra_args = list(extra_args or []) + FAST_TIMING
        self.started_pids: list[int] = []
        self.next_id = n + 1
        self.retired: set[int] = set()  # removed from the cluster and stopped for good
        made = [self._new_node(i) for i in range(1, n + 1)]
        self.peers = ",".join(nd.peer_address for nd in made)
        for nd in made:
            nd.args = ["--peers", self.peers]

    def _new_node(self, nid: int) -> JepsenNode:
        port, raft_port = free_ports(2)
        nd = JepsenNode(nid, port, raft_port, os.path.join(self.base_dir, f"node{nid}"), [],
                        host=node_host(nid), ledger=os.path.join(self.base_dir, f"node{nid}.synced"))
        nd.extra = ["--bind", node_host(nid), "--advertise", proxy_host(nid)]
        self.nodes[nid] = nd
        self.fabric.add(nid, proxy_host(nid), node_host(nid), raft_port, port)
        return nd

    def start_node(self, nid: int) -> NodeProc:
        nd = self.nodes[nid]
        os.makedirs(self.base_dir, exist_ok=True)
        nd.log_path = os.path.join(self.base_dir, f"node{nid}.log")
        env = dict(os.environ, RAFTIS_TEST_SYNC_LEDGER=nd.ledger, PYTHONUNBUFFERED="1")
        with open(nd.log_path, "ab") as logf:
            logf.write(b"=== harness: starting node %d ===\n" % nid)
            logf.flush()
            # Its own process group, so a signal reaches the snapshot child it forks as well:
            # a power failure or a SIGSTOP stops the whole machine's worth of the node.
            nd.proc = subprocess.Popen(self._cmd(nd), cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT, env=env,
                                       start_new_session=True)
        self.started_pids.append(nd.proc.pid)
        return nd

    def kill(self, nid: int, sig: int = signal.SIGKILL) -> None:
        """Signal the node's process group (the node and any snapshot child it forked)."""
        nd = self.nodes[nid]
        if nd.proc is None or nd.proc.poll() is not None:
            return
        try:
            os.killpg(nd.proc.pid, sig)
        except ProcessLookupError:
            return
        if sig in (signal.SIGKILL, signal.SIGTERM):
            nd.proc.wait(timeout=30)
            self._wait_group_gone(nd.proc.pid)

    @staticmethod
    def _wait_group_gone(pgid: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)

    # -- membership ---------------------------------------------------------------------------
    def members(self) -> list[int]:
        return [n for n in self.nodes if n not in self.retired]

    def live(self) -> list[int]:
        return [n for n in self.members() if self.nodes[n].alive]

    def admin(self, *argv: Any, timeout: float = 30.0) -> Any:
        """Run an admin command on any live member (followers relay to the leader)."""
        last: Exception | None = None
        order = self.live()
        random.shuffle(order)
        for nid in order:
            try:
                return self.nodes[nid].client(socket_timeout=timeout).execute_command(*argv)
            except redis.RedisError as e:
                last = e
        raise RuntimeError(f"{argv[0]} failed on every node: {last!r}")

    def add_fresh(self, nid: int | None = None, via: int | None = None) -> int:
        """Start an empty node that joins through a live member; returns its id."""
        if nid is None:
            nid = self.next_id
            self.next_id += 1
            self._new_node(nid)
        via = via or random.choice(self.live())
        nd = self.nodes[nid]
        nd.args = ["--join", f"{self.nodes[via].host}:{self.nodes[via].port}"]
        self.retired.discard(nid)
        self.start_node(nid)
        return nid

    def wipe(self, nid: int) -> None:
        nd = self.nodes[nid]
        assert not nd.alive
        shutil.rmtree(nd.dir, ignore_errors=True)
        with open(nd.ledger, "w"):
            pass

    def is_voter(self, nid: int) -> bool:
        info = self.raft_info(nid)
        return info.get("role") in ("leader", "follower", "candidate", "precandidate", "pre_candidate")

    # -- faults -------------------------------------------------------------------------------
    def power_loss(self, nid: int, rng: random.Random) -> list[str]:
        """SIGKILL the node, then cut every file back to a length between what its last fsync
        made durable and what it holds now (the page cache of a killed process survives; a
        power failure would lose it). Files the ledger never saw synced are left alone: that
        only makes the fault milder. Returns what was cut, for the timeline."""
        self.kill(nid, signal.SIGKILL)
        nd = self.nodes[nid]
        synced: dict[int, int] = {}
        try:
            with open(nd.ledger) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2:
                        synced[int(parts[0])] = int(parts[1])
        except FileNotFoundError:
            return []
        cuts = []
        for dirpath, _, files in os.walk(nd.dir):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except FileNotFoundError:  # nothing of the node runs any more; be safe anyway
                    continue
                durable = synced.get(st.st_ino)
                if durable is None or st.st_size <= durable:
                    continue
                keep = rng.randint(durable, st.st_size) if rng.random() < 0.5 else durable
                os.truncate(path, keep)
                cuts.append(f"{name}: {st.st_size}->{keep} (synced {durable})")
        return cuts

    def pause(self, nid: int) -> None:
        self.kill(nid, signal.SIGSTOP)

    def wait_leader(self, timeout: float = 30.0) -> int:
        return self.leader(timeout=timeout, among=self.live())

    def resume(self, nid: int) -> None:
        nd = self.nodes[nid]
        if nd.proc is not None and nd.proc.poll() is None:
            try:
                os.killpg(nd.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        for nid in self.nodes:
            try:
                self.kill(nid)
            except Exception:  # noqa: BLE001 - keep closing the others
                pass
        super().close()


def leader_or_none(c: JepsenCluster) -> int | None:
    try:
        return c.leader(timeout=2.0, among=c.live())
    except TimeoutError:
        return None


__all__ = ["JepsenCluster", "JepsenNode", "leader_or_none", "make_client", "wait_for"]
