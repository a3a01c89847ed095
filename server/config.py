"""Node settings: one dataclass, filled from the command line."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.notify import KeyspaceEvents


class ConfigError(ValueError):
    pass


@dataclass(slots=True)
class PeerAddress:
    node_id: int
    host: str
    raft_port: int
    port: int

    def encode(self) -> str:
        return f"{self.host}:{self.raft_port}:{self.port}"

    @classmethod
    def decode(cls, node_id: int, text: str) -> PeerAddress:
        host, raft_port, port = split_address(text, 3)
        return cls(node_id, host, int(raft_port), int(port))


def split_address(text: str, parts: int) -> list[str]:
    """``host:a:b`` -> [host, a, b]; the host may be an IPv6 literal in brackets."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        fields = [host] + rest.lstrip(":").split(":")
    else:
        fields = text.split(":")
    if len(fields) != parts or not all(fields):
        raise ConfigError(f"bad address {text!r}")
    for p in fields[1:]:
        if not p.isdigit() or not 0 < int(p) < 65536:
            raise ConfigError(f"bad port in {text!r}")
    return fields


def parse_peers(text: str) -> dict[int, PeerAddress]:
    """``"1=host:raftport:port,2=..."`` -> {1: PeerAddress, ...}"""
    peers: dict[int, PeerAddress] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        nid, sep, addr = item.partition("=")
        if not sep or not nid.strip().isdigit() or int(nid) < 1:
            raise ConfigError(f"bad peer {item!r}: expected ID=HOST:RAFTPORT:PORT")
        node_id = int(nid)
        if node_id in peers:
            raise ConfigError(f"node id {node_id} appears twice in --peers")
        peers[node_id] = PeerAddress.decode(node_id, addr.strip())
    if not peers:
        raise ConfigError("--peers lists no nodes")
    return peers


@dataclass(slots=True)
class NodeConfig:
    node_id: int = 1
    bind: str = "127.0.0.1"
    port: int = 6379
    raft_port: int = 0  # 0: port + 10000
    advertise: str = ""  # host other nodes and clients reach this node at; default: bind
    dir: str = "./raftis-data"
    peers: dict[int, PeerAddress] = field(default_factory=dict)
    join: str = ""
    follower_mode: str = "forward"  # or "redirect"
    tick_ms: int = 50
    election_ticks: int = 20
    heartbeat_ticks: int = 2
    snapshot_threshold: int = 64 * 1024 * 1024  # bytes of log since the last snapshot
    check_interval: float = 0.0  # seconds between the leader's RAFT.CHECKs; 0: none
    command_timeout: float = 10.0
    cluster_secret: str = ""
    stale_reads: bool = False  # serve reads from local state on every node (not linearizable)
    lease_reads: bool = False  # a leader serves reads without a round while its lease holds
    unsafe_local_reads: bool = False  # test-only: every node reads local state, no ReadIndex
    log_level: str = "info"
    # Operations (server.settings, server.metrics, server.logging_setup, server.stats).
    log_format: str = "text"  # or "json"
    metrics_port: int = 0  # 0: no Prometheus endpoint
    metrics_bind: str = ""  # default: the bind address
    slowlog_log_slower_than: int = 10000  # microseconds; -1 disables, 0 logs everything
    slowlog_max_len: int = 128
    latency_monitor_threshold: int = 0  # milliseconds; 0 disables
    acllog_max_len: int = 128
    tracking_table_max_keys: int = 1_000_000
    notify_keyspace_events: KeyspaceEvents = KeyspaceEvents(0)  # server.notify's bits; 0: keyspace notifications off
    config_file: str = ""  # the file given with --config (CONFIG REWRITE writes it)
    settings: dict = field(default_factory=dict)  # every setting's start-up value, by click name
    # Security and limits (server/auth.py, server/limits.py, server/tls.py; docs/security.md).
    requirepass: str = ""
    aclfile: str = ""
    protected_mode: bool = True
    enable_debug_command: str = "no"  # no | yes | local (loopback and unix-socket clients only)
    enable_module_command: str = "no"
    maxclients: int = 10000
    timeout: int = 0  # seconds a client may stay idle; 0: forever
    request_timeout: float = 60.0  # seconds a request may stay incomplete (slow-loris); 0: forever
    proto_max_bulk_len: int = 512 * 1024 * 1024
    max_write_size: int = 64 * 1024 * 1024
    client_query_buffer_limit: int = 1024 * 1024 * 1024
    client_output_buffer_limit: str = "normal 0 0 0 pubsub 32mb 8mb 60"
    maxmemory: int = 0  # bytes of resident memory; over it, commands that add data get -OOM
    tls_port: int = 0
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_ca_cert_file: str = ""
    tls_auth_clients: str = "yes"  # yes | no | optional
    peer_tls_cert_file: str = ""  # mutual TLS on the peer port when set (with key and CA)
    peer_tls_key_file: str = ""
    peer_tls_ca_cert_file: str = ""

    def __post_init__(self) -> None:
        if not self.raft_port:
            self.raft_port = self.port + 10000

    @property
    def host(self) -> str:
        if self.advertise:
            return self.advertise
        return "127.0.0.1" if self.bind in ("0.0.0.0", "::", "") else self.bind

    def address(self) -> PeerAddress:
        return PeerAddress(self.node_id, self.host, self.raft_port, self.port)

    @property
    def read_lease_seconds(self) -> float:
        """How long after a read round started a leader with --lease-reads serves reads without
        another: half of the least time a follower that acknowledged the round refuses other
        candidates. That is ``election_ticks - 1`` ticks (the first may come at once), each
        counted a millisecond short (the event loop keeps its time in whole milliseconds, so a
        timer may fire up to one early); the half leaves room for clocks that run at
        different rates. The leader shortens it to half of what its members promise
        (``vote_quiet_ms``), so a member with shorter timing gives a shorter lease."""
        return (self.election_ticks - 1) * max(0, self.tick_ms - 1) / 1000 / 2

    @property
    def vote_quiet_ms(self) -> int:
        """What this node promises its peers in its handshake with --lease-reads: after hearing
        from a leader, and after it starts, it refuses other candidates for at least this many
        milliseconds (twice ``read_lease_seconds``); 0 without the option. A leader's lease is
        never longer than half of any connected member's promise, and there is none while a
        connected member promises nothing."""
        return int((self.election_ticks - 1) * max(0, self.tick_ms - 1)) if self.lease_reads else 0
