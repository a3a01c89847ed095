"""Bitmap commands against redis-server 7.0, reply for reply: SETBIT, GETBIT, BITCOUNT,
BITPOS, BITOP, BITFIELD and BITFIELD_RO, their errors, and a seeded random mix of them."""

from __future__ import annotations

import random

import pytest
from commands_differential import against_redis

SCRIPT = r"""
setbit b 7 1
setbit b 7 1
setbit b 7 0
setbit b 100 1
get b
getbit b 100
getbit b 101
getbit b 100000
getbit nokey 5
setbit b -1 1
setbit b x 1
setbit b 4294967295 0
setbit b 4294967296 1
setbit b 1 2
setbit b 1 -1
setbit b 1 01
setbit b 1 x
getbit b -1
getbit b x
rpush l a
setbit l 1 1
getbit l 1
set s foobar
bitcount s
bitcount s 0 0
bitcount s 1 1
bitcount s 1 -1
bitcount s -2 -1
bitcount s -1 -2
bitcount s 5 30 bit
bitcount s 0 -1 bit
bitcount s -5 -1 bit
bitcount s 3 3 bit
bitcount s 0 1 byte
bitcount s 0 1 BIT
bitcount s 0 1 nibble
bitcount s 0
bitcount s a b
bitcount s 0 b
bitcount s -1 -5 foo
bitcount nokey
bitcount nokey a b
bitcount l
bitcount s 0 1 bit extra
set p "\xff\xf0\x00"
bitpos p 0
bitpos p 1
bitpos p 0 0
bitpos p 1 1
bitpos p 0 1 2
bitpos p 1 2 -1
bitpos p 0 0 -1
bitpos p 1 7 15 bit
bitpos p 0 7 15 bit
bitpos p 0 0 3 bit
bitpos p 1 20 23 bit
bitpos p 0 -3 -1 bit
bitpos p 1 5 bit
bitpos p 2
bitpos p x
bitpos p 1 a
bitpos p 1 0 a
bitpos p 1 0 1 words
bitpos p 1 0 1 bit extra
bitpos nokey 0
bitpos nokey 1
bitpos nokey 2
bitpos l 1
set ones "\xff\xff"
bitpos ones 0
bitpos ones 0 0 -1
bitpos ones 0 0
bitpos ones 0 1 1 byte
bitpos ones 0 0 15 bit
set empty ""
bitpos empty 0
bitpos empty 1
bitcount empty
set a "\x0f\xf0"
set c "\xff"
bitop and d a c
get d
bitop or d a c
get d
bitop xor d a c
get d
bitop not d a
get d
bitop not d a c
bitop nand d a c
bitop and d nokey1 nokey2
exists d
set d x
expire d 100
bitop or d a
ttl d
bitop and d a l
bitop or d a nokey
get d
bitop and d a nokey
get d
bitfield bf set u8 0 255 get u8 0
bitfield bf incrby u8 0 10
bitfield bf overflow sat incrby u8 0 1000 overflow fail incrby u8 0 1 overflow wrap incrby u8 0 1
bitfield bf set i8 8 -100 get i8 8 get u8 8 incrby i8 8 -50
bitfield bf overflow sat incrby i8 8 -200 overflow fail incrby i8 8 -1 get i8 8
bitfield bf set u4 #0 15 set u4 #1 3 get u4 #0 get u4 #1 get u8 0
bitfield bf set i64 0 -1 get i64 0 get u63 0 incrby i64 0 1
bitfield bf set i64 64 9223372036854775807 incrby i64 64 1 overflow sat incrby i64 64 10 get i64 64
bitfield bf set u63 0 -1 overflow sat set u63 0 -1 get u63 0 overflow fail set u8 0 300
bitfield bf get u3 5 get i3 5 get u13 3 get i13 3 get u1 0
bitfield bf set u1 200 1 get u1 200
get bf
bitfield bf get u64 0
bitfield bf get i65 0
bitfield bf get u0 0
bitfield bf get x8 0
bitfield bf get I8 0
bitfield bf get u8 -1
bitfield bf get u8 #-1
bitfield bf get u8 a
bitfield bf set u8 0 a
bitfield bf overflow nope
bitfield bf nope u8 0
bitfield bf get u8
bitfield bf set u8 0
bitfield bf overflow
bitfield bf
bitfield nobf get u8 0 get i16 100
exists nobf
bitfield nobf2 overflow fail set u8 0 300
exists nobf2
get nobf2
bitfield l get u8 0
bitfield l set u8 0 1
bitfield_ro bf get u8 0 get i4 4
bitfield_ro bf set u8 0 1
bitfield_ro bf get u8 0 incrby u8 0 1
bitfield_ro bf nope
bitfield_ro bf
bitfield_ro nobf get u8 0
bitfield bf get u8 4294967288
bitfield bf get u8 4294967289
bitfield bf get u8 #536870911
"""


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_bitmap_commands_match_redis(redis_server, resp3):
    problems = against_redis(redis_server, SCRIPT, resp3=resp3)
    assert not problems, "\n".join(problems)


