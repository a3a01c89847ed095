"""MONITOR on a real node, line for line against redis-server (times and client ports aside)."""

from __future__ import annotations

import re
import socket
import time

import pytest

from server.monitor import line, quote, redacted
from tests.compat.targets import RawConn
from tests.integration.cluster import wait_for

_LINE = re.compile(rb"^\+(\d+)\.(\d{6}) \[(\d+) ([^\]]*)\] (.*)$")


class Monitor:
    """A raw connection in MONITOR mode that collects the lines it is sent."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(b"MONITOR\r\n")
        self.buf = b""
        assert self._read_line() == b"+OK"

    def _read_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        first, _, self.buf = self.buf.partition(b"\r\n")
        return first

    def lines_until(self, marker: bytes, timeout: float = 10.0) -> list[bytes]:
        """Lines (time and port stripped) up to the one that ends with ``marker``."""
        self.sock.settimeout(timeout)
        out = []
        while True:
            raw = self._read_line()
            m = _LINE.match(raw)
            assert m, raw
            source = m.group(4)
            source = b"lua" if source == b"lua" else source.rsplit(b":", 1)[0]
            out.append(b"[%s %s] %s" % (m.group(3), source, m.group(5)))
            if raw.endswith(marker):
                return out

    def send(self, *argv: bytes) -> bytes:
        self.sock.sendall(b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv))
        self.sock.settimeout(10)
        return self._read_line()

    def close(self) -> None:
        self.sock.close()


SCRIPT: list[list[bytes]] = [
    [b"SET", b"k", b'a"b\\c\n\r\t\x07\x08\x01\xff \' x'],
    [b"SET", b"n", b"12"],
    [b"GET", b"n"],
    [b"AUTH", b"nosuchpw"],
    [b"HELLO", b"2", b"AUTH", b"default", b"nopass", b"SETNAME", b"mon"],
    [b"HELLO", b"2"],
    [b"MULTI"],
    [b"SET", b"a", b"1"],
    [b"INCR", b"a"],
    [b"EXEC"],
    [b"MULTI"],
    [b"SET", b"a", b"2"],
    [b"DISCARD"],
    [b"NOSUCHCOMMAND", b"x"],
    [b"GET"],
    [b"CONFIG", b"GET", b"save"],
    [b"CLIENT", b"LIST"],
    [b"LPUSH", b"n", b"x"],
    [b"SELECT", b"3"],
    [b"SET", b"z", b"1"],
    [b"SELECT", b"0"],
    [b"EVAL", b"redis.call('set', KEYS[1], 'x') return redis.call('get', KEYS[1])", b"1", b"n"],
    [b"EVAL", b"redis.call('select', '2') return redis.call('ping')", b"0"],
    [b"EVAL_RO", b"return redis.call('get', KEYS[1])", b"1", b"n"],
    [b"EVAL", b"syntax error here", b"0"],
    [b"EVALSHA", b"0000000000000000000000000000000000000000", b"0"],
    [b"MULTI"],
    [b"EVAL", b"return redis.call('incr', 'a')", b"0"],
    [b"EXEC"],
    [b"FUNCTION", b"LOAD", b"REPLACE",
     b"#!lua name=monlib\nredis.register_function('monf', function(k, a) return redis.call('get', k[1]) end)"],
    [b"FCALL", b"monf", b"1", b"n"],
    [b"PING"],
    [b"ECHO", b"end"],
]


def _run(port: int) -> list[bytes]:
    mon = Monitor(port)
    c = RawConn(port)
    try:
        c.call("FLUSHALL")
        mon.lines_until(b'"FLUSHALL"')
        c.pipeline(SCRIPT)
        return mon.lines_until(b'"ECHO" "end"')
    finally:
        c.call("FLUSHALL")
        c.close()
        mon.close()


def test_monitor_lines_match_redis(single_node, redis_server):
    ours = _run(single_node.nodes[1].port)
    theirs = _run(redis_server.port)
    assert ours == theirs


def test_monitor_line_format_and_time():
    assert line(1700000000.0123456, 3, "127.0.0.1:5000", [b"SET", b"k", b"\x00\xfe"]) == (
        b'+1700000000.012345 [3 127.0.0.1:5000] "SET" "k" "\\x00\\xfe"\r\n')
    assert quote(b'say "hi"\\') == b'"say \\"hi\\"\\\\"'
    assert redacted(b"migrate", [b"MIGRATE", b"h", b"1", b"", b"0", b"5", b"AUTH2", b"u", b"p", b"KEYS", b"a"]) == [
        b"MIGRATE", b"h", b"1", b"", b"0", b"5", b"AUTH2", b"(redacted)", b"(redacted)", b"KEYS", b"a"]


@pytest.mark.parametrize("port_of", ["raftis", "redis"])
def test_monitor_connection_may_not_touch_the_keyspace(single_node, redis_server, port_of):
    port = single_node.nodes[1].port if port_of == "raftis" else redis_server.port
    mon = Monitor(port)
    try:
        assert mon.send(b"GET", b"x") == b"-ERR Replica can't interact with the keyspace"
        assert mon.send(b"SET", b"x", b"1") == b"-ERR Replica can't interact with the keyspace"
        mon.sock.sendall(b"MONITOR\r\n")  # a second MONITOR has no reply at all
        assert mon.send(b"PING") == b"+PONG"
        assert mon._read_line().endswith(b'"PING"')  # its own PING, shown after the reply
        assert mon.send(b"RESET") == b"+RESET"
        assert mon.send(b"GET", b"x") == b"$-1"  # back to a plain connection
    finally:
        mon.close()


def test_monitor_stops_feeding_after_reset_and_close(single_node):
    node = single_node.nodes[1]
    c = node.client()
    mon = Monitor(node.port)
    assert any(x["flags"] == "O" for x in c.client_list())
    c.set("k", "1")
    assert mon.lines_until(b'"SET" "k" "1"')
    mon.close()
    wait_for(lambda: all("O" not in x["flags"] for x in c.client_list()), 5, what="the monitor to go")
    c.set("k", "2")  # nobody monitors: nothing to feed, nothing breaks
    assert c.get("k") == b"2"


def test_follower_shows_its_own_clients_commands(three_nodes):
    follower = three_nodes.nodes[three_nodes.follower()]
    leader = three_nodes.nodes[three_nodes.leader()]
    mon_f = Monitor(follower.port)
    mon_l = Monitor(leader.port)
    c = RawConn(follower.port)
    d = RawConn(leader.port)
    try:
        assert c.call("SET", "via-follower", "1").raw == b"+OK\r\n"
        assert d.call("SET", "via-leader", "1").raw == b"+OK\r\n"
        assert mon_f.lines_until(b'"SET" "via-follower" "1"')[-1].endswith(b'"SET" "via-follower" "1"')
        # The leader shows its own client's write, not the one the follower relayed.
        seen = mon_l.lines_until(b'"SET" "via-leader" "1"')
        assert not any(b"via-follower" in x for x in seen)
        time.sleep(0.05)
    finally:
        c.close()
        d.close()
        mon_f.close()
        mon_l.close()
