"""FUNCTION DUMP and FUNCTION RESTORE against redis-server 7.0: the same payload bytes for the
same library, payloads that cross both ways, every restore policy, and every error, reply for
reply. Libraries are loaded one at a time where bytes are compared (Redis dumps several in its
dictionary's order, as it lists a library's functions: the libraries here have one each, or
are compared by calling them)."""

from __future__ import annotations

import pytest

from tests.resp_conn import Conn

LIB_A = (b"#!lua name=liba\n"
         b"redis.register_function{function_name='fa', callback=function(keys, args) return args[1] end,"
         b" flags={'no-writes'}, description='the first'}")
LIB_A2 = b"#!lua name=liba\nredis.register_function('fa3', function() return 3 end)"
LIB_B = b"#!lua name=libb\nredis.register_function('fb', function() return 'b' end)"
LIB_FA = b"#!lua name=libc\nredis.register_function('fa', function() return 'clash' end)"
LIB_LONG = b"#!lua name=longlib\n" + b"".join(
    b"redis.register_function('g%d', function(keys, args) return %d end)\n" % (i, i) for i in range(40))


def _run(port: int) -> list:
    c = Conn(port)
    out = []

    def step(*argv):
        reply = c.call(*argv)
        if argv[:2] == ("FUNCTION", "LIST") and isinstance(reply, list):
            reply = _in_order(reply)
        out.append((argv[:2], reply))
        return reply

    step("FUNCTION", "FLUSH")
    step("FUNCTION", "DUMP")  # no libraries: an empty payload
    empty = out[-1][1]
    step("FUNCTION", "LOAD", LIB_A)
    dump_a = step("FUNCTION", "DUMP")
    step("FUNCTION", "FLUSH")
    step("FUNCTION", "LOAD", LIB_LONG)
    dump_long = step("FUNCTION", "DUMP")  # long enough to be LZF-compressed
    step("FUNCTION", "FLUSH")
    step("FUNCTION", "LOAD", LIB_B)
    dump_b = step("FUNCTION", "DUMP")
    step("FUNCTION", "LOAD", LIB_FA)
    dump_clash = _only(c, b"libc")
    step("FUNCTION", "FLUSH")
    step("FUNCTION", "LOAD", LIB_A2)
    dump_a2 = step("FUNCTION", "DUMP")
    step("FUNCTION", "FLUSH")

    step("FUNCTION", "RESTORE", dump_a)
    step("FCALL", "fa", 0, "x")
    step("FUNCTION", "LIST", "WITHCODE")
    step("FUNCTION", "RESTORE", dump_a)  # APPEND: the library is there
    step("FUNCTION", "RESTORE", dump_a, "APPEND")
    step("FUNCTION", "RESTORE", dump_a2, "REPLACE")
    step("FUNCTION", "LIST", "WITHCODE")
    step("FCALL", "fa", 0, "x")  # gone with the replaced library
    step("FUNCTION", "RESTORE", dump_b, "append")
    step("FUNCTION", "RESTORE", dump_clash)  # libc's fa clashes with nothing now
    step("FUNCTION", "RESTORE", dump_a, "REPLACE")  # liba's fa clashes with libc's
    step("FUNCTION", "LIST")
    step("FUNCTION", "RESTORE", dump_long, "FLUSH")
    step("FUNCTION", "LIST")
    step("FCALL", "g39", 0)
    step("FUNCTION", "RESTORE", empty, "FLUSH")
    step("FUNCTION", "LIST")
    # errors change nothing
    step("FUNCTION", "RESTORE", dump_a, "ALL")
    step("FUNCTION", "RESTORE", dump_a, "FLUSH", "x")
    step("FUNCTION", "RESTORE", b"")
    step("FUNCTION", "RESTORE", b"garbage")
    step("FUNCTION", "RESTORE", dump_a[:-1] + bytes([dump_a[-1] ^ 1]))  # checksum
    step("FUNCTION", "RESTORE", dump_a[:-10] + b"\x0b\x00" + dump_a[-8:])  # a newer version
    for bad in (b"\x00", b"\xf5\x05abc", b"\xf5\x03abc", b"\xf5\x0c#!lua name=z",
                b"\xf5" + bytes([len(LIB_B)]) + LIB_B + b"\xf5" + bytes([len(LIB_B)]) + LIB_B):
        step("FUNCTION", "RESTORE", _payload(bad))
    step("FUNCTION", "DUMP", "x")
    step("FUNCTION", "LIST")
    c.close()
    return out


def _in_order(libraries: list) -> list:
    """FUNCTION LIST with libraries and their functions by name (Redis lists both in its
    dictionaries' order)."""
    out = []
    for e in sorted(libraries, key=lambda e: e[e.index(b"library_name") + 1]):
        e = list(e)
        at = e.index(b"functions") + 1
        e[at] = sorted(e[at], key=lambda f: f[f.index(b"name") + 1])
        out.append(e)
    return out


def _only(c: Conn, name: bytes) -> bytes:
    """A payload of library ``name`` alone (FUNCTION DUMP gives them all)."""
    code = next(e[e.index(b"library_code") + 1] for e in c.call("FUNCTION", "LIST", "WITHCODE")
                if e[e.index(b"library_name") + 1] == name)
    return _payload(b"\xf5" + _rdb_string(code))


def _rdb_string(s: bytes) -> bytes:
    n = len(s)
    return (bytes((n,)) if n < 64 else bytes((0x40 | (n >> 8), n & 0xFF))) + s


def _payload(body: bytes) -> bytes:
    from server.crc64 import crc64

    body += b"\x0a\x00"
    return body + crc64(body).to_bytes(8, "little")


@pytest.fixture(autouse=True)
def _no_libraries_left(redis_server, single_node):
    yield
    for port in (redis_server.port, single_node.nodes[1].port):
        Conn(port).call("FUNCTION", "FLUSH")


def test_function_dump_and_restore_match_redis(redis_server, single_node):
    theirs = _run(redis_server.port)
    ours = _run(single_node.nodes[1].port)
    for mine, ref in zip(ours, theirs, strict=True):
        assert mine == ref


def test_payloads_cross_both_ways(redis_server, three_nodes):
    """What redis-server dumps restores through a follower of a cluster, and back."""
    ref = Conn(redis_server.port)
    fol = Conn(three_nodes.nodes[three_nodes.follower()].port)
    try:
        for c in (ref, fol):
            assert c.call("FUNCTION", "FLUSH") == b"OK"
        assert ref.call("FUNCTION", "LOAD", LIB_LONG) == b"longlib"
        assert fol.call("FUNCTION", "RESTORE", ref.call("FUNCTION", "DUMP")) == b"OK"
        assert fol.call("FCALL", "g7", 0) == 7
        assert ref.call("FUNCTION", "FLUSH") == b"OK"
        assert ref.call("FUNCTION", "RESTORE", fol.call("FUNCTION", "DUMP")) == b"OK"
        assert _in_order(ref.call("FUNCTION", "LIST", "WITHCODE")) == _in_order(fol.call("FUNCTION", "LIST", "WITHCODE"))
    finally:
        for c in (ref, fol):
            c.call("FUNCTION", "FLUSH")
            c.close()