def _random_script(seed: int, steps: int) -> list[tuple[int, str, list[bytes]]]:
    rnd = random.Random(seed)
    keys = [b"r1", b"r2", b"r3"]
    out = []

    def num(lo: int, hi: int) -> bytes:
        return str(rnd.randint(lo, hi)).encode()

    def field() -> tuple[bytes, bytes]:
        signed = rnd.random() < 0.5
        bits = rnd.randint(1, 64 if signed else 63)
        offset = (b"#" + num(0, 8)) if rnd.random() < 0.2 else num(0, 90)
        return (b"i" if signed else b"u") + str(bits).encode(), offset

    for n in range(steps):
        k = rnd.choice(keys)
        kind = rnd.randrange(8)
        if kind == 0:
            argv = [b"SETBIT", k, num(0, 80), num(0, 1)]
        elif kind == 1:
            argv = [b"GETBIT", k, num(0, 90)]
        elif kind == 2:
            argv = [b"BITCOUNT", k]
            if rnd.random() < 0.7:
                argv += [num(-12, 12), num(-12, 12)]
                if rnd.random() < 0.5:
                    argv.append(rnd.choice([b"BIT", b"BYTE"]))
        elif kind == 3:
            argv = [b"BITPOS", k, num(0, 1)]
            if rnd.random() < 0.7:
                argv.append(num(-12, 12))
                if rnd.random() < 0.6:
                    argv.append(num(-12, 12))
                    if rnd.random() < 0.5:
                        argv.append(rnd.choice([b"BIT", b"BYTE"]))
        elif kind == 4:
            argv = [b"BITOP", rnd.choice([b"AND", b"OR", b"XOR"]), rnd.choice(keys), *rnd.sample(keys, 2)]
        elif kind == 5:
            argv = [b"BITOP", b"NOT", rnd.choice(keys), rnd.choice(keys)]
        else:
            argv = [b"BITFIELD" if kind == 6 else b"BITFIELD_RO", k]
            for _ in range(rnd.randint(1, 4)):
                op = rnd.randrange(4) if kind == 6 else 0
                enc, off = field()
                if op == 0:
                    argv += [b"GET", enc, off]
                elif op == 1:
                    argv += [b"SET", enc, off, num(-(2**63), 2**63 - 1) if rnd.random() < 0.3 else num(-300, 300)]
                elif op == 2:
                    argv += [b"INCRBY", enc, off, num(-(2**63), 2**63 - 1) if rnd.random() < 0.3 else num(-300, 300)]
                else:
                    argv += [b"OVERFLOW", rnd.choice([b"WRAP", b"SAT", b"FAIL"])]
        out.append((n + 1, "", argv))
        if rnd.random() < 0.1:
            out.append((n + 1, "", [b"GET", k]))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_bitmap_commands_match_redis(redis_server, seed):
    problems = against_redis(redis_server, _random_script(seed, 1500))
    assert not problems, "\n".join(problems[:10])
