"""Differential tests: the same commands to redis-server 7.0 and to our command table, with
the encoded replies compared byte for byte (RESP2, then RESP3 after HELLO 3)."""

from __future__ import annotations

import pytest
from commands_differential import against_redis
from commands_harness import LocalExecutor

from resp import ErrorReply

STRINGS = r"""
set a 1
get a
GET a
get nokey
get
get a b
set
set a
set a b c
set a b ex 0
set a b ex -1
set a b ex abc
set a b ex 99999999999999999
set a b px 0
set a b exat 0
set a b pxat 0
set a b px 10 ex 10
set a b ex 10 ex 20
ttl a
set a b nx xx
set a b xx nx
set a b keepttl ex 10
set a b ex 10 keepttl
set a b px 10 keepttl
set a b pxat 1 px 1
set a b foo
set a b ex
set a b EX 100 GET
set a c xx get
set newkey v xx
get newkey
set newkey v nx get
set newkey w nx get
set newkey w nx
set a b get nx
set a b keepttl
ttl a
set a b persist
setnx a x
setnx sn x
get sn
getset sn y
getset nokey2 y
getdel sn
getdel sn
getex a
getex nokey
getex a ex 100
ttl a
getex a persist
ttl a
getex a px 5000 persist
getex a foo
getex a ex 0
getex a exat 1
exists a
getex
setex sx 100 v
ttl sx
setex sx 0 v
setex sx -5 v
setex sx x v
psetex px 100000 v
?approx pttl px
psetex px 0 v
mget a sx nokey px
mset k1 v1 k2 v2
mset k1 v1 k2
mset k1
msetnx k1 x k3 y
msetnx k3 x k4 y
mget k1 k3 k4
msetnx k5 x k5
incr counter
incr counter
incrby counter 10
incrby counter -100
decr counter
decrby counter 5
decrby counter -5
incrby counter x
incrby counter 1.5
incrby counter ""
incrby counter " 1"
incrby counter +1
incrby counter 01
set big 9223372036854775807
incr big
set small -9223372036854775808
decr small
decrby small 9223372036854775808
decrby small -9223372036854775808
incrby small 9223372036854775807
set notint abc
incr notint
incr k1
set spaced " 1"
incr spaced
set float 10.50
incrbyfloat float 0.1
incrbyfloat float -5.0e3
incrbyfloat float 3.0e3
incrbyfloat float 1e5000
incrbyfloat float nan
incrbyfloat float inf
incrbyfloat float abc
incrbyfloat newfloat 0.1
incrbyfloat newfloat 0.2
incrbyfloat newfloat 1.1e20
incrbyfloat newfloat -1.1e20
incrbyfloat newfloat 0x10
incrbyfloat newfloat " 1"
incrbyfloat newfloat "1 "
incrbyfloat newfloat 5.0e-3
get newfloat
incrbyfloat notint 1
set f2 1.7976931348623157e308
incrbyfloat f2 1.7976931348623157e308
incrbyfloat f2 -1.7976931348623157e308
append ap hello
append ap " world"
get ap
strlen ap
strlen nokey
getrange ap 0 4
getrange ap -5 -1
getrange ap 5 1
getrange ap -1 -5
getrange ap 0 -100
getrange ap -100 100
getrange ap 100 200
getrange nokey 0 1
getrange ap x 1
substr ap 1 3
setrange ap 6 W
get ap
setrange ap 20 x
get ap
setrange sr 3 ab
get sr
setrange sr -1 x
setrange sr 536870912 x
setrange sr2 5 ""
exists sr2
setrange ap 0 ""
setrange ap x y
hset h f v
get h
strlen h
append h x
incr h
incrbyfloat h 1
getrange h 0 1
setrange h 0 x
getset h x
get h
mget h a
getdel a
getex h
set xa v exat 99999999999
expiretime xa
set xa v pxat 99999999999123
pexpiretime xa
expiretime xa
set xa v keepttl
pexpiretime xa
getex xa exat 99999999998
expiretime xa
getex xa pxat 99999999998001 persist
getex xa pxat 99999999998001
pexpiretime xa
getex xa persist
expiretime xa
getex xa pxat 1
exists xa
set xa v exat 1
exists xa
set xa v px 9223372036854775807
set xa v ex 9223372036854775
set xa v ex 9223372036854
get xa
getex xa ex 9223372036854775
getex xa px 9223372036854775807
"""

