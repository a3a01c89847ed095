"""Streams against redis-server 7.0: every command's replies, options and error texts, in
RESP2 and RESP3.

Replies that carry times (idle times, seen and delivery times) are compared with ``?near``:
integers within a second of each other match, since the two servers' clocks are read at
different moments (a moment that a loaded machine can stretch: a garbage collection or a
descheduled test process between redis-server's command and the executor's); every other
number must match, radix-tree-nodes included. IDs are explicit wherever a reply would show
them, so replies are comparable; the one ``XADD *`` that takes its ID from the clock is
compared with ``?near`` too (its milliseconds within a second, its sequence number exactly)."""

from __future__ import annotations

import re

import hiredis
import pytest
from commands_differential import against_redis, parse_script, run_script

BASICS = r"""
xadd s 1-1 a 1
xadd s 1-2 a 2 b 3
xadd s 2 a 4
xadd s 2-* f v
xadd s 5-* f v
xadd s 5-* f v
xadd s 0-0 a 1
xadd fresh 0-0 a 1
exists fresh
xadd fresh 0 a 1
xadd fresh 0-* a 1
xadd s 1-1 a 1
xadd s 5-2 a 1
xadd s x a 1
xadd s 1-x a 1
xadd s -1 a 1
xadd s 1- a 1
xadd s " 9" a 1
xadd s +10 a 1
xadd s 011 a 1
xadd s 12-012 a 1
xadd s 12-* a
xadd s 12-* a b c
xadd s
xadd s nomkstream
xadd nokey nomkstream 1-1 a b
exists nokey
xadd nokey nomkstream * a b
xlen s
xlen nokey
type s
object encoding s
xrange s - +
xrange s - + count 2
xrange s - + count 0
xrange s - + count -1
xrange s - + COUNT 1 count 3
xrange s 2 5
xrange s (1-1 (5-1
xrange s (1 +
xrange s - (2
xrange s 1 1
xrange s 5 +
xrange s + -
xrange s (18446744073709551615-18446744073709551615 +
xrange s - (0-0
xrange s - (0
xrange s ( +
xrange s (- +
xrange s - (+
xrange s x +
xrange s -05 +
xrange s 1-+5 +
xrange s "\t5" +
xrange s "5 " +
xrange s 0x5 +
xrange s 1--1 +
xrange s 18446744073709551616-0 +
xrange s 5-18446744073709551615 (6
xrange s - + foo
xrange s - + count
xrange s - + count x
xrange nokey - +
xrange nokey x +
xrevrange s + -
xrevrange s + - count 2
xrevrange s (5-2 (1-1
xrevrange s 2 2
xrevrange s - +
xrevrange s + - count 0
xrange s 18446744073709551615 +
xadd s 18446744073709551615-18446744073709551614 max 1
xadd s 18446744073709551615-* max 2
xadd s 18446744073709551615-* max 3
xadd s * max 3
xrange s 18446744073709551615 +
xrevrange s + 18446744073709551615-18446744073709551615
xrange s 18446744073709551616 +
xrange s 1-18446744073709551616 +
xdel s 18446744073709551615-18446744073709551615 18446744073709551615-18446744073709551614
xdel s 1-1 1-1 99-1
xdel s x
xdel nokey 1-1
xdel nokey x
xlen s
xinfo stream s
xdel s 1-2 2-0 2-1 5-0 5-1
xlen s
?near xinfo stream s
xadd s 5-3 back again
?near xinfo stream s
set str v
xadd str 1-1 a b
xlen str
xrange str - +
xrevrange str + -
xdel str 1-1
xtrim str maxlen 0
xtrim str foo
xsetid str 1-1
xinfo stream str
xtrim nokey maxlen 0
xtrim nokey maxlen -1
xtrim nokey foo 1
xtrim str maxlen -1
"""

