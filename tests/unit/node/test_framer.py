from hypothesis import given
from hypothesis import strategies as st

from resp.framer import ReplyFramer

REPLIES = [
    b"+OK\r\n", b"-ERR bad\r\n", b":42\r\n", b"$5\r\nhello\r\n", b"$-1\r\n", b"*-1\r\n", b"_\r\n",
    b"*2\r\n$1\r\na\r\n:1\r\n", b"%1\r\n+k\r\n*1\r\n$0\r\n\r\n", b"~2\r\n:1\r\n:2\r\n", b",3.5\r\n",
    b"#t\r\n", b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nmsg\r\n", b"=8\r\ntxt:abcd\r\n", b"*0\r\n",
    b"|1\r\n+a\r\n+b\r\n+after-attribute\r\n", b"$4\r\n\r\n\r\n\r\n",
]


@given(st.lists(st.sampled_from(REPLIES), max_size=20), st.lists(st.integers(1, 7), min_size=1))
def test_any_chunking_yields_the_same_replies(replies, cuts):
    stream = b"".join(replies)
    f = ReplyFramer()
    out = []
    pos = 0
    i = 0
    while pos < len(stream):
        step = cuts[i % len(cuts)]
        out += f.feed(stream[pos:pos + step])
        pos += step
        i += 1
    assert out == replies


def test_incomplete_reply_waits():
    f = ReplyFramer()
    assert f.feed(b"*2\r\n$1\r\na\r\n") == []
    assert f.feed(b":1\r\n") == [b"*2\r\n$1\r\na\r\n:1\r\n"]
