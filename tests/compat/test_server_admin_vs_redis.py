"""Server and admin commands on a real node next to redis-server 7.0: MEMORY's reports (the
same field names and reply types; the figures are this process's own), CLIENT REPLY, GETREDIR
and UNBLOCK, and LOLWUT."""

from __future__ import annotations

import re
import socket
import time

import pytest
import redis

from tests.compat.replies import split
from tests.compat.targets import RawConn


def _keys_of_stats(reply) -> list[bytes]:
    flat = reply.value
    return [flat[i].value for i in range(0, len(flat), 2)]


def test_memory_stats_has_redis_fields(single_node, redis_server):
    ours, ref = RawConn(single_node.nodes[1].port), RawConn(redis_server.port)
    try:
        for c in (ours, ref):
            c.call("SET", "memory-stats-key", "v")
        mine, theirs = ours.call("MEMORY", "STATS"), ref.call("MEMORY", "STATS")
        assert mine.kind == theirs.kind == "*"
        assert [k for k in _keys_of_stats(mine) if not k.startswith(b"db.")] == [
            k for k in _keys_of_stats(theirs) if not k.startswith(b"db.")]
        assert b"db.0" in _keys_of_stats(mine)
        stats = dict(zip(_keys_of_stats(mine), mine.value[1::2], strict=True))
        assert stats[b"keys.count"].value >= 1 and stats[b"total.allocated"].value > 0
        for c in (ours, ref):
            c.call("HELLO", "3")
        assert ours.call("MEMORY", "STATS").kind == ref.call("MEMORY", "STATS").kind == "%"
    finally:
        ours.call("DEL", "memory-stats-key")
        ref.call("DEL", "memory-stats-key")
        ours.close()
        ref.close()


def test_memory_doctor_purge_malloc_stats(single_node):
    r = single_node.nodes[1].client()
    r.set("memory-doctor-key", "v")
    text = r.execute_command("MEMORY", "DOCTOR")
    assert b"Sam" in text
    r.delete("memory-doctor-key")
    assert r.execute_command("MEMORY", "PURGE") in (True, b"OK")
    assert isinstance(r.execute_command("MEMORY", "MALLOC-STATS"), bytes)
    assert r.memory_usage("nosuch") is None
    r.rpush("memory-usage-list", *range(100))
    assert r.memory_usage("memory-usage-list") > r.memory_usage("memory-usage-list", samples=1) // 2 > 0
    r.delete("memory-usage-list")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("MEMORY", "USAGE", "x", "SAMPLES", "-1")


# Sent after each payload: whatever the payload left CLIENT REPLY at, these two are answered,
# and last; their replies mark the end of what the payload's commands sent.
_END = b"CLIENT REPLY ON\r\nECHO end-of-exchange\r\n"
_END_REPLIES = b"+OK\r\n$15\r\nend-of-exchange\r\n"


