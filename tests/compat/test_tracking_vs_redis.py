"""CLIENT TRACKING against redis-server 7.0: the same sessions of several clients (RESP3 and
RESP2 with REDIRECT) run against both, and every reply and every invalidation message each
client receives must be the same, client ids aside."""

from __future__ import annotations

import time

from tests.resp_conn import Conn


class Client(Conn):
    """Each call returns its reply and what the server pushed before it (``sync``)."""

    def __init__(self, port: int) -> None:
        super().__init__(port, timeout=5)
        self.in_multi = False

    def call(self, *argv: str | int) -> list:
        self.send(*argv)
        name = str(argv[0]).upper()
        if self.in_multi and name not in ("EXEC", "DISCARD") or name == "CLIENT":
            # In MULTI a PING would be queued too; after CLIENT (CACHING) it would use up the
            # flag meant for the next command.
            return [self.one()]
        self.in_multi = name == "MULTI"
        return [self.one()] if self.in_multi else self.sync()


def session(port: int) -> list:
    """One scripted session; returns what each step saw, client ids replaced by names."""
    log: list = []
    clients: dict[str, Client] = {}
    ids: dict[int, str] = {}

    def c(name: str, resp3: bool = True) -> Client:
        if name not in clients:
            cl = clients[name] = Client(port)
            if resp3:
                cl.call("HELLO", 3)
            ids[cl.call("CLIENT", "ID")[0]] = name
        return clients[name]

    def step(name: str, *argv, resp3: bool = True) -> None:
        got = c(name, resp3).call(*argv)
        if argv[:2] == ("CLIENT", "GETREDIR"):
            got = [ids.get(got[0], got[0])]
        others = {n: cl.sync() for n, cl in clients.items() if n != name}
        shown = tuple(ids.get(a, a) if isinstance(a, int) else a for a in argv)  # REDIRECT <id>
        log.append((name, shown, _names(got, ids), {n: _names(v, ids) for n, v in others.items() if v}))

    def cid(name: str) -> int:
        c(name, False)
        return next(i for i, n in ids.items() if n == name)

    step("w", "FLUSHALL")
    # default mode: a read remembers the key; the first change tells, then it is forgotten
    step("a", "CLIENT", "TRACKING", "ON")
    step("a", "GET", "k")
    step("a", "MGET", "k", "k2")
    step("a", "CLIENT", "TRACKINGINFO")
    step("a", "CLIENT", "GETREDIR")
    step("w", "SET", "k", "1")
    step("w", "SET", "k", "2")
    step("a", "GET", "k")
    step("a", "SET", "k", "3")  # its own change: the message follows its reply
    step("a", "HGETALL", "h")
    step("w", "HSET", "h", "f", "v")
    step("w", "HSET", "h", "f", "v")  # nothing to tell: nobody has read h since
    step("a", "GET", "x1")
    step("w", "SET", "x1", "v", "NX")
    step("a", "GET", "x1")
    step("w", "SET", "x1", "w", "NX")  # not changed: nothing to tell
    step("w", "EXPIRE", "x1", "100")
    step("a", "GET", "x1")
    step("w", "GETEX", "x1", "PERSIST")
    step("a", "MULTI")
    step("a", "GET", "m1")
    step("a", "EXEC")
    step("w", "SET", "m1", "1")
    step("a", "EVAL_RO", "return redis.call('get', KEYS[1])", 1, "s1")
    step("w", "SET", "s1", "1")
    step("a", "GET", "k2")
    step("w", "FLUSHALL")
    # NOLOOP
    step("a", "CLIENT", "TRACKING", "ON", "NOLOOP")
    step("a", "GET", "n")
    step("a", "SET", "n", "1")
    step("a", "GET", "n")
    step("w", "SET", "n", "2")
    # OPTIN / OPTOUT
    step("a", "CLIENT", "TRACKING", "OFF")
    step("a", "CLIENT", "TRACKINGINFO")
    step("a", "CLIENT", "GETREDIR")
    step("a", "CLIENT", "CACHING", "YES")
    step("a", "CLIENT", "TRACKING", "ON", "OPTIN")
    step("a", "GET", "o1")
    step("a", "CLIENT", "CACHING", "YES")
    step("a", "CLIENT", "TRACKINGINFO")
    step("a", "GET", "o2")
    step("w", "MSET", "o1", "1", "o2", "2")
    step("a", "CLIENT", "CACHING", "NO")
    step("a", "CLIENT", "CACHING", "maybe")
    step("a", "CLIENT", "TRACKING", "ON", "OPTOUT")
    step("a", "CLIENT", "TRACKING", "OFF")
    step("a", "CLIENT", "TRACKING", "ON", "OPTOUT")
    step("a", "CLIENT", "CACHING", "NO")
    step("a", "GET", "p1")
    step("a", "GET", "p2")
    step("w", "MSET", "p1", "1", "p2", "2")
    step("a", "CLIENT", "TRACKING", "OFF")
    # BCAST and prefixes
    step("b", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p:", "PREFIX", "q")
    step("b", "CLIENT", "TRACKINGINFO")
    step("w", "SET", "p:1", "x")
    step("w", "SET", "zz", "1")
    step("w", "MSET", "q1", "1", "p:2", "2", "p:3", "3", "p:2", "4")
    step("w", "DEL", "p:1", "zz")
    step("b", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p")
    step("b", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "r", "PREFIX", "rs")
    step("b", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "s")
    step("b", "CLIENT", "TRACKINGINFO")
    step("b", "CLIENT", "TRACKING", "ON")
    step("b", "CLIENT", "TRACKING", "OFF")
    step("b", "CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP")
    step("b", "SET", "bb", "1")
    step("w", "SET", "bb", "2")
    step("w", "FLUSHDB")
    step("b", "CLIENT", "TRACKING", "OFF")
    # RESP2 with REDIRECT to a client subscribed to __redis__:invalidate
    step("r", "SUBSCRIBE", "__redis__:invalidate", resp3=False)
    step("d", "CLIENT", "TRACKING", "ON", "REDIRECT", cid("r"), resp3=False)
    step("d", "GET", "r1", resp3=False)
    step("d", "CLIENT", "GETREDIR", resp3=False)
    step("w", "SET", "r1", "1")
    step("d", "GET", "r2", resp3=False)
    step("w", "FLUSHALL")
    step("a", "CLIENT", "TRACKING", "ON", "REDIRECT", cid("r"))
    step("a", "GET", "r3")
    step("w", "SET", "r3", "1")
    # errors
    step("a", "CLIENT", "TRACKING")
    step("a", "CLIENT", "TRACKING", "maybe")
    step("a", "CLIENT", "TRACKING", "ON", "PREFIX", "x")
    step("a", "CLIENT", "TRACKING", "ON", "PREFIX")
    step("a", "CLIENT", "TRACKING", "ON", "REDIRECT")
    step("a", "CLIENT", "TRACKING", "ON", "REDIRECT", "x")
    step("a", "CLIENT", "TRACKING", "ON", "REDIRECT", "999999")
    step("a", "CLIENT", "TRACKING", "ON", "REDIRECT", cid("r"), "REDIRECT", cid("r"))
    step("a", "CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT")
    step("a", "CLIENT", "TRACKING", "ON", "BCAST", "OPTIN")
    step("a", "CLIENT", "TRACKING", "ON", "FOO")
    step("a", "CLIENT", "CACHING")
    # a redirect to a client that has gone
    step("a", "CLIENT", "TRACKING", "OFF")
    step("a", "CLIENT", "TRACKING", "ON", "REDIRECT", cid("gone"))
    clients.pop("gone").sock.close()
    time.sleep(0.1)
    step("a", "GET", "g")
    step("w", "SET", "g", "1")
    step("a", "CLIENT", "TRACKINGINFO")
    step("w", "SET", "g", "2")
    # RESET turns tracking off
    step("a", "RESET")
    step("a", "CLIENT", "TRACKINGINFO")
    for cl in clients.values():
        cl.sock.close()
    return log


def _names(value, ids):
    """Client ids in replies (GETREDIR, TRACKINGINFO's redirect, tracking-redir-broken) as names."""
    if isinstance(value, list):
        if len(value) == 2 and value[0] == b"tracking-redir-broken":
            return [value[0], ids.get(value[1], value[1])]
        return [_names(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: (ids.get(v, v) if k == b"redirect" else _names(v, ids)) for k, v in value.items()}
    return value


def test_tracking_matches_redis(redis_server, single_node):
    """On a single node (through a follower, NOLOOP cannot tell a client's own writes, which
    the leader applies: tests/integration/test_tracking.py covers followers)."""
    theirs = session(redis_server.port)
    ours = session(single_node.nodes[1].port)
    for mine, ref in zip(ours, theirs, strict=True):
        assert mine == ref
