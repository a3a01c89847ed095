"""DUMP and RESTORE against redis-server 7.0: the same bytes where Redis's encoding is
deterministic, payloads that cross in both directions, and Redis's errors for bad payloads
(checksums, versions, every truncation, seeded byte flips)."""

from __future__ import annotations

import random
import struct

import hiredis
import pytest
from commands_harness import LocalExecutor

from resp import ErrorReply, encode
from resp.parser import string2ll
from server import crc64, lzf, rdb


def _decode(raw: bytes):
    r = hiredis.Reader()
    r.feed(raw)
    try:
        return r.gets()
    except hiredis.ReplyError as e:
        return e


def _call(client, *args):
    return _decode(client.call(*args))


def _err(reply) -> str | None:
    return str(reply) if isinstance(reply, hiredis.ReplyError) else None


def _ours_err(reply) -> str | None:
    if isinstance(reply, ErrorReply):
        return str(_decode(encode(reply, False)))
    return None


@pytest.fixture
def redis(redis_server):
    client = redis_server.client()
    _call(client, "FLUSHALL")
    yield client
    _call(client, "FLUSHALL")
    client.close()


def _read(run, key: bytes = b"k"):
    """The value at ``key`` through the type's own reads, comparable between servers."""
    t = run("TYPE", key)
    t = t.decode() if isinstance(t, bytes) else str(t)
    if t == "string":
        return t, run("GET", key)
    if t == "list":
        return t, run("LRANGE", key, 0, -1)
    if t == "set":
        return t, sorted(run("SMEMBERS", key))
    if t == "hash":
        flat = run("HGETALL", key)
        return t, sorted(zip(flat[::2], flat[1::2], strict=True))
    if t == "zset":
        return t, run("ZRANGE", key, 0, -1, "WITHSCORES")
    if t == "stream":
        return t, run("XRANGE", key, "-", "+")
    return t, None


def _read_ours(ex: LocalExecutor, key: bytes = b"k"):
    return _read(lambda *a: _decode(ex.wire(*a)), key)


def _read_redis(client, key: bytes = b"k"):
    return _read(lambda *a: _call(client, *a), key)


# --- values at every encoding boundary ----------------------------------------------------------
_rnd = random.Random(7001)


def _noise(n: int) -> bytes:
    return bytes(_rnd.randrange(256) for _ in range(n))


