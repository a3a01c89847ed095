"""The ``raftis`` command line. See README.md and DESIGN's CLI contract."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import click

from server.config import ConfigError, NodeConfig, parse_peers, split_address
from server.notify import KeyspaceEventsType
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
        click.option("--check-interval", type=click.FloatRange(min=0), default=0.0, show_default=True,
                     help="While leading, run RAFT.CHECK every this many seconds (0: never): every "
                     "member digests its data at the same log entry; a difference is logged and "
                     "counted (INFO raft, metrics)."),
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
        click.option("--lease-reads", is_flag=True, help="A leader serves linearizable reads without "
                     "a heartbeat round while a majority acknowledged it within half an election timeout "
                     "(relies on bounded clock drift; give it, and the same Raft timing, to every node: "
                     "a leader takes no lease while a connected node runs without it, and a shorter one "
                     "if a node's timing is shorter)."),
        click.option("--unsafe-local-reads", is_flag=True, hidden=True,
                     help="Test only: every node serves reads from its local state, without ReadIndex "
                     "(not linearizable)."),
        click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
                     default="info", show_default=True, help="Least severe log messages written."),
        *_ops_options(),
    ]
    options += SECURITY_OPTIONS
    for opt in reversed(options):
        f = opt(f)
    return f


def _ops_options() -> list:
    return [
        click.option("--config", "config", type=click.Path(dir_okay=False), default=None,
                     help="redis.conf-style file of 'directive value' lines (directives are these "
                     "flags without dashes); flags on the command line win."),
        click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                     help="Log lines as text or as one JSON object each."),
        click.option("--metrics-port", type=click.IntRange(0, 65535), default=0,
                     help="Serve Prometheus metrics over HTTP on this port [default: off]."),
        click.option("--metrics-bind", default="", help="Address of the metrics endpoint "
                     "[default: the bind address]."),
        click.option("--slowlog-log-slower-than", type=click.IntRange(min=-1), default=10000,
                     show_default=True, help="Microseconds after which a command enters the SLOWLOG "
                     "(-1: never, 0: always)."),
        click.option("--slowlog-max-len", type=click.IntRange(min=0), default=128, show_default=True,
                     help="Entries the SLOWLOG keeps."),
        click.option("--latency-monitor-threshold", type=click.IntRange(min=0), default=0,
                     show_default=True, help="Milliseconds from which LATENCY records an event (0: off)."),
        click.option("--acllog-max-len", type=click.IntRange(min=0), default=128, show_default=True,
                     help="Entries the ACL LOG keeps."),
        click.option("--tracking-table-max-keys", type=click.IntRange(min=0), default=1_000_000,
                     show_default=True, help="Keys CLIENT TRACKING remembers for clients' caches; past it, "
                     "the oldest are forgotten and their clients told to drop them (0: no limit)."),
        click.option("--notify-keyspace-events", type=KeyspaceEventsType(), default="",
                     help="Keyspace notifications: Redis's letters (K keyspace channel, E keyevent "
                     "channel; g $ l s h z x e t m d n A event classes), delivered at apply time to "
                     "this node's subscribers (empty: off)."),
    ]


def _with_config_file(ctx: click.Context, kw: dict) -> dict:
    """Fill the flags not given on the command line from --config FILE."""
    path = kw.get("config")
    if not path:
        return kw
    from server.config_file import ConfigFileError, load

    try:
        values = load(path)
    except (OSError, ConfigFileError) as e:
        raise click.UsageError(f"--config: {e}") from e
    kw = dict(kw)
    params = {p.name: p for p in ctx.command.params}
    for param, value in values.items():
        source = ctx.get_parameter_source(param)
        if source in (None, click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP):
            opt = params.get(param)
            try:
                # The file's text goes through the option's own type and callback, as a flag's would.
                kw[param] = opt.process_value(ctx, value) if opt is not None else value
            except click.BadParameter as e:
                raise click.UsageError(f"--config: {param.replace('_', '-')}: {e.message}") from e
    return kw


def _finish_config(cfg: NodeConfig, kw: dict) -> NodeConfig:
    cfg.log_format = kw["log_format"]
    cfg.metrics_port = kw["metrics_port"]
    cfg.metrics_bind = kw["metrics_bind"]
    cfg.slowlog_log_slower_than = kw["slowlog_log_slower_than"]
    cfg.slowlog_max_len = kw["slowlog_max_len"]
    cfg.latency_monitor_threshold = kw["latency_monitor_threshold"]
    cfg.acllog_max_len = kw["acllog_max_len"]
    cfg.tracking_table_max_keys = kw["tracking_table_max_keys"]
    cfg.notify_keyspace_events = kw["notify_keyspace_events"]
    cfg.config_file = os.path.abspath(kw["config"]) if kw.get("config") else ""
    cfg.settings = {k: v for k, v in kw.items() if k != "config"}
    return cfg


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
        check_interval=kw["check_interval"],
        tick_ms=kw["tick_ms"], election_ticks=kw["election_ticks"], heartbeat_ticks=kw["heartbeat_ticks"],
        command_timeout=kw["command_timeout"], cluster_secret=kw["cluster_secret"],
        stale_reads=kw["stale_reads"], lease_reads=kw["lease_reads"], unsafe_local_reads=kw["unsafe_local_reads"], log_level=kw["log_level"],
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
@click.pass_context
def server(ctx: click.Context, **kw) -> None:
    """Run one node."""
    from server.app import run

    kw = _with_config_file(ctx, kw)
    run(_finish_config(_build_config(**kw), kw))


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


def _auth_options(fn: Any) -> Any:
    """--user and --password for the commands that talk to a node (as redis-cli's --user and
    -a, whose REDISCLI_AUTH variable is read too)."""
    fn = click.option("--password", default="", envvar="REDISCLI_AUTH",
                      help="Password to AUTH with (env REDISCLI_AUTH), for nodes with --requirepass or ACL users.")(fn)
    return click.option("--user", default="default", show_default=True, help="ACL user to AUTH as.")(fn)


def _auth(user: str, password: str) -> tuple[str, str] | None:
    return (user, password) if password else None


@main.command("backup")
@click.option("--from", "source", required=True, metavar="HOST:PORT", help="Any node's client address.")
@click.option("--to", "dest", required=True, type=click.Path(dir_okay=False), help="Backup file to write.")
@click.option("--chunk-size", type=click.IntRange(4096, 8 << 20), default=4 << 20, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_auth_options
def backup_cmd(source: str, dest: str, chunk_size: int, quiet: bool, user: str, password: str) -> None:
    """Copy a consistent snapshot of a running node's data into a file."""
    from server.backup import backup
    from server.resp_client import ReplyError, parse_hostport

    try:
        host, port = parse_hostport(source)
    except ConfigError as e:
        raise click.UsageError(f"--from: {e}") from e
    try:
        if quiet:
            info = backup(host, port, dest, chunk_size=chunk_size, auth=_auth(user, password))
        else:
            with click.progressbar(length=1, label="backup", show_eta=True, show_percent=True,
                                   file=sys.stderr) as bar:
                info = backup(host, port, dest, chunk_size=chunk_size, progress=bar, auth=_auth(user, password))
    except (OSError, ConnectionError, ReplyError) as e:
        raise click.ClickException(f"backup from {source} failed: {e}") from e
    click.echo(f"backup of {source} at log index {info.index} (term {info.term}): {info.size} bytes in {dest}")


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dir", "data_dir", required=True, help="New (empty) data directory to seed.")
@click.option("--id", "node_id", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=6379, show_default=True,
              help="Client port the node will use (single-node restore).")
