"""The ``raftis`` command line. See README.md and DESIGN's CLI contract."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click

from server.config import ConfigError, NodeConfig, parse_peers, split_address
from server.security_options import SECURITY_OPTIONS, security_settings


def _common_server_options(f):
    options = [
        click.option("--id", "node_id", type=click.IntRange(min=1), default=1, show_default=True,
                     help="This node's id (unique in the cluster, >= 1)."),
        click.option("--port", type=click.IntRange(1, 65535), default=6379, show_default=True,
                     help="Client (RESP) port."),
        click.option("--raft-port", type=click.IntRange(0, 65535), default=0,
                     help="Peer port for Raft traffic [default: port + 10000]."),
        click.option("--bind", default="127.0.0.1", show_default=True,
                     help="Address to listen on (both ports) and to dial peers from."),
        click.option("--advertise", default="", help="Host that peers and clients use to reach this node "
                     "[default: the bind address]."),
        click.option("--dir", "data_dir", default="./raftis-data", show_default=True,
                     help="Data directory (WAL, snapshots)."),
        click.option("--peers", default="", help='Bootstrap a new cluster: "1=host:raftport:port,2=...".'),
        click.option("--join", default="", help="Join an existing cluster through any member's client "
                     "address host:port."),
        click.option("--follower-mode", type=click.Choice(["forward", "redirect"]), default="forward",
                     show_default=True, help="What a follower does with writes and linearizable reads."),
        click.option("--snapshot-threshold", type=click.IntRange(min=1024), default=64 * 1024 * 1024,
                     show_default=True, help="Take a snapshot when the log since the last one has this "
                     "many bytes."),
        click.option("--tick-ms", type=click.IntRange(1, 1000), default=50, show_default=True,
                     help="Raft clock tick."),
        click.option("--election-ticks", type=click.IntRange(min=2), default=20, show_default=True,
                     help="Election timeout in ticks (randomised up to twice this)."),
        click.option("--heartbeat-ticks", type=click.IntRange(min=1), default=2, show_default=True,
                     help="Heartbeat interval in ticks."),
        click.option("--command-timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
                     help="Seconds before an uncommitted write gets -TIMEOUT."),
        click.option("--cluster-secret", default="", envvar="RAFTIS_CLUSTER_SECRET",
                     help="Shared secret peers must prove in the handshake."),
        click.option("--stale-reads", is_flag=True, help="Serve reads from local state on every node "
                     "(not linearizable)."),
        click.option("--unsafe-local-reads", is_flag=True, hidden=True,
                     help="Test only: the leader serves reads without ReadIndex (not linearizable)."),
        click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
                     default="info", show_default=True),
    ]
    options += SECURITY_OPTIONS
    for opt in reversed(options):
        f = opt(f)
    return f


def _build_config(**kw) -> NodeConfig:
    security = security_settings(kw)
    try:
        peers = parse_peers(kw["peers"]) if kw["peers"] else {}
        if kw["join"]:
            split_address(kw["join"], 2)
            if peers:
                raise ConfigError("--peers and --join cannot be used together")
    except ConfigError as e:
        raise click.UsageError(str(e)) from e
    cfg = NodeConfig(
        node_id=kw["node_id"], bind=kw["bind"], port=kw["port"], raft_port=kw["raft_port"],
        advertise=kw["advertise"], dir=kw["data_dir"], peers=peers, join=kw["join"],
        follower_mode=kw["follower_mode"], snapshot_threshold=kw["snapshot_threshold"],
        tick_ms=kw["tick_ms"], election_ticks=kw["election_ticks"], heartbeat_ticks=kw["heartbeat_ticks"],
        command_timeout=kw["command_timeout"], cluster_secret=kw["cluster_secret"],
        stale_reads=kw["stale_reads"], unsafe_local_reads=kw["unsafe_local_reads"], log_level=kw["log_level"],
        **security,
    )
    if cfg.heartbeat_ticks >= cfg.election_ticks:
        raise click.UsageError("--heartbeat-ticks must be smaller than --election-ticks")
    if peers:
        me = peers.get(cfg.node_id)
        if me is None:
            raise click.UsageError(f"--peers does not list this node's id {cfg.node_id}")
        if me.port != cfg.port:
            raise click.UsageError(f"--peers gives node {cfg.node_id} client port {me.port}, "
                                   f"but it listens on {cfg.port}")
        # The raft port in --peers may differ from --raft-port: peers may reach this node
        # through a forwarder (a NAT rule, or the fault-injecting proxy of the test suite).
    return cfg


@click.group(invoke_without_command=True)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Raftis: a Redis-compatible database replicated with Raft.

    With no command, runs a durable single-node server on 127.0.0.1:6379 with data in
    ./raftis-data.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(server)


@main.command()
@_common_server_options
def server(**kw) -> None:
    """Run one node."""
    from server.app import run

    run(_build_config(**kw))


@main.group()
def cluster() -> None:
    """Local clusters for trying things out."""


@cluster.command("up")
@click.option("--nodes", type=click.IntRange(1, 9), default=3, show_default=True)
@click.option("--base-port", type=click.IntRange(1, 55000), default=7001, show_default=True,
              help="Client port of node 1; node N uses base-port + N - 1, raft port + 10000.")
@click.option("--dir", "data_dir", default="./raftis-cluster", show_default=True)
def cluster_up(nodes: int, base_port: int, data_dir: str) -> None:
    """Run a local cluster in the foreground; Ctrl-C stops it cleanly."""
    ports = {i: base_port + i - 1 for i in range(1, nodes + 1)}
    peers = ",".join(f"{i}=127.0.0.1:{p + 10000}:{p}" for i, p in ports.items())
    procs: list[subprocess.Popen] = []
    for i, p in ports.items():
        cmd = [sys.executable, "-m", "server.cli", "server", "--id", str(i), "--port", str(p),
               "--raft-port", str(p + 10000), "--dir", os.path.join(data_dir, f"node{i}"), "--peers", peers]
        procs.append(subprocess.Popen(cmd))
    click.echo(f"cluster of {nodes} nodes on ports {', '.join(map(str, ports.values()))}; Ctrl-C stops it")
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
