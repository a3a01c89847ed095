"""Request parser: bytes in, commands out (no sockets)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resp.parser import ProtocolError, RequestParser, split_args


def parse_all(data: bytes, **limits) -> list[list[bytes]]:
    p = RequestParser(**limits)
    p.feed(data)
    return p.get_commands()


def encode_command(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


def test_multibulk_pipeline_in_one_call():
    data = encode_command([b"SET", b"k", b"v"]) + encode_command([b"GET", b"k"]) * 3
    assert parse_all(data) == [[b"SET", b"k", b"v"]] + [[b"GET", b"k"]] * 3


def test_partial_then_rest():
    data = encode_command([b"SET", b"key", b"x" * 100])
    p = RequestParser()
    for cut in (1, 5, 9, 20, 60):
        p = RequestParser()
        p.feed(data[:cut])
        assert p.get_commands() == []
        p.feed(data[cut:])
        assert p.get_commands() == [[b"SET", b"key", b"x" * 100]]
        assert p.buffered == 0


def test_payload_containing_crlf_and_binary():
    argv = [b"SET", b"\r\n*1\r\n$3\r\n", bytes(range(256))]
    assert parse_all(encode_command(argv)) == [argv]


def test_bytes_after_bulk_are_skipped_unchecked_like_redis():
    # Redis skips the two bytes after a payload without looking at them.
    assert parse_all(b"*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n") == [[b"PING"], [b"PING"]]


def test_inline_commands():
    assert parse_all(b"PING\r\nset a b\r\n\r\n\n  \r\nGET a\n") == [
        [b"PING"],
        [b"set", b"a", b"b"],
        [b"GET", b"a"],
    ]


def test_inline_after_multibulk_and_back():
    data = encode_command([b"PING"]) + b"ECHO hi\r\n" + encode_command([b"GET", b"a"])
    assert parse_all(data) == [[b"PING"], [b"ECHO", b"hi"], [b"GET", b"a"]]


def test_empty_multibulks_are_skipped():
    assert parse_all(b"*0\r\n*-1\r\n*-5\r\n" + encode_command([b"PING"])) == [[b"PING"]]


def test_inline_quoting_like_sdssplitargs():
    assert split_args(b"set \"a b\" 'c d' \"\\x41\\n\\t\" 'it\\'s'") == [
        b"set",
        b"a b",
        b"c d",
        b"A\n\t",
        b"it's",
    ]
    assert split_args(b'a"b c"d') is None  # closing quote must be followed by a blank
    assert split_args(b'x"b c" d') == [b"xb c", b"d"]
    assert split_args(b'"unterminated') is None
    assert split_args(b"") == []
    assert split_args(b"a\x00 b") == [b"a"]  # a C string ends at NUL


@pytest.mark.parametrize(
    "data, message",
    [
        (b"*1\r\n+OK\r\n", "Protocol error: expected '$', got '+'"),
        (b"*1\r\n:1\r\n", "Protocol error: expected '$', got ':'"),
        (b"*1\r\n$03\r\nabc\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$-3\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$ 1\r\na\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$536870913\r\n", "Protocol error: invalid bulk length"),
        (b"*01\r\n$4\r\nPING\r\n", "Protocol error: invalid multibulk length"),
        (b"*+1\r\n", "Protocol error: invalid multibulk length"),
        (b"*x\r\n", "Protocol error: invalid multibulk length"),
        (b"*\r\n", "Protocol error: invalid multibulk length"),
        (b"*2147483648\r\n", "Protocol error: invalid multibulk length"),
        (b"set a 'b\r\n", "Protocol error: unbalanced quotes in request"),
        (b'echo "a"b\r\n', "Protocol error: unbalanced quotes in request"),
        (b"PING" + b" " * 70000, "Protocol error: too big inline request"),
        (b"*1" + b"1" * 70000, "Protocol error: too big mbulk count string"),
        (b"*1\r\n$1" + b"1" * 70000, "Protocol error: too big bulk count string"),
    ],
)
def test_protocol_errors_have_redis_texts(data, message):
    with pytest.raises(ProtocolError) as info:
        parse_all(data)
    assert info.value.message == message


@pytest.mark.parametrize(
    "data, message",
    [
        # hiredis reads these elements as bytes too; a request must still be all bulk strings.
        (b"*2\r\n$3\r\nGET\r\n+key\r\n", "Protocol error: expected '$', got '+'"),
        (b"*1\r\n=8\r\ntxt:PING\r\n", "Protocol error: expected '$', got '='"),
        (b"*2\r\n$4\r\nINCR\r\n(12345678901234567890\r\n", "Protocol error: expected '$', got '('"),
        # A verbatim string is 4 bytes longer than the bulk string of its text, a simple string
        # of 10-99 bytes 4 shorter: together the same length as two bulk strings.
        (b"*2\r\n=17\r\ntxt:0123456789abc\r\n+0123456789abcdef\r\n", "Protocol error: expected '$', got '='"),
        (b"*2\r\n$1\r\na\r\n$-1\r\n", "Protocol error: invalid bulk length"),
    ],
)
def test_parse_straight_from_the_data_refuses_elements_that_are_not_bulk_strings(data, message):
    p = RequestParser()
    with pytest.raises(ProtocolError) as info:
        p.parse(encode_command([b"PING"]) + data)
    assert info.value.commands == [[b"PING"]]
    assert info.value.message == message


def test_parse_checks_the_length_limit_below_the_table_of_small_lengths():
    p = RequestParser(max_bulk_len=10)
    assert p.parse(encode_command([b"SET", b"k", b"x" * 10])) == [[b"SET", b"k", b"x" * 10]]
    with pytest.raises(ProtocolError) as info:
        p.parse(encode_command([b"SET", b"k", b"x" * 11]))
    assert info.value.message == "Protocol error: invalid bulk length"


def test_error_keeps_commands_before_it():
    p = RequestParser()
    p.feed(encode_command([b"PING"]) + b"*1\r\n*1\r\n")
    with pytest.raises(ProtocolError) as info:
        p.get_commands()
    assert info.value.commands == [[b"PING"]]
    assert info.value.message == "Protocol error: expected '$', got '*'"
    with pytest.raises(ProtocolError):
        p.get_commands()  # the parser stays dead


def test_big_bulk_header_is_not_buffered_waiting():
    # Accepted sizes wait for the payload; the parser asks for no rescans meanwhile.
    p = RequestParser()
    p.feed(b"*2\r\n$3\r\nSET\r\n$536870912\r\n")
    assert p.get_commands() == []
    p.feed(b"x" * 1000)
    assert p.get_commands() == []
    assert p.buffered >= 1000


def test_large_value_in_many_chunks():
    value = bytes(range(256)) * 4096  # 1 MiB
    data = encode_command([b"SET", b"k", value]) + encode_command([b"GET", b"k"])
    p = RequestParser()
    got = []
    for i in range(0, len(data), 65536):
        p.feed(data[i : i + 65536])
        got += p.get_commands()
    assert got == [[b"SET", b"k", value], [b"GET", b"k"]]


def test_custom_limits():
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        parse_all(b"*1\r\n$11\r\n", max_bulk_len=10)
    with pytest.raises(ProtocolError, match="invalid multibulk length"):
        parse_all(b"*11\r\n", max_multibulk_len=10)


commands = st.lists(st.lists(st.binary(max_size=40), min_size=1, max_size=6), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(commands, st.data())
def test_roundtrip_in_arbitrary_chunks(cmds, data):
    wire = b"".join(encode_command(c) for c in cmds)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    p = RequestParser()
    got = []
    prev = 0
    for cut in [*cuts, len(wire)]:
        p.feed(wire[prev:cut])
        prev = cut
        got += p.get_commands()
    assert got == cmds
    assert p.buffered == 0


inline_word = st.binary(min_size=1, max_size=10).filter(
    # A line starting with '*' is a multibulk, whatever follows.
    lambda b: not any(c in b for c in b" \t\r\n\x0b\x0c\"'\x00") and not b.startswith(b"*")
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(inline_word, min_size=1, max_size=5), min_size=1, max_size=5), st.data())
def test_inline_roundtrip_mixed_with_multibulk(cmds, data):
    wire = b""
    for c in cmds:
        if data.draw(st.booleans()):
            wire += b" ".join(c) + b"\r\n"
        else:
            wire += encode_command(c)
    p = RequestParser()
    got = []
    step = data.draw(st.integers(1, 17))
    for i in range(0, len(wire), step):
        p.feed(wire[i : i + step])
        got += p.get_commands()
    assert got == cmds


@pytest.mark.parametrize(
    "data",
    [
        b"*2147483647\r\n",
        b"*1\r\n*2000000000\r\n",
        b"*2\r\n$1\r\na\r\n>2000000000\r\n",
        b"*1\r\n~2000000000\r\n",
        b"*1\r\n|2000000000\r\n",
    ],
)
def test_huge_aggregate_headers_cost_nothing(data):
    # hiredis would allocate (and later free, for seconds) the whole announced array.
    import time

    start = time.monotonic()
    p = RequestParser()
    p.feed(data)
    try:
        p.get_commands()
    except ProtocolError:
        pass
    del p
    assert time.monotonic() - start < 0.5


def test_value_that_looks_like_a_big_header_still_parses():
    argv = [b"SET", b"*1234567", b"~9999999>1234567|7654321"]
    data = encode_command(argv) * 3
    assert parse_all(data) == [argv] * 3


def _parse_in_chunks(wire: bytes, cuts: list[int], *, direct: bool) -> tuple[list, str | None]:
    """Commands and the protocol error (if any), fed in chunks through ``parse`` (direct)
    or ``feed`` + ``get_commands``."""
    p = RequestParser()
    got: list = []
    prev = 0
    try:
        for cut in [*cuts, len(wire)]:
            chunk = wire[prev:cut]
            prev = cut
            if direct:
                got += p.parse(chunk)
            else:
                p.feed(chunk)
                got += p.get_commands()
    except ProtocolError as e:
        return got + e.commands, e.message
    return got, None


tails = st.sampled_from([b"", b"*1\r\n*1\r\n", b"PING\r\n", b"*2\r\n$3\r\nGET", b"*0\r\n", b"*1234567\r\n",
                         b"$5\r\nhello\r\n", b"*1\r\n$-3\r\n", b"\r\n\r\n"])


@settings(max_examples=300, deadline=None)
@given(commands, tails, st.data())
def test_parse_straight_from_the_data_agrees_with_the_buffered_path(cmds, tail, data):
    wire = b"".join(encode_command(c) for c in cmds) + tail
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=6)))
    assert _parse_in_chunks(wire, cuts, direct=True) == _parse_in_chunks(wire, cuts, direct=False)


def test_parse_keeps_the_commands_before_an_error_in_the_same_data():
    p = RequestParser()
    with pytest.raises(ProtocolError) as info:
        p.parse(encode_command([b"SET", b"k", b"v"]) + b"*1\r\n*1\r\n")
    assert info.value.commands == [[b"SET", b"k", b"v"]]