def _text(n: int) -> bytes:
    return (b"the quick brown fox jumps over the lazy dog " * (n // 44 + 1))[:n]


STRINGS = [
    b"",
    b"0",
    b"12",
    b"-1",
    b"127",
    b"128",
    b"-128",
    b"-129",
    b"32767",
    b"32768",
    b"-32769",
    b"2147483647",
    b"2147483648",
    b"-2147483648",
    b"-2147483649",
    b"123456789012",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"01",
    b"+1",
    b"-0",
    b" 1",
    b"1.5",
    b"abc",
    _text(20),
    _text(21),
    _text(100),
    _text(10000),
    _noise(21),
    _noise(100),
    _noise(10000),
    b"a" * 21,
    b"a" * 25,
    b"\x00" * 300,
    _text(5000) + _noise(300),
]

# (setup commands in Redis syntax on key k, whether Redis's DUMP is deterministic)
CASES: list[tuple[str, list[tuple], bool]] = []
for i, s in enumerate(STRINGS):
    CASES.append((f"string-{i}-{len(s)}", [("SET", "k", s)], True))
for n in (1, 2, 100, 827, 828, 2000, 5000):
    CASES.append((f"list-int-{n}", [("RPUSH", "k", *[str(i * 37 - 500) for i in range(n)])], True))
for width in (1, 15, 20, 63, 64, 65, 200, 4095, 4096, 9000):
    CASES.append(
        (
            f"list-w{width}",
            [("RPUSH", "k", *[_text(width)[: width - 3] + b"%03d" % i for i in range(60)])],
            True,
        )
    )
CASES.append(
    ("list-mixed", [("RPUSH", "k", *[_noise(_rnd.choice([1, 5, 70, 300])) for _ in range(800)])], True)
)
CASES.append(("list-lpush", [("LPUSH", "k", *[str(i) for i in range(3000)])], False))
for n in (1, 511, 512, 513):
    CASES.append((f"intset-{n}", [("SADD", "k", *[str(i * 3 - 100) for i in range(n)])], n <= 512))
CASES.append(("intset-32", [("SADD", "k", "1", "70000", "-70000")], True))
CASES.append(("intset-64", [("SADD", "k", "1", "9223372036854775807", "-9223372036854775808")], True))
CASES.append(("set-strings", [("SADD", "k", "a", "b", "1")], False))
CASES.append(("set-big", [("SADD", "k", *[_noise(10) for _ in range(300)])], False))
for n, width in ((1, 1), (128, 10), (129, 10), (5, 64), (5, 65)):
    pairs = []
    for i in range(n):
        pairs += [
            b"f%d" % i + b"x" * max(0, width - 4),
            str(i * 1000 - 7).encode() if i % 2 else _text(width),
        ]
    CASES.append((f"hash-{n}x{width}", [("HSET", "k", *pairs)], n <= 128 and width <= 64))
CASES.append(
    (
        "hash-del",
        [("HSET", "k", "a", "1", "b", "2", "c", "3"), ("HDEL", "k", "b"), ("HSET", "k", "b", "9")],
        True,
    )
)
_SCORES = [
    "0",
    "1",
    "-1",
    "1.5",
    "0.1",
    "1e100",
    "-1e-100",
    "3.141592653589793",
    "inf",
    "-inf",
    "4503599627370496",
    "4503599627370495",
    "-4503599627370495",
    "123456789.123",
    "2.2250738585072014e-308",
    "1e21",
    "-0",
]
CASES.append(("zset-odd", [("ZADD", "k", *[x for i, s in enumerate(_SCORES) for x in (s, f"m{i}")])], True))
for n, width in ((1, 1), (128, 5), (129, 5), (3, 64), (3, 65)):
    args = []
    for i in range(n):
        args += [str(_rnd.uniform(-1e6, 1e6)), (b"m%d" % i).ljust(width, b"z")]
    CASES.append((f"zset-{n}x{width}", [("ZADD", "k", *args)], n <= 128 and width <= 64))


def _setup(redis, ex, cmds):
    for c in cmds:
        assert _err(_call(redis, *c)) is None, c
        assert _ours_err(ex.run(*c)) is None, c


@pytest.mark.parametrize(("name", "cmds", "deterministic"), CASES, ids=[c[0] for c in CASES])
def test_payloads_cross_both_ways(redis, name, cmds, deterministic):
    ex = LocalExecutor()
    _setup(redis, ex, cmds)
    theirs = _call(redis, "DUMP", "k")
    ours = ex.run("DUMP", "k")
    if deterministic and len(ours) < rdb.LZF_BUDGET // 2:
        assert ours == theirs, name
    expected = _read_redis(redis)
    assert _read_ours(ex) == expected
    # redis-server's payload in Raftis
    assert _ours_err(ex.run("RESTORE", "r", 0, theirs)) is None
    assert _read_ours(ex, b"r") == expected
    # Raftis's payload in redis-server
    assert _err(_call(redis, "RESTORE", "r", 0, ours)) is None
    assert _read_redis(redis, b"r") == expected
    # and back: Raftis restores its own payload to a value that dumps to the same bytes
    assert _ours_err(ex.run("RESTORE", "r2", 0, ours)) is None
    assert ex.run("DUMP", "r2") == ours


def test_dump_missing_key_is_nil(redis):
    assert _call(redis, "DUMP", "nokey") is None
    assert LocalExecutor().run("DUMP", "nokey") is None


# --- errors --------------------------------------------------------------------------------------
def _both(redis, ex, *args):
    theirs = _call(redis, *args)
    ours = ex.run(*args)
    return _err(theirs), _ours_err(ours), theirs, ours


def _same_outcome(redis, ex, *args):
    e1, e2, theirs, ours = _both(redis, ex, *args)
    assert e1 == e2, (args[:3], theirs, ours)
    return e1


def test_option_and_ttl_errors_match_redis(redis):
    ex = LocalExecutor()
    _setup(redis, ex, [("SET", "src", "hello")])
    payload = ex.run("DUMP", "src")
    assert payload == _call(redis, "DUMP", "src")
    for args in [
        ("RESTORE", "k", -1, payload),
        ("RESTORE", "k", "x", payload),
        ("RESTORE", "k", "1.5", payload),
        ("RESTORE", "k", 0, payload, "BOGUS"),
        ("RESTORE", "k", 0, payload, "IDLETIME"),
        ("RESTORE", "k", 0, payload, "IDLETIME", -1),
        ("RESTORE", "k", 0, payload, "IDLETIME", "x"),
        ("RESTORE", "k", 0, payload, "FREQ", 256),
        ("RESTORE", "k", 0, payload, "FREQ", -1),
        ("RESTORE", "k", 0, payload, "FREQ", "x"),
        ("RESTORE", "k", 0, payload, "IDLETIME", 5, "FREQ", 5),
        ("RESTORE", "k", 0, payload, "FREQ", 5, "IDLETIME", 5),
        ("RESTORE", "k", 0, b"short"),
        ("RESTORE", "k", 0, b""),
        ("RESTORE", "k", 0),
        ("DUMP",),
        ("DUMP", "a", "b"),
    ]:
        _same_outcome(redis, ex, *args)
    assert _same_outcome(redis, ex, "RESTORE", "src", 0, payload) == "BUSYKEY Target key name already exists."
    # BUSYKEY is checked before the TTL and the payload
    assert (
        _same_outcome(redis, ex, "RESTORE", "src", -5, b"junk") == "BUSYKEY Target key name already exists."
    )


def test_replace_ttl_and_absttl(redis):
    ex = LocalExecutor()
    _setup(redis, ex, [("SET", "src", "v1"), ("RPUSH", "lst", "a")])
    payload = ex.run("DUMP", "src")
    for run, err in ((lambda *a: _call(redis, *a), _err), (ex.run, _ours_err)):
        assert err(run("RESTORE", "lst", 0, payload, "REPLACE")) is None
        assert run("GET", "lst") == b"v1"
        assert run("TTL", "lst") == -1
        assert err(run("RESTORE", "t1", 100000, payload)) is None
        assert 99 <= run("TTL", "t1") <= 100
        assert err(run("RESTORE", "t2", 10**13 * 2, payload, "ABSTTL", "IDLETIME", 10)) is None
        assert run("TTL", "t2") > 10**9
        # an absolute time in the past: OK, and the key is not created (REPLACE deletes it)
        assert err(run("RESTORE", "t3", 1, payload, "ABSTTL")) is None
        assert run("EXISTS", "t3") == 0
        assert err(run("RESTORE", "src", 1, payload, "ABSTTL", "REPLACE", "FREQ", 3)) is None
        assert run("EXISTS", "src") == 0


def _valid_payloads(redis) -> list[bytes]:
    cmds = [
        ("SET", "s", _text(100)),
        ("SET", "i", "-12345"),
        ("RPUSH", "l", "a", "12", "-7000", "x" * 70, "100000"),
        ("SADD", "is", "1", "70000", "-5"),
        ("SADD", "ss", "a", "b"),
        ("HSET", "h", "f", "v", "n", "42"),
        ("HSET", "hb", *[f"f{i}" for i in range(300)]),
        ("ZADD", "z", "1.5", "a", "-2", "b", "inf", "c"),
        ("ZADD", "zb", *[x for i in range(200) for x in (str(i / 7), f"m{i}")]),
    ]
    out = []
    for c in cmds:
        _call(redis, *c)
        out.append(_call(redis, "DUMP", c[1]))
    # a stream with two nodes' worth of fields, a deleted entry, groups, consumers and pending entries
    for c in _STREAM_READ_CASES["pending"] + [("XADD", "st", "4-0", "other", "x"), ("XDEL", "st", "2-0")]:
        _call(redis, *c)
    out.append(_call(redis, "DUMP", "st"))
    return out


def _with_crc(body: bytes) -> bytes:
    return body + crc64.crc64(body).to_bytes(8, "little")


def test_bad_crc_and_version(redis):
    ex = LocalExecutor()
    for p in _valid_payloads(redis):
        bad_crc = p[:-1] + bytes([p[-1] ^ 1])
        newer = _with_crc(p[:-10] + struct.pack("<H", 11))
        older = _with_crc(p[:-10] + struct.pack("<H", 9))
        for payload, want in (
            (bad_crc, "ERR DUMP payload version or checksum are wrong"),
            (newer, "ERR DUMP payload version or checksum are wrong"),
            (older, None),
        ):
            ex.run("DEL", "k")
            _call(redis, "DEL", "k")
            assert _same_outcome(redis, ex, "RESTORE", "k", 0, payload) == want


def test_every_truncation_is_an_error(redis):
    """Cut the object short (footer recomputed, so only the decoder can notice)."""
    ex = LocalExecutor()
    for p in _valid_payloads(redis)[:8] + _valid_payloads(redis)[-1:]:
        body = p[:-10]
        for cut in range(len(body)):
            payload = _with_crc(body[:cut] + p[-10:-8])
            reply = ex.run("RESTORE", "k", 0, payload)
            assert _ours_err(reply) in (
                "ERR Bad data format",
                "ERR DUMP payload version or checksum are wrong",
            ), (cut, reply)
            # raw truncation: the checksum no longer matches
            reply = ex.run("RESTORE", "k", 0, p[:cut])
            assert _ours_err(reply) == "ERR DUMP payload version or checksum are wrong"


def test_seeded_byte_flips_never_break(redis):
    """Random corruption with a valid checksum: a Redis-style error or a value every read
    handles; never an exception."""
    ex = LocalExecutor()
    rnd = random.Random(20260)
    payloads = _valid_payloads(redis)
    restored = 0
    for _ in range(3000):
        p = rnd.choice(payloads)
        body = bytearray(p[:-10])
        for _ in range(rnd.choice((1, 1, 2, 5))):
            body[rnd.randrange(len(body))] = rnd.randrange(256)
        payload = _with_crc(bytes(body) + p[-10:-8])
        reply = ex.run("RESTORE", "k", 0, payload, "REPLACE")
        err = _ours_err(reply)
        assert err in (None, "ERR Bad data format"), err
        if err is None:
            restored += 1
            if _read_ours(ex)[0] == "stream":
                for g in _decode(ex.wire("XINFO", "GROUPS", "k")):
                    ex.wire("XPENDING", "k", g[1], "-", "+", 10)
                assert not isinstance(_decode(ex.wire("XINFO", "STREAM", "k", "FULL")), hiredis.ReplyError)
                ex.wire("XADD", "k", "*", "f", "v")
                ex.wire("XTRIM", "k", "MAXLEN", "1")
            again = ex.run("DUMP", "k")
            assert _ours_err(ex.run("RESTORE", "k2", 0, again, "REPLACE")) is None
    assert restored > 300  # the flips also land in values, not only in structure


def test_decoder_reads_old_encodings(redis):
    """Encodings Redis 7.0 no longer writes but still reads: built by hand, loaded in both."""
    ex = LocalExecutor()

    def ziplist(items: list[bytes]) -> bytes:
        entries, prev, last = [], 0, 10
        off = 10
        for it in items:
            pl = bytes((prev,)) if prev < 254 else b"\xfe" + struct.pack("<I", prev)
            v = string2ll(it) if len(it) <= 20 else None
            if v is not None and -(2**15) <= v < 2**15:
                enc = b"\xc0" + struct.pack("<h", v)
            else:
                enc = (
                    bytes((len(it),)) + it
                    if len(it) < 64
                    else bytes((0x40 | (len(it) >> 8), len(it) & 0xFF)) + it
                )
            e = pl + enc
            entries.append(e)
            last = off
            off += len(e)
            prev = len(e)
        body = b"".join(entries)
        return struct.pack("<IIH", 10 + len(body) + 1, last, len(items)) + body + b"\xff"

    def s(b: bytes) -> bytes:
        return bytes((len(b),)) + b if len(b) < 64 else bytes((0x40 | (len(b) >> 8), len(b) & 0xFF)) + b

    items = [b"a", b"123", b"x" * 80, b"-4"]
    cases = [
        bytes((rdb.T_LIST,)) + bytes((len(items),)) + b"".join(s(i) for i in items),
        bytes((rdb.T_LIST_ZIPLIST,)) + s(ziplist(items)),
        bytes((rdb.T_LIST_QUICKLIST, 2)) + s(ziplist(items)) + s(ziplist(items[:2])),
        bytes((rdb.T_HASH_ZIPLIST,)) + s(ziplist(items)),
        bytes((rdb.T_ZSET_ZIPLIST,)) + s(ziplist([b"a", b"1", b"b", b"2.5"])),
        bytes((rdb.T_ZSET, 2)) + s(b"a") + b"\x031.5" + s(b"b") + b"\xfe",
        bytes((rdb.T_SET, 2)) + s(b"a") + s(b"b"),
        bytes((rdb.T_HASH_ZIPMAP,))
        + s(b"\x02\x01f\x02\x00v1\x03big" + bytes((254, 0x2C, 1, 0, 0, 2)) + b"x" * 300 + b"ab\xff"),
    ]
    for i, body in enumerate(cases):
        payload = _with_crc(body + struct.pack("<H", 9))
        assert _err(_call(redis, "RESTORE", f"k{i}", 0, payload)) is None, i
        assert _ours_err(ex.run("RESTORE", f"k{i}", 0, payload)) is None, i
        assert _read_ours(ex, f"k{i}".encode()) == _read_redis(redis, f"k{i}".encode()), i


def test_empty_and_duplicate_collections_are_bad_data(redis):
    ex = LocalExecutor()
    for body in (
        bytes((rdb.T_LIST, 0)),
        bytes((rdb.T_SET, 0)),
        bytes((rdb.T_HASH, 0)),
        bytes((rdb.T_SET, 2, 1)) + b"a\x01a",
        bytes((rdb.T_ZSET_2, 1, 1)) + b"a" + struct.pack("<d", float("nan")),
    ):
        payload = _with_crc(body + struct.pack("<H", 10))
        assert _same_outcome(redis, ex, "RESTORE", "k", 0, payload) == "ERR Bad data format"
    # Redis without sanitize-dump-payload keeps a small hash with a repeated field (a corrupt
    # listpack); Raftis refuses it.
    payload = _with_crc(bytes((rdb.T_HASH, 2, 1)) + b"a\x01b\x01a\x01c" + struct.pack("<H", 10))
    assert _ours_err(ex.run("RESTORE", "k", 0, payload)) == "ERR Bad data format"


_STREAM_CASES = {
    "one": [("XADD", "st", "1-1", "f", "v")],
    "fields": [
        ("XADD", "st", "1-1", "f", "v"),
        ("XADD", "st", "2-5", "f", "w"),
        ("XADD", "st", "3-0", "g", "x", "h", "12"),
    ],
    "nodes": [("XADD", "st", f"{i}-{i % 3}", "field", f"value{i}") for i in range(1, 350)],
    "big-values": [("XADD", "st", f"{i}-0", "f", _text(900 + i)) for i in range(1, 12)],
    "groups": [
        ("XADD", "st", "1-1", "f", "v"),
        ("XADD", "st", "2-1", "f", "v"),
        ("XGROUP", "CREATE", "st", "g1", "0"),
        ("XGROUP", "CREATE", "st", "g0", "$"),
        ("XGROUP", "CREATECONSUMER", "st", "g1", "idle"),
    ],
    "empty": [("XADD", "st", "5-5", "f", "v"), ("XDEL", "st", "5-5")],
}
# Delivery and seen times differ between the servers, and a node with deleted entries is
# written with its live entries only: these compare by what reads return.
_STREAM_READ_CASES = {
    "deleted": [("XADD", "st", f"{i}-0", "f", str(i)) for i in range(1, 30)]
    + [("XDEL", "st", "3-0", "29-0")],
    "trimmed": [("XADD", "st", f"{i}-0", "f", str(i)) for i in range(1, 300)]
    + [("XTRIM", "st", "MAXLEN", "150")],
    "pending": [
        ("XADD", "st", "1-0", "a", "1"),
        ("XADD", "st", "2-0", "b", "2"),
        ("XADD", "st", "3-0", "a", "3"),
        ("XGROUP", "CREATE", "st", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "st", ">"),
        ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "st", ">"),
        ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "st", "0"),
        ("XACK", "st", "g", "1-0"),
        ("XGROUP", "CREATE", "st", "h", "2-0"),
    ],
}


