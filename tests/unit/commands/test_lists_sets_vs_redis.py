"""Differential tests for the list and set families: the same commands to redis-server 7.0
and to our command table, replies compared byte for byte in RESP2 and RESP3.

Redis leaves the order of SMEMBERS/SINTER/SUNION/SDIFF/SPOP/SSCAN replies unspecified (an
intset even comes back sorted); those lines are marked ``?sort``.  Here ``?sort`` is stricter
than in ``differential.run_script``: the reply's RESP type (``*`` array or ``~`` set) and
length must match too, only the order of the elements may differ.  Blocking commands appear
only where they serve at once or fail; what they do when they would block is tested in
test_lists.py.
"""

from __future__ import annotations

import pytest
from commands_differential import _decode, _sorted, against_redis, parse_script

from resp import encode
from server.commands.blocking import Blocked

LISTS = r"""
rpush l a b c
lpush l x y
lrange l 0 -1
rpush
rpush l
lpush l
llen l
llen nokey
lpushx nokey a
rpushx nokey a
exists nokey
lpushx l z1 z2
rpushx l w1 w2
lrange l 0 -1
lrange l -3 -1
lrange l 2 1
lrange l -100 100
lrange l 100 200
lrange l 0 0
lrange l -1 -1
lrange l 5 -5
lrange l x 1
lrange l 1 x
lrange nokey 0 -1
lrange nokey x 1
lindex l 0
lindex l -1
lindex l 100
lindex l -100
lindex l x
lindex nokey x
lindex nokey 0
lset l 0 first
lset l -1 last
lset l 100 v
lset l -100 v
lset l x v
lset nokey 0 v
lset nokey x v
lrange l 0 -1
linsert l before b B
linsert l after b B2
linsert l after nopivot v
linsert l middle b v
linsert nokey before a b
linsert nokey middle a b
lrange l 0 -1
lpop l
rpop l
lpop l 2
rpop l 2
lpop l 0
lpop l -1
lpop l x
lpop l 1 2
lpop nokey
lpop nokey 2
lpop nokey 0
rpop nokey 2
lpop nokey -1
lrange l 0 -1
lpop l 100
exists l
rpush r a b a c a d a
lrem r 2 a
lrange r 0 -1
rpush r a a
lrem r -2 a
lrange r 0 -1
lrem r 0 a
lrange r 0 -1
lrem r 0 nothing
lrem r x a
lrem nokey 0 a
rpush one a
lrem one 0 a
exists one
rpush t 0 1 2 3 4 5 6 7 8 9
ltrim t 1 -2
lrange t 0 -1
ltrim t -3 -1
lrange t 0 -1
ltrim t 0 100
lrange t 0 -1
ltrim t 2 1
exists t
ltrim nokey 0 1
ltrim t x 1
ltrim nokey x 1
rpush p a b c a b c a
lpos p a
lpos p b
lpos p z
lpos p a rank 2
lpos p a rank -1
lpos p a rank -2
lpos p a rank 5
lpos p a rank 0
lpos p a rank x
lpos p a count 0
lpos p a count 2
lpos p a count 2 rank -1
lpos p a count 0 maxlen 4
lpos p a maxlen 1
lpos p a maxlen 1 rank 2
lpos p a count -1
lpos p a maxlen -1
lpos p a count
lpos p a count x
lpos p a maxlen x
lpos p a foo 1
lpos p a rank 1 rank 2
lpos p a rank -9223372036854775808
lpos p a rank -9223372036854775808 count 1
lpos p a rank -9223372036854775807
lpos p a rank 9223372036854775807 count 0
lpos nokey a
lpos nokey a count 0
lpos nokey a rank 0
rpush m1 a b c
lmove m1 m2 left right
lmove m1 m2 right left
lrange m2 0 -1
lmove m1 m2 up left
lmove m1 m2 left down
lmove nokey m2 left left
lmove m1 m1 left right
lrange m1 0 -1
lmove m1 m3 LEFT RIGHT
exists m1
lmove m2 m2 right left
lrange m2 0 -1
rpoplpush m2 m4
rpoplpush m2 m4
rpoplpush m2 m4
rpoplpush m2 m4
lrange m4 0 -1
rpush single x
rpoplpush single single
lrange single 0 -1
lmpop 1 nokey left
rpush mp a b c d e
lmpop 2 nokey mp left
lmpop 2 nokey mp right count 2
lmpop 1 mp left count 10
exists mp
lmpop 0 mp left
lmpop -1 mp left
lmpop x mp left
lmpop 1 mp
lmpop 2 mp left
lmpop 1 mp middle
lmpop 1 mp left count 0
lmpop 1 mp left count -1
lmpop 1 mp left count x
lmpop 1 mp left count 1 count 1
lmpop 1 mp left foo
lmpop 1 mp left count
lmpop 9223372036854775807 mp left
rpush bl a b c
blpop nokey bl 0
brpop nokey bl 0
blpop bl 1.5
exists bl
rpush bl a b c
blpop bl x
blpop bl -1
blpop bl -0.001
blpop bl inf
blpop bl -inf
blpop bl nan
blpop bl 1e20
blpop bl 0x10
blpop bl ""
blpop bl
rpush bl a b c
blmove bl dst left right 0
blmove bl dst up right 0
blmove bl dst left right x
blmove bl dst left right -1
brpoplpush bl dst 0
brpoplpush bl dst x
brpoplpush bl dst -5
lrange dst 0 -1
blmpop 0 1 bl left
rpush bl a b c
blmpop 0 1 bl right count 5
rpush bl a b c
blmpop 0 2 nokey bl left count 2
blmpop x 1 bl left
blmpop -1 1 bl left
blmpop 0 0 bl left
blmpop 0 1 bl
blmpop 0 1 bl left count 0
blmpop 0 1 bl left x
blmpop 0 1 bl
set s str
lpush s a
rpush s a
lpushx s a
llen s
lrange s 0 -1
lindex s 0
lset s 0 a
linsert s before a b
lrem s 0 a
ltrim s 0 1
lpos s a
lpop s
rpop s 1
lmove s m1 left left
lmove bl s left left
rpoplpush nokey s
lmpop 2 nokey s left
lmpop 2 bl s left
rpush bl a b c
blpop nokey s 0
blmove s m1 left left 0
blmove bl s left left 0
blmpop 0 2 nokey s left
"""

