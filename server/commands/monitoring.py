"""SLOWLOG and LATENCY: what was slow on this node (``server.stats`` keeps the records); MONITOR:
what this node serves, as it happens (``server.monitor``)."""

from __future__ import annotations

import time
from typing import Any

from resp.types import OK, ErrorReply, Map, Raw, SimpleString, Verbatim
from server import errors, limits
from server.commands.registry import COMMANDS, CONN, command, container, subcommand
from server.stats import HIST_MIN_BIT, SlowLog

_FLAGS = "admin noscript loading stale"  # LATENCY's (Redis gives SLOWLOG no "noscript")
_SLOWLOG_FLAGS = "admin loading stale"


def _stats(session: Any) -> Any:
    stats = getattr(session.server, "ops_stats", None)
    if stats is None:
        raise ErrorReply("ERR this server keeps no statistics")
    return stats


container("slowlog", "", CONN, group="server", summary="A container for slow log commands")


@subcommand("slowlog", "get", -2, _SLOWLOG_FLAGS, group="server", since="2.2.12")
def slowlog_get(session: Any, argv: list[bytes]):
    """Get the slow log's entries"""
    count = 10
    if len(argv) > 3:
        return errors.wrong_arity(b"slowlog|get")
    if len(argv) == 3:
        try:
            count = int(argv[2])
        except ValueError:
            return ErrorReply("ERR value is out of range, must be positive")
        if count < -1:
            return ErrorReply("ERR count should be greater than or equal to -1")
    entries = list(_stats(session).slowlog.entries)
    if count >= 0:
        entries = entries[:count]
    return [SlowLog.shown(e) for e in entries]


@subcommand("slowlog", "len", 2, _SLOWLOG_FLAGS, group="server", since="2.2.12")
def slowlog_len(session: Any, argv: list[bytes]):
    """Get the slow log's length"""
    return len(_stats(session).slowlog.entries)


@subcommand("slowlog", "reset", 2, _SLOWLOG_FLAGS, group="server", since="2.2.12")
def slowlog_reset(session: Any, argv: list[bytes]):
    """Clear all entries from the slow log"""
    _stats(session).slowlog.reset()
    return OK


@subcommand("slowlog", "help", 2, "loading stale", group="server", since="6.2.0")
def slowlog_help(session: Any, argv: list[bytes]):
    """Show helpful text about the different subcommands"""
    lines = [
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]


container("latency", "", CONN, group="server", summary="A container for latency diagnostics commands")


@subcommand("latency", "latest", 2, _FLAGS, group="server", since="2.8.13")
def latency_latest(session: Any, argv: list[bytes]):
    """Return the latest latency samples for all events"""
    events = _stats(session).latency.events
    return [[name.encode(), ev["latest_ts"], ev["latest"], ev["max"]] for name, ev in sorted(events.items())]


@subcommand("latency", "history", 3, _FLAGS, group="server", since="2.8.13")
def latency_history(session: Any, argv: list[bytes]):
    """Return timestamp-latency samples for the event"""
    ev = _stats(session).latency.events.get(argv[2].decode(errors="replace").lower())
    return [] if ev is None else [[ts, ms] for ts, ms in ev["history"]]


@subcommand("latency", "reset", -2, _FLAGS, group="server", since="2.8.13")
def latency_reset(session: Any, argv: list[bytes]):
    """Reset latency data for one or more events"""
    return _stats(session).latency.reset([a.decode(errors="replace").lower() for a in argv[2:]])


@subcommand("latency", "doctor", 2, _FLAGS, group="server", since="2.8.13")
def latency_doctor(session: Any, argv: list[bytes]):
    """Return a human readable latency analysis report"""
    lat = _stats(session).latency
    if lat.threshold_ms <= 0:
        text = "The latency monitor is off: CONFIG SET latency-monitor-threshold <milliseconds> turns it on."
    elif not lat.events:
        text = "No latency spike above the threshold was observed."
    else:
        text = "\n".join(f"{name}: latest {ev['latest']} ms, max {ev['max']} ms"
                         for name, ev in sorted(lat.events.items()))
    return Verbatim(b"txt", text.encode())


GRAPH_COLUMNS = 80
_SPARK = "_o#"  # Redis's sparkline characters (filled style): three steps per row


def sparkline(samples: list[tuple[float, str]], columns: int = GRAPH_COLUMNS, rows: int = 4) -> str:
    """Redis's ``sparklineRender`` (filled, linear scale): each sample a column of ``rows``
    characters high, scaled between the lowest and highest value, with its label written
    downwards under it; ``columns`` samples per block."""
    if not samples:
        return ""
    values = [v for v, _ in samples]
    low, high = min(values), max(values)
    span = (high - low) or 1
    steps = len(_SPARK) * rows
    labelled = any(label for _, label in samples)
    blocks = []
    for start in range(0, len(samples), columns):
        part = samples[start:start + columns]
        heights = [min(max(int(int((v - low) * steps) / span), 0), steps - 1) for v, _ in part]
        lines = []
        for row in range(rows):
            line = []
            for h in heights:
                i = h - (rows - row - 1) * len(_SPARK)
                line.append(_SPARK[i] if 0 <= i < len(_SPARK) else "|" if i >= len(_SPARK) else " ")
            lines.append("".join(line))
        if labelled:
            lines.append(" " * len(part))  # the margin above the labels
            for depth in range(max(len(label) for _, label in part)):
                lines.append("".join(label[depth] if depth < len(label) else " " for _, label in part))
        blocks.append("".join(line + "\n" for line in lines))
    return "\n".join(blocks)