def _stream_view(run, key=b"st"):
    info = run("XINFO", "STREAM", key)
    info = dict(zip(info[::2], info[1::2], strict=True))
    info.pop(b"radix-tree-keys", None)
    info.pop(b"radix-tree-nodes", None)
    groups = []
    for g in run("XINFO", "GROUPS", key):
        name = dict(zip(g[::2], g[1::2], strict=True))[b"name"]
        consumers = [c[:4] for c in run("XINFO", "CONSUMERS", key, name)]  # name, pending (not idle)
        pending = [p[:2] + p[3:] for p in run("XPENDING", key, name, "-", "+", 100)]  # not idle
        groups.append((g, consumers, pending))
    return run("XRANGE", key, "-", "+"), info, groups


@pytest.mark.parametrize("name", sorted(_STREAM_CASES) + sorted(_STREAM_READ_CASES))
def test_stream_payloads(redis, name):
    ex = LocalExecutor()
    cmds = _STREAM_CASES.get(name) or _STREAM_READ_CASES[name]
    _setup(redis, ex, cmds)
    theirs = _call(redis, "DUMP", "st")
    ours = ex.run("DUMP", "st")
    if name == "groups":
        # The consumer's seen time is each server's clock when it was created: the servers
        # may be a millisecond apart. Compare it within a second and the rest byte for byte
        # (the checksum covers it too; each server's RESTORE below checks the other's).
        at = theirs.index(b"\x04idle") + 5
        assert ours.index(b"\x04idle") + 5 == at
        seen_ours, seen_theirs = (struct.unpack_from("<Q", p, at)[0] for p in (ours, theirs))
        assert abs(seen_ours - seen_theirs) < 1000
        assert ours[:at] + ours[at + 8 : -8] == theirs[:at] + theirs[at + 8 : -8]
    elif name in _STREAM_CASES:
        assert ours == theirs
    ours_run = lambda *a: _decode(ex.wire(*a))  # noqa: E731
    redis_run = lambda *a: _call(redis, *a)  # noqa: E731
    expected = _stream_view(redis_run)
    assert _stream_view(ours_run) == expected
    assert _ours_err(ex.run("RESTORE", "r", 0, theirs)) is None
    assert _stream_view(ours_run, b"r") == expected
    assert _err(_call(redis, "RESTORE", "r", 0, ours)) is None
    assert _stream_view(redis_run, b"r") == expected


