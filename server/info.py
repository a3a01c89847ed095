"""INFO and CONFIG GET: what the node says about itself, in Redis's formats.

INFO sections use Redis's field names where they apply; the ``raft`` section holds the
consensus state (also returned by RAFT.INFO).
"""

from __future__ import annotations

import fnmatch
import os
import resource
import sys
import threading
import time
from typing import Any

from consensus.messages import Role
from server.forked import FORKS

REDIS_VERSION = "7.2.0"
RAFTIS_VERSION = "0.1.0"

# Plain INFO answers in Redis's shape only: its `role` is replication's master/slave. The raft
# section (its `role` is leader/follower/...) comes with INFO raft, INFO all and RAFT.INFO.
DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                    "errorstats", "cluster", "keyspace")
ALL_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                "commandstats", "errorstats", "latencystats", "cluster", "keyspace", "raft")


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
        ("server_time_usec", time.time_ns() // 1000),
        ("uptime_in_seconds", up),
        ("uptime_in_days", up // 86400),
        ("executable", sys.argv[0]),
        ("config_file", getattr(cfg, "config_file", "")),
    ])


def clients_section(node: Any) -> str:
    return _section("Clients", [
        ("connected_clients", len(node.sessions)),
        ("blocked_clients", len({id(p.conn) for p in node.blocked.parked})),
        ("tracking_clients", node.tracking.clients),
        ("maxclients", node.guard.maxclients),
    ])


def _human(n: int) -> str:
    """Redis's bytesToHuman: 812B, 1.50K, 214.90M, 2.00G."""
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return f"{n}B"


def _system_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def memory_section(node: Any) -> str:
    # A Python process has no allocator statistics of its own: what it uses is its RSS.
    rss = _rss_bytes()
    peak = max(rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)  # the kernel's high-water mark
    system = _system_memory()
    scripts = node.keyspace.scripts
    functions = node.keyspace.functions
    script_bytes = sum(len(body) for body in scripts.values())
    return _section("Memory", [
        ("used_memory", rss),
        ("used_memory_human", _human(rss)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", _human(rss)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", _human(peak)),
        ("total_system_memory", system),
        ("total_system_memory_human", _human(system)),
        ("maxmemory", node.guard.maxmemory),
        ("maxmemory_human", _human(node.guard.maxmemory)),
        ("maxmemory_policy", "noeviction"),
        ("used_memory_scripts_eval", script_bytes),  # the scripts' text (each run's Lua state is freed)
        ("number_of_cached_scripts", len(scripts)),
        ("number_of_functions", sum(len(fns) for _, fns in functions.values())),
        ("number_of_libraries", len(functions)),
        ("used_memory_scripts", script_bytes),
        ("used_memory_scripts_human", _human(script_bytes)),
    ])


def persistence_section(node: Any) -> str:
    raft = node.raft
    return _section("Persistence", [
        ("loading", 0),
        ("async_loading", 0),
        ("rdb_bgsave_in_progress", 1 if raft._snapshot_child else 0),
        ("rdb_changes_since_last_save", max(0, node.applied - raft.last_snapshot_index)),
        ("rdb_last_save_time", int(raft.last_snapshot_time or node.started)),
        ("rdb_last_bgsave_status", "ok" if getattr(raft, "last_snapshot_ok", True) else "err"),
        ("rdb_saves", raft.snapshots_taken),
        ("rdb_last_save_index", raft.last_snapshot_index),
        ("rdb_last_bgsave_time_sec", f"{raft.last_snapshot_seconds:.3f}"),
        ("aof_enabled", 1),
        ("aof_last_write_status", "ok" if raft.fatal is None else "err"),
    ])