SETS = r"""
sadd s a b c
sadd s a d
sadd s
sadd
scard s
scard nokey
sismember s a
sismember s z
sismember nokey a
smismember s a z b
smismember nokey a b
smismember s
?sort smembers s
smembers nokey
srem s a z
srem s
srem nokey a
sadd one x
srem one x
exists one
sadd i 3 1 2
?sort smembers i
sscan i 0
sscan i 0 count 1
sscan i 0 match 1*
sscan nokey 0
sscan nokey x
sscan i x
sscan i 0 foo
sscan i 0 count 0
?sort sscan s 0
?sort sscan s 0 match b
sadd s1 a b c d
sadd s2 c d e
sadd s3 d e f
?sort sinter s1 s2
?sort sinter s1 s2 s3
sinter s1 nokey
sinter nokey s1
?sort sinter s1
sinter
?sort sunion s1 s2 s3
?sort sunion s1 nokey
sunion nokey
?sort sdiff s1 s2
?sort sdiff s1 s2 s3
sdiff nokey s1
?sort sdiff s1 nokey
sdiff s1 s1
sintercard 2 s1 s2
sintercard 3 s1 s2 s3
sintercard 2 s1 nokey
sintercard 1 s1 limit 2
sintercard 1 s1 limit 0
sintercard 1 s1 limit -1
sintercard 1 s1 limit x
sintercard 1 s1 limit
sintercard 1 s1 foo
sintercard 0 s1
sintercard -1 s1
sintercard x s1
sintercard 3 s1 s2
sintercard 1 nokey
sinterstore d s1 s2
?sort smembers d
sinterstore d s1 nokey
exists d
sunionstore d s1 s2
scard d
sunionstore d nokey
exists d
sdiffstore d s1 s2
?sort smembers d
sdiffstore d s1 s1
exists d
sadd d x
expire d 100
sunionstore d s1
ttl d
set str v
sinterstore str s1 s2
type str
set str v
sinterstore d s1 str
sinter s1 str
sinter nokey str
sunion s1 str
sdiff s1 str
sunionstore d str
sdiffstore d str
sintercard 2 nokey str
sadd str a
srem str a
smembers str
sismember str a
smismember str a
scard str
spop str
spop str 2
srandmember str
srandmember str 2
smove str s1 a
smove s1 str a
sscan str 0
sadd m1 a b
sadd m2 c
smove m1 m2 a
smove m1 m2 z
smove nokey m2 a
smove m1 m1 b
smove m1 m1 z
smove m1 m2 b
exists m1
?sort smembers m2
smove m2 fresh c
smove nokey str a
?sort smembers fresh
sadd p a b c d e
spop nokey
spop nokey 2
spop nokey 0
spop p 0
spop p -1
spop p x
spop p 1 2
scard p
?sort spop p 10
exists p
sadd p a
spop p
exists p
srandmember nokey
srandmember nokey 5
srandmember nokey -5
srandmember nokey 0
sadd r a b c
srandmember r 0
srandmember r x
srandmember r 1 2
srandmember r -9223372036854775808
?sort srandmember r 3
?sort srandmember r 100
sadd big 1 2 3 x
?sort smembers big
?sort sscan big 0
"""