def test_lzf_round_trip_and_bounds():
    rnd = random.Random(5)
    for _ in range(200):
        data = bytes(rnd.choice(b"abcab") for _ in range(rnd.randint(1, 3000)))
        packed = lzf.lzf_compress(data, len(data) + 64)
        assert packed is not None
        assert lzf.lzf_decompress(packed, len(data)) == data
    # a back reference before the start, and output longer than announced
    with pytest.raises(lzf.LzfError):
        lzf.lzf_decompress(b"\x20\x05", 10)
    with pytest.raises(lzf.LzfError):
        lzf.lzf_decompress(b"\x02abc", 2)
    # a header announcing 2 GB from 3 bytes is refused before anything is allocated
    lying = b"\x00\xc3\x03\x80" + (1 << 31).to_bytes(4, "big") + b"\x01ab"
    with pytest.raises(rdb.PayloadError):
        rdb.load(_with_crc(lying + b"\x0a\x00"))
    # and a count larger than the bytes that follow it
    with pytest.raises(rdb.PayloadError):
        rdb.load(_with_crc(b"\x01\x81" + (1 << 60).to_bytes(8, "big") + b"\x01a\x0a\x00"))


def test_crc64_matches_redis_check_value():
    assert crc64.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    poly = 0x95AC9329AC4BC9B5  # the Jones polynomial, bit-reversed
    rnd = random.Random(64)
    for n in (*range(20), 1000, 4097):
        data = bytes(rnd.randrange(256) for _ in range(n))
        crc = 0
        for b in data:  # the bit-at-a-time definition
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        assert crc64.crc64(data) == crc, n


