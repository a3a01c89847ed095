"""INFO and CONFIG GET: what the node says about itself, in Redis's formats.

INFO sections use Redis's field names where they apply; the ``raft`` section holds the
consensus state (also returned by RAFT.INFO).
"""

from __future__ import annotations

import fnmatch
import os
import resource
import sys
import time
from typing import Any

from consensus.messages import Role

REDIS_VERSION = "7.2.0"
RAFTIS_VERSION = "0.1.0"

DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                    "keyspace", "raft")
ALL_SECTIONS = DEFAULT_SECTIONS


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _section(title: str, fields: list[tuple[str, Any]]) -> str:
    lines = [f"# {title}"]
    lines.extend(f"{k}:{v}" for k, v in fields)
    return "\r\n".join(lines)


def server_section(node: Any) -> str:
    cfg = node.cfg
    up = int(time.time() - node.started)
    return _section("Server", [
        ("redis_version", REDIS_VERSION),
        ("raftis_version", RAFTIS_VERSION),
        ("redis_mode", "standalone"),
        ("os", f"{os.uname().sysname} {os.uname().release} {os.uname().machine}"),
        ("arch_bits", 64),
        ("multiplexing_api", "epoll"),
        ("python_version", sys.version.split()[0]),
        ("process_id", os.getpid()),
        ("run_id", node.run_id),
        ("tcp_port", cfg.port),
        ("raft_port", cfg.raft_port),
        ("uptime_in_seconds", up),
        ("uptime_in_days", up // 86400),
        ("executable", sys.argv[0]),
    ])


def clients_section(node: Any) -> str:
    return _section("Clients", [
        ("connected_clients", len(node.sessions)),
        ("blocked_clients", 0),
        ("maxclients", 10000),
    ])


def memory_section(node: Any) -> str:
    rss = _rss_bytes()
    return _section("Memory", [
        ("used_memory", rss),
        ("used_memory_human", f"{rss / (1024 * 1024):.2f}M"),
        ("used_memory_rss", rss),
        ("maxmemory", 0),
        ("maxmemory_policy", "noeviction"),
    ])


def persistence_section(node: Any) -> str:
    raft = node.raft
    return _section("Persistence", [
        ("loading", 0),
        ("async_loading", 0),
        ("rdb_bgsave_in_progress", 1 if raft._snapshot_child else 0),
        ("rdb_last_bgsave_status", "ok"),
        ("rdb_last_save_index", raft.last_snapshot_index),
        ("rdb_last_bgsave_time_sec", f"{raft.last_snapshot_seconds:.3f}"),
        ("aof_enabled", 1),
        ("aof_last_write_status", "ok" if raft.fatal is None else "err"),
    ])


def stats_section(node: Any) -> str:
    d = node.raft.driver
    return _section("Stats", [
        ("total_connections_received", node.stats_connections),
        ("total_commands_processed", node.stats_commands),
        ("rejected_writes", node.stats_rejected),
        ("expired_keys", node.stats_expired),
        ("raft_messages_in", d.messages_in if d else 0),
        ("raft_messages_out", d.messages_out if d else 0),
    ])


def replication_section(node: Any) -> str:
    raft = node.raft
    fields: list[tuple[str, Any]] = []
    if raft.role == Role.LEADER:
        fields.append(("role", "master"))
        followers = [r for r in _peer_rows(node) if r[0] != node.cfg.node_id]
        fields.append(("connected_slaves", sum(1 for r in followers if r[3])))
        for i, (_nid, addr, match, connected) in enumerate(followers):
            host = addr.host if addr else ""
            port = addr.port if addr else 0
            state = "online" if connected else "offline"
            fields.append((f"slave{i}", f"ip={host},port={port},state={state},offset={match},lag=0"))
    else:
        fields.append(("role", "slave"))
        addr = raft.address_of(raft.leader_id) if raft.leader_id else None
        fields.append(("master_host", addr.host if addr else ""))
        fields.append(("master_port", addr.port if addr else 0))
        fields.append(("master_link_status", "up" if raft.leader_id else "down"))
        fields.append(("slave_repl_offset", node.applied))
        fields.append(("slave_read_only", 1))
    fields.append(("master_repl_offset", raft.core.commit))
    return _section("Replication", fields)


def cpu_section(node: Any) -> str:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return _section("CPU", [
        ("used_cpu_sys", f"{ru.ru_stime:.6f}"),
        ("used_cpu_user", f"{ru.ru_utime:.6f}"),
        ("used_cpu_sys_children", f"{ch.ru_stime:.6f}"),
        ("used_cpu_user_children", f"{ch.ru_utime:.6f}"),
    ])


def keyspace_section(node: Any) -> str:
    fields = []
    for i, db in enumerate(node.keyspace.dbs):
        if db.data:
            fields.append((f"db{i}", f"keys={len(db.data)},expires={len(db.expires)},avg_ttl=0"))
    return _section("Keyspace", fields)


def _peer_rows(node: Any) -> list[tuple[int, Any, int, bool]]:
    raft = node.raft
    core = raft.core
    rows = []
    for nid in sorted(core.membership.members()):
        if nid == node.cfg.node_id:
            match = core.log.last_index
            connected = True
        else:
            pr = core.progress.get(nid) if raft.role == Role.LEADER else None
            match = pr.match if pr is not None else -1
            connected = raft.transport.is_connected(nid)
        rows.append((nid, raft.address_of(nid), match, connected))
    return rows


def raft_section(node: Any) -> str:
    from server.commands.raft_admin import role_name

    raft = node.raft
    core = raft.core
    d = raft.driver
    fields: list[tuple[str, Any]] = [
        ("node_id", node.cfg.node_id),
        ("cluster_id", raft.cluster_id),
        ("role", role_name(raft) if core.membership else "none"),
        ("state", "up" if raft.fatal is None else "failed"),
        ("leader_id", raft.leader_id),
        ("term", core.term),
        ("commit_index", core.commit),
        ("applied_index", node.applied),
        ("last_log_index", core.log.last_index),
        ("snapshot_index", core.log.snapshot_index),
        ("snapshots_taken", raft.snapshots_taken),
        ("leader_changes", raft.leader_changes),
        ("num_nodes", len(core.membership.members())),
        ("num_voters", len(core.membership.voters)),
        ("pending_writes", len(node.waiters)),
        ("fsyncs", d.fsyncs if d else 0),
        ("fsync_avg_ms", f"{(d.fsync_seconds / d.fsyncs * 1000) if d and d.fsyncs else 0:.3f}"),
        ("fsync_last_ms", f"{d.fsync_last_ms if d else 0:.3f}"),
    ]
    leader_last = core.log.last_index
    for nid, addr, match, connected in _peer_rows(node):
        m = core.membership
        suffrage = "voter" if nid in m.voters else "learner"
        role = "leader" if nid == raft.leader_id else suffrage
        lag = leader_last - match if match >= 0 else -1
        addr_s = f"{addr.host},port={addr.port},raft_port={addr.raft_port}" if addr else ""
        fields.append((f"node{nid}", f"id={nid},role={role},addr={addr_s},match_index={match},lag={lag},"
                                     f"connected={'yes' if connected else 'no'}"))
    return _section("Raft", fields)


SECTIONS = {
    "server": server_section,
    "clients": clients_section,
    "memory": memory_section,
    "persistence": persistence_section,
    "stats": stats_section,
    "replication": replication_section,
    "cpu": cpu_section,
    "keyspace": keyspace_section,
    "raft": raft_section,
}


def render_info(node: Any, section: str | None) -> str:
    if not section or section.lower() in ("default", "all", "everything"):
        names = DEFAULT_SECTIONS
    else:
        names = tuple(s for s in section.lower().split() if s in SECTIONS)
    return "\r\n\r\n".join(SECTIONS[n](node) for n in names) + "\r\n"


def config_values(node: Any) -> dict[str, str]:
    cfg = node.cfg
    return {
        "bind": cfg.bind,
        "port": str(cfg.port),
        "raft-port": str(cfg.raft_port),
        "dir": os.path.abspath(cfg.dir),
        "databases": "16",
        "save": "",
        "appendonly": "yes",
        "appendfsync": "always",
        "maxmemory": "0",
        "maxmemory-policy": "noeviction",
        "maxclients": "10000",
        "timeout": "0",
        "proto-max-bulk-len": str(512 * 1024 * 1024),
        "follower-mode": cfg.follower_mode,
        "snapshot-threshold": str(cfg.snapshot_threshold),
        "tick-ms": str(cfg.tick_ms),
        "election-ticks": str(cfg.election_ticks),
        "heartbeat-ticks": str(cfg.heartbeat_ticks),
        "command-timeout": str(cfg.command_timeout),
        "requirepass": "",
    }


def config_items(node: Any, pattern: str) -> list[tuple[str, str]]:
    pattern = pattern.lower()
    return [(k, v) for k, v in config_values(node).items() if fnmatch.fnmatchcase(k, pattern)]
