"""LCS against redis-server 7.0, reply for reply in RESP2 and RESP3: the subsequence, LEN, IDX
with its ranges (order, merging, MINMATCHLEN, WITHMATCHLEN), errors, a table past
proto-max-bulk-len; then seeded random strings, from tiny alphabets (many ties in the walk)
to binary bytes.  Raftis's own bound (two long strings together, server/commands/lcs.py) is
checked on its own."""

from __future__ import annotations

import random

import pytest
from commands_differential import against_redis
from commands_harness import LocalExecutor

from resp.types import ErrorReply
from server.commands.lcs import MAX_TOTAL, TOO_LONG

SCRIPT = r"""
set a ohmytext
set b mynewtext
lcs a b
lcs a b LEN
lcs a b len
lcs a b IDX
lcs a b idx withmatchlen
lcs a b idx minmatchlen 4
lcs a b idx minmatchlen 4 withmatchlen
lcs a b idx minmatchlen -5 withmatchlen
lcs a b idx minmatchlen 0
lcs a b idx minmatchlen 100
lcs a b minmatchlen 2
lcs a b withmatchlen
lcs a b len minmatchlen 2 withmatchlen
lcs a b len idx
lcs a b idx len
lcs a b idx minmatchlen
lcs a b idx minmatchlen x
lcs a b idx minmatchlen 99999999999999999999
lcs a b bogus
lcs a b idx idx len
lcs a nokey
lcs nokey a idx
lcs nokey nokey2 idx withmatchlen
lcs nokey nokey2
lcs nokey nokey2 len
lcs a a idx withmatchlen
set empty ""
lcs empty a idx
set x1 "aaaa"
set x2 "aa"
lcs x1 x2 idx withmatchlen
set y1 "abcabcabc"
set y2 "cbacbacba"
lcs y1 y2
lcs y1 y2 idx withmatchlen
set z1 "xyz123xyz"
set z2 "123xyz123"
lcs z1 z2 idx withmatchlen
lcs z2 z1 idx withmatchlen
set bin1 "\x00\x01\x02\xff\x00"
set bin2 "\xff\x00\x01\x00"
lcs bin1 bin2
lcs bin1 bin2 idx withmatchlen
rpush list a
lcs list a
lcs a list
lcs list nokey idx
lcs a list bogus
hset h f v
lcs h h len
lcs a
lcs
"""


@pytest.mark.parametrize("resp3", [False, True])
def test_lcs_matches_redis(redis_server, resp3):
    problems = against_redis(redis_server, SCRIPT, resp3=resp3)
    assert not problems, "\n".join(problems)


def test_a_table_past_proto_max_bulk_len_is_refused_as_redis_does(redis_server):
    big = b"ab" * 6000  # (12000 + 1)^2 cells of 4 bytes: more than 512 MB
    script = [(1, "", [b"SET", b"big", big]), (2, "", [b"SET", b"small", b"ba"]),
              (3, "", [b"LCS", b"big", b"big"]), (4, "", [b"LCS", b"big", b"big", b"LEN"]),
              (5, "", [b"LCS", b"big", b"small", b"IDX"]), (6, "", [b"LCS", b"big", b"big", b"LEN", b"IDX"])]
    problems = against_redis(redis_server, script)
    assert not problems, "\n".join(problems)


def test_two_strings_longer_than_the_bound_together_are_refused():
    ex = LocalExecutor()
    ex.run("SET", "long", b"a" * (MAX_TOTAL - 1))
    ex.run("SET", "one", b"ab")
    ex.run("SET", "empty", b"")
    reply = ex.run("LCS", "long", "one")
    assert isinstance(reply, ErrorReply) and reply == TOO_LONG
    assert ex.run("LCS", "long", "empty", "LEN") == 0  # an empty side needs no table
    assert ex.run("LCS", "long", "nokey") == b""
    ex.run("SET", "one", b"a")
    assert ex.run("LCS", "long", "one", "LEN") == 1  # exactly at the bound


def _random_script(seed: int, steps: int) -> list[tuple[int, str, list[bytes]]]:
    rnd = random.Random(seed)
    out: list[tuple[int, str, list[bytes]]] = []
    for n in range(1, steps + 1):
        alphabet = rnd.choice([b"ab", b"abc", b"ACGT", b"abcdefghij", bytes(range(256))])
        for key in (b"k1", b"k2"):
            size = rnd.choice([0, 1, 3, 10, 40, 200, 800])
            out.append((n, "", [b"SET", key, bytes(rnd.choice(alphabet) for _ in range(size))]))
        opts: list[bytes] = rnd.choice([[], [b"LEN"], [b"IDX"], [b"IDX", b"WITHMATCHLEN"]])
        if b"IDX" in opts and rnd.random() < 0.5:
            opts += [b"MINMATCHLEN", b"%d" % rnd.choice([-1, 0, 1, 2, 3, 5])]
        first, second = rnd.choice([(b"k1", b"k2"), (b"k2", b"k1"), (b"k1", b"k1")])
        out.append((n, "", [b"LCS", first, second, *opts]))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_strings_match_redis(redis_server, seed):
    problems = against_redis(redis_server, _random_script(seed, 400), resp3=seed == 2)
    assert not problems, "\n".join(problems[:5])
