"""A bare RESP connection for tests that compare Raftis with redis-server message by message:
one request at a time, replies parsed by hiredis and made comparable (errors as
``("error", text)``), and ``sync`` to collect what the server pushed (pub/sub messages,
tracking invalidations) before a point."""

from __future__ import annotations

import itertools
import socket

import hiredis

_tokens = itertools.count()


def encode_command(argv: tuple) -> bytes:
    args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def plain(reply):
    """A hiredis reply in comparable form: errors as ``("error", text)``."""
    if isinstance(reply, hiredis.ReplyError):
        return ("error", str(reply))
    if isinstance(reply, list):
        return [plain(r) for r in reply]
    if isinstance(reply, dict):
        return {k: plain(v) for k, v in reply.items()}
    return reply


class Conn:
    def __init__(self, port: int, resp3: bool = False, timeout: float = 10) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = hiredis.Reader()
        if resp3:
            self.call("HELLO", "3")

    def send(self, *argv) -> None:
        self.sock.sendall(encode_command(argv))

    def one(self):
        """The next reply or pushed message; ``ConnectionError`` once the server closed."""
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return plain(reply)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.reader.feed(data)

    def call(self, *argv):
        self.send(*argv)
        return self.one()

    def sync(self) -> list:
        """Everything the server sent before its reply to a PING sent now (a server writes a
        connection's earlier messages first); ends with "closed" if the server closed it."""
        token = b"sync-%d" % next(_tokens)
        self.send("PING", token)
        out = []
        while True:
            try:
                reply = self.one()
            except ConnectionError:
                return [*out, "closed"]
            if reply == token or reply == [b"pong", token]:
                return out
            out.append(reply)

    def close(self) -> None:
        self.sock.close()