def test_function_payload_flips_and_cuts_are_refused_cleanly():
    """FUNCTION RESTORE's payload reader: a flipped or cut payload (with a valid checksum)
    gives the code it finds or Redis's reasons, never another exception."""
    base = rdb.dump_functions([b"#!lua name=x\nredis.register_function('f', function() return 1 end)",
                               b"#!lua name=y\n" + b"-- pad\n" * 50 + b"redis.register_function('g', function() end)"])
    assert [c[:12] for c in rdb.load_functions(base)] == [b"#!lua name=x", b"#!lua name=y"]
    rnd = random.Random(245)
    reasons = set()
    for _ in range(2000):
        body = bytearray(base[:-10])
        for _ in range(rnd.randint(1, 4)):
            body[rnd.randrange(len(body))] = rnd.randrange(256)
        if rnd.random() < 0.3:
            del body[rnd.randrange(len(body)):]
        try:
            rdb.load_functions(_with_crc(bytes(body) + b"\x0a\x00"))
        except rdb.PayloadError as e:
            reasons.add(str(e))
    assert reasons == {"given type is not a function", "Failed loading library payload"}


def test_restore_asking_restores_as_restore():
    ex = LocalExecutor()
    ex.run("RPUSH", "l", "a", "b")
    payload = ex.run("DUMP", "l")
    assert ex.run("RESTORE-ASKING", "l2", 0, payload) == ex.run("RESTORE", "l3", 0, payload)
    assert ex.run("LRANGE", "l2", 0, -1) == [b"a", b"b"]
    assert _ours_err(ex.run("RESTORE-ASKING", "l2", 0, payload)).startswith("BUSYKEY")
