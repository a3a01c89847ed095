"""Redis Cluster's view of a Raftis cluster: one shard owning all 16384 slots, mastered by the
Raft leader, so cluster-mode clients and ``redis-cli -c`` work unchanged."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from resp.types import Map


def _crc16_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_TABLE = _crc16_table()


def crc16(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


def key_slot(key: bytes) -> int:
    """Redis Cluster's hash slot, honouring {hash tags}."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return crc16(key) % 16384


SLOTS = 16384


def cluster_node_id(cluster_id: str, node_id: int) -> str:
    """A Redis Cluster node id (40 hex digits) for Raft node ``node_id``: the same on every
    member and across restarts, and different between clusters."""
    return hashlib.sha1(f"raftis:{cluster_id}:{node_id}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Member:
    node_id: int
    host: str
    port: int  # client port
    bus_port: int  # the Raft peer port, shown where Redis shows the cluster bus port
    voter: bool


@dataclass(frozen=True, slots=True)
class ClusterView:
    """What this node knows of the cluster, in Redis Cluster terms.  ``leader_id`` 0 means no
    leader is known: the slots are then unserved (CLUSTER SLOTS is empty, the state ``fail``)."""

    cluster_id: str
    myself: int
    leader_id: int
    members: tuple[Member, ...]  # ordered by node id
    term: int = 0

    def cid(self, node_id: int) -> str:
        return cluster_node_id(self.cluster_id, node_id)

    @property
    def leader(self) -> Member | None:
        for m in self.members:
            if m.node_id == self.leader_id:
                return m
        return None

    @property
    def replicas(self) -> list[Member]:
        return [m for m in self.members if m.node_id != self.leader_id]

    @property
    def state_ok(self) -> bool:
        return self.leader is not None

    def slots(self) -> list:
        """CLUSTER SLOTS: ``[[0, 16383, master, replica...]]``, each node ``[ip, port, id, {}]``."""
        leader = self.leader
        if leader is None:
            return []
        nodes = [[m.host.encode(), m.port, self.cid(m.node_id).encode(), Map([])]
                 for m in (leader, *self.replicas)]
        return [[0, SLOTS - 1, *nodes]]

    def shards(self) -> list:
        """CLUSTER SHARDS: one shard; the leader is its master, every other member a replica."""
        leader = self.leader
        order = ([leader] if leader is not None else []) + self.replicas
        nodes = []
        for m in order:
            is_master = m is leader
            nodes.append(Map([
                (b"id", self.cid(m.node_id).encode()),
                (b"port", m.port),
                (b"ip", m.host.encode()),
                (b"endpoint", m.host.encode()),
                (b"role", b"master" if is_master else b"replica"),
                (b"replication-offset", 0),
                (b"health", b"online" if leader is not None else b"fail"),
            ]))
        slots = [0, SLOTS - 1] if leader is not None else []
        return [Map([(b"slots", slots), (b"nodes", nodes)])]

    def nodes_text(self, now_ms: int) -> bytes:
        """CLUSTER NODES: one line per member, Redis 7.0's format."""
        lines = []
        master = self.cid(self.leader_id) if self.leader is not None else "-"
        for m in self.members:
            flags = ["myself"] if m.node_id == self.myself else []
            if m.node_id == self.leader_id:
                flags.append("master")
                of, slots = "-", f" 0-{SLOTS - 1}"
            else:
                flags.append("slave" if self.leader is not None else "master")
                of, slots = (master, "")
            lines.append(f"{self.cid(m.node_id)} {m.host}:{m.port}@{m.bus_port} {','.join(flags)} {of} "
                         f"0 {now_ms if m.node_id != self.myself else 0} {self.term} connected{slots}\n")
        return "".join(lines).encode()

    def info_text(self) -> bytes:
        ok = self.state_ok
        assigned = SLOTS if ok else 0
        fields = [
            ("cluster_state", "ok" if ok else "fail"),
            ("cluster_slots_assigned", assigned),
            ("cluster_slots_ok", assigned),
            ("cluster_slots_pfail", 0),
            ("cluster_slots_fail", 0),
            ("cluster_known_nodes", len(self.members)),
            ("cluster_size", 1 if ok else 0),
            ("cluster_current_epoch", self.term),
            ("cluster_my_epoch", self.term if self.myself == self.leader_id else 0),
            ("cluster_stats_messages_sent", 0),
            ("cluster_stats_messages_received", 0),
            ("total_cluster_links_buffer_limit_exceeded", 0),
        ]
        return "".join(f"{k}:{v}\r\n" for k, v in fields).encode()
