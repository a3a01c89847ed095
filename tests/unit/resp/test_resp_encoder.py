"""Reply encoding, RESP2 and RESP3, byte for byte."""

from __future__ import annotations

import hiredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from resp import (
    NULL_ARRAY,
    OK,
    Double,
    ErrorReply,
    Map,
    Push,
    Raw,
    SetReply,
    SimpleString,
    Verbatim,
    encode,
    encode_many,
)


@pytest.mark.parametrize(
    "reply, resp2, resp3",
    [
        (b"abc", b"$3\r\nabc\r\n", b"$3\r\nabc\r\n"),
        (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
        (None, b"$-1\r\n", b"_\r\n"),
        (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
        (0, b":0\r\n", b":0\r\n"),
        (-2, b":-2\r\n", b":-2\r\n"),
        (12345678901, b":12345678901\r\n", b":12345678901\r\n"),
        (True, b":1\r\n", b"#t\r\n"),
        (False, b":0\r\n", b"#f\r\n"),
        (OK, b"+OK\r\n", b"+OK\r\n"),
        (ErrorReply("ERR x\r\ny"), b"-ERR x  y\r\n", b"-ERR x  y\r\n"),
        ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
        ((), b"*0\r\n", b"*0\r\n"),
        (Map({b"a": 1}), b"*2\r\n$1\r\na\r\n:1\r\n", b"%1\r\n$1\r\na\r\n:1\r\n"),
        (Map([(b"a", [b"x"])]), b"*2\r\n$1\r\na\r\n*1\r\n$1\r\nx\r\n", b"%1\r\n$1\r\na\r\n*1\r\n$1\r\nx\r\n"),
        (SetReply([b"m"]), b"*1\r\n$1\r\nm\r\n", b"~1\r\n$1\r\nm\r\n"),
        (Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n"),
        (Double(0.1), b"$19\r\n0.10000000000000001\r\n", b",0.10000000000000001\r\n"),
        (Double(float("inf")), b"$3\r\ninf\r\n", b",inf\r\n"),
        (Double(float("-inf")), b"$4\r\n-inf\r\n", b",-inf\r\n"),
        (Double(3.0), b"$1\r\n3\r\n", b",3\r\n"),
        (Verbatim(b"txt", b"hi"), b"$2\r\nhi\r\n", b"=6\r\ntxt:hi\r\n"),
        (
            Push([b"message", b"c", b"m"]),
            b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n",
            b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n",
        ),
        (Raw(b"+X\r\n", b"+Y\r\n"), b"+X\r\n", b"+Y\r\n"),
        (SimpleString(b"QUEUED"), b"+QUEUED\r\n", b"+QUEUED\r\n"),
    ],
)
def test_encoding(reply, resp2, resp3):
    assert encode(reply, False) == resp2
    assert encode(reply, True) == resp3


def test_encode_many_joins():
    assert encode_many([OK, b"x", 3], False) == b"+OK\r\n$1\r\nx\r\n:3\r\n"


def test_error_reply_keeps_client_bytes():
    e = ErrorReply(b"ERR unknown command '\xff'")
    assert encode(e) == b"-ERR unknown command '\xff'\r\n"


def test_unknown_type_is_an_error():
    with pytest.raises(TypeError):
        encode(object())
    with pytest.raises(TypeError):
        encode(1.5)  # floats must be Double(...) so the formatting is explicit


replies = st.recursive(
    st.one_of(st.binary(max_size=30), st.integers(-(2**63), 2**63 - 1), st.none()),
    lambda children: st.lists(children, max_size=5),
    max_leaves=20,
)


@given(replies)
def test_hiredis_reads_back_resp2(reply):
    r = hiredis.Reader()
    r.feed(encode(reply, False))
    assert r.gets() == reply


@given(replies)
def test_hiredis_reads_back_resp3(reply):
    r = hiredis.Reader()
    r.feed(encode(reply, True))
    assert r.gets() == reply