def stats_section(node: Any) -> str:
    d = node.raft.driver
    ops = node.ops_stats
    ops_per_sec, in_kbps, out_kbps = ops.rates()
    return _section("Stats", [
        ("total_connections_received", node.stats_connections),
        ("total_commands_processed", ops.total_calls),
        ("instantaneous_ops_per_sec", int(ops_per_sec)),
        ("total_net_input_bytes", ops.net_in),
        ("total_net_output_bytes", ops.net_out),
        ("instantaneous_input_kbps", f"{in_kbps:.2f}"),
        ("instantaneous_output_kbps", f"{out_kbps:.2f}"),
        ("rejected_connections", 0),
        ("total_error_replies", ops.total_errors),
        ("applied_commands", node.stats_commands),
        ("rejected_writes", node.stats_rejected),
        ("expired_keys", node.stats_expired),
        ("evicted_keys", 0),  # noeviction: writes over the memory limit are refused instead
        ("keyspace_hits", node.ctx.hits),
        ("keyspace_misses", node.ctx.misses),
        ("pubsub_channels", len(node.pubsub.channels)),
        ("pubsub_patterns", len(node.pubsub.patterns)),
        ("pubsubshard_channels", len(node.pubsub.shard_channels)),
        ("latest_fork_usec", FORKS.latest_usec),  # snapshots, DEBUG DIGEST, RAFT.CHECK, SYNC
        ("total_forks", FORKS.total),
        ("tracking_total_keys", len(node.tracking.keys)),
        ("tracking_total_items", node.tracking.items),
        ("tracking_total_prefixes", len(node.tracking.prefixes)),
        ("raft_messages_in", d.messages_in if d else 0),
        ("raft_messages_out", d.messages_out if d else 0),
        ("raft_net_input_bytes", getattr(node.raft.transport, "bytes_in", 0)),
        ("raft_net_output_bytes", _raft_bytes_out(node)),
    ])


def _raft_bytes_out(node: Any) -> int:
    t = node.raft.transport
    links = getattr(t, "links", None) or {}
    return sum(getattr(link, "bytes_out", 0) for link in list(links.values()))


def commandstats_section(node: Any) -> str:
    fields = []
    for name, st in sorted(node.ops_stats.commands.items()):
        if not st.calls:
            continue
        usec = st.ns // 1000
        fields.append((f"cmdstat_{name}", f"calls={st.calls},usec={usec},usec_per_call={usec / st.calls:.2f},"
                                          f"rejected_calls={st.rejected},failed_calls={st.failed}"))
    return _section("Commandstats", fields)


def errorstats_section(node: Any) -> str:
    return _section("Errorstats", [(f"errorstat_{k}", f"count={v}")
                                   for k, v in sorted(node.ops_stats.errors.items())])


def latencystats_section(node: Any) -> str:
    fields = []
    for name, st in sorted(node.ops_stats.commands.items()):
        if st.calls:
            fields.append((f"latency_percentiles_usec_{name}",
                           f"p50={st.percentile_us(0.5):.3f},p99={st.percentile_us(0.99):.3f},"
                           f"p99.9={st.percentile_us(0.999):.3f}"))
    return _section("Latencystats", fields)


def replication_section(node: Any) -> str:
    raft = node.raft
    fields: list[tuple[str, Any]] = []
    if raft.role == Role.LEADER:
        fields.append(("role", "master"))
        followers = [r for r in _peer_rows(node) if r[0] != node.cfg.node_id]
        fields.append(("connected_slaves", sum(1 for r in followers if r[3])))
        for i, (nid, addr, match, connected) in enumerate(followers):
            host = addr.host if addr else ""
            port = addr.port if addr else 0
            state = "online" if connected else "offline"
            lag = _seconds_since_contact(node, nid)
            fields.append((f"slave{i}", f"ip={host},port={port},state={state},offset={match},"
                                        f"lag={int(lag) if lag is not None else -1}"))
    else:
        fields.append(("role", "slave"))
        addr = raft.address_of(raft.leader_id) if raft.leader_id else None
        fields.append(("master_host", addr.host if addr else ""))
        fields.append(("master_port", addr.port if addr else 0))
        fields.append(("master_link_status", "up" if raft.leader_id else "down"))
        since = _seconds_since_contact(node, raft.leader_id) if raft.leader_id else None
        fields.append(("master_last_io_seconds_ago", int(since) if since is not None else -1))
        fields.append(("slave_repl_offset", node.applied))
        fields.append(("slave_read_only", 1))
    fields.append(("master_repl_offset", raft.core.commit))
    return _section("Replication", fields)


def cpu_section(node: Any) -> str:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    fields = [
        ("used_cpu_sys", f"{ru.ru_stime:.6f}"),
        ("used_cpu_user", f"{ru.ru_utime:.6f}"),
        ("used_cpu_sys_children", f"{ch.ru_stime:.6f}"),
        ("used_cpu_user_children", f"{ch.ru_utime:.6f}"),
    ]
    if threading.current_thread() is threading.main_thread():  # the event loop's thread
        th = resource.getrusage(resource.RUSAGE_THREAD)
        fields += [("used_cpu_sys_main_thread", f"{th.ru_stime:.6f}"),
                   ("used_cpu_user_main_thread", f"{th.ru_utime:.6f}")]
    return _section("CPU", fields)


def cluster_section(node: Any) -> str:
    # One shard holding every key, and every database: CLUSTER SLOTS and friends describe it
    # for cluster-mode clients, but a client that reads this to pick its mode should take the
    # plain one (SELECT works, any node serves any key).
    return _section("Cluster", [("cluster_enabled", 0)])