# Larger values: a long list walked from either end, hashtable-encoded sets.
_N = 300
BIGGER = "\n".join(
    [
        "rpush big " + " ".join(str(i) for i in range(_N)),
        "lrange big 250 260",
        "lrange big -5 -1",
        "lrange big 10 12",
        "lindex big 150",
        "lindex big -150",
        "lpos big 299 maxlen 100",
        "lpos big 299 rank -1 maxlen 1",
        "linsert big before 200 x",
        "lindex big 200",
        "lset big 250 y",
        "ltrim big 100 -100",
        "llen big",
        "lrange big 0 2",
        "lrange big -2 -1",
        "sadd a " + " ".join(f"m{i}" for i in range(_N)),
        "sadd b " + " ".join(f"m{i}" for i in range(0, _N, 3)),
        "sintercard 2 a b",
        "sintercard 2 a b limit 7",
        "?sort sdiff b a",
        "sdiffstore c a b",
        "scard c",
        "sinterstore c a b",
        "smismember c m0 m1 m3",
        "sunionstore c a b",
        "scard c",
        "?sort spop c 1000",
        "exists c",
        "scard a",
        "srandmember a 0",
    ]
)


def _check(script: str, client, ex) -> list[str]:
    problems = []
    for lineno, mode, args in parse_script(script):
        line = b" ".join(args).decode("latin-1")
        reply = ex.run(*args)
        if isinstance(reply, Blocked):
            # redis-server would block too; the script must not get here.
            problems.append(f"line {lineno}: {line!r} blocks")
            continue
        ours = encode(reply, ex.session.resp3)
        theirs = client.call(*args)
        if theirs == ours:
            continue
        if mode == "?sort":
            # Same RESP type and length line, same elements in some order.
            head_theirs = theirs.split(b"\r\n", 1)[0]
            head_ours = ours.split(b"\r\n", 1)[0]
            if head_theirs == head_ours and _sorted(_decode(theirs)) == _sorted(_decode(ours)):
                continue
        problems.append(f"line {lineno}: {line!r}\n    redis: {theirs!r}\n    ours:  {ours!r}")
    return problems


@pytest.mark.parametrize("script", [LISTS, SETS, BIGGER], ids=["lists", "sets", "bigger"])
@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_matches_redis(redis_server, script, resp3):
    problems = against_redis(redis_server, script, resp3=resp3, check=_check)
    assert not problems, "\n".join(problems)
