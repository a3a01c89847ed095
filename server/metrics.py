"""Prometheus metrics over HTTP (``--metrics-port``).

Nothing is counted for Prometheus on the hot path: a scrape reads the counters the node
keeps anyway (``server.stats``, the Raft host and driver) through a custom collector, on the
event loop, so it sees a consistent view and needs no locks. The endpoint is a small asyncio
HTTP handler (``GET /metrics``; anything else is 404). ``prometheus_client`` is imported
only when the endpoint is enabled, so the server runs without it otherwise.

Metric names start with ``raftis_``; latencies are in seconds.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

from consensus.messages import Role
from consensus.transport import unresolvable
from server.stats import HIST_BUCKETS, HIST_MIN_BIT, Histogram

log = logging.getLogger("raftis.metrics")

_BOUNDS = [(1 << (b + HIST_MIN_BIT)) / 1e9 for b in range(HIST_BUCKETS - 1)]


def _buckets(counts: list[int]) -> list[tuple[str, float]]:
    out = []
    acc = 0
    for bound, n in zip(_BOUNDS, counts, strict=False):
        acc += n
        out.append((f"{bound:.9g}", acc))
    acc += counts[-1]
    out.append(("+Inf", acc))
    return out


class NodeCollector:
    def __init__(self, node: Any) -> None:
        self.node = node

    def describe(self) -> list:
        return []

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        node = self.node
        raft = node.raft
        core = raft.core
        d = raft.driver
        ops = node.ops_stats
        nid = str(node.cfg.node_id)

        calls = CounterMetricFamily("raftis_commands", "Commands by name and outcome",
                                    labels=["command", "outcome"])
        lat = HistogramMetricFamily("raftis_command_duration_seconds",
                                    "Time from reading a request to its reply being ready", labels=["command"])
        for name, st in sorted(ops.commands.items()):
            if not st.calls:
                continue
            ok = st.calls - st.rejected - st.failed
            calls.add_metric([name, "ok"], ok)
            calls.add_metric([name, "rejected"], st.rejected)
            calls.add_metric([name, "failed"], st.failed)
            lat.add_metric([name], _buckets(st.hist), st.ns / 1e9)
        yield calls
        yield lat
        errs = CounterMetricFamily("raftis_errors", "Error replies by error prefix", labels=["prefix"])
        for prefix, n in sorted(ops.errors.items()):
            errs.add_metric([prefix], n)
        yield errs

        def hist(name: str, doc: str, h: Histogram) -> Any:
            m = HistogramMetricFamily(name, doc)
            m.add_metric([], _buckets(h.buckets), h.sum_ns / 1e9)
            return m

        yield hist("raftis_proposal_commit_seconds", "Leader: from proposing a log entry to applying it",
                   ops.commit_latency)
        yield hist("raftis_fsync_seconds", "Log write and fsync of one Ready", ops.fsync_latency)
        yield hist("raftis_snapshot_duration_seconds", "Time to write a snapshot", ops.snapshot_duration)

        yield CounterMetricFamily("raftis_net_input_bytes", "Bytes read from clients", value=ops.net_in)
        yield CounterMetricFamily("raftis_net_output_bytes", "Bytes written to clients", value=ops.net_out)
        t = raft.transport
        links = getattr(t, "links", None) or {}
        yield CounterMetricFamily("raftis_raft_input_bytes", "Bytes received from peers",
                                  value=getattr(t, "bytes_in", 0))
        yield CounterMetricFamily("raftis_raft_output_bytes", "Bytes sent to peers",
                                  value=sum(getattr(link, "bytes_out", 0) for link in list(links.values())))
        yield CounterMetricFamily("raftis_leader_changes", "Times this node saw the leader change",
                                  value=raft.leader_changes)
        checks = CounterMetricFamily("raftis_checks", "RAFT.CHECKs this node ran as leader, by verdict",
                                     labels=["verdict"])
        for name, n in sorted(node.checks.verdicts.items()):
            checks.add_metric([name], n)
        yield checks
        yield CounterMetricFamily("raftis_snapshots", "Snapshots this node wrote", value=raft.snapshots_taken)
        yield CounterMetricFamily("raftis_snapshot_failures", "Snapshots that failed to be written",
                                  value=getattr(raft, "snapshot_failures", 0))
        yield CounterMetricFamily("raftis_connections_received", "Client connections accepted",
                                  value=node.stats_connections)
        yield GaugeMetricFamily("raftis_connected_clients", "Client connections open", value=len(node.sessions))
        yield GaugeMetricFamily("raftis_term", "Current Raft term", value=core.term)
        yield GaugeMetricFamily("raftis_is_leader", "1 if this node is the leader",
                                value=1 if raft.role == Role.LEADER else 0)
        yield GaugeMetricFamily("raftis_leader_id", "Id of the leader this node knows (0: none)",
                                value=raft.leader_id)
        yield GaugeMetricFamily("raftis_commit_index", "Commit index", value=core.commit)
        yield GaugeMetricFamily("raftis_applied_index", "Applied index", value=node.applied)
        yield GaugeMetricFamily("raftis_last_log_index", "Last log index", value=core.log.last_index)
        yield GaugeMetricFamily("raftis_snapshot_index", "Index of the newest snapshot",
                                value=core.log.snapshot_index)
        yield GaugeMetricFamily("raftis_proposals_pending", "Log entries proposed here and not yet applied",
                                value=len(node.waiters))
        yield CounterMetricFamily("raftis_fsyncs", "Log fsyncs", value=d.fsyncs if d else 0)
        yield GaugeMetricFamily("raftis_storage_error", "1 while the log cannot be written",
                                value=1 if (d is not None and (d.storage_error or d.failed)) else 0)

        connected = GaugeMetricFamily("raftis_peer_connected", "1 if the link to the peer is up", labels=["peer"])
        match = GaugeMetricFamily("raftis_peer_match_index", "Leader: highest log index known replicated",
                                  labels=["peer"])
        lag = GaugeMetricFamily("raftis_peer_lag_entries", "Leader: entries the peer is behind", labels=["peer"])
        contact = GaugeMetricFamily("raftis_peer_last_contact_seconds", "Seconds since the peer's last message",
                                    labels=["peer"])
        now = time.monotonic()
        for peer in sorted(core.membership.members()):
            if str(peer) == nid:
                continue
            p = str(peer)
            connected.add_metric([p], 1 if t is not None and t.is_connected(peer) else 0)
            pr = core.progress.get(peer) if raft.role == Role.LEADER else None
            if pr is not None:
                match.add_metric([p], pr.match)
                lag.add_metric([p], max(0, core.log.last_index - pr.match))
            when = raft.last_contact.get(peer)
            if when is not None:
                contact.add_metric([p], now - when)
        yield connected
        yield match
        yield lag
        yield contact


class _MetricsHttp(asyncio.Protocol):
    def __init__(self, render: Any) -> None:
        self.render = render
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if b"\r\n\r\n" not in self.buf and b"\n\n" not in self.buf:
            if len(self.buf) > 16384:
                self.transport.close()  # type: ignore[union-attr]
            return
        line = self.buf.split(b"\r\n", 1)[0].split(b"\n", 1)[0]
        parts = line.split()
        path = parts[1].split(b"?", 1)[0] if len(parts) >= 2 else b""
        if len(parts) >= 2 and parts[0] in (b"GET", b"HEAD") and path in (b"/metrics", b"/"):
            try:
                body, ctype = self.render()
                status = b"200 OK"
            except Exception as e:  # noqa: BLE001 - a failed scrape must not stop the node
                log.exception("rendering metrics failed")
                body, ctype, status = f"error: {e}\n".encode(), "text/plain", b"500 Internal Server Error"
        else:
            body, ctype, status = b"not found\n", "text/plain", b"404 Not Found"
        head = (b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype.encode() +
                b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
        self.transport.write(head + (b"" if parts[:1] == [b"HEAD"] else body))  # type: ignore[union-attr]
        self.transport.close()  # type: ignore[union-attr]


async def start_metrics_server(node: Any, host: str, port: int) -> asyncio.AbstractServer:
    try:
        from prometheus_client import CollectorRegistry
        from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
    except ImportError:
        raise SystemExit("--metrics-port needs the prometheus-client package (pip install prometheus-client)") \
            from None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(node))  # type: ignore[arg-type]

    def render() -> tuple[bytes, str]:
        return generate_latest(registry), CONTENT_TYPE_LATEST

    try:
        server = await asyncio.get_running_loop().create_server(lambda: _MetricsHttp(render), host, port,
                                                                reuse_address=True)
    except socket.gaierror as e:
        raise unresolvable(host, e) from None
    log.info("metrics on http://%s:%d/metrics", host, port)
    return server
