"""The differential test's own parts: replies split and compare as documented, and a seed
always gives the same sequence."""

from __future__ import annotations

from tests.compat.generator import SequenceGenerator
from tests.compat.replies import parse, same, split


def one(data: bytes):
    r, end = parse(data)
    assert end == len(data)
    return r


def test_split_keeps_partial_replies():
    data = b"+OK\r\n*2\r\n$1\r\na\r\n%1\r\n+k\r\n:1\r\n$5\r\nhel"
    replies, rest = split(data)
    assert [r.kind for r in replies] == ["+", "*"]
    assert rest == b"$5\r\nhel"
    inner = replies[1].value[1]
    assert inner.kind == "%" and [x.value for x in inner.value] == [b"k", 1]


def test_modes():
    a, b = one(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"), one(b"*2\r\n$1\r\nb\r\n$1\r\na\r\n")
    assert not same("exact", a, b) and same("unordered", a, b) and same("shape", a, b)
    h1 = one(b"*4\r\n$1\r\nf\r\n$1\r\n1\r\n$1\r\ng\r\n$1\r\n2\r\n")
    h2 = one(b"*4\r\n$1\r\ng\r\n$1\r\n2\r\n$1\r\nf\r\n$1\r\n1\r\n")
    h3 = one(b"*4\r\n$1\r\ng\r\n$1\r\n1\r\n$1\r\nf\r\n$1\r\n2\r\n")
    assert same("pairs", h1, h2) and not same("pairs", h1, h3)
    assert same("ttl", one(b":100\r\n"), one(b":99\r\n")) and not same("ttl", one(b":-1\r\n"), one(b":99\r\n"))
    assert not same("unordered", one(b"-ERR x\r\n"), one(b"-ERR y\r\n"))
    exec_a = one(b"*2\r\n+OK\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n")
    exec_b = one(b"*2\r\n+OK\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n")
    assert same(("exec", ["exact", "unordered"]), exec_a, exec_b)
    assert not same(("exec", ["exact", "exact"]), exec_a, exec_b)


def test_a_seed_gives_the_same_sequence():
    a = SequenceGenerator(42).steps(300)
    b = SequenceGenerator(42).steps(300)
    assert a == b and a != SequenceGenerator(43).steps(300)
    names = {s.argv[0].upper() for s in SequenceGenerator(42).steps(3000)}
    assert {b"MULTI", b"EXEC", b"SET", b"HSET", b"LPUSH", b"SADD", b"SELECT", b"EVAL", b"ZMPOP", b"BITFIELD", b"PFMERGE", b"SORT"} <= names
