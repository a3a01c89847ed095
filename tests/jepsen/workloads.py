"""Client workloads: threads running redis-py calls against random nodes, recording each.

Every call becomes one `Op` with its invoke and complete times (seconds since the run
began, on the monotonic clock) and an outcome classified as DESIGN §5 says:

- ``fail`` (certainly not applied): ``-MOVED``, ``-CLUSTERDOWN``, ``-NOCLUSTER``,
  ``-TRYAGAIN``, ``-EXECABORT``, an EXEC aborted by WATCH (a nil reply; redis-py also
  raises WatchError when the connection drops while watching, which is unknown), or a
  refused connection;
- ``unknown`` (may have been applied): ``-TIMEOUT``, a timeout or a connection dropped
  after the request was sent, and any error the contract does not name (counted apart);
- ``ok``: a reply.

After an unknown outcome the worker drops its connection and picks a node again, so a
late reply can never be mistaken for the next call's. Clients never retry on their own.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from .checker.history import Op
from .cluster import make_client

CERTAIN_FAILURES = ("MOVED", "CLUSTERDOWN", "NOCLUSTER", "TRYAGAIN", "EXECABORT", "ASK")
MAYBE_APPLIED = ("TIMEOUT",)


def classify(exc: BaseException) -> tuple[str, str]:
    """(outcome, error code) for an exception raised by a call that was sent."""
    if isinstance(exc, redis.WatchError):
        # redis-py raises WatchError for an EXEC that returned nil (aborted: not applied),
        # and also when the connection failed while watching, EXEC possibly sent: unknown.
        if "occurred while watching" in str(exc):
            return "unknown", "WATCH " + str(exc).split(" occurred", 1)[0].removeprefix("A ")
        return "fail", "WATCH"
    if isinstance(exc, redis.TimeoutError | redis.ConnectionError):
        return "unknown", type(exc).__name__
    text = str(exc)
    if "caused error: " in text:  # redis-py's wrapping of an error inside a transaction
        text = text.split("caused error: ", 1)[1]
    code = text.split(" ", 1)[0]
    if isinstance(exc, redis.exceptions.MovedError):
        code = "MOVED"
    elif isinstance(exc, redis.exceptions.ClusterDownError):
        code = "CLUSTERDOWN"
    elif isinstance(exc, redis.exceptions.TryAgainError):
        code = "TRYAGAIN"
    elif isinstance(exc, redis.exceptions.ExecAbortError):
        code = "EXECABORT"
    if code in CERTAIN_FAILURES:
        return "fail", code
    if code in MAYBE_APPLIED:
        return "unknown", code
    return "unknown", "UNEXPECTED " + text[:120]


@dataclass
class Call:
    """What a workload wants done: the op fields, and how to do it on a client."""

    kind: str
    key: Any
    value: Any
    run: Callable[[redis.Redis], Any]


class Recorder:
    """Collects ops from every worker; `extra` carries the node and error for the report."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.lock = threading.Lock()
        self.ops: list[Op] = []
        self.extra: list[dict[str, Any]] = []

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 6)

    def add(self, op: Op, workload: str, node: int, error: str = "") -> None:
        with self.lock:
            self.ops.append(op)
            self.extra.append({"workload": workload, "node": node, "error": error})


def _int(v: Any) -> int | None:
    return None if v is None else int(v)


class RegisterWorkload:
    """GET/SET and compare-and-set (WATCH, GET, MULTI, SET, EXEC) on a few keys at a time;
    some reads are EVAL_RO scripts and some compare-and-sets EVAL scripts.

    Keys rotate after `ops_per_key` ops so that each key's history stays small enough for
    the linearizability search; written values are unique."""

    name = "register"

    def __init__(self, keys: int = 3, ops_per_key: int = 200) -> None:
        self.active = [f"reg:{i}" for i in range(keys)]
        self.next_key = keys
        self.used: dict[str, int] = {}
        self.ops_per_key = ops_per_key
        self.lock = threading.Lock()
        self.counter = 0

    def all_keys(self) -> list[str]:
        with self.lock:
            return list(self.used)

    def _key(self, rng: random.Random) -> tuple[str, int]:
        with self.lock:
            slot = rng.randrange(len(self.active))
            key = self.active[slot]
            self.used[key] = self.used.get(key, 0) + 1
            if self.used[key] >= self.ops_per_key:
                self.active[slot] = f"reg:{self.next_key}"
                self.next_key += 1
            self.counter += 1
            return key, self.counter

    def next_call(self, rng: random.Random) -> Call:
        key, n = self._key(rng)
        roll = rng.random()
        if roll < 0.4:
            return Call("read", key, None, lambda r: _int(r.get(key)))
        if roll < 0.5:  # a read-only script: a linearizable read too
            return Call("read", key, None, lambda r: _int(r.eval_ro(_GET_SCRIPT, 1, key)))
        if roll < 0.75:
            return Call("write", key, n, lambda r: (r.set(key, n), None)[1])
        old = rng.randrange(max(1, n - 30), n + 1)
        if roll < 0.875:
            return Call("cas", key, (old, n), lambda r: _cas(r, key, old, n))
        return Call("cas", key, (old, n), lambda r: r.eval(_CAS_SCRIPT, 1, key, old, n) == 1)

    def final_call(self, key: str) -> Call:
        return Call("read", key, None, lambda r: _int(r.get(key)))


# Compare-and-set and read as Lua scripts: every node runs the script as it applies the entry.
_CAS_SCRIPT = ("local v = redis.call('get', KEYS[1]) "
               "if v == ARGV[1] then redis.call('set', KEYS[1], ARGV[2]) return 1 end return 0")
_GET_SCRIPT = "local v = redis.call('get', KEYS[1]) return v"


