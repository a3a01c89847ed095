"""A small blocking RESP client for the command-line tools (backup, status).

The server's runtime dependencies do not include a Redis client library; hiredis (which
they do include) parses the replies.
"""

from __future__ import annotations

import socket
from typing import Any

import hiredis

from server.config import split_address


class ReplyError(Exception):
    """The server answered with an error reply."""


def parse_hostport(text: str, default_port: int = 6379) -> tuple[str, int]:
    if ":" not in text.strip("[]") or (text.startswith("[") and text.endswith("]")):
        return text.strip("[]"), default_port
    host, port = split_address(text, 2)
    return host, int(port)


class RespClient:
    def __init__(self, host: str, port: int, timeout: float = 10.0, auth: tuple[str, str] | None = None) -> None:
        """``auth``: (user, password) to send AUTH with first (ReplyError if refused)."""
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = hiredis.Reader()
        if auth is not None:
            try:
                self.call("AUTH", *auth)
            except BaseException:
                self.close()
                raise

    def call(self, *args: Any) -> Any:
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(parts))
        while True:
            reply = self.reader.gets()
            if reply is not False:
                break
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError(f"{self.host}:{self.port} closed the connection")
            self.reader.feed(data)
        if isinstance(reply, hiredis.ReplyError):
            raise ReplyError(str(reply))
        return reply

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> RespClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