IDS_AND_SETID = r"""
xsetid nokey 1-1
xsetid nokey x
xadd e 1-1 a 1
xdel e 1-1
?near xinfo stream e
xadd e 2-1 a 1
xdel e 2-1
xtrim e maxlen 0
xadd e 3-1 a 1
xtrim e maxlen 0
?near xinfo stream e
xsetid e 5-5
xsetid e 1-1
xsetid e 9-9 entriesadded 1
xsetid e 9-9 entriesadded 10 maxdeletedid 10-1
xsetid e 9-9 entriesadded -1
xsetid e 9-9 entriesadded x
xsetid e 9-9 maxdeletedid 1-1
xsetid e 9-9 maxdeletedid x
xsetid e 9-9 foo
xsetid e 9-9 entriesadded
xsetid e -
xsetid e +
xsetid e x
?near xinfo stream e
?near xadd e * a 1
xadd e 9-* a 1
xadd e 10-5 a 1
xsetid e 10-4
xsetid e 10-5 entriesadded 0
xsetid e 10-5 entriesadded 1
xsetid e 10-6 entriesadded 7 maxdeletedid 10-6
?near xinfo stream e
xsetid e 18446744073709551615-18446744073709551615
xadd e * a 1
xadd e 18446744073709551615-* a 1
xsetid e 10-5
"""

TRIM = r"""
xadd t maxlen 2 1-1 a 1
xadd t maxlen 2 2-1 a 1
xadd t maxlen 2 3-1 a 1
xrange t - +
xadd t maxlen = 1 4-1 a 1
xrange t - +
xadd t maxlen ~ 1 5-1 a 1
xrange t - +
xadd t minid 5 6-1 a 1
xrange t - +
xadd t minid = 6-1 7-1 a 1
xadd t minid ~ 7 8-1 a 1
xrange t - +
xadd t maxlen -1 9-1 a 1
xadd t maxlen x 9-1 a 1
xadd t maxlen 1 minid 1 9-1 a 1
xadd t minid 1 maxlen 1 9-1 a 1
xadd t limit 5 9-1 a 1
xadd t limit 0 9-1 a 1
xadd t maxlen 1 limit 5 9-1 a 1
xadd t maxlen ~ 1 limit -1 9-1 a 1
xadd t maxlen ~ 1 limit x 9-1 a 1
xadd t maxlen ~ 1 limit 1 9-1 a 1
xadd t minid x 10-1 a 1
xadd t minid - 10-1 a 1
xadd t minid ~ 10 10-1 a 1
xadd t maxlen ~ 10-1 a 1
xadd t maxlen
xadd t maxlen 1
xadd t nomkstream maxlen 0 11-1 a 1
xlen t
xtrim t
xtrim t maxlen
xtrim t foo 1
xtrim t maxlen 1 foo
xtrim t maxlen 0 nomkstream
xtrim t maxlen -1
xtrim t maxlen 0 limit 5
xtrim t limit 5
xtrim t maxlen ~ 0 limit 0
xtrim t minid 0
xtrim t maxlen 0
?near xinfo stream t
xtrim t minid +
xtrim t minid 1-x
"""


def _nodes_script() -> str:
    """Enough entries for several listpack nodes (100 entries each), then approximate and
    exact trims at and around the node boundaries, and XDEL emptying whole nodes."""
    lines = []
    for i in range(1, 351):
        lines.append(f"xadd n {i}-1 f {i}")
    lines += [
        "?near xinfo stream n",
        "xtrim n maxlen ~ 300",
        "xlen n",
        "xtrim n maxlen ~ 249",
        "xlen n",
        "xtrim n maxlen ~ 200 limit 99",
        "xlen n",
        "xtrim n maxlen ~ 200 limit 100",
        "xlen n",
        "xtrim n minid ~ 250",
        "xlen n",
        "xtrim n minid ~ 301",
        "xlen n",
        "xrange n - + count 1",
        "xtrim n minid 305",
        "xrange n - + count 1",
        "?near xinfo stream n",
    ]
    # delete every live entry of the node 301..350 except the first two, then add: the tail
    # node's deleted entries still count towards its 100
    lines.append("xdel n " + " ".join(f"{i}-1" for i in range(307, 351)))
    for i in range(351, 420):
        lines.append(f"xadd n {i}-1 g {i} h x")
    lines += ["?near xinfo stream n", "xtrim n minid ~ 352", "xlen n", "xrange n - + count 2"]
    # XDEL of a whole node, then appending into the node before it
    lines.append("xdel n " + " ".join(f"{i}-1" for i in range(400, 420)))
    lines += ["?near xinfo stream n", "xadd n 500-1 f v", "xtrim n maxlen ~ 1", "xlen n",
              "?near xinfo stream n"]
    # big values: the 4096-byte node limit
    big = "x" * 1000
    for i in range(1, 30):
        lines.append(f"xadd b {i}-1 f {big}")
    lines += ["?near xinfo stream b", "xtrim b maxlen ~ 1", "xlen b"]
    for i in range(30, 90):
        lines.append(f"xadd b {i}-1 field{i % 3} {'y' * (i * 7)} n {i * 1000003}")
    lines += ["?near xinfo stream b", "xtrim b maxlen ~ 5", "xlen b", "?near xinfo stream b"]
    for i in range(1, 260):
        lines.append(f"xadd c {i * 1000}-{i} f{i % 2} -{i * 77} z 1234567890123")
    lines += ["?near xinfo stream c", "xtrim c maxlen ~ 10", "xlen c"]
    return "\n".join(lines)