KEYS = r"""
set a 1
set b 2
set c 3
del a b nokey
del a
exists a b c c nokey
exists
touch c c nokey
type c
type nokey
hset h f v
type h
set e 1
expire e 100
ttl e
?approx pttl e
expiretime nokey
expiretime c
expire e 100 nx
expire e 200 xx
ttl e
expire e 50 gt
expire e 500 gt
ttl e
expire e 600 lt
expire e 50 lt
ttl e
expire c 50 xx
expire c 50 gt
expire c 50 lt
ttl c
persist c
persist c
persist nokey
expire e 10 nx xx
expire e 10 gt lt
expire e 10 nx gt
expire e 10 foo
expire e abc
expire e 99999999999999999
expire e -99999999999999999
pexpire e 9223372036854775807
expireat e 9223372036854775807
pexpireat e 9223372036854775807
expire nokey 10
expire e -1
exists e
set e2 x
pexpireat e2 1
exists e2
set e3 x
expireat e3 99999999999
expiretime e3
pexpiretime e3
ttl nokey
pttl nokey
pttl c
expire
expire e
set k1 v
set k2 v
set other v
?sort keys *
?sort keys k*
?sort keys k?
keys [k]1
keys [^o]1
keys *[
keys ""
dbsize
rename k1 k9
get k9
rename k1 k9
rename k9 k9
renamenx k9 k9
rename nokey nokey
renamenx k9 k2
renamenx k9 k3
set t1 v
expire t1 100
rename t1 t2
ttl t2
copy t2 t3
ttl t3
copy t2 t3
copy t2 t3 replace
copy t2 t2
copy t2 t2 db 1
copy t2 t2 db 16
copy t2 t2 db x
copy t2 t2 foo
copy nokey t9
copy h h2
type h2
move t2 1
move t2 1
move t3 0
move t3 16
move t3 x
move nokey 1
select 1
get t2
ttl t2
select 0
swapdb 0 1
get t2
swapdb 0 1
swapdb 0 x
swapdb x 0
swapdb 0 16
swapdb 0 -1
swapdb 0 0
flushdb foo
flushdb async
dbsize
set a 1
flushall sync
dbsize
flushall x y
object encoding nokey
set i 12345
object encoding i
set s hello
object encoding s
set r aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
object encoding r
object refcount i
object refcount s
object freq s
object idletime nokey
object foo
object
object encoding
scan x
scan 0 count 0
scan 0 count x
scan 0 type
scan 0 match
scan 0 foo bar
?sort scan 0
?sort scan 0 count 100 match i
scan 0 type hash
?same-shape randomkey
flushall
?same-shape randomkey
unknowncmd a b c
UNKNOWN
"""

HASHES = r"""
hset h f1 v1 f2 v2
hset h f1 x
hset h f1
hset h
hmset h f3 v3
hmset h f3
hget h f1
hget h nofield
hget nokey f
hmget h f1 nofield f2
hmget nokey a b
hmget h
hlen h
hlen nokey
hstrlen h f1
hstrlen h nofield
hexists h f1
hexists h nofield
hexists nokey f
hkeys h
hvals h
hgetall h
hgetall nokey
hkeys nokey
hsetnx h f1 y
hsetnx h f9 y
hdel h f9 nofield
hdel nokey f
hincrby h n 5
hincrby h n -10
hincrby h n x
hincrby h f1 1
hset h big 9223372036854775807
hincrby h big 1
hincrbyfloat h fl 0.1
hincrbyfloat h fl 0.2
hincrbyfloat h fl inf
hincrbyfloat h fl nan
hincrbyfloat h fl x
hincrbyfloat h f1 1
hincrbyfloat h n 1.5
hset h e 1e3
hincrbyfloat h e 1
hgetall h
hrandfield nokey
hrandfield nokey 5
hrandfield h 0
hrandfield h x
hrandfield h 1 withvalues x
hrandfield h 1 foo
hrandfield h -9223372036854775808
hrandfield h 9223372036854775807 withvalues
?sort hrandfield h 100
?sort hrandfield h 100 withvalues
hscan h 0
hscan h x
hscan nokey 0 foo
hscan h 0 foo
hscan h 0 count 0
hscan h 0 match f*
del h
hdel h f1
hset d a 1
hdel d a
exists d
set s str
hset s f v
hget s f
hgetall s
hlen s
hincrby s f 1
hincrbyfloat s f 1
hrandfield s
hscan s 0
hsetnx s f v
hdel s f
"""