@click.option("--raft-port", type=click.IntRange(0, 65535), default=0,
              help="Peer port the node will use [default: port + 10000].")
@click.option("--advertise", default="127.0.0.1", show_default=True,
              help="Host the node is reached at (single-node restore).")
@click.option("--peers", default="", help='Founding members of the restored cluster, as for "raftis server '
              '--peers" (seed every one of them from the same file).')
def restore_cmd(file: str, data_dir: str, node_id: int, port: int, raft_port: int, advertise: str,
                peers: str) -> None:
    """Seed a new node's data directory from a backup file (or a Redis RDB file)."""
    from server.backup import RestoreError, restore
    from server.config import PeerAddress

    try:
        members = parse_peers(peers) if peers else {
            node_id: PeerAddress(node_id, advertise, raft_port or port + 10000, port)}
    except ConfigError as e:
        raise click.UsageError(f"--peers: {e}") from e
    try:
        with click.progressbar(length=os.path.getsize(file), label="restore", file=sys.stderr) as bar:
            info = restore(file, data_dir, node_id, members, progress=bar.update)
    except RestoreError as e:
        raise click.ClickException(str(e)) from e
    me = members[node_id]
    if "keys" in info:
        click.echo(f"read {info['keys']} keys from the RDB file {file}")
    click.echo(f"restored log index {info['index']} (term {info['term']}) into {data_dir} for node {node_id}; "
               f"start it with: raftis server --id {node_id} --port {me.port} --raft-port {me.raft_port} "
               f"--dir {data_dir}")


