"""redis-py against the codec and command table, through a minimal blocking socket adapter
(test-only: the product's connection handler is asyncio).  It checks what a real client does
on connect (HELLO 3, CLIENT SETINFO) and how it decodes our replies in both protocols."""

from __future__ import annotations

import socketserver
import threading

import pytest
import redis
from commands_harness import FakeServer, LocalExecutor

from resp import ErrorReply, ProtocolError, RequestParser, encode, encode_many
from server.commands import CONN, WRITE, lookup
from server.session import Session


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        ex: LocalExecutor = self.server.executor  # type: ignore[attr-defined]
        lock: threading.Lock = self.server.lock  # type: ignore[attr-defined]
        session = Session(ex.server, addr="{}:{}".format(*self.client_address), laddr="127.0.0.1:0")
        ex.server.sessions.append(session)
        parser = RequestParser()
        sock = self.request
        while True:
            data = sock.recv(65536)
            if not data:
                return
            parser.feed(data)
            try:
                commands = parser.get_commands()
            except ProtocolError as e:
                sock.sendall(encode(ErrorReply("ERR " + e.message), session.resp3))
                return
            replies = []
            with lock:
                for argv in commands:
                    cmd = lookup(argv)
                    if isinstance(cmd, ErrorReply):
                        replies.append(cmd)
                        continue
                    session.last_cmd = cmd.name
                    if cmd.kind == CONN:
                        replies.append(cmd.handler(session, argv))
                        continue
                    now = ex.clock()
                    if cmd.kind == WRITE:
                        ex.index += 1
                        ex.ctx.for_write(ex.index, now, session.db_index)
                    else:
                        ex.ctx.for_read(now, session.db_index)
                    replies.append(cmd.handler(ex.ctx, argv))
            sock.sendall(encode_many(replies, session.resp3))
            if session.close_after_reply:
                return


@pytest.fixture(scope="module")
def server_address():
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.executor = LocalExecutor()  # type: ignore[attr-defined]
    srv.lock = threading.Lock()  # type: ignore[attr-defined]
    assert isinstance(srv.executor.server, FakeServer)  # type: ignore[attr-defined]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_round_trip(server_address, protocol):
    host, port = server_address
    r = redis.Redis(host=host, port=port, protocol=protocol, client_name="tester")
    assert r.ping() is True
    assert r.set("k", "v") is True and r.get("k") == b"v"
    assert r.set("k", "w", ex=100, get=True) == b"v"
    assert 99 <= r.ttl("k") <= 100
    assert r.incr("n") == 1 and r.incrbyfloat("n", 0.5) == 1.5
    assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert r.hgetall("h") == {b"a": b"1", b"b": b"2"}
    pairs = r.hrandfield("h", 2, withvalues=True)
    flat = [x for p in pairs for x in p] if protocol == 3 else pairs  # RESP3 nests the pairs
    assert sorted(zip(flat[::2], flat[1::2], strict=True)) == [(b"a", b"1"), (b"b", b"2")]
    assert sorted(r.keys("*")) == [b"h", b"k", b"n"]
    assert r.client_getname() in (b"tester", "tester")
    info = r.client_info()
    assert info["name"] == "tester" and int(info["resp"]) == protocol
    assert r.exists("k", "nope") == 1
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.get("h")
    assert r.delete("k", "h", "n") == 3
    cursor, keys = r.scan(0)
    assert cursor == 0 and keys == []
    assert r.config_get("save") == {"save": ""} or r.config_get("save") == {b"save": b""}
    r.close()


def test_pipeline_and_select(server_address):
    host, port = server_address
    r = redis.Redis(host=host, port=port, db=2)
    p = r.pipeline(transaction=False)
    for i in range(100):
        p.set(f"p{i}", i)
    p.get("p99")
    p.dbsize()
    results = p.execute()
    assert results[-2:] == [b"99", 100]
    assert redis.Redis(host=host, port=port, db=0).dbsize() == 0
    r.flushdb()
