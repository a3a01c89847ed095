"""MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP.

A Python process has no allocator statistics of its own, so the figures are estimates:

- USAGE: the key's and the value's ``sys.getsizeof`` plus one entry of the database's table;
  for a hash, list, set or sorted set, the container's own size plus the average size of the
  first ``SAMPLES`` elements (5 by default, 0: all) times the number of elements, as Redis
  samples. A sorted set's members are counted once (its score table and its order share them)
  with a float and an order entry each.
- STATS: Redis's field names; the totals are this process's resident memory (peak: the
  kernel's high-water mark), the startup figure is the resident memory when the command table
  was loaded, the per-database overhead is the size of its key and expiry tables, and the
  allocator and fragmentation fields, which Python cannot tell apart, show the resident memory
  (ratios of 1).
- PURGE runs a full garbage collection and asks glibc to give free memory back (malloc_trim).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import itertools
import resource
import sys
from typing import Any

from resp.types import OK, Double, Map, SimpleString, Verbatim
from server import errors
from server.commands.arguments import string2ll
from server.commands.registry import CONN, READ, container, subcommand
from server.keyspace import Hash, List, Set
from server.sortedset import ZSet

DEFAULT_SAMPLES = 5
# What one key costs in its database's table (a dict entry: hash, key and value pointers).
_TABLE_ENTRY = 3 * 8
# A sorted set member's score (a float) and its (score, member) entry in the order.
_ZSET_EXTRA = sys.getsizeof(1.0) + sys.getsizeof((1.0, b""))
# The resident memory when the command table was loaded (the kernel's high-water mark so far).
_STARTUP_RSS = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_bytes() -> int:
    from server.limits import rss_bytes as rss  # (server.limits imports the command table)

    return rss()


def _libc() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def _sampled(items: Any, count: int, samples: int, size_of: Any) -> int:
    """``count`` elements' estimated bytes from the first ``samples`` of ``items`` (0: all)."""
    if not count:
        return 0
    taken = list(itertools.islice(items, samples if samples else None))
    if not taken:
        return 0
    return sum(map(size_of, taken)) * count // len(taken)


def value_bytes(value: Any, samples: int = DEFAULT_SAMPLES) -> int:
    """The estimated bytes of one value (see the module docstring)."""
    size = sys.getsizeof
    t = type(value)
    if t is bytes:
        return size(value)
    if t is Hash:
        return size(value) + _sampled(value.items(), len(value), samples, lambda kv: size(kv[0]) + size(kv[1]))
    if t is Set:
        return size(value) + _sampled(iter(value), len(value), samples, size)
    if t is List:
        return size(value) + _sampled(iter(value), len(value), samples, size)
    if t is ZSet:
        return (size(value) + size(value.scores)
                + _sampled(iter(value.scores), len(value), samples, lambda m: size(m) + _ZSET_EXTRA))
    return size(value)


def key_bytes(key: bytes, value: Any, samples: int = DEFAULT_SAMPLES) -> int:
    return sys.getsizeof(key) + _TABLE_ENTRY + value_bytes(value, samples)


container("memory", "", CONN, group="server", summary="A container for memory diagnostics commands")


@subcommand("memory", "usage", -3, "readonly", 2, 2, 1, READ, group="server", since="4.0.0")
def memory_usage(ctx: Any, argv: list[bytes]) -> Any:
    """Estimate the memory usage of a key"""
    samples = DEFAULT_SAMPLES
    i = 3
    while i < len(argv):
        if argv[i].lower() == b"samples" and i + 1 < len(argv):
            n = string2ll(argv[i + 1])
            if n is None:
                return errors.NOT_INTEGER
            if n < 0:
                return errors.SYNTAX
            samples = n
            i += 2
        else:
            return errors.SYNTAX
    value = ctx.db.get(argv[2], ctx.now_ms)
    return None if value is None else key_bytes(argv[2], value, samples)


