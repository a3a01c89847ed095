"""What a differential test talks to: a private redis-server (the reference) and Raftis nodes,
each reached over TCP by ``RawConn``, which pipelines commands and hands back raw replies."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

from tests.compat.replies import Reply, split
from tests.integration.cluster import free_ports


def encode_command(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


class RawConn:
    """One client connection.  ``pipeline`` sends every command at once and returns one
    ``Reply`` per command, in order."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def pipeline(self, cmds: list[list[bytes]]) -> list[Reply]:
        self.sock.sendall(b"".join(encode_command(c) for c in cmds))
        out: list[Reply] = []
        while len(out) < len(cmds):
            replies, self.buf = split(self.buf)
            out.extend(replies)
            if len(out) >= len(cmds):
                break
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"connection closed after {len(out)} of {len(cmds)} replies")
            self.buf += chunk
        if len(out) > len(cmds):
            raise AssertionError(f"{len(out) - len(cmds)} replies more than commands (pushes?)")
        return out

    def call(self, *args: bytes | str | int) -> Reply:
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return self.pipeline([argv])[0]

    def close(self) -> None:
        self.sock.close()


def redis_server_path() -> str:
    exe = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server")
                                           else None)
    if exe is None:
        raise RuntimeError("redis-server is not installed: the compatibility tests need it as the reference "
                           "(apt-get install redis-server, or `make deps`)")
    return exe


class RedisServer:
    """A private redis-server on a free TCP port, no persistence."""

    def __init__(self, workdir: str, extra: list[str] | None = None) -> None:
        os.makedirs(workdir, exist_ok=True)
        self.port = free_ports(1)[0]
        self.proc = subprocess.Popen(
            [redis_server_path(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir, *(extra or [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                RawConn(self.port, timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
