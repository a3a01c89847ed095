"""DEBUG: Redis's developer command, the parts that mean something for Raftis.

As in Redis 7.0, clients may run it only when ``--enable-debug-command`` allows (``no`` by
default, ``yes``, or ``local`` for loopback clients); otherwise every DEBUG gets Redis's
refusal (server/limits.py: ``protected_denial``).

What it does here:

- ``DIGEST`` and ``DIGEST-VALUE``: Redis's dataset and value signatures, computed the way
  redis-server computes them (SHA-1 of each element, mixed in order for lists and stream
  entries, XORed for sets, hashes, sorted sets and the keys), so the same data gives the
  same hex string in both. Each node reports its own applied state, as Redis reports its own
  memory: two nodes that have applied the same log prefix give the same digest, which makes it
  a check that the replicas agree (compare after writes stop and every node has applied).
  They are computed in a forked child, on the data as it was when the command ran, so a large
  dataset (seconds of hashing in Python) does not stop the node meanwhile.
- ``SLEEP``: stops the node's event loop, as Redis stops its server (a leader stopped past
  the election timeout loses its leadership: that is the point of asking for it).
- ``ERROR``, ``PROTOCOL``, ``LOG``: for client libraries' tests, replies as Redis's.
- ``SET-ACTIVE-EXPIRE``: whether this node, while it leads, proposes deleting expired keys
  that nobody reads (reads never see an expired key either way).

Redis's other subcommands inspect or crash redis-server's own structures (its allocator, its
AOF, its replication IDs, its listpacks and quicklists); they answer that Raftis has no such
thing.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from typing import Any

from resp.types import OK, ErrorReply, Raw, SimpleString
from server import limits
from server.commands.registry import CONN, command
from server.digest import ZERO, dataset_digest, value_digest
from server.forked import child_reply

log = logging.getLogger("raftis.debug")

def _hex(digest: bytes) -> SimpleString:
    return SimpleString(digest.hex().encode())


def _digests(work: Callable[[], bytes], count: int, first: bool = False) -> Any:
    """The digests ``work`` computes (20 bytes each) as status replies (just the first when
    ``first``), from a child forked now."""

    def replies(data: bytes) -> Any:
        out = [_hex(data[i:i + 20]) for i in range(0, 20 * count, 20)]
        return out[0] if first else out

    return child_reply(work, "DEBUG could not compute the digest", replies)


_PROTOCOL = {
    b"string": (b"$11\r\nHello World\r\n", None),
    b"integer": (b":12345\r\n", None),
    b"double": (b"$5\r\n3.141\r\n", b",3.141\r\n"),
    b"bignum": (b"$37\r\n1234567999999999999999999999999999999\r\n", b"(1234567999999999999999999999999999999\r\n"),
    b"null": (b"$-1\r\n", b"_\r\n"),
    b"array": (b"*3\r\n:0\r\n:1\r\n:2\r\n", None),
    b"set": (b"*3\r\n:0\r\n:1\r\n:2\r\n", b"~3\r\n:0\r\n:1\r\n:2\r\n"),
    b"map": (b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n", b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
    b"attrib": (b"$39\r\nSome real reply following the attribute\r\n",
                b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
                b"$39\r\nSome real reply following the attribute\r\n"),
    b"push": (b"-ERR RESP2 is not supported by this command\r\n",
              b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push reply\r\n"),
    b"verbatim": (b"$25\r\nThis is a verbatim\nstring\r\n", b"=29\r\ntxt:This is a verbatim\nstring\r\n"),
    b"true": (b":1\r\n", b"#t\r\n"),
    b"false": (b":0\r\n", b"#f\r\n"),
}
_PROTOCOL_TYPES = "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"

# Redis 7.0's subcommands that look at redis-server's own machinery.
_REDIS_ONLY = frozenset(
    b"aof-flush-sleep assert change-repl-id config-rewrite-force-all crash-and-recover leak htstats "
    b"htstats-key loadaof replicate mallctl mallctl-str object drop-cluster-packet-filter oom panic populate "
    b"reload restart sdslen segfault quicklist-packed-threshold set-skip-checksum-validation "
    b"stringmatch-test structsize listpack quicklist client-eviction pause-cron replybuffer "
    b"clusterlink".split()
)

_HELP = [
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Print this help.",
]


_STRTOD = re.compile(rb"\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf(?:inity)?|nan))", re.I)
_ATOI = re.compile(rb"\s*([+-]?\d+)")


def _strtod(text: bytes) -> float:
    """C's ``strtod`` as Redis applies it here: the leading number, else 0."""
    m = _STRTOD.match(text[:400])
    return float(m.group(1)) if m else 0.0


def _atoi(text: bytes) -> int:
    m = _ATOI.match(text[:400])
    return int(m.group(1)) if m else 0


@command("debug", -2, "admin noscript loading stale", kind=CONN, group="server", since="1.0.0")
def debug(session: Any, argv: list[bytes]):
    """A container for debugging commands"""
    denied = limits.protected_denial(session, b"debug")
    if denied is not None:
        return denied
    node = session.server
    sub = argv[1].lower()
    n = len(argv)
    if sub == b"help" and n == 2:
        return [SimpleString(line.encode()) for line in _HELP]
    if sub == b"digest" and n == 2:
        keyspace = node.keyspace
        return _digests(lambda: dataset_digest(keyspace), 1, first=True)
    if sub == b"digest-value":
        db = node.keyspace.dbs[session.db_index]
        keys = argv[2:]

        def values() -> bytes:
            return b"".join(ZERO if (v := db.data.get(k)) is None else value_digest(v, k in db.expires)
                            for k in keys)

        return _digests(values, len(keys))
    if sub == b"sleep" and n == 3:
        seconds = _strtod(argv[2])
        if not math.isfinite(seconds):  # Redis's conversion of these is undefined; never hang
            return ErrorReply("ERR DEBUG SLEEP needs a finite number of seconds")
        if seconds > 0:
            time.sleep(seconds)
        return OK
    if sub == b"error" and n == 3:
        return ErrorReply(argv[2])
    if sub == b"log" and n == 3:
        log.warning("DEBUG LOG: %s", argv[2].decode(errors="replace"))
        return OK
    if sub == b"protocol" and n == 3:
        replies = _PROTOCOL.get(argv[2].lower())
        if replies is None:
            return ErrorReply(f"ERR Wrong protocol type name. Please use one of the following: {_PROTOCOL_TYPES}")
        return Raw(*replies)
    if sub == b"set-active-expire" and n == 3:
        node.active_expire = _atoi(argv[2]) != 0
        return OK
    if sub in _REDIS_ONLY:
        return ErrorReply(f"ERR DEBUG {sub.decode().upper()} is not supported by Raftis: it works on "
                          "redis-server's own structures")
    return ErrorReply(b"ERR unknown subcommand or wrong number of arguments for '" + argv[1]
                      + b"'. Try DEBUG HELP.")