def _ago(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def latency_graph_text(event: str, ev: dict[str, Any], now: int) -> str:
    """LATENCY GRAPH's text for one event's history, labelled with how long ago (at ``now``,
    in Unix seconds) each sample was taken."""
    history = list(ev["history"])
    samples = [(float(ms), _ago(now - ts)) for ts, ms in history]
    values = [ms for _, ms in history]
    return (f"{event} - high {max(values)} ms, low {min(values)} ms (all time high {ev['max']} ms)\n"
            + "-" * GRAPH_COLUMNS + "\n" + sparkline(samples))


@subcommand("latency", "graph", 3, _FLAGS, group="server", since="2.8.13")
def latency_graph(session: Any, argv: list[bytes]):
    """Return a latency graph for the event"""
    name = argv[2].decode(errors="replace")
    ev = _stats(session).latency.events.get(name.lower())
    if ev is None or not ev["history"]:
        return ErrorReply(b"ERR No samples available for event '" + argv[2] + b"'")
    return Verbatim(b"txt", latency_graph_text(name.lower(), ev, int(time.time())).encode())


@subcommand("latency", "histogram", -2, _FLAGS, group="server", since="7.0.0")
def latency_histogram(session: Any, argv: list[bytes]):
    """Return the cumulative distribution of latencies of a subset or all commands"""
    stats = _stats(session).commands
    if len(argv) == 2:
        names = sorted(stats)
    else:
        names = []
        for arg in argv[2:]:
            name = arg.decode("latin-1").lower()
            cmd = COMMANDS.get(arg.lower())
            if cmd is not None and cmd.subcommands:  # a container: each of its subcommands
                names += sorted(n for n in stats if n.startswith(name + "|"))
            else:
                names.append(name)
    out = []
    for name in names:
        st = stats.get(name)
        calls = sum(st.hist) if st is not None else 0
        if calls:
            out.append((name.encode(), Map([(b"calls", calls), (b"histogram_usec", Map(_cdf(st.hist)))])))
    return Map(out)


def _cdf(hist: list[int]) -> list[tuple[int, int]]:
    """(microseconds, samples at or under it) per bucket that holds samples, as Redis gives
    them from its HDR histogram: a bucket's upper edge of 2**k ns shows as the highest value
    that histogram counts with it (2**k + 2**(k-7) - 1 ns, at two significant figures), in
    whole microseconds: 1, 2, 4, 8, 16, 33, 66, 132 ..."""
    out = []
    seen = 0
    for b, n in enumerate(hist):
        if n:
            seen += n
            edge = 1 << (b + HIST_MIN_BIT)
            out.append(((edge + (edge >> 7) - 1) // 1000, seen))
    return out


@subcommand("latency", "help", 2, "loading stale", group="server", since="2.8.13")
def latency_help(session: Any, argv: list[bytes]):
    """Show helpful text about the different subcommands"""
    lines = [
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]


@command("monitor", 1, "admin noscript loading stale", kind=CONN, group="server", since="1.0.0")
def monitor(session: Any, argv: list[bytes]):
    """Listen for all requests received by the server in real time"""
    monitors = getattr(session.server, "monitors", None)
    if monitors is None:
        return ErrorReply("ERR this server cannot be monitored")
    if "monitor" in session.extra:
        return Raw(b"")  # Redis ignores a second MONITOR, without a reply
    monitors.add(session)
    return OK


# -- MODULE: Redis modules are C libraries loaded into redis-server; Raftis loads none ------------
container("module", "", CONN, group="server", summary="A container for module commands")
_NO_MODULES = ErrorReply("ERR Raftis cannot load Redis modules (they are C libraries for redis-server)")


@subcommand("module", "list", 2, "admin noscript", group="server", since="4.0.0")
def module_list(session: Any, argv: list[bytes]):
    """List all modules loaded by the server"""
    return []


@subcommand("module", "load", -3, "admin noscript no_async_loading", group="server", since="4.0.0")
def module_load(session: Any, argv: list[bytes]):
    """Load a module"""
    return limits.protected_denial(session, b"module|load") or _NO_MODULES


@subcommand("module", "loadex", -3, "admin noscript no_async_loading", group="server", since="7.0.0")
def module_loadex(session: Any, argv: list[bytes]):
    """Load a module with extended parameters"""
    return limits.protected_denial(session, b"module|loadex") or _NO_MODULES


@subcommand("module", "unload", 3, "admin noscript no_async_loading", group="server", since="4.0.0")
def module_unload(session: Any, argv: list[bytes]):
    """Unload a module"""
    return limits.protected_denial(session, b"module|unload") or ErrorReply(
        "ERR Error unloading module: no such module with that name")


@subcommand("module", "help", 2, "loading stale", group="server", since="5.0.0")
def module_help(session: Any, argv: list[bytes]):
    """Show helpful text about the different subcommands"""
    lines = [
        "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations and optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]