def _exchange(port: int, payload: bytes) -> bytes:
    """Send inline commands on a fresh connection; everything that came back, up to the
    replies to ``_END`` (however long a loaded machine takes to send it)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(payload + _END)
        out = b""
        while not out.endswith(_END_REPLIES):
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


@pytest.mark.parametrize("payload", [
    b"CLIENT REPLY OFF\r\nPING\r\nSET client-reply-k 1\r\nGET client-reply-k\r\n",
    b"CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nPING\r\n",
    b"CLIENT REPLY SKIP\r\nPING\r\nECHO x\r\n",
    b"CLIENT REPLY SKIP\r\nCLIENT REPLY SKIP\r\nECHO a\r\nECHO b\r\n",
    b"CLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\nECHO c\r\nCLIENT REPLY ON\r\nECHO d\r\n",
    b"CLIENT REPLY SKIP\r\nCLIENT REPLY OFF\r\nECHO e\r\nCLIENT REPLY ON\r\nECHO f\r\n",
    b"CLIENT REPLY SKIP\r\nSET client-reply-k 2\r\nGET client-reply-k\r\nDEL client-reply-k\r\n",
    b"CLIENT REPLY MAYBE\r\nCLIENT REPLY\r\nCLIENT GETREDIR\r\nCLIENT GETREDIR x\r\n",
    b"CLIENT UNBLOCK x\r\nCLIENT UNBLOCK 1 FOO\r\nCLIENT UNBLOCK 1 TIMEOUT x\r\nCLIENT UNBLOCK 999999\r\n"
    b"CLIENT UNBLOCK\r\nCLIENT UNBLOCK -5 ERROR\r\n",
    b"LOLWUT VERSION 5 10 3 2\r\nLOLWUT VERSION 6 1 1\r\nLOLWUT VERSION 5 1 1 1\r\nLOLWUT VERSION x\r\n"
    b"LOLWUT VERSION 5 x\r\nLOLWUT VERSION 6 3 y\r\nLOLWUT VERSION -1\r\nLOLWUT foo\r\nLOLWUT\r\n",
])
def test_replies_match_redis(single_node, redis_server, payload):
    mine = _exchange(single_node.nodes[1].port, payload)
    theirs = _exchange(redis_server.port, payload)
    # LOLWUT signs with the server's version; the lengths of those replies differ with it.
    sign = re.compile(rb"\$\d+\r\n([^$]*?)(Redis|Raftis) ver\. [0-9.]+\n")
    assert sign.sub(rb"\1<version>", mine) == sign.sub(rb"\1<version>", theirs)


@pytest.mark.parametrize("version,args", [(5, []), (5, [30, 4, 6]), (6, []), (6, [20, 8])])
def test_lolwut_art_has_redis_shape(single_node, redis_server, version, args):
    """Random drawings: the same number of lines of the same widths, the same caption."""
    ours, ref = RawConn(single_node.nodes[1].port), RawConn(redis_server.port)
    try:
        mine = ours.call("LOLWUT", "VERSION", version, *args).value.decode()
        theirs = ref.call("LOLWUT", "VERSION", version, *args).value.decode()
    finally:
        ours.close()
        ref.close()
    assert mine.endswith("Raftis ver. 0.1.0\n") and theirs.endswith("Redis ver. 7.0.15\n")
    mine_lines, their_lines = mine.split("\n")[:-1], theirs.split("\n")[:-1]
    # Braille characters (version 5), or terminal "pixels" in escape sequences (version 6).
    def widths(lines: list[str]) -> list[int]:
        return [x.count("\x1b[0m") if version == 6 else len(x) for x in lines]

    assert widths(mine_lines[:-1]) == widths(their_lines[:-1])
    assert mine_lines[-1].split(" Raftis ver.")[0] == their_lines[-1].split(" Redis ver.")[0]


def test_client_unblock_wakes_a_blocked_client(single_node, redis_server):
    for port in (single_node.nodes[1].port, redis_server.port):
        admin, blocked = RawConn(port), RawConn(port)
        try:
            bid = blocked.call("CLIENT", "ID").value
            for reason, expected in ((b"ERROR", b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"),
                                     (b"TIMEOUT", b"*-1\r\n")):
                blocked.sock.sendall(b"BLPOP client-unblock-nokey 0\r\n")
                deadline = time.monotonic() + 5
                while admin.call("CLIENT", "UNBLOCK", bid, reason).value != 1:
                    assert time.monotonic() < deadline, "the client never blocked"
                    time.sleep(0.02)
                got, blocked.buf = split(blocked.buf)
                while not got:
                    blocked.buf += blocked.sock.recv(4096)
                    got, blocked.buf = split(blocked.buf)
                assert got[0].raw == expected
            assert admin.call("CLIENT", "UNBLOCK", bid).value == 0  # not blocked any more
        finally:
            admin.close()
            blocked.close()


_HDR_EDGES = {((1 << k) + (1 << (k - 7)) - 1) // 1000 for k in range(10, 36)}  # 1, 2, 4, 8, 16, 33, 66, ...


def _histograms(reply) -> list[tuple[bytes, int, list[tuple[int, int]]]]:
    """LATENCY HISTOGRAM's reply: (command, calls, [(usec, cumulative count), ...]) each."""
    flat = reply.value
    out = []
    for i in range(0, len(flat), 2):
        fields = flat[i + 1].value
        assert [fields[0].value, fields[2].value] == [b"calls", b"histogram_usec"]
        cdf = fields[3].value
        out.append((flat[i].value, fields[1].value,
                    [(cdf[j].value, cdf[j + 1].value) for j in range(0, len(cdf), 2)]))
    return out


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_latency_histogram_matches_redis(single_node, redis_server, resp3):
    ours, ref = RawConn(single_node.nodes[1].port), RawConn(redis_server.port)
    try:
        got = {}
        for name, c in (("raftis", ours), ("redis", ref)):
            if resp3:
                c.call("HELLO", "3")
            c.call("CONFIG", "RESETSTAT")
            for _ in range(3):
                c.call("SET", "latency-key", "v")
            c.call("GET", "latency-key")
            c.call("GET", "latency-key")
            c.call("CONFIG", "GET", "maxmemory")
            whole = c.call("LATENCY", "HISTOGRAM")
            some = c.call("LATENCY", "HISTOGRAM", "set", "GET", "nosuch", "config", "get")
            assert whole.kind == some.kind == ("%" if resp3 else "*")
            got[name] = (_histograms(whole), _histograms(some))
            c.call("DEL", "latency-key")
        (ours_all, ours_some), (ref_all, ref_some) = got["raftis"], got["redis"]
        # Every command, in no particular order (Redis's is its hash table's); named ones in
        # the order named, a container's subcommands each, unknown names left out.
        assert sorted((n, calls) for n, calls, _ in ours_all) == sorted((n, calls) for n, calls, _ in ref_all)
        def named(hists):  # a container's subcommands come in Redis's hash order: as a set
            rows = [(n, calls) for n, calls, _ in hists]
            return rows[:2] + sorted(rows[2:4]) + rows[4:]

        assert named(ours_some) == named(ref_some) == [
            (b"set", 3), (b"get", 2), (b"config|get", 1), (b"config|resetstat", 1), (b"get", 2)]
        for n, calls, cdf in ours_all + ours_some:
            assert cdf and cdf[-1][1] == calls, (n, cdf)
            assert all(us in _HDR_EDGES for us, _ in cdf), (n, cdf)
            assert [c for _, c in cdf] == sorted({c for _, c in cdf}), (n, cdf)  # rising
    finally:
        ours.close()
        ref.close()


def test_module_list_is_empty_and_loading_is_refused(single_node):
    # Clients ask MODULE LIST to find modules (RedisJSON, RediSearch...): there are none.
    r = single_node.nodes[1].client()
    assert r.module_list() == []
    # As in Redis 7.0, loading is not even considered unless enable-module-command allows it
    # (tests/compat/test_debug_vs_redis.py has the replies when it does).
    for argv in (["MODULE", "LOAD", "/tmp/x.so"], ["MODULE", "LOADEX", "/tmp/x.so", "ARGS", "a"],
                 ["MODULE", "UNLOAD", "ReJSON"]):
        with pytest.raises(redis.ResponseError, match="^MODULE command not allowed. If the enable-module-command"):
            r.execute_command(*argv)
