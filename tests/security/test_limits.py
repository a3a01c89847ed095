"""Client limits on a real node: request sizes, clients, idle and slow clients, output
buffers and the memory ceiling."""

from __future__ import annotations

import socket
import time

import pytest
import redis

from tests.integration.cluster import wait_for
from tests.security.procs import redis_cli


def _conn(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _read_until_closed(s: socket.socket, timeout: float = 5) -> bytes:
    """Everything the server sends until it closes; b"<open>" appended if it did not close."""
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return data
    except TimeoutError:
        return data + b"<open>"


@pytest.fixture
def limited(node_factory):
    return node_factory(["--maxclients", "20", "--timeout", "2", "--request-timeout", "2",
                         "--proto-max-bulk-len", "1mb", "--client-query-buffer-limit", "4mb",
                         "--client-output-buffer-limit", "normal 8mb 0 0 pubsub 2mb 1mb 2"])


def test_request_size_limits(node_factory, limited):
    default = node_factory()
    for port in (default.port, limited.port):
        s = _conn(port)
        s.sendall(b"*2\r\n$3\r\nGET\r\n$4294967296\r\n")  # a 4 GB bulk header
        assert _read_until_closed(s) == b"-ERR Protocol error: invalid bulk length\r\n"
        s = _conn(port)
        s.sendall(b"*4294967296\r\n")
        assert _read_until_closed(s) == b"-ERR Protocol error: invalid multibulk length\r\n"
    s = _conn(limited.port)
    s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n")  # over --proto-max-bulk-len 1mb
    assert _read_until_closed(s) == b"-ERR Protocol error: invalid bulk length\r\n"
    c = limited.client()
    assert c.set("k", b"x" * 900_000) and len(c.get("k")) == 900_000  # under it: fine


def test_query_buffer_limit(limited):
    s = _conn(limited.port)
    # many small incomplete arguments of one command: 5 MB held, over the 4 MB limit
    s.sendall(b"*100000\r\n" + b"$64\r\n" + b"a" * 64 + b"\r\n")
    chunk = (b"$64\r\n" + b"a" * 64 + b"\r\n") * 1000
    closed = False
    try:
        for _ in range(80):
            s.sendall(chunk)
    except OSError:
        closed = True
    if not closed:
        assert not _read_until_closed(s, 5).endswith(b"<open>")
    assert limited.client().ping()


def test_maxclients(limited):
    held = []
    try:
        for _ in range(25):
            s = _conn(limited.port)
            s.sendall(b"PING\r\n")
            held.append(s)
        replies = []
        for s in held:
            s.settimeout(5)
            replies.append(s.recv(100))
        assert replies.count(b"+PONG\r\n") == 20
        assert replies.count(b"-ERR max number of clients reached\r\n") == 5
    finally:
        for s in held:
            s.close()
    wait_for(lambda: limited.client().ping(), 5)
    # INFO and CONFIG GET report the limit in force.
    assert limited.client().info("clients")["maxclients"] == 20
    assert limited.client().config_get("maxclients") == {"maxclients": "20"}


def test_idle_timeout_and_slow_loris(limited):
    idle = _conn(limited.port)
    loris = _conn(limited.port)
    busy = limited.client(single_connection_client=True)
    t0 = time.monotonic()
    loris.sendall(b"*3\r\n$3\r\nSET\r\n")
    closed_at = {}
    while time.monotonic() - t0 < 10 and len(closed_at) < 2:
        busy.ping()  # an active client is never closed
        try:
            loris.sendall(b"$")  # a byte now and then, never finishing the request
            loris.sendall(b"")
        except OSError:
            closed_at.setdefault("loris", time.monotonic() - t0)
        for name, s in (("idle", idle), ("loris", loris)):
            s.setblocking(False)
            try:
                if s.recv(100) == b"":
                    closed_at.setdefault(name, time.monotonic() - t0)
            except BlockingIOError:
                pass
            except OSError:
                closed_at.setdefault(name, time.monotonic() - t0)
        time.sleep(0.2)
    assert 1.5 < closed_at["idle"] < 5
    assert 1.5 < closed_at["loris"] < 5
    assert busy.ping()


def test_pubsub_client_that_does_not_read_is_disconnected(limited):
    sub = _conn(limited.port)
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sub.sendall(b"SUBSCRIBE news\r\n")
    time.sleep(0.3)
    pub = limited.client()
    payload = b"x" * 100_000
    t0 = time.monotonic()
    gone = False
    while time.monotonic() - t0 < 15:
        receivers = pub.publish("news", payload)
        if receivers == 0:
            gone = True
            break
        time.sleep(0.01)
    assert gone, "a subscriber that never reads must be disconnected"
    assert time.monotonic() - t0 < 10
    assert pub.ping()


def test_client_that_does_not_read_one_big_reply_is_disconnected(node_factory):
    # Only the normal class has a hard limit, above the level where the server stops writing
    # to a client (4 MB): the reply that crosses it closes the connection, as in Redis.
    n = node_factory(["--client-output-buffer-limit", "normal 8mb 0 0"])
    c = n.client()
    c.set("big", b"x" * (16 * 1024 * 1024))
    s = _conn(n.port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # connect() returns once the kernel has the connection; the server accepts it soon after
    assert wait_for(lambda: c.info("clients")["connected_clients"] == 2, 5)
    s.sendall(b"GET big\r\n")
    # The server drops the connection (what reached the socket still trickles to the client).
    assert wait_for(lambda: c.info("clients")["connected_clients"] == 1, 10), "the client should be gone"
    s.close()
    assert c.strlen("big") == 16 * 1024 * 1024 and c.ping()


def test_by_default_a_reply_of_any_size_is_delivered(node_factory):
    # Redis's default for normal clients is no output limit ("normal 0 0 0"): back-pressure,
    # not a hard limit, keeps a client that does not read from costing memory. A 100 MB
    # value (APPENDed in pieces) comes back whole, directly and in a transaction.
    n = node_factory()
    c = n.client(socket_timeout=60)
    piece = b"0123456789abcdef" * (1 << 20)
    for _ in range(6):
        c.append("big", piece)
    c.append("big", piece[: 4 << 20])
    assert c.get("big") == piece * 6 + piece[: 4 << 20]
    p = c.pipeline(transaction=True)
    p.strlen("big").get("big")
    assert p.execute() == [100 << 20, piece * 6 + piece[: 4 << 20]]
    assert c.info("clients")["connected_clients"] == 1


def test_over_maxmemory_scripts_and_functions_follow_their_flags(node_factory):
    # As Redis 7: a function, or a script with a shebang line, that says neither no-writes
    # nor allow-oom is refused at once; one that says either runs; a script without a
    # shebang line (compatibility mode) runs.
    n, _ = _node_with_room(node_factory, 20 << 20)
    c = n.client()
    c.set("a", "1")
    c.function_load("#!lua name=lib\n"
                    "redis.register_function('plain', function() return 1 end)\n"
                    "redis.register_function{function_name='ro', callback=function() return 2 end, flags={'no-writes'}}\n"
                    "redis.register_function{function_name='oom', callback=function() return 3 end, flags={'allow-oom'}}")
    plain = c.script_load("#!lua\nreturn 4")
    ro = c.script_load("#!lua flags=no-writes\nreturn 5")
    _fill_until_oom(c)
    oom = "OOM command not allowed when used memory > 'maxmemory'."
    get = "local r = redis.call('get', 'a') return r"
    assert redis_cli(n.port, "EVAL", "#!lua\n" + get, "0") == oom
    assert redis_cli(n.port, "EVALSHA", plain, "0") == oom
    assert redis_cli(n.port, "FCALL", "plain", "0") == oom
    assert redis_cli(n.port, "EVAL", "#!lua flags=no-writes\n" + get, "0") == "1"
    assert redis_cli(n.port, "EVAL", "#!lua flags=allow-oom\n" + get, "0") == "1"
    assert redis_cli(n.port, "EVAL", get, "0") == "1"
    assert redis_cli(n.port, "EVALSHA", ro, "0") == "5"
    assert redis_cli(n.port, "FCALL", "ro", "0") == "2"
    assert redis_cli(n.port, "FCALL", "oom", "0") == "3"
    # A shebang line in error, an unknown script or function: the command's own error.
    assert redis_cli(n.port, "EVAL", "#!lua flags=bad\nreturn 1", "0") == "ERR Unexpected flag in script shebang: bad"
    assert redis_cli(n.port, "EVALSHA", "0" * 40, "0").startswith("NOSCRIPT")
    assert redis_cli(n.port, "FCALL", "nosuch", "0") == "ERR Function not found"


def _node_with_room(node_factory, room: int):
    """A node whose maxmemory is ``room`` bytes over what a fresh node takes; and its maxmemory."""
    probe = node_factory()
    rss = probe.rss_kb() * 1024
    probe.stop()
    return node_factory(["--maxmemory", str(rss + room)]), rss + room


def _fill_until_oom(c) -> str | None:
    """SET 1 MB values until the node refuses one; the error's text (None if none was)."""
    value = b"v" * (1024 * 1024)
    for i in range(400):
        try:
            c.set(f"big:{i}", value)
        except redis.exceptions.ResponseError as e:
            return str(e)
        if i % 10 == 0:
            time.sleep(0.6)  # let the memory sweep catch up
    return None


def test_maxmemory_refuses_denyoom_commands_and_keeps_reads(node_factory):
    n, maxmemory = _node_with_room(node_factory, 40 << 20)
    c = n.client()
    assert c.info("memory")["maxmemory"] == maxmemory
    c.set("keep", "me")
    oom = _fill_until_oom(c)
    assert oom == "command not allowed when used memory > 'maxmemory'."  # redis-py drops the "OOM"
    assert redis_cli(n.port, "SET", "x", "y") == "OOM command not allowed when used memory > 'maxmemory'."
    assert c.get("keep") == b"me"  # reads keep working
    assert c.exists("big:0") == 1
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        c.rpush("list", "x")
    assert c.delete("big:0") == 1  # commands that free memory are allowed
    assert c.ping()