CONNECTION = r"""
ping
ping hello
ping a b
PING
echo hi
echo
select 0
select 15
select 16
select -1
select x
select 1
set k v
select 0
get k
select 1
get k
select 0
?same-shape hello
?same-shape hello 2
hello 4
hello 1
hello x
hello 2 foo
hello 2 setname "bad name"
hello 2 auth default
?same-shape hello 2 setname good
client getname
client setname "a b"
client setname ok-name
client getname
client setname ""
client getname
client setname
client foo
client
?same-shape client id
client no-evict on
client no-evict off
client no-evict maybe
config get save
config get appendonly
config get nonexistent
config foo
config get
command foo
command count x
command info nosuchcommand
object help x
reset x
"""

_GLOB_KEYS = [
    b"a",
    b"b",
    b"ab",
    b"abc",
    b"a*c",
    b"a?c",
    b"a[c",
    b"a]c",
    b"a\\c",
    b"x-y",
    b"xay",
    b"h\xe9llo",
    b"hello",
    b"hallo",
    b"hxllo",
    b"-",
    b"^",
    b"A",
    b"h\xffllo",
    b"",
]
_GLOB_PATTERNS = [
    b"*",
    b"a*",
    b"*c",
    b"a?c",
    b"a\\*c",
    b"a\\?c",
    b"a[bc]c",
    b"a[^b]c",
    b"a[a-c]c",
    b"a[c-a]c",
    b"[a-]",
    b"[-a]",
    b"x[-]y",
    b"a[\\]]c",
    b"a[",
    b"a[b",
    b"a\\",
    b"h[^e]llo",
    b"h[a-z]llo",
    b"h?llo",
    b"**a**",
    b"*[",
    b"\\",
    b"[^]",
    b"[]",
    b"[]a]",
    b"[!a]",
    b"a[\\",
    b"[A-a]",
    b"?",
    b"??",
    b"*?*?*",
    b"h*o",
    b"*l*l*o*",
    b"[^-]",
    b"h[\x80-\xff]llo",
    b"h[a-\xff]llo",
    b"",
]
GLOB = (
    [(0, "", [b"set", k, b"1"]) for k in _GLOB_KEYS]
    + [(i, "?sort", [b"keys", p]) for i, p in enumerate(_GLOB_PATTERNS)]
    + [(0, "", [b"flushall"])]
)


@pytest.mark.parametrize(
    "script",
    [STRINGS, KEYS, HASHES, CONNECTION, GLOB],
    ids=["strings", "keys", "hashes", "connection", "glob"],
)
@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_matches_redis(redis_server, script, resp3):
    problems = against_redis(redis_server, script, resp3=resp3)
    assert not problems, "\n".join(problems)


# Commands Redis 7.0 does not have (7.2 additions clients use); RAFT.* and RAFTIS.* are ours.
_NOT_IN_REDIS_70 = {b"client|setinfo", b"client|no-touch"}


def test_command_table_matches_redis(redis_server):
    """Arity, key positions, flags and ACL categories as Redis 7.0's COMMAND INFO gives them."""
    import hiredis

    from server.commands import COMMANDS

    client = redis_server.client()
    problems = []
    try:
        for cmd in COMMANDS.values():
            if cmd.internal:
                continue
            for c in [cmd, *(cmd.subcommands or {}).values()]:
                r = hiredis.Reader()
                r.feed(client.call("COMMAND", "INFO", c.name))
                info = r.gets()[0]
                if info is None:
                    if c.name not in _NOT_IN_REDIS_70 and not c.name.startswith(b"raft"):
                        problems.append(f"{c.name!r}: unknown to redis-server")
                    continue
                theirs = (info[1], info[3], info[4], info[5], sorted(info[2]), list(info[6]))
                ours = (
                    c.arity,
                    c.first_key,
                    c.last_key,
                    c.step,
                    sorted(f.encode() for f in c.flags if f != "internal"),
                    [a.encode() for a in c.acl_categories],
                )
                if theirs != ours:
                    problems.append(f"{c.name!r}:\n    redis: {theirs}\n    ours:  {ours}")
    finally:
        client.close()
    assert not problems, "\n".join(problems)


def test_object_idletime_says_it_is_not_tracked():
    ex = LocalExecutor()
    ex.run("SET", "k", "v")
    reply = ex.run("OBJECT", "IDLETIME", "k")
    assert isinstance(reply, ErrorReply) and "does not record when keys were last accessed" in reply.message
    assert ex.run("OBJECT", "IDLETIME", "nokey") is None