XREAD = r"""
xadd r 1-1 a 1
xadd r 2-1 b 2
xadd r2 1-1 c 3
xread streams r 0
xread count 1 streams r r2 0 0
xread streams r r2 1-1 $
xread streams r $
xread streams nokey 0
xread streams nokey $
xread streams r 2-1
xread streams r 18446744073709551615-18446744073709551615
xread count 0 streams r 0
xread count -1 streams r 0
xread count x streams r 0
xread streams r
xread streams r r 0
xread streams
xread count 1
xread foo streams r 0
xread block -1 streams r 0
xread block x streams r 0
xread block 0 streams r 0
xread streams r >
xread group g c streams r 0
xread noack streams r 0
xread streams r x
set str v
xread streams str 0
xread streams r str 0 0
xread STREAMS r 1
command getkeys xread count 1 streams a b 0 0
command getkeys xreadgroup group g streams noack streams a >
command getkeys xadd s * a b
eval "local r = redis.call('xread','block','0','streams','r','0') return r" 0
eval "return redis.pcall('xreadgroup','group','g','c','block','0','streams','r','>')" 0
eval "return redis.call('xread','count','1','streams','r','0')" 0
eval "return redis.call('xread','streams','r','r2','0','0')" 0
eval "return redis.call('xinfo','stream','r')" 0
eval "return redis.call('xrange','r','-','+')" 0
eval "local r = redis.call('xread','streams','nokey','0') return r" 0
"""