@main.command("status")
@click.argument("address", metavar="HOST:PORT", default="127.0.0.1:6379")
@click.option("--max-lag", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Entries a member may be behind the leader before it counts as lagging.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=3.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_auth_options
def status_cmd(address: str, max_lag: int, timeout: float, as_json: bool, user: str, password: str) -> None:
    """Show every member's state; exit 1 if the cluster is unhealthy, 2 if unreachable."""
    import json

    from server.resp_client import ReplyError, parse_hostport
    from server.status import as_dict, collect, render

    try:
        host, port = parse_hostport(address)
    except ConfigError as e:
        raise click.UsageError(str(e)) from e
    try:
        st = collect(host, port, max_lag=max_lag, timeout=timeout, auth=_auth(user, password))
    except (OSError, ConnectionError, ReplyError) as e:
        click.echo(f"cannot ask {address} for the cluster's members: {e}", err=True)
        sys.exit(2)
    click.echo(json.dumps(as_dict(st), indent=2) if as_json else render(st))
    sys.exit(0 if st.healthy else 1)


@main.command("check")
@click.argument("address", metavar="HOST:PORT", default="127.0.0.1:6379")
@click.option("--timeout", type=click.FloatRange(min=0.1, max=3600), default=30.0, show_default=True,
              help="Seconds to wait for every member's digest.")
@_auth_options
def check_cmd(address: str, timeout: float, user: str, password: str) -> None:
    """Compare every member's data at one log entry (RAFT.CHECK); exit 0 if they agree, 1 if
    they differ or a member gave no digest, 2 if the cluster is unreachable."""
    from server.resp_client import ReplyError, RespClient, parse_hostport

    try:
        host, port = parse_hostport(address)
    except ConfigError as e:
        raise click.UsageError(str(e)) from e
    try:
        with RespClient(host, port, timeout=timeout + 10, auth=_auth(user, password)) as c:
            reply = c.call("RAFT.CHECK", repr(timeout))
    except (OSError, ConnectionError, ReplyError) as e:
        click.echo(f"cannot run RAFT.CHECK through {address}: {e}", err=True)
        sys.exit(2)
    verdict, rows = reply[0].decode(), reply[1:]
    for nid, index, digest in rows:
        click.echo(f"node {nid}: " + (f"index {index} digest {digest.decode()}" if index >= 0 else digest.decode()))
    click.echo(verdict)
    sys.exit(0 if verdict == "consistent" else 1)


if __name__ == "__main__":
    main()