def _cas(r: redis.Redis, key: str, old: int, new: int) -> bool:
    with r.pipeline(transaction=True) as p:
        p.watch(key)
        current = _int(p.get(key))
        if current != old:
            p.unwatch()
            return False
        p.multi()
        p.set(key, new)
        p.execute()  # raises WatchError if the key changed since the GET: not applied
        return True


class ListWorkload:
    """Appends inside MULTI/EXEC (one key per transaction) and whole-list reads.

    With list commands the list is a Redis list (RPUSH, LRANGE); a server without them gets
    the same workload on strings (APPEND of "<element>," and GET), which the same checker
    checks. `probe` picks the mode once the cluster is up. Elements are unique integers."""

    name = "list"

    def __init__(self, keys: int = 3, appends_per_key: int = 200) -> None:
        self.active = [f"list:{i}" for i in range(keys)]
        self.keys = list(self.active)
        self.appends_per_key = appends_per_key
        self.lock = threading.Lock()
        self.counter = 0
        self.use_lists = True

    def probe(self, r: redis.Redis) -> str:
        try:
            r.lrange("list:probe", 0, -1)
        except redis.ResponseError as e:
            if "unknown command" not in str(e):
                raise
            self.use_lists = False
        return "RPUSH/LRANGE" if self.use_lists else "APPEND/GET (no list commands on this server)"

    def all_keys(self) -> list[str]:
        with self.lock:
            return list(self.keys)

    def _read(self, key: str) -> Call:
        if self.use_lists:
            return Call("read", key, None, lambda r: tuple(int(v) for v in r.lrange(key, 0, -1)))
        return Call("read", key, None, lambda r: tuple(int(v) for v in (r.get(key) or b"").split(b",") if v))

    def next_call(self, rng: random.Random) -> Call:
        # A key is retired after about `appends_per_key` appends, so reads (whole lists) stay short.
        with self.lock:
            slot = rng.randrange(len(self.active))
            key = self.active[slot]
            if rng.random() < 0.4:
                return self._read(key)
            self.counter += 1
            n = self.counter
            if rng.random() < 1 / self.appends_per_key:
                self.active[slot] = f"list:{len(self.keys)}"
                self.keys.append(self.active[slot])

        def append(r: redis.Redis) -> None:
            with r.pipeline(transaction=True) as p:
                if self.use_lists:
                    p.rpush(key, n)
                else:
                    p.append(key, f"{n},")
                p.execute()

        return Call("append", key, n, append)

    def final_call(self, key: str) -> Call:
        return self._read(key)


class CounterWorkload:
    """INCRBY with small positive deltas, and GET reads."""

    name = "counter"

    def __init__(self, keys: int = 2) -> None:
        self.keys = [f"ctr:{i}" for i in range(keys)]

    def all_keys(self) -> list[str]:
        return list(self.keys)

    def next_call(self, rng: random.Random) -> Call:
        key = rng.choice(self.keys)
        if rng.random() < 0.3:
            return Call("read", key, None, lambda r: int(r.get(key) or 0))
        delta = rng.randint(1, 5)
        return Call("add", key, delta, lambda r: int(r.incrby(key, delta)))

    def final_call(self, key: str) -> Call:
        return Call("read", key, None, lambda r: int(r.get(key) or 0))


WORKLOADS = {"register": RegisterWorkload, "list": ListWorkload, "counter": CounterWorkload}


class Worker(threading.Thread):
    """One logical client process: a sequence of calls, each recorded as it completes."""

    def __init__(self, process: int, workload: Any, recorder: Recorder, nodes: Callable[[], list[tuple[int, str, int]]],
                 seed: int, stop: threading.Event, timeout: float = 5.0, think: float = 0.01) -> None:
        super().__init__(name=f"client-{process}", daemon=True)
        self.process = process
        self.workload = workload
        self.recorder = recorder
        self.nodes = nodes
        self.rng = random.Random(seed)
        self.stop_event = stop
        self.timeout = timeout
        self.think = think
        self.client: redis.Redis | None = None
        self.node = 0
        self.unexpected = 0

    def _connect(self) -> None:
        """Connect to a random node (redis-py connects in the constructor here)."""
        nid, host, port = self.rng.choice(self.nodes())
        self.node = nid
        self.client = make_client(host, port, self.timeout)

    def _drop(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self.client = None

    def run_call(self, call: Call) -> Op:
        rec = self.recorder
        if self.rng.random() < 0.02:
            self._drop()
        invoke = rec.now()
        try:
            if self.client is None:
                self._connect()
            else:
                self.client.connection.connect()  # type: ignore[union-attr]
        except redis.RedisError as e:  # refused or unreachable: nothing was sent
            self._drop()
            op = Op(self.process, call.kind, call.key, call.value, invoke, max(invoke, rec.now()), "fail")
            rec.add(op, self.workload.name, self.node, f"connect: {type(e).__name__}")
            return op
        assert self.client is not None
        try:
            out = call.run(self.client)
            op = Op(self.process, call.kind, call.key, call.value, invoke, rec.now(), "ok", out)
            rec.add(op, self.workload.name, self.node)
        except redis.RedisError as e:
            outcome, code = classify(e)
            if code.startswith("UNEXPECTED"):
                self.unexpected += 1
            done = rec.now()
            op = Op(self.process, call.kind, call.key, call.value, invoke,
                    None if outcome == "unknown" else done, outcome)
            rec.add(op, self.workload.name, self.node, code)
            if outcome == "unknown" or isinstance(e, redis.ConnectionError):
                self._drop()
        return op

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.run_call(self.workload.next_call(self.rng))
            if self.think:
                time.sleep(self.rng.random() * self.think)
        self._drop()