GROUPS = r"""
?same-shape xgroup help
?same-shape xinfo help
xgroup foo
xinfo foo
xgroup create
xgroup create s
xgroup create s g
xgroup create nokey g 0
xgroup create nokey g $ mkstream
?near xinfo stream nokey
xinfo groups nokey
xadd s 1-1 a 1
xadd s 2-1 b 2
xadd s 3-1 c 3
xgroup create s g 0
xgroup create s g 0
xgroup create s g2 $
xgroup create s g3 1-1 entriesread 1
xgroup create s g4 0 entriesread -1
xgroup create s g5 0 entriesread -2
xgroup create s g5 0 entriesread x
xgroup create s g5 0 foo
xgroup create s g5 >
xgroup create s g5 - mkstream
xgroup create s g5 0 entriesread
xinfo groups s
xgroup createconsumer s g2 c
xgroup createconsumer s nog c
xgroup createconsumer nokey2 g c
xgroup createconsumer s g2 c
xgroup setid s nog 0
xgroup setid s g2 -
xgroup setid s g2 0 entriesread 2
xgroup setid s g2 0 entriesread x
xgroup setid s g2 0 foo 2
xgroup setid s g2 0 entriesread
xgroup setid s g2 x
xgroup setid s g2 $
xinfo groups s
xgroup destroy s g3
xgroup destroy s g3
xgroup destroy s nog
xgroup destroy nokey2 g
xgroup delconsumer s g2 c
xgroup delconsumer s g2 c
xgroup delconsumer s nog c
xreadgroup group g alice count 1 streams s >
xreadgroup group g bob streams s >
xreadgroup group g bob streams s >
xreadgroup group g nobody streams s >
xinfo groups s
xreadgroup group g alice streams s 0
xreadgroup group g bob streams s 0
xreadgroup group g bob count 1 streams s 2-1
xreadgroup group g carol streams s 0
xreadgroup group g alice streams s 0 0
xreadgroup group g alice streams s $
xreadgroup group nog alice streams s >
xreadgroup group g alice streams nokey3 >
xreadgroup streams s >
xreadgroup group g alice streams s x
xreadgroup group g alice foo streams s >
xreadgroup group g alice block x streams s >
xreadgroup group g alice count x streams s >
xreadgroup group g alice block 0 noack streams s 0
xpending s g
?near xpending s g - + 10
?near xpending s g - + 10 bob
?near xpending s g - + 10 nobody
?near xpending s g - + 0
?near xpending s g - + -1
?near xpending s g (1-1 + 10
?near xpending s g - (3-1 10
?near xpending s g 2 2 10
?near xpending s g (18446744073709551615-18446744073709551615 + 10
?near xpending s g - (0-0 10
?near xpending s g idle 0 - + 10 bob
?near xpending s g idle 100000 - + 10
?near xpending s g idle x - + 10
?near xpending s g idle 5 - +
?near xpending s g x + 10
?near xpending s g - + x
xpending s g - +
?near xpending s g - + 10 bob extra
xpending s nog
xpending nokey2 g
xpending s g2
?near xinfo consumers s g
xinfo consumers s nog
xinfo consumers nokey2 g
?near xinfo groups s
?near xinfo stream s full
?near xinfo stream s full count 1
?near xinfo stream s full count 0
?near xinfo stream s full count -1
xinfo stream s foo
xinfo stream s full count x
xinfo stream s full foo 1
xinfo stream s full count 1 2
xinfo stream nokey2
xinfo groups
xinfo consumers s
xack s g 1-1
xack s g 1-1 9-9
xack s g x
xack s nog 1-1
xack nokey2 g 1-1
xack nokey2 g x
xack s nog x
xpending s g
xadd s 4-1 d 4
xreadgroup group g alice noack streams s >
xpending s g
xinfo groups s
xdel s 2-1
xreadgroup group g bob streams s 0
xinfo groups s
xadd s 5-1 e 5
xreadgroup group g dave streams s >
?near xinfo groups s
xgroup setid s g 0
xreadgroup group g erin count 2 streams s >
?near xpending s g - + 10
?near xinfo consumers s g
xgroup delconsumer s g erin
xpending s g
set str v
xgroup create str g 0
xgroup create str g 0 mkstream
xreadgroup group g c streams str >
xack str g 1-1
xpending str g
xinfo groups str
xinfo stream str
xclaim str g c 0 1-1
xautoclaim str g c 0 0
"""

CLAIM = r"""
xadd s 1-1 a 1
xadd s 2-1 b 2
xadd s 3-1 c 3
xadd s 4-1 d 4
xgroup create s g 0
xreadgroup group g alice streams s >
xclaim s g bob 0 1-1 2-1 9-9 justid
?near xpending s g - + 10
xclaim s g bob 0 3-1
?near xpending s g - + 10
xclaim s g bob 100000 4-1
xclaim s g carol 0 4-1 retrycount 7
xclaim s g carol 0 4-1 retrycount 7 justid
xclaim s g carol 0 4-1 justid
?near xpending s g - + 10
xclaim s g carol 0 4-1 idle 50000 justid
?near xpending s g idle 40000 - + 10
xclaim s g carol 0 4-1 idle -5 justid
xclaim s g carol 0 4-1 time 0 justid
xclaim s g carol 0 4-1 time 99999999999999 justid
xclaim s g carol 0 4-1 time -1 justid
?near xpending s g - + 10
xclaim s g dave 0 5-1 force
xadd s 5-1 e 5
xclaim s g dave 0 5-1 force
?near xpending s g - + 10
xclaim s g dave 0 5-1 force justid
xclaim s g erin 0 6-1 force lastid 9-9
xinfo groups s
xclaim s g erin 0 1-1 lastid 2-2
xinfo groups s
xclaim s g erin 0 1-1 lastid x
xclaim s g carol 0 1-1 foo
xclaim s g carol x 1-1
xclaim s g carol -5 1-1 justid
xclaim s g carol 0 1-1 idle x
xclaim s g carol 0 1-1 idle
xclaim s g carol 0 1-1 retrycount x
xclaim s g carol 0 1-1 time x
xclaim s g carol 0 x
xclaim s nog carol 0 1-1
xclaim nokey g carol 0 1-1
xdel s 2-1
xclaim s g frank 0 2-1 3-1
?near xpending s g - + 10
?near xinfo consumers s g
xautoclaim s g dave 0 0
xautoclaim s g dave 0 0 count 2
xautoclaim s g dave 0 0 count 2 justid
xautoclaim s g dave 0 (3-1 count 1
xautoclaim s g dave 100000 0
?near xpending s g - + 10
xdel s 4-1
xautoclaim s g erin 0 0 count 1
xautoclaim s g erin 0 0 count 1
xautoclaim s g erin 0 0 justid
xpending s g
xautoclaim s g dave 0 0 count 0
xautoclaim s g dave 0 0 count -1
xautoclaim s g dave 0 0 count x
xautoclaim s g dave 0 0 count
xautoclaim s g dave x 0
xautoclaim s g dave 0 x
xautoclaim s g dave 0 (18446744073709551615-18446744073709551615
xautoclaim s g dave 0 0 foo
xautoclaim s nog dave 0 0
xautoclaim nokey g dave 0 0
xautoclaim nokey g dave 0 0 foo
?near xinfo stream s full
"""

