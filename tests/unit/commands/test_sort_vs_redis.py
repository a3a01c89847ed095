"""SORT and SORT_RO against redis-server 7.0, reply for reply: numeric and ALPHA order, BY
and GET patterns (keys and hash fields), LIMIT, STORE, and their errors.

Left out, as the two may differ by design (server/commands/sort.py): the order of elements
whose ALPHA sort keys tie, and a set sorted BY a constant pattern outside STORE. Scores out
of a double's range are checked here only (``test_a_score_out_of_range_is_an_error``): Redis
reads strtod's errno without clearing it first, so after one such score every numeric SORT
of that redis-server fails alike."""

from __future__ import annotations

import pytest
from commands_differential import against_redis

SCRIPT = r"""
rpush nums 3 1 2 10 -5 2.5 1e2 0x10 " 7"
sort nums
sort nums desc
sort nums limit 0 3
sort nums limit 2 100
sort nums limit -1 3
sort nums limit 3 -1
sort nums limit 100 5
sort nums limit 0 0
sort nums desc limit 1 2
sort nums alpha
sort nums alpha desc
sort nums alpha limit 1 3
sort nums limit a 1
sort nums limit 1
sort nums nosuch
sort nums by
sort nums store
rpush words banana apple cherry "" apple
sort words
sort words alpha
sort words alpha desc
rpush bad 1 2 x
sort bad
sort bad alpha
rpush nan 1 nan
sort nan
rpush inf 1 inf -inf
sort inf
rpush trailing "1 " 2
sort trailing
sadd s 5 3 9 1 2
sort s
sort s desc
sort s alpha limit 1 2
sort s by nosort
sort s by nosort store s2
lrange s2 0 -1
zadd z 3 c 1 a 2 b 5 e 4 d
sort z alpha
sort z by nosort
sort z by nosort desc
sort z by nosort limit 1 2
sort z by nosort desc limit 1 2
sort nums by nosort
sort nums by nosort desc limit 2 3
set w_3 30
set w_1 10
set w_2 20
set w_10 5
rpush ids 1 2 3 10 4
sort ids by w_*
sort ids by w_* desc
sort ids by w_* get #
sort ids by w_* get w_* get #
sort ids by w_* limit 1 2 get w_*
sort ids get w_*
sort ids get w_* get nostar
sort ids by w_* alpha
hset o_1 name one rank 3
hset o_2 name two rank 1
hset o_3 name three rank 2
sort ids by o_*->rank get o_*->name get #
sort ids by o_*->rank desc get o_*->name
sort ids by o_*->nofield get o_*->name
sort ids by o_*-> get #
sort ids get o_*->name store dest
lrange dest 0 -1
sort ids by w_* store dest2
lrange dest2 0 -1
set wbad_1 x
rpush idb 1
sort idb by wbad_*
sort ids by w_* get o_*->name store dest3 limit 0 2
lrange dest3 0 -1
sort nokey
sort nokey store dest
exists dest
sort nokey by w_* get #
set str x
sort str
hset h f v
sort h
set dest4 x
expire dest4 100
sort ids store dest4
ttl dest4
type dest4
sort_ro ids by w_* get w_*
sort_ro ids store x
sort_ro nums desc limit 0 2
sort_ro str
sort
sort_ro
"""


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_sort_matches_redis(redis_server, resp3):
    problems = against_redis(redis_server, SCRIPT, resp3=resp3)
    assert not problems, "\n".join(problems)


def test_a_score_out_of_range_is_an_error(ex):
    ex.run("rpush", "huge", "1", "1e400")
    ex.run("rpush", "tiny", "1", "1e-400")
    ex.run("rpush", "fine", "1", "1e300", "1e-300", "inf")
    for key in ("huge", "tiny"):
        assert str(ex.run("sort", key)) == "ERR One or more scores can't be converted into double"
    assert ex.run("sort", "fine") == [b"1e-300", b"1", b"1e300", b"inf"]
