"""Fuzz what a peer sends: the frame reader, the message codec and the inbound handshake.
Documented errors only: ``HandshakeError`` from ``FrameReader.feed``, ``CodecError`` from
``decode_message``; the inbound protocol never raises and never lets a stranger in."""

from __future__ import annotations

import struct

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from consensus.codec import CodecError, decode_message, encode_message
from consensus.messages import Entry, EntryType, Message, MessageType
from consensus.transport import (
    K_BATCH,
    K_HELLO,
    K_PROOF,
    MAGIC,
    PROTOCOL_VERSION,
    FrameReader,
    HandshakeError,
    _InboundProtocol,
    frame,
)
from tests.security.fuzzing import fuzz_settings, run_reporting

COUNT = {"inputs": 0}

HEADERS = st.builds(lambda n, k: struct.pack(">IB", n, k), st.sampled_from([0, 1, 2, 5, 100, 70000, 2**31, 2**32 - 1]),
                    st.integers(0, 255))
STREAM = st.lists(st.one_of(HEADERS, st.binary(max_size=20)), max_size=20).map(b"".join)


@fuzz_settings(400)
@given(data=STREAM, cut=st.integers(0, 1000))
def fuzz_frame_reader(data, cut):
    COUNT["inputs"] += 1
    r = FrameReader(max_frame=65536)
    cut %= len(data) + 1
    try:
        for part in (data[:cut], data[cut:]):
            for kind, body in r.feed(part):
                assert 0 <= kind <= 255 and len(body) <= 65535
    except HandshakeError:
        pass


MSGPACK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64 - 1), st.floats(), st.binary(max_size=8),
              st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=16), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=40,
)


def _valid() -> bytes:
    return encode_message(Message(MessageType.APPEND, 1, 2, 3, 2, 5, 4,
                                  (Entry(6, 3, EntryType.NORMAL, b"x"),)))


@fuzz_settings(400)
@given(value=MSGPACK, noise=st.binary(max_size=40), flip=st.integers(0, 10_000))
def fuzz_decode_message(value, noise, flip):
    COUNT["inputs"] += 1
    candidates = [noise]
    try:
        candidates.append(msgspec.msgpack.encode(value))
    except (OverflowError, TypeError, ValueError):
        pass
    v = bytearray(_valid())
    v[flip % len(v)] ^= 0xFF
    candidates.append(bytes(v))
    for buf in candidates:
        try:
            m = decode_message(buf)
        except CodecError:
            continue
        assert isinstance(m, Message)


class _FakeTransport:
    def __init__(self) -> None:
        self.out = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.out += data

    def close(self) -> None:
        self.closed = True

    abort = close

    def get_extra_info(self, name: str):
        return ("10.0.0.9", 1234)


class _FakePeerTransport:
    node_id = 1
    cluster_id = "c1"
    secret = b"s3cret"
    max_frame = 1 << 30
    handshake_timeout = 5.0

    def __init__(self) -> None:
        self._inbound: set = set()
        self.delivered: list = []

    def _deliver(self, peer_id: int, body: bytes) -> None:
        self.delivered.append((peer_id, body))

    def _learn(self, peer_id: int, reply_to: str) -> None:
        pass


def _hello(cluster: str, frm, to) -> bytes:
    return frame(K_HELLO, msgspec.msgpack.encode([MAGIC.decode(), PROTOCOL_VERSION, cluster, frm, to, b"n" * 16, "x"]))


PEER_FRAMES = st.lists(
    st.one_of(
        st.builds(_hello, st.sampled_from(["c1", "c2", ""]), st.one_of(st.integers(-2, 4), st.text(max_size=2)),
                  st.integers(0, 2)),
        st.builds(frame, st.sampled_from([K_HELLO, K_PROOF, K_BATCH, 0, 200]), st.binary(max_size=40)),
        st.binary(max_size=30),
    ),
    max_size=6,
).map(b"".join)


@fuzz_settings(300)
@given(data=PEER_FRAMES)
def fuzz_inbound_handshake(data):
    COUNT["inputs"] += 1
    pt = _FakePeerTransport()
    proto = _InboundProtocol(pt)  # type: ignore[arg-type]
    tr = _FakeTransport()
    proto.tr = tr  # connection_made without the loop's handshake timer
    proto.data_received(data)  # must not raise
    assert not pt.delivered, "a stranger without the secret got a message delivered"
    assert proto.state != "open"


def test_fuzz_peer_frames():
    run_reporting("peer frame reader", fuzz_frame_reader, COUNT)


def test_fuzz_peer_codec():
    run_reporting("peer message codec", fuzz_decode_message, COUNT)


def test_fuzz_peer_handshake():
    run_reporting("peer inbound handshake", fuzz_inbound_handshake, COUNT)


def test_codec_regressions_found_by_fuzzing():
    """decode_message took a string term and wrapped a negative type index around to another
    message or entry type (TIMEOUT_NOW, CONF_CHANGE) instead of refusing the bytes."""
    import pytest

    bad = [
        [0, 1, 2, "x", 0, 0, 0, [], False, 0, 0, None, 0, b"", False],
        [0, 1, 2, 3, 0, 0, 0, [[1, "t", 0, b"d"]], False, 0, 0, None, 0, b"", False],
        [0, 1, 2, 3, 0, 0, 0, [[1, 1, 0, "text, not bytes"]], False, 0, 0, None, 0, b"", False],
        [-1, 1, 2, 3, 0, 0, 0, [], False, 0, 0, None, 0, b"", False],
        [0, 1, 2, 3, 0, 0, 0, [[1, 2, -1, b"d"]], False, 0, 0, None, 0, b"", False],
        [8, 1, 2, 3, 0, 0, 0, [], False, 0, 0, [1, 1, [["x"], [], []]], 0, b"", False],
    ]
    for fields in bad:
        with pytest.raises(CodecError):
            decode_message(msgspec.msgpack.encode(fields))