KEYS = r"""
xadd s 1-1 a 1
xgroup create s g 0
xreadgroup group g alice streams s >
copy s s2
?near xinfo stream s2 full
xadd s2 2-1 b 2
xlen s
xlen s2
rename s2 s3
xrange s3 - +
exists s s3
del s3
exists s3
expire s 100
ttl s
xadd s 2-1 b 2
ttl s
persist s
type s
scan 0 type stream
"""

LAG = r"""
xgroup create l g0 0 mkstream
xinfo groups l
xadd l 1-1 a 1
xadd l 2-1 a 1
xadd l 3-1 a 1
xadd l 4-1 a 1
xadd l 5-1 a 1
xgroup create l g1 0
xgroup create l g2 $
xgroup create l g3 3-1
xgroup create l g4 0 entriesread 2
xgroup create l g5 1-1
xinfo groups l
xreadgroup group g1 c count 2 streams l >
xreadgroup group g3 c count 1 streams l >
xreadgroup group g4 c count 1 streams l >
xinfo groups l
xdel l 3-1
xinfo groups l
xreadgroup group g1 c count 1 streams l >
xreadgroup group g5 c count 1 streams l >
xinfo groups l
xdel l 1-1
xinfo groups l
xtrim l maxlen 1
xinfo groups l
xadd l 6-1 a 1
xinfo groups l
xreadgroup group g0 c streams l >
xinfo groups l
xsetid l 9-9 entriesadded 100
xinfo groups l
xgroup setid l g1 6-1 entriesread 50
xgroup setid l g2 2-1
xinfo groups l
xdel l 5-1 6-1
xinfo groups l
xadd l 10-1 b 2
xreadgroup group g2 c streams l >
xreadgroup group g0 c streams l 0
xinfo groups l
?near xinfo stream l full
xgroup setid l g0 0
xreadgroup group g0 d count 1 streams l >
xreadgroup group g0 d streams l 0
xreadgroup group g0 c streams l 0
xpending l g0
xgroup setid l g0 $ entriesread 3
xinfo groups l
xgroup setid l g0 + entriesread 3
xinfo groups l
"""

SCRIPTS = [BASICS, IDS_AND_SETID, TRIM, _nodes_script(), XREAD, GROUPS, CLAIM, KEYS, LAG]


def _decode(data: bytes):
    r = hiredis.Reader()
    r.feed(data)
    try:
        return r.gets()
    except hiredis.ReplyError as e:  # pragma: no cover
        return e


_TIME_LABELS = (b"idle", b"seen-time")
_NEAR_MS = 1000
# An ID ``XADD *`` took from the clock: the milliseconds of now (13 digits from 2001 to 2286).
_CLOCK_ID = re.compile(rb"(\d{13})-(\d+)")