def _figures(node: Any) -> dict[str, Any]:
    rss = rss_bytes()
    peak = max(rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    keyspace = node.keyspace
    scripts = sum(len(k) + len(v) for k, v in keyspace.scripts.items())
    functions = sum(len(name) + len(lib[0]) for name, lib in keyspace.functions.items())
    dbs = []
    overhead = _STARTUP_RSS + scripts + functions
    for db in keyspace.dbs:
        if db.data:
            main, expires = sys.getsizeof(db.data), sys.getsizeof(db.expires)
            overhead += main + expires
            dbs.append((db.index, main, expires))
    keys = len(keyspace)
    dataset = max(rss - overhead, 0)
    return {"rss": rss, "peak": peak, "scripts": scripts, "functions": functions, "dbs": dbs,
            "overhead": overhead, "keys": keys, "dataset": dataset}


@subcommand("memory", "stats", 2, "", group="server", since="4.0.0")
def memory_stats(session: Any, argv: list[bytes]) -> Any:
    """Show memory usage details"""
    f = _figures(session.server)
    rss = f["rss"]
    pairs: list[tuple[bytes, Any]] = [
        (b"peak.allocated", f["peak"]),
        (b"total.allocated", rss),
        (b"startup.allocated", _STARTUP_RSS),
        (b"replication.backlog", 0),
        (b"clients.slaves", 0),
        (b"clients.normal", 0),
        (b"cluster.links", 0),
        (b"aof.buffer", 0),
        (b"lua.caches", f["scripts"]),
        (b"functions.caches", f["functions"]),
    ]
    for index, main, expires in f["dbs"]:
        pairs.append((b"db.%d" % index, Map([(b"overhead.hashtable.main", main),
                                             (b"overhead.hashtable.expires", expires),
                                             (b"overhead.hashtable.slot-to-keys", 0)])))
    keys = f["keys"]
    dataset = f["dataset"]
    pairs += [
        (b"overhead.total", f["overhead"]),
        (b"keys.count", keys),
        (b"keys.bytes-per-key", (rss - _STARTUP_RSS) // keys if keys else 0),
        (b"dataset.bytes", dataset),
        (b"dataset.percentage", Double(dataset * 100 / (rss - _STARTUP_RSS) if rss > _STARTUP_RSS else 0.0)),
        (b"peak.percentage", Double(rss * 100 / f["peak"] if f["peak"] else 0.0)),
        (b"allocator.allocated", rss),
        (b"allocator.active", rss),
        (b"allocator.resident", rss),
        (b"allocator-fragmentation.ratio", Double(1.0)),
        (b"allocator-fragmentation.bytes", 0),
        (b"allocator-rss.ratio", Double(1.0)),
        (b"allocator-rss.bytes", 0),
        (b"rss-overhead.ratio", Double(1.0)),
        (b"rss-overhead.bytes", 0),
        (b"fragmentation", Double(1.0)),
        (b"fragmentation.bytes", 0),
    ]
    return Map(pairs)


_EMPTY = ("Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in "
          "these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and "
          "I will be back to our programming as soon as I finished rebooting.")


@subcommand("memory", "doctor", 2, "", group="server", since="4.0.0")
def memory_doctor(session: Any, argv: list[bytes]) -> Any:
    """Outputs memory problems report"""
    f = _figures(session.server)
    if not f["keys"]:
        return Verbatim(b"txt", _EMPTY.encode())
    issues = []
    if f["peak"] > f["rss"] * 3 // 2:
        issues.append(" * Peak memory: In the past this instance used more than 150% the memory that is currently "
                      "using. The allocator is normally not able to release memory after a peak, so you can expect "
                      "to see a big fragmentation ratio, however this is actually harmless and is only due to the "
                      "memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than "
                      "expected, the memory will be used as soon as you fill the Redis instance with more data. "
                      "If the memory peak was only occasional and you want to try to reclaim memory, please try "
                      "the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the "
                      "instance.\n\n")
    if not issues:
        text = ("Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on "
                "this base.")
    else:
        text = ("Sam, I detected a few issues in this Redis instance memory implants:\n\n" + "".join(issues)
                + "I'm here to keep you safe, Sam. I want to help you.\n")
    return Verbatim(b"txt", text.encode())


@subcommand("memory", "malloc-stats", 2, "", group="server", since="4.0.0")
def memory_malloc_stats(session: Any, argv: list[bytes]) -> Any:
    """Show allocator internal stats"""
    libc = _libc()
    info = getattr(libc, "mallinfo2", None) if libc is not None else None
    if info is None:
        return Verbatim(b"txt", b"Stats not supported for the current allocator")

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]

    info.restype = MallInfo2
    m = info()
    lines = ["___ Begin glibc malloc statistics (mallinfo2) ___"]
    lines += [f"{name}: {getattr(m, name)}" for name, _ in MallInfo2._fields_]
    lines.append("--- End glibc malloc statistics ---")
    return Verbatim(b"txt", "\n".join(lines).encode())


@subcommand("memory", "purge", 2, "", group="server", since="4.0.0")
def memory_purge(session: Any, argv: list[bytes]) -> Any:
    """Ask the allocator to release memory"""
    gc.collect()
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if trim is not None:
        trim(0)
    return OK


@subcommand("memory", "help", 2, "loading stale", group="server", since="4.0.0")
def memory_help(session: Any, argv: list[bytes]) -> Any:
    """Show helpful text about the different subcommands"""
    lines = [
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]
