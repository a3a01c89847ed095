"""Fuzz the client request parser (resp/parser.py): whatever the bytes, the only exception is
``ProtocolError``, and splitting the input anywhere never changes what is parsed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from resp.parser import ProtocolError, RequestParser
from tests.security.fuzzing import fuzz_settings, run_reporting

COUNT = {"inputs": 0}

# pieces that steer random input towards the parser's edges
TOKENS = st.sampled_from([
    b"*", b"$", b"\r\n", b"\n", b"\r", b"-1", b"0", b"1", b"2", b"3", b"10", b"-", b"+", b":", b"*2\r\n",
    b"$3\r\nGET\r\n", b"$4294967296\r\n", b"*4294967296\r\n", b"*1000000\r\n", b"$-1\r\n", b"*-1\r\n",
    b"*0\r\n", b"$0\r\n\r\n", b"\"", b"'", b"\\x4", b"\\x41", b"\\", b" ", b"PING", b"SET a b", b"01", b"~3\r\n",
    b"*99999\r\n", b"$00\r\n", b"9223372036854775808", b"\x00", b"\xff",
])
CHUNKS = st.lists(st.one_of(TOKENS, st.binary(max_size=12)), max_size=40).map(b"".join)


def _parse(chunks: list[bytes]) -> tuple[list[list[bytes]], str | None]:
    p = RequestParser(max_bulk_len=1 << 20)
    out: list[list[bytes]] = []
    for c in chunks:
        p.feed(c)
        try:
            out += p.get_commands()
        except ProtocolError as e:
            return out + e.commands, e.message
    return out, None


@fuzz_settings(400)
@given(data=CHUNKS, cuts=st.lists(st.integers(0, 400), max_size=6))
def fuzz_parser_raises_only_protocol_error_and_is_split_invariant(data, cuts):
    COUNT["inputs"] += 1
    whole = _parse([data])
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert _parse(pieces) == whole
    assert _parse([data[i:i + 1] for i in range(len(data))]) == whole


def _encode(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


@fuzz_settings(300)
@given(cmds=st.lists(st.lists(st.binary(max_size=30), min_size=1, max_size=6), min_size=1, max_size=8),
       cut=st.integers(0, 10_000))
def fuzz_well_formed_commands_come_back_exactly(cmds, cut):
    COUNT["inputs"] += 1
    data = b"".join(_encode(c) for c in cmds)
    cut %= len(data) + 1
    assert _parse([data]) == (cmds, None)
    assert _parse([data[:cut], data[cut:]]) == (cmds, None)


def test_fuzz_parser_only_protocol_errors():
    run_reporting("resp parser, random bytes", fuzz_parser_raises_only_protocol_error_and_is_split_invariant, COUNT)


def test_fuzz_parser_well_formed():
    run_reporting("resp parser, well-formed commands", fuzz_well_formed_commands_come_back_exactly, COUNT)