def _near(a, b, loose: bool = False) -> bool:
    """Equal, but for times: an absolute time in ms (from 10**12 on), an idle time (after an
    "idle" label, or the third element of an XPENDING entry) and the time part of an ID taken
    from the clock may differ by up to a second."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_near(a[k], b[k], k in _TIME_LABELS) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        pending_entry = len(a) == 4 and isinstance(a[0], bytes) and isinstance(a[2], int)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            label = a[i - 1] if i else None
            if not _near(x, y, label in _TIME_LABELS or (pending_entry and i == 2)):
                return False
        return True
    if isinstance(a, int) and isinstance(b, int) and (loose or min(a, b) >= 10**12):
        return abs(a - b) <= _NEAR_MS
    if isinstance(a, bytes) and isinstance(b, bytes) and (ma := _CLOCK_ID.fullmatch(a)) and (
            mb := _CLOCK_ID.fullmatch(b)):
        return ma[2] == mb[2] and abs(int(ma[1]) - int(mb[1])) <= _NEAR_MS
    return a == b


def _check(script, client, executor) -> list[str]:
    problems: list[str] = []
    for entry in parse_script(script) if isinstance(script, str) else script:
        lineno, mode, args = entry
        if mode != "?near":
            problems += run_script([entry], client, executor)
            continue
        theirs, ours = client.call(*args), executor.wire(*args)
        if theirs != ours and not (theirs[:1] == ours[:1] and _near(_decode(theirs), _decode(ours))):
            problems.append(f"line {lineno}: {b' '.join(args)!r}\n    redis: {theirs!r}\n    ours:  {ours!r}")
    return problems


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
@pytest.mark.parametrize("n", range(len(SCRIPTS)), ids=["basics", "ids", "trim", "nodes", "xread", "groups",
                                                         "claim", "keys", "lag"])
def test_streams_match_redis(redis_server, n, resp3):
    problems = against_redis(redis_server, SCRIPTS[n], resp3=resp3, check=_check)
    assert not problems, "\n".join(problems[:30])


def _random_nodes_script(seed: int, steps: int) -> list[tuple[int, str, list[bytes]]]:
    """XADDs of varied sizes (numbers, short and long strings, repeated and changing field
    names), XDELs and trims: XINFO STREAM's radix-tree-keys after each trim shows whether
    the listpack nodes split where Redis's do."""
    import random

    rnd = random.Random(seed)
    out: list[tuple[int, str, list[bytes]]] = []
    ms = 0
    values = [b"1", b"-1", b"127", b"128", b"-4096", b"70000", b"9223372036854775807", b"01", b"x", b"",
              b"-0", b"3.5"]
    for n in range(1, steps + 1):
        r = rnd.random()
        if r < 0.8:
            ms += rnd.choice([0, 1, 1, 300, 70000, 10**9])
            nfields = rnd.choice([1, 1, 2, 3])
            fields = []
            for i in range(nfields):
                name = rnd.choice([b"f", b"g", b"field%d" % i, b"%d" % i])
                size = rnd.choice([0, 0, 5, 60, 64, 200, 4000, 5000])
                value = rnd.choice(values) if size == 0 else bytes([97 + rnd.randrange(26)]) * size
                fields += [name, value]
            ident = b"%d-*" % ms if rnd.random() < 0.7 else b"*"
            if ident == b"*":
                ident = b"%d-%d" % (ms, rnd.randrange(1 << 40))
            out.append((n, "?same-shape", [b"XADD", b"r", ident, *fields]))
        elif r < 0.9:
            out.append((n, "", [b"XDEL", b"r", *[b"%d-%d" % (max(ms - rnd.randrange(10**9 + 2), 0), rnd.randrange(3))
                                              for _ in range(3)]]))
            out.append((n, "", [b"XDEL", b"r", b"%d-0" % ms]))
        elif r < 0.97:
            how = rnd.choice([[b"MAXLEN", b"~", b"%d" % rnd.randrange(400)], [b"MINID", b"~", b"%d" % (ms // 2)],
                              [b"MAXLEN", b"~", b"%d" % rnd.randrange(400), b"LIMIT", b"%d" % rnd.randrange(300)],
                              [b"MAXLEN", b"%d" % rnd.randrange(400)]])
            out.append((n, "", [b"XTRIM", b"r", *how]))
            out.append((n, "?near", [b"XINFO", b"STREAM", b"r"]))
        else:
            out.append((n, "", [b"XRANGE", b"r", b"-", b"+", b"COUNT", b"5"]))
    out.append((steps + 1, "?near", [b"XINFO", b"STREAM", b"r"]))
    out.append((steps + 1, "", [b"XRANGE", b"r", b"-", b"+"]))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_listpack_nodes_split_as_in_redis(redis_server, seed):
    problems = against_redis(redis_server, _random_nodes_script(seed, 1500), check=_check)
    assert not problems, "\n".join(problems[:10])
