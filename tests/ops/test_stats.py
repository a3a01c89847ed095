"""server.stats without a server: classification of replies, histograms, SLOWLOG, LATENCY."""

import time

import server.commands  # noqa: F401 - registers the command table
from server.stats import HIST_MIN_BIT, Histogram, NodeStats, SlowLog


class _Session:
    addr = "127.0.0.1:5000"
    name = b"worker"


def test_calls_outcomes_and_subcommands():
    s = NodeStats()
    s.slowlog.threshold_us = -1
    t = time.perf_counter_ns()
    s.record([b"SET", b"k", b"v"], t, b"+OK\r\n", _Session())
    s.record([b"set", b"k", b"v"], t, b"+OK\r\n", _Session())
    s.record([b"GET"], t, b"-ERR wrong number of arguments for 'get' command\r\n", _Session())
    s.record([b"INCR", b"l"], t, b"-WRONGTYPE Operation against a key\r\n", _Session())
    s.record([b"GET", b"k"], t, b"-MOVED 0 127.0.0.1:7001\r\n", _Session())
    s.record([b"client", b"SETNAME", b"x"], t, b"+OK\r\n", _Session())
    s.record([b"nosuch"], t, b"-ERR unknown command 'nosuch'\r\n", _Session())
    s.record([b"GET", b"k"], t, b"!21\r\nERR something failed\r\n", _Session())  # RESP3 blob error
    assert s.commands["set"].calls == 2 and s.commands["set"].failed == 0
    g = s.commands["get"]
    assert (g.calls, g.rejected, g.failed) == (3, 2, 1)
    assert s.commands["incr"].failed == 1
    assert s.commands["client|setname"].calls == 1
    assert "nosuch" not in s.commands
    assert s.errors == {"ERR": 3, "WRONGTYPE": 1, "MOVED": 1}
    assert s.total_calls == 8 and s.total_errors == 5
    s.reset()
    assert not s.commands and s.total_calls == 0


def test_histogram_buckets_are_powers_of_two():
    h = Histogram()
    h.observe_ns(1)  # under a microsecond: the first bucket
    h.observe_ns(1 << (HIST_MIN_BIT + 3))
    h.observe(100.0)  # beyond the last bound: the last bucket
    assert h.buckets[0] == 1 and h.buckets[4] == 1 and h.buckets[-1] == 1
    assert h.count == 3


def test_command_latencies_land_in_the_histograms_buckets(monkeypatch):
    import server.stats as stats

    s = NodeStats()
    s.slowlog.threshold_us = -1
    spans = [0, 1, (1 << HIST_MIN_BIT) - 1, 1 << HIST_MIN_BIT, (1 << (HIST_MIN_BIT + 3)) + 5, 10**9, 10**12,
             2**62]
    for ns in spans:
        monkeypatch.setattr(stats, "_now_ns", lambda ns=ns: 1000 + ns)
        s.record([b"GET", b"k"], 1000, b"$-1\r\n", _Session())
    h = Histogram()
    for ns in spans:
        h.observe_ns(ns)
    st = s.commands["get"]
    assert st.hist == h.buckets
    assert st.hist[0] == 3 and st.hist[1] == 1 and st.hist[4] == 1 and st.hist[-1] == 2
    assert st.calls == len(spans) and st.ns == sum(spans)


def test_slowlog_keeps_newest_first_and_truncates():
    s = NodeStats()
    s.slowlog.threshold_us = 0
    s.slowlog.set_max_len(3)
    for i in range(5):
        s.record([b"SET", b"k%d" % i, b"x" * 200], time.perf_counter_ns(), b"+OK\r\n", _Session())
    entries = [SlowLog.shown(e) for e in s.slowlog.entries]  # as SLOWLOG GET shows them
    assert [e[0] for e in entries] == [4, 3, 2]
    assert entries[0][3][1] == b"k4" and entries[0][3][2].endswith(b"... (72 more bytes)")
    assert entries[0][4] == b"127.0.0.1:5000" and entries[0][5] == b"worker"
    many = [b"DEL"] + [b"k"] * 40
    s.record(many, time.perf_counter_ns(), b":0\r\n", _Session())
    shown = SlowLog.shown(s.slowlog.entries[0])
    assert len(shown[3]) == 32 and shown[3][-1] == b"... (10 more arguments)"


def test_latency_monitor_threshold():
    s = NodeStats()
    s.latency.add("fsync", 50)
    assert not s.latency.events  # off by default
    s.latency.threshold_ms = 10
    s.latency.add("fsync", 5)
    s.latency.add("fsync", 50)
    s.latency.add("fsync", 20)
    ev = s.latency.events["fsync"]
    assert ev["latest"] == 20 and ev["max"] == 50
    assert s.latency.reset(["fsync"]) == 1 and not s.latency.events


def test_latency_histogram_edges_are_redis_microseconds():
    # What redis-server 7.0's LATENCY HISTOGRAM shows for its buckets (its HDR histogram's
    # highest value per power of two), one sample in each of our first eleven buckets.
    from server.commands.monitoring import _cdf

    assert _cdf([1] * 11 + [0] * 5) == [(us, i + 1) for i, us in
                                        enumerate([1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056])]
    assert _cdf([0, 2, 0, 3]) == [(2, 2), (8, 5)]
