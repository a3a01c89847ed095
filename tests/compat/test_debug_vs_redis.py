"""DEBUG against redis-server 7.0: refused unless enabled (and MODULE's loading with it), and
when enabled, Redis's digests of the same data, its test replies, and the digests agreeing on
every node of a cluster. Also LATENCY GRAPH, whose samples DEBUG SLEEP makes."""

from __future__ import annotations

import socket
import time

import pytest
import redis

from server.commands.monitoring import latency_graph_text
from server.limits import protected_denial
from tests.compat.targets import RawConn, RedisServer, encode_command
from tests.integration.cluster import Cluster
from tests.security.procs import start_node

ENABLED = ["--enable-debug-command", "yes", "--enable-module-command", "yes"]


@pytest.fixture(scope="module")
def redis_debug(tmp_path_factory):
    srv = RedisServer(str(tmp_path_factory.mktemp("redis-debug")), extra=ENABLED)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def cluster_debug(tmp_path_factory):
    with Cluster(str(tmp_path_factory.mktemp("raftis-debug")), 3, extra_args=ENABLED, fast=False) as c:
        c.start()
        yield c


def _raw(port: int, *cmds: list, resp3: bool = False) -> list[bytes]:
    """Each command's reply as the bytes on the wire: every command is followed by a PING, and
    what comes before its +PONG is the reply (so any reply type, attributes included). A list
    of commands goes as one (a transaction, whose PING would only be queued)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    out = []
    try:
        if resp3:
            _exchange(sock, [[b"HELLO", b"3"]])
        for cmd in cmds:
            group = cmd if isinstance(cmd[0], list) else [cmd]
            out.append(_exchange(sock, [[c if isinstance(c, bytes) else c.encode() for c in argv] for argv in group]))
    finally:
        sock.close()
    return out


def _exchange(sock: socket.socket, group: list[list[bytes]]) -> bytes:
    sock.sendall(b"".join(encode_command(argv) for argv in group) + encode_command([b"PING"]))
    buf = b""
    while not buf.endswith(b"+PONG\r\n"):
        chunk = sock.recv(65536)
        assert chunk, "connection closed"
        buf += chunk
    return buf[: -len(b"+PONG\r\n")]


def test_refused_unless_enabled_as_redis_refuses(single_node, redis_server):
    cmds = [["DEBUG", "SLEEP", "0"], ["DEBUG", "DIGEST"], ["DEBUG", "nosuch"], ["DEBUG"],
            ["MODULE", "LOAD", "/x.so"], ["MODULE", "LOADEX", "/x.so"], ["MODULE", "UNLOAD", "x"],
            ["MODULE", "LIST"],
            [["MULTI"], ["DEBUG", "DIGEST"], ["SET", "dbg:k", "v"], ["EXEC"]], ["EXISTS", "dbg:k"]]
    ours = _raw(single_node.nodes[1].port, *cmds)
    theirs = _raw(redis_server.port, *cmds)
    assert ours == theirs
    assert ours[0].startswith(b"-ERR DEBUG command not allowed. If the enable-debug-command option")
    assert ours[8].endswith(b"-EXECABORT Transaction discarded because of previous errors.\r\n")
    assert ours[9] == b":0\r\n"


def test_refused_before_authentication(tmp_path):
    node = start_node(str(tmp_path / "n"), ["--requirepass", "pw"], password="pw")
    try:
        conn = RawConn(node.port)
        ours = [r.raw for r in conn.pipeline([[b"DEBUG", b"DIGEST"], [b"MODULE", b"LOAD", b"x"], [b"MODULE", b"LIST"]])]
        conn.close()
        assert ours[0].startswith(b"-ERR DEBUG command not allowed")
        assert ours[1].startswith(b"-ERR MODULE command not allowed")
        assert ours[2] == b"-NOAUTH Authentication required.\r\n"
    finally:
        node.stop()


class _Session:
    def __init__(self, addr: str, setting: str) -> None:
        self.addr = addr
        self.server = type("Node", (), {"cfg": type("Cfg", (), {"enable_debug_command": setting,
                                                                "enable_module_command": "no"})})()


@pytest.mark.parametrize(("addr", "setting", "allowed"), [
    ("127.0.0.1:5000", "local", True), ("[::1]:5000", "local", True), ("10.1.2.3:5000", "local", False),
    ("[2001:db8::1]:5000", "local", False), ("10.1.2.3:5000", "yes", True), ("127.0.0.1:5000", "no", False),
])
def test_local_means_loopback_clients(addr, setting, allowed):
    assert (protected_denial(_Session(addr, setting), b"debug") is None) is allowed
    assert protected_denial(_Session(addr, setting), b"module|load") is not None


# Every type and encoding Redis digests: int-encoded and raw strings, listpack and quicklist
# lists, intsets and hash-table sets, listpack and hash-table hashes, listpack and skiplist
# sorted sets (scores that format in every way), streams, keys with a time to live, two dbs.
SETUP = [
    ["SET", "s:raw", "hello"], ["SET", "s:int", "12345"], ["SET", "s:neg", "-7"], ["SET", "s:empty", ""],
    ["SET", "s:big", "x" * 5000], ["SET", "s:ttl", "v", "EX", "1000"],
    ["RPUSH", "l:small", "a", "1", "b", "22"], ["RPUSH", "l:big", *[f"item{i}" for i in range(300)]],
    ["SADD", "set:ints", "1", "2", "3", "-5"], ["SADD", "set:strs", "a", "b", "c", "1"],
    ["SADD", "set:big", *[str(i) for i in range(600)]],
    ["HSET", "h:small", "f", "v", "n", "1"], ["HSET", "h:big", *[x for i in range(200) for x in (f"f{i}", f"v{i}")]],
    ["HSET", "h:long", "f", "y" * 100],
    ["ZADD", "z:small", "1", "a", "1.5", "b", "-0.25", "c", "inf", "d", "-inf", "e", "0.1", "f", "1e300", "g"],
    ["ZADD", "z:big", *[x for i in range(200) for x in (str(i / 3), f"m{i}")]],
    ["XADD", "x:s", "1-1", "f", "v"], ["XADD", "x:s", "2-5", "f", "w", "g", "12"], ["XADD", "x:s", "3-0", "h", "-1"],
    ["EXPIRE", "l:small", "5000"], ["PEXPIRE", "z:small", "9000000"],
    ["SELECT", "3"], ["SET", "s:raw", "hello"], ["RPUSH", "db3:list", "x"], ["SELECT", "0"],
]
KEYS = ["s:raw", "s:int", "s:neg", "s:empty", "s:big", "s:ttl", "l:small", "l:big", "set:ints", "set:strs",
        "set:big", "h:small", "h:big", "h:long", "z:small", "z:big", "x:s", "missing"]


def _digests(port: int) -> list[bytes]:
    cmds = [["FLUSHALL"], *SETUP, ["DEBUG", "DIGEST"], ["DEBUG", "DIGEST-VALUE", *KEYS], ["DEBUG", "DIGEST-VALUE"],
            ["XADD", "x:s", "4-0", "f", "v"], ["XDEL", "x:s", "4-0"], ["DEBUG", "DIGEST-VALUE", "x:s"],
            ["SELECT", "3"], ["DEBUG", "DIGEST-VALUE", "s:raw", "l:big"], ["SELECT", "0"],
            ["ZADD", "z:small", "2", "a"], ["PERSIST", "l:small"], ["DEBUG", "DIGEST"],
            ["FLUSHALL"], ["DEBUG", "DIGEST"]]
    return _raw(port, *cmds)


def test_digests_match_redis(cluster_debug, redis_debug):
    leader = cluster_debug.nodes[cluster_debug.leader()].port
    ours, theirs = _digests(leader), _digests(redis_debug.port)
    assert ours == theirs
    dataset = ours[len(SETUP) + 1]
    assert dataset.startswith(b"+") and len(dataset) == 43 and dataset != b"+" + b"0" * 40 + b"\r\n"
    values = ours[len(SETUP) + 2]
    assert values.count(b"+" + b"0" * 40) == 1  # the missing key only
    assert ours[-1] == b"+" + b"0" * 40 + b"\r\n"


def test_every_node_has_the_same_digest(cluster_debug):
    leader = cluster_debug.leader()
    r = cluster_debug.nodes[leader].client()
    r.flushall()
    for i in range(50):
        r.set(f"k{i}", i)
        r.zadd("z", {f"m{i}": i / 7})
        r.hset("h", f"f{i}", i * i)
    r.rpush("l", *range(20))
    r.xadd("x", {"a": "b"}, id="5-5")
    expected = r.execute_command("DEBUG", "DIGEST")
    assert expected != b"0" * 40
    deadline = time.monotonic() + 20
    for nid, node in cluster_debug.nodes.items():
        c = node.client()
        while (got := c.execute_command("DEBUG", "DIGEST")) != expected:
            assert time.monotonic() < deadline, f"node {nid}: {got!r} != {expected!r}"
            time.sleep(0.05)


def test_test_replies_match_redis(cluster_debug, redis_debug):
    leader = cluster_debug.nodes[cluster_debug.leader()].port
    types = ["string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push",
             "verbatim", "true", "false", "STRING", "nosuch"]
    cmds = [["DEBUG", "PROTOCOL", t] for t in types] + [
        ["DEBUG", "ERROR", "MYERR foo"], ["DEBUG", "ERROR", "-X y"], ["DEBUG", "ERROR", ""],
        ["DEBUG", "ERROR", "a\r\nb"], ["DEBUG", "LOG", "a line from the test"],
        ["DEBUG", "SLEEP", "0"], ["DEBUG", "SLEEP", "0.01"], ["DEBUG", "sleep", "1e-3"], ["DEBUG", "SLEEP", "-1"],
        ["DEBUG", "SLEEP", "x"], ["DEBUG", "SLEEP"], ["DEBUG", "DIGEST", "x"], ["DEBUG", "nosuch"],
        ["DEBUG", "help", "x"], ["DEBUG"], ["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
    ]
    for resp3 in (False, True):
        assert _raw(leader, *cmds, resp3=resp3) == _raw(redis_debug.port, *cmds, resp3=resp3)


def test_help_lists_what_raftis_has(cluster_debug, redis_debug):
    leader = cluster_debug.nodes[cluster_debug.leader()].port
    ours = RawConn(leader).call("DEBUG", "HELP")
    theirs = RawConn(redis_debug.port).call("DEBUG", "HELP")
    lines = [x.value for x in ours.value]
    assert lines[0] == theirs.value[0].value
    assert lines[-2:] == [b"HELP", b"    Print this help."]
    redis_lines = [x.value for x in theirs.value]
    for i, line in enumerate(lines[1:-2], 1):  # each entry is Redis's text for it
        assert line in redis_lines, line
        if not line.startswith(b" "):
            name = line.split(b" ")[0]
            assert RawConn(leader).call("DEBUG", name, *(["x"] if b"<" in line else [])).raw != (
                b"-ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP.\r\n" % name), i
    refused = RawConn(leader).call("DEBUG", "SEGFAULT")
    assert refused.raw == b"-ERR DEBUG SEGFAULT is not supported by Raftis: it works on redis-server's own structures\r\n"


def test_sleep_refuses_what_would_never_end(cluster_debug):
    leader = cluster_debug.nodes[cluster_debug.leader()].port
    for arg in ("inf", "-inf", "nan", "infinity"):
        assert _raw(leader, ["DEBUG", "SLEEP", arg]) == [b"-ERR DEBUG SLEEP needs a finite number of seconds\r\n"]


def test_set_active_expire_stops_and_resumes_deleting_expired_keys(cluster_debug):
    nid = cluster_debug.leader()
    c = cluster_debug.nodes[nid].client()
    c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        c.set("dbg:short", "v", px=30)
        time.sleep(0.6)  # many expiry rounds (one every 4 ticks)
        # DIGEST-VALUE sees a key that has expired but is still stored; a read never does
        assert c.execute_command("DEBUG", "DIGEST-VALUE", "dbg:short") != [b"0" * 40]
        assert c.get("dbg:short") is None
    finally:
        c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    deadline = time.monotonic() + 20
    while c.execute_command("DEBUG", "DIGEST-VALUE", "dbg:short") != [b"0" * 40]:
        assert time.monotonic() < deadline, "the expired key was never deleted"
        time.sleep(0.05)


def test_module_loading_enabled_says_why_it_cannot(cluster_debug):
    r = cluster_debug.nodes[cluster_debug.leader()].client()
    assert r.module_list() == []
    for argv in (["MODULE", "LOAD", "/tmp/x.so"], ["MODULE", "LOADEX", "/tmp/x.so", "ARGS", "a"]):
        with pytest.raises(redis.ResponseError, match="^Raftis cannot load Redis modules"):
            r.execute_command(*argv)
    with pytest.raises(redis.ResponseError, match="^Error unloading module: no such module with that name$"):
        r.execute_command("MODULE", "UNLOAD", "ReJSON")


def test_a_long_digest_leaves_the_node_serving(cluster_debug):
    """The digest of a large dataset is computed in a forked child: meanwhile the node answers
    other clients (a leader computing it on its loop would miss its heartbeats)."""
    nid = cluster_debug.leader()
    port = cluster_debug.nodes[nid].port
    r = cluster_debug.nodes[nid].client()
    r.flushall()
    for chunk in range(100):
        r.mset({f"big:{chunk}:{i}": i for i in range(1000)})
    digest_conn, other = RawConn(port), RawConn(port)
    try:
        digest_conn.sock.sendall(encode_command([b"DEBUG", b"DIGEST"]))
        assert other.call("PING").raw == b"+PONG\r\n"
        digest_conn.sock.settimeout(0)
        with pytest.raises(BlockingIOError):  # the digest has not come back yet
            digest_conn.sock.recv(100)
        digest_conn.sock.settimeout(60)
        data = b""
        while not data.endswith(b"\r\n"):
            data += digest_conn.sock.recv(100)
        assert len(data) == 43 and data.startswith(b"+"), data
        assert data[1:41].decode() == r.execute_command("DEBUG", "DIGEST").decode()  # nothing changed since
    finally:
        digest_conn.close()
        other.close()
        r.flushall()


def _latency_samples(client, sleeps):
    """A 'command' latency sample per DEBUG SLEEP, each in a second of its own."""
    client.config_set("latency-monitor-threshold", 1)
    client.execute_command("LATENCY", "RESET")
    for seconds in sleeps:
        client.execute_command("DEBUG", "SLEEP", seconds)
        time.sleep(1.02 - time.time() % 1)  # into the next second


def _graph_and_now(client, event):
    for _ in range(5):
        before = int(time.time())
        graph = client.execute_command("LATENCY", "GRAPH", event)
        if int(time.time()) == before:
            return graph, before
    raise AssertionError("the second changed during every LATENCY GRAPH")


def test_latency_graph_draws_as_redis_draws(redis_debug):
    r = redis.Redis(port=redis_debug.port)
    _latency_samples(r, [0.005, 0.08, 0.03, 0.2, 0.05])
    history = r.execute_command("LATENCY", "HISTORY", "command")
    assert len(history) == 5
    (latest,) = [e for e in r.execute_command("LATENCY", "LATEST") if e[0] == b"command"]
    graph, now = _graph_and_now(r, "command")
    ours = latency_graph_text("command", {"history": [tuple(h) for h in history], "max": latest[3]}, now)
    assert ours.encode() == graph


def test_latency_graph_of_a_node(cluster_debug, redis_debug):
    c = cluster_debug.nodes[cluster_debug.leader()].client()
    try:
        _latency_samples(c, [0.01, 0.06])
        history = [tuple(h) for h in c.execute_command("LATENCY", "HISTORY", "command")]
        assert len(history) == 2 and history[1][1] >= 60
        (latest,) = [e for e in c.execute_command("LATENCY", "LATEST") if e[0] == b"command"]
        graph, now = _graph_and_now(c, "command")
        assert graph == latency_graph_text("command", {"history": history, "max": latest[3]}, now).encode()
        assert graph.startswith(b"command - high ") and b"\n" + b"-" * 80 + b"\n" in graph
    finally:
        c.config_set("latency-monitor-threshold", 0)
    for conn in (c, redis.Redis(port=redis_debug.port)):
        with pytest.raises(redis.ResponseError, match="^No samples available for event 'nosuch'$"):
            conn.execute_command("LATENCY", "GRAPH", "nosuch")