def keyspace_section(node: Any) -> str:
    fields = []
    for i, db in enumerate(node.keyspace.dbs):
        if db.data:
            fields.append((f"db{i}", f"keys={len(db.data)},expires={len(db.expires)},avg_ttl=0"))
    return _section("Keyspace", fields)


def _seconds_since_contact(node: Any, nid: int) -> float | None:
    when = getattr(node.raft, "last_contact", {}).get(nid)
    return None if when is None else max(0.0, time.monotonic() - when)


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
        ("read_rounds", node.read_rounds),
        ("lease_reads", node.lease_reads),
        ("lease_ms", int(node.lease_allowed() * 1000)),
        ("fsyncs", d.fsyncs if d else 0),
        ("fsync_avg_ms", f"{(d.fsync_seconds / d.fsyncs * 1000) if d and d.fsyncs else 0:.3f}"),
        ("fsync_last_ms", f"{d.fsync_last_ms if d else 0:.3f}"),
        ("held_writes", d.held_writes if d else 0),
        ("hold_stalls", d.hold_stalls if d else 0),
        ("proposals_pending", len(node.waiters)),
        ("last_snapshot_index", raft.last_snapshot_index),
        ("last_snapshot_seconds", f"{raft.last_snapshot_seconds:.3f}"),
        ("last_snapshot_age_seconds", _snapshot_age(raft)),
        ("snapshot_in_progress", 1 if raft._snapshot_child else 0),
        ("snapshot_failures", getattr(raft, "snapshot_failures", 0)),
        ("log_bytes_since_snapshot", raft.log_bytes_since_snapshot),
        *_check_fields(node.checks),
    ]
    leader_last = core.log.last_index
    for nid, addr, match, connected in _peer_rows(node):
        m = core.membership
        suffrage = "voter" if nid in m.voters else "learner"
        role = "leader" if nid == raft.leader_id else suffrage
        lag = leader_last - match if match >= 0 else -1
        addr_s = f"{addr.host},port={addr.port},raft_port={addr.raft_port}" if addr else ""
        if nid == node.cfg.node_id:
            contact = "0"
        else:
            since = _seconds_since_contact(node, nid)
            contact = f"{since * 1000:.0f}" if since is not None else "-1"
        fields.append((f"node{nid}", f"id={nid},role={role},addr={addr_s},match_index={match},lag={lag},"
                                     f"connected={'yes' if connected else 'no'},last_contact_ms={contact}"))
    return _section("Raft", fields)


def _snapshot_age(raft: Any) -> int:
    when = getattr(raft, "last_snapshot_time", 0.0)
    return int(time.time() - when) if when else -1


SECTIONS = {
    "server": server_section,
    "clients": clients_section,
    "memory": memory_section,
    "persistence": persistence_section,
    "stats": stats_section,
    "replication": replication_section,
    "cpu": cpu_section,
    "commandstats": commandstats_section,
    "errorstats": errorstats_section,
    "latencystats": latencystats_section,
    "cluster": cluster_section,
    "keyspace": keyspace_section,
    "raft": raft_section,
}


def render_info(node: Any, section: str | None) -> str:
    if not section or section.lower() == "default":
        names = DEFAULT_SECTIONS
    elif section.lower() in ("all", "everything"):
        names = ALL_SECTIONS
    else:
        names = tuple(s for s in section.lower().split() if s in SECTIONS)
    return "\r\n\r\n".join(SECTIONS[n](node) for n in names) + "\r\n"


def config_values(node: Any) -> dict[str, str]:
    from server.settings import config_values as values

    out = values(node.cfg)
    out.setdefault("requirepass", "")
    return out


def config_items(node: Any, pattern: str) -> list[tuple[str, str]]:
    pattern = pattern.lower()
    return [(k, v) for k, v in config_values(node).items() if fnmatch.fnmatchcase(k, pattern)]


def _check_fields(checks: Any) -> list[tuple[str, Any]]:
    """The RAFT.CHECKs this node ran as leader: counts by verdict, and the last one's."""
    last = checks.last
    return [
        ("checks_consistent", checks.verdicts.get("consistent", 0)),
        ("checks_diverged", checks.verdicts.get("DIVERGED", 0)),
        ("checks_incomplete", checks.verdicts.get("incomplete", 0)),
        ("last_check", last[2] if last else "none"),
        ("last_check_index", last[1] if last else -1),
        ("last_check_age_seconds", f"{time.monotonic() - last[0]:.0f}" if last else -1),
    ]
