"""Test-only helpers: an in-process executor over a local Keyspace, and a raw-socket client
for a real redis-server used as the oracle in differential tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import hiredis

import server.commands  # noqa: F401  (registers every family)
from resp import ErrorReply, encode
from server.commands import CONN, WRITE, Command, ExecContext, lookup
from server.keyspace import Keyspace
from server.session import Session


def b(x: object) -> bytes:
    return x if isinstance(x, bytes) else str(x).encode()


class FakeServer:
    node_id = 1
    run_id = "0" * 40

    def __init__(self, clock) -> None:
        self._clock = clock
        self.sessions: list[Session] = []
        self.config = {b"save": b"", b"appendonly": b"no", b"databases": b"16", b"maxmemory": b"0"}

    def config_get(self, pattern: bytes):
        from server.commands.glob import glob_match

        return [(k, v) for k, v in self.config.items() if glob_match(pattern.lower(), k)]

    def clients(self):
        return list(self.sessions)

    def info(self, section):
        return "# Server\r\nredis_version:7.2.0\r\nloading:0\r\n"

    def now_ms(self) -> int:
        return self._clock()


class LocalExecutor:
    """Applies WRITE commands with increasing log index and timestamp, runs READ commands on
    the same keyspace, CONN commands on one session."""

    def __init__(self, clock=None) -> None:
        self.clock = clock or (lambda: int(time.time() * 1000))
        self.keyspace = Keyspace()
        self.ctx = ExecContext(self.keyspace)
        self.index = 0
        self.server = FakeServer(self.clock)
        self.session = Session(self.server, addr="127.0.0.1:50000", laddr="127.0.0.1:6379")
        self.server.sessions.append(self.session)

    def run(self, *args: object):
        argv = [b(a) for a in args]
        cmd = lookup(argv)
        if isinstance(cmd, ErrorReply):
            return cmd
        assert isinstance(cmd, Command)
        if cmd.kind == CONN:
            return cmd.handler(self.session, argv)
        now = self.clock()
        if cmd.kind == WRITE:
            self.index += 1
            self.ctx.for_write(self.index, now, self.session.db_index)
        else:
            self.ctx.for_read(now, self.session.db_index)
        return cmd.handler(self.ctx, argv)

    def wire(self, *args: object) -> bytes:
        return encode(self.run(*args), self.session.resp3)


def encode_command(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


class RawClient:
    """Sends one command, returns the exact reply bytes."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.sock.settimeout(5)

    def call(self, *args: object) -> bytes:
        self.sock.sendall(encode_command([b(a) for a in args]))
        data = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis-server closed the connection")
            data += chunk
            r = hiredis.Reader()
            r.feed(data)
            try:
                if r.gets() is not False:
                    return data
            except hiredis.ReplyError:
                return data

    def close(self) -> None:
        self.sock.close()


class RedisServer:
    """A private redis-server on a unix socket (the reference for reply bytes)."""

    def __init__(self, tmpdir: Path) -> None:
        exe = shutil.which("redis-server") or (
            "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
        )
        if exe is None:
            raise RuntimeError(
                "redis-server is not installed: the differential tests need it as the reference "
                "(apt-get install redis-server, or `make deps`)"
            )
        self.path = str(tmpdir / "redis.sock")
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                "0",
                "--unixsocket",
                self.path,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmpdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not os.path.exists(self.path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.01)

    def client(self) -> RawClient:
        return RawClient(self.path)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
