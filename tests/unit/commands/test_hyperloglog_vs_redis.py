"""HyperLogLog against redis-server 7.0: PFADD, PFCOUNT and PFMERGE replies, and the values
themselves byte for byte (GET), through sparse values, their opcode splits and merges, and
the change to dense.

Redis's PFCOUNT writes the count it computes into the value's header; here it is a read and
does not (server/commands/hyperloglog.py), so the scripts read values with GET before any
PFCOUNT of them."""

from __future__ import annotations

import random

import pytest
from commands_differential import against_redis

from server.commands import hyperloglog

SCRIPT = r"""
pfadd h a b c
pfadd h a
pfadd h
pfadd new
get new
pfcount new
get h
pfcount h
pfcount nokey
pfcount nokey h
pfadd h2 c d e f
pfmerge m h h2
get m
pfcount m
pfcount h h2
pfmerge m
pfmerge fresh
get fresh
pfmerge fresh2 nokey
exists fresh2
set s notanhll
pfadd s a
pfcount s
pfcount h s
pfmerge m s
pfmerge s h
rpush l a
pfadd l a
pfcount l
pfmerge l h
pfmerge m l
set fake "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
pfadd fake a
set shortdense "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00abc"
pfcount shortdense
set badsparse "HYLL\x01\x00\x00\x00\x00\x00\x00\x80\x00\x00\x00\x00\x7f\xfe"
pfcount badsparse
pfadd badsparse x
pfadd
pfcount
pfmerge
pfadd d1 a b c
pfdebug encoding d1
pfdebug decode d1
pfdebug decode nokey
pfdebug encoding s
pfdebug encoding l
pfdebug nosuch d1
pfdebug nosuch nokey
pfdebug nosuch s
pfdebug encoding d1 extra
pfdebug encoding
get d1
pfdebug todense d1
pfdebug todense d1
pfdebug encoding d1
pfdebug decode d1
get d1
pfadd d1 x y
get d1
pfadd g a
pfdebug getreg g
pfdebug encoding g
get g
pfdebug GETREG g
pfdebug TODENSE g
pfadd g b c d
get g
pfdebug decode badsparse
pfdebug todense badsparse
pfdebug getreg badsparse
pfdebug encoding fake
pfdebug encoding shortdense
"""


def test_hyperloglog_commands_match_redis(redis_server):
    problems = against_redis(redis_server, SCRIPT)
    assert not problems, "\n".join(problems)


def _random_script(seed: int, steps: int) -> list[tuple[int, str, list[bytes]]]:
    rnd = random.Random(seed)
    keys = [b"h1", b"h2", b"h3", b"h4"]
    out = []
    for n in range(1, steps + 1):
        k = rnd.choice(keys)
        batch = rnd.choice([1, 1, 1, 3, 10, 60])
        spread = rnd.choice([50, 5000, 1_000_000])  # repeats, and runs of near registers
        out.append((n, "", [b"PFADD", k, *(str(rnd.randrange(spread)).encode() for _ in range(batch))]))
        if rnd.random() < 0.3:
            out.append((n, "", [b"GET", k]))
        if rnd.random() < 0.03:
            dest = rnd.choice(keys + [b"m"])
            out.append((n, "", [b"PFMERGE", dest, *rnd.sample(keys + [b"m", b"nokey"], 2)]))
            out.append((n, "", [b"GET", dest]))
    for k in keys + [b"m"]:
        out.append((steps + 1, "", [b"GET", k]))
    for k in keys + [b"m"]:
        out.append((steps + 2, "", [b"PFCOUNT", k]))
    out.append((steps + 3, "", [b"PFCOUNT", *keys]))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_hyperloglogs_match_redis(redis_server, seed):
    problems = against_redis(redis_server, _random_script(seed, 1200))
    assert not problems, "\n".join(problems[:5])


def test_selftest_passes_and_fails_when_the_implementation_is_broken(monkeypatch):
    assert hyperloglog.selftest(random.Random(3), elements=10_000, cycles=1) == b""
    with monkeypatch.context() as m:
        real = hyperloglog._dense_get
        m.setattr(hyperloglog, "_dense_get", lambda hll, i: real(hll, i) ^ (i == 777))
        assert hyperloglog.selftest(random.Random(3), elements=10, cycles=1) == b"TESTFAILED Register error at 777"
    with monkeypatch.context() as m:
        m.setattr(hyperloglog, "count", lambda regs: sum(1 for r in regs if r) * 2)
        assert hyperloglog.selftest(random.Random(3), elements=100, cycles=1).startswith(b"TESTFAILED Too big error")
