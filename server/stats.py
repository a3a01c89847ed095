"""What a node counts about the commands it serves: per-command calls, time and outcome
(INFO commandstats, errorstats, latencystats; Prometheus), bytes in and out, the SLOWLOG and
the LATENCY monitor.

Cost on the hot path: the connection notes when a chunk of requests arrived (one clock read
per read from the socket) and, as each reply is placed in order, calls ``record``: a dict
lookup, a few integer additions and one clock read (and, while a client is in MONITOR mode,
the line for the monitors: ``server.monitor``). A command's time is measured from the
moment its request was read to the moment its reply is ready, so it includes what the client
waits for: the log commit of a write (propose -> commit -> apply -> reply), the read check
of a read, and queueing behind earlier commands of the same pipeline.

Latency histograms use power-of-two buckets of nanoseconds (the bucket is
``elapsed_ns.bit_length()``), which costs nothing to compute and spans 1 us to 17 s.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

# Bucket b holds samples with 2**(b-1) <= ns < 2**b; b < 10 (under ~1 us) folds into 10.
HIST_MIN_BIT = 10
HIST_MAX_BIT = 35  # ~34 s; longer samples land here
HIST_BUCKETS = HIST_MAX_BIT - HIST_MIN_BIT + 1

# Errors that mean the command was refused before it ran (Redis's "rejected_calls").
_REJECTED_PREFIXES = (b"MOVED", b"ASK", b"CLUSTERDOWN", b"NOCLUSTER", b"TRYAGAIN", b"MISCONF", b"NOAUTH",
                      b"NOPERM", b"READONLY", b"LOADING")
_REJECTED_ERR = (b"ERR wrong number of arguments", b"ERR unknown command", b"ERR unknown subcommand",
                 b"ERR Protocol error")


_now_ns = time.perf_counter_ns
# ns.bit_length() -> the bucket of a sample of ns nanoseconds (one index for record()).
_BUCKET_OF_BITS = [min(max(bits - HIST_MIN_BIT, 0), HIST_BUCKETS - 1) for bits in range(129)]
_MISSING = object()
_CONTAINER = object()


class CommandStat:
    __slots__ = ("name", "calls", "ns", "rejected", "failed", "hist")

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0
        self.ns = 0
        self.rejected = 0
        self.failed = 0
        self.hist = [0] * HIST_BUCKETS

    def percentile_us(self, q: float) -> float:
        """Upper bound of the bucket holding the q-quantile (q in 0..1), in microseconds."""
        total = sum(self.hist)
        if not total:
            return 0.0
        want = q * total
        seen = 0
        for b, n in enumerate(self.hist):
            seen += n
            if seen >= want:
                return (1 << (b + HIST_MIN_BIT)) / 1000
        return (1 << HIST_MAX_BIT) / 1000


class Histogram:
    """Power-of-two buckets of nanoseconds, plus count and sum (for Prometheus)."""

    __slots__ = ("buckets", "count", "sum_ns")

    def __init__(self) -> None:
        self.buckets = [0] * HIST_BUCKETS
        self.count = 0
        self.sum_ns = 0

    def observe_ns(self, ns: int) -> None:
        b = ns.bit_length() - HIST_MIN_BIT
        self.buckets[0 if b < 0 else (b if b < HIST_BUCKETS else HIST_BUCKETS - 1)] += 1
        self.count += 1
        self.sum_ns += ns

    def observe(self, seconds: float) -> None:
        self.observe_ns(int(seconds * 1e9))


class SlowLog:
    def __init__(self, threshold_us: int = 10000, max_len: int = 128) -> None:
        self.threshold_ns = 0
        self.threshold_us = threshold_us
        self.entries: deque[list[Any]] = deque(maxlen=max_len)
        self.next_id = 0

    @property
    def threshold_us(self) -> int:
        return self._threshold_us

    @threshold_us.setter
    def threshold_us(self, us: int) -> None:
        self._threshold_us = us
        self.threshold_ns = us * 1000 if us >= 0 else -1

    def set_max_len(self, n: int) -> None:
        self.entries = deque(self.entries, maxlen=n)

    def add(self, us: int, argv: list[bytes], session: Any) -> None:
        # The arguments are shortened when read (``SlowLog.shown``): under a heavy pipeline
        # most commands wait past the threshold, and most entries are pushed out unread.
        addr = getattr(session, "addr", "") or ""
        name = getattr(session, "name", b"") or b""
        self.entries.appendleft([self.next_id, int(time.time()), us, argv[:32], addr, name, len(argv)])
        self.next_id += 1

    @staticmethod
    def shown(entry: list[Any]) -> list[Any]:
        """An entry as SLOWLOG GET shows it: at most 32 arguments of at most 128 bytes each."""
        args = list(entry[3])
        if entry[6] > 32:
            args[-1] = b"... (%d more arguments)" % (entry[6] - 31)
        args = [a if len(a) <= 128 else a[:128] + b"... (%d more bytes)" % (len(a) - 128) for a in args]
        return [entry[0], entry[1], entry[2], args, entry[4].encode(), entry[5]]

    def reset(self) -> None:
        self.entries.clear()


class LatencyMonitor:
    """Redis's LATENCY: per event, the latest and the highest latency over the threshold, and
    a short history."""

    HISTORY = 160

    def __init__(self, threshold_ms: int = 0) -> None:
        self.threshold_ms = threshold_ms
        self.events: dict[str, dict[str, Any]] = {}

    def add(self, event: str, ms: float) -> None:
        if self.threshold_ms <= 0 or ms < self.threshold_ms:
            return
        now = int(time.time())
        ms_i = int(ms)
        ev = self.events.get(event)
        if ev is None:
            ev = self.events[event] = {"latest_ts": now, "latest": ms_i, "max": ms_i, "history": deque(maxlen=self.HISTORY)}
        ev["latest_ts"], ev["latest"] = now, ms_i
        ev["max"] = max(ev["max"], ms_i)
        hist = ev["history"]
        if hist and hist[-1][0] == now:
            hist[-1] = (now, max(hist[-1][1], ms_i))
        else:
            hist.append((now, ms_i))

    def reset(self, names: list[str] | None = None) -> int:
        if not names:
            n = len(self.events)
            self.events.clear()
            return n
        return sum(1 for e in names if self.events.pop(e, None) is not None)


class NodeStats:
    """A node's operational counters (one per process)."""

    def __init__(self) -> None:
        self.commands: dict[str, CommandStat] = {}
        self._by_raw: dict[bytes, CommandStat | None] = {}  # argv[0] as sent -> stat (None: container)
        self.errors: dict[str, int] = {}
        self.total_errors = 0
        self.total_calls = 0
        self.net_in = 0
        self.net_out = 0
        self.slowlog = SlowLog()
        self.latency = LatencyMonitor()
        self.started = time.monotonic()
        self._samples: deque[tuple[float, int, int, int]] = deque(maxlen=16)  # (t, calls, in, out)
        # Raft-side timings, fed by server.raft.
        self.commit_latency = Histogram()  # proposal -> applied on the leader
        self.fsync_latency = Histogram()
        self.snapshot_duration = Histogram()
        # server.monitor.Monitors while a client is in MONITOR mode, else None.
        self.monitor: Any = None

    # -- the hot path ------------------------------------------------------------------------
    def _stat_for(self, argv: list[bytes]) -> CommandStat | None:
        raw = argv[0]
        st = self._by_raw.get(raw, _MISSING)
        if st is _MISSING:
            st = self._resolve(raw)
            if len(self._by_raw) < 4096:
                self._by_raw[raw] = st
        if st is _CONTAINER:  # CLIENT SETNAME -> client|setname
            if len(argv) < 2:
                return self._named(raw.lower().decode("latin-1"))
            sub = raw.lower() + b"|" + argv[1].lower()
            st = self._by_raw.get(sub, _MISSING)
            if st is _MISSING:
                st = self._resolve(sub)
                if len(self._by_raw) < 4096:
                    self._by_raw[sub] = st
            if st is _CONTAINER:
                return None
        return st  # type: ignore[return-value]

    def _named(self, name: str) -> CommandStat:
        st = self.commands.get(name)
        if st is None:
            st = self.commands[name] = CommandStat(name)
        return st

    def _resolve(self, raw: bytes) -> Any:
        """argv[0] (or container|sub) -> its CommandStat, _CONTAINER, or None if unknown."""
        from server.commands.registry import COMMANDS

        low = raw.lower()
        top, _, sub = low.partition(b"|")
        cmd = COMMANDS.get(top)
        if cmd is None or cmd.internal:
            return None
        if sub:
            if not cmd.subcommands or sub not in cmd.subcommands:
                return None
        elif cmd.subcommands:
            return _CONTAINER
        return self._named(low.decode("latin-1"))

    def record(self, argv: list[bytes], t0: int, reply: bytes, session: Any) -> None:
        ns = _now_ns() - t0
        self.total_calls += 1
        if argv:
            st = self._by_raw.get(argv[0])
            if st is None or st is _CONTAINER:
                st = self._stat_for(argv)
        else:
            st = None
        first = reply[0] if reply else 0
        if first == 45 or first == 33:  # "-" simple error, "!" RESP3 blob error
            self._error(st, reply)
        if st is not None:
            st.calls += 1
            st.ns += ns
            st.hist[_BUCKET_OF_BITS[ns.bit_length()]] += 1
        slow = self.slowlog
        if ns >= slow.threshold_ns and slow.threshold_ns >= 0 and argv:
            slow.add(ns // 1000, argv, session)
        if self.latency.threshold_ms > 0:
            self.latency.add("command", ns / 1e6)
        if self.monitor is not None:
            self.monitor.feed(argv, reply, session)

    def _error(self, st: CommandStat | None, reply: bytes) -> None:
        if reply[:1] == b"!":  # RESP3 blob error: !<len>\r\n<text>\r\n
            text = reply.split(b"\r\n", 2)[1] if b"\r\n" in reply else b""
        else:
            text = reply[1:reply.find(b"\r\n")] if b"\r\n" in reply else reply[1:]
        prefix = text.split(b" ", 1)[0].decode("latin-1") or "ERR"
        self.total_errors += 1
        self.errors[prefix] = self.errors.get(prefix, 0) + 1
        if st is not None:
            if text.startswith(_REJECTED_PREFIXES) or text.startswith(_REJECTED_ERR):
                st.rejected += 1
            else:
                st.failed += 1

    # -- sampling (instantaneous_ops_per_sec and friends) -------------------------------------
    def sample(self) -> None:
        now = time.monotonic()
        if self._samples and now - self._samples[-1][0] < 0.1:
            return
        self._samples.append((now, self.total_calls, self.net_in, self.net_out))

    def rates(self) -> tuple[float, float, float]:
        """Commands per second, input and output kB per second, over the last samples."""
        s = self._samples
        if len(s) < 2:
            return 0.0, 0.0, 0.0
        (t0, c0, i0, o0), (t1, c1, i1, o1) = s[0], s[-1]
        dt = max(t1 - t0, 1e-6)
        return (c1 - c0) / dt, (i1 - i0) / dt / 1024, (o1 - o0) / dt / 1024

    def reset(self) -> None:
        """CONFIG RESETSTAT."""
        self.commands.clear()
        self._by_raw.clear()
        self.errors.clear()
        self.total_errors = 0
        self.total_calls = 0
        self.net_in = 0
        self.net_out = 0
        self._samples.clear()
