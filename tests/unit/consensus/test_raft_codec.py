import msgspec
import pytest

from consensus import codec
from consensus.codec import batch_parts
from consensus.messages import (
    CAMPAIGN_TRANSFER,
    ConfChange,
    ConfChangeOp,
    Entry,
    EntryType,
    HardState,
    Membership,
    Message,
    MessageType,
    SnapshotMeta,
)

MEMBERS = Membership(frozenset({1, 2, 3}), frozenset({4}), {1: "a:1:2", 2: "b:1:2", 3: "c:1:2", 4: "d:1:2"})
META = SnapshotMeta(120, 7, MEMBERS)
ENTRIES = (
    Entry(11, 3, EntryType.NORMAL, b""),
    Entry(12, 3, EntryType.NORMAL, b"\x00set k v" * 10),
    Entry(13, 3, EntryType.CONF_CHANGE, codec.encode_conf_change(ConfChange(ConfChangeOp.PROMOTE, 4))),
)

EXAMPLES = {
    MessageType.APPEND: Message(MessageType.APPEND, 2, 1, 3, log_term=3, index=10, commit=9, entries=ENTRIES),
    MessageType.APPEND_RESP: Message(MessageType.APPEND_RESP, 1, 2, 3, index=10, reject=True, reject_hint=8,
                                     log_term=2),
    MessageType.VOTE: Message(MessageType.VOTE, 2, 1, 4, log_term=3, index=13, context=CAMPAIGN_TRANSFER),
    MessageType.VOTE_RESP: Message(MessageType.VOTE_RESP, 1, 2, 4, reject=True),
    MessageType.PRE_VOTE: Message(MessageType.PRE_VOTE, 3, 1, 5, log_term=3, index=13),
    MessageType.PRE_VOTE_RESP: Message(MessageType.PRE_VOTE_RESP, 1, 3, 5),
    MessageType.HEARTBEAT: Message(MessageType.HEARTBEAT, 2, 1, 3, commit=9, context=77),
    MessageType.HEARTBEAT_RESP: Message(MessageType.HEARTBEAT_RESP, 1, 2, 3, context=77),
    MessageType.INSTALL_SNAPSHOT: Message(MessageType.INSTALL_SNAPSHOT, 4, 1, 3, snapshot=META, offset=4096,
                                          data=b"\xff" * 100, done=True),
    MessageType.INSTALL_SNAPSHOT_RESP: Message(MessageType.INSTALL_SNAPSHOT_RESP, 1, 4, 3, index=120,
                                               offset=4196, done=True),
    MessageType.READ_INDEX: Message(MessageType.READ_INDEX, 1, 2, 3, context=2**47 + 5),
    MessageType.READ_INDEX_RESP: Message(MessageType.READ_INDEX_RESP, 2, 1, 3, index=99, context=2**47 + 5),
    MessageType.TIMEOUT_NOW: Message(MessageType.TIMEOUT_NOW, 2, 1, 3),
}


def test_every_message_type_has_an_example():
    assert set(EXAMPLES) == set(MessageType)


@pytest.mark.parametrize("mtype", list(MessageType), ids=lambda t: t.name)
def test_message_round_trip(mtype):
    m = EXAMPLES[mtype]
    buf = codec.encode_message(m)
    assert isinstance(buf, bytes)
    back = codec.decode_message(buf)
    assert back == m
    assert type(back.type) is MessageType and all(type(e.type) is EntryType for e in back.entries)


def test_entry_conf_change_meta_hard_state_round_trip():
    for e in ENTRIES:
        assert codec.decode_entry(codec.encode_entry(e)) == e
    for op in ConfChangeOp:
        cc = ConfChange(op, 9, "h:1:2")
        assert codec.decode_conf_change(codec.encode_conf_change(cc)) == cc
    assert codec.decode_snapshot_meta(codec.encode_snapshot_meta(META)) == META
    hs = HardState(5, 2, 99)
    assert codec.decode_hard_state(codec.encode_hard_state(hs)) == hs


@pytest.mark.parametrize("junk", [b"", b"\xc1", b"\x93\x01\x02\x03", codec.encode_entry(ENTRIES[0])])
def test_malformed_input_raises_codec_error(junk):
    with pytest.raises(codec.CodecError):
        codec.decode_message(junk)


@pytest.mark.parametrize("count", [0, 1, 15, 16, 70_000])
@pytest.mark.parametrize("size", [0, 1, 255, 256, 65_535, 65_536, 3 << 20])
def test_batch_parts_join_to_the_batch_msgspec_encodes(count, size):
    # The driver writes a batch holding a big message as these pieces; the receiving node
    # decodes them with msgspec as one array of messages.
    if count * size > 8 << 20:
        count = 2
    raws = [bytes([i % 256]) * size for i in range(count)]
    assert b"".join(batch_parts(raws)) == msgspec.msgpack.encode(raws)


@pytest.mark.parametrize("sizes", [[], [0], [1, 300, 70_000], [3 << 20, 5]])
def test_batch_views_read_back_what_batch_parts_wrote(sizes):
    raws = [bytes([i + 1]) * n for i, n in enumerate(sizes)]
    views = codec.batch_views(b"".join(batch_parts(raws)))
    assert [bytes(v) for v in views] == raws


@pytest.mark.parametrize("mtype", list(MessageType), ids=lambda t: t.name)
def test_message_parts_join_to_the_message_and_decode_with_views(mtype):
    m = EXAMPLES[mtype]
    parts = codec.encode_message_parts(m)
    assert b"".join(parts) == codec.encode_message(m)
    assert codec.decode_message(bytearray(b"".join(parts)), views=True) == m


@pytest.mark.parametrize("sizes", [[], [0], [3 << 20], [1, 255, 256, 65_535, 65_536, 2], [7] * 17, [0] * 70_000])
def test_a_large_entry_is_a_part_of_its_own_and_a_view_when_decoded(sizes):
    # The leader sends a big entry to every follower without copying it into each message;
    # a follower takes it out of the frame without copying it either.
    entries = tuple(Entry(100 + i, 2**40, EntryType.NORMAL, bytes([i % 256]) * n) for i, n in enumerate(sizes))
    m = Message(MessageType.APPEND, 3, 1, 2**40, log_term=2**33, index=99, commit=2**62, entries=entries)
    parts = codec.encode_message_parts(m)
    for e in entries:
        if len(e.data) > 1000:
            assert any(p is e.data for p in parts)
    other = codec.encode_message(Message(MessageType.HEARTBEAT, 3, 1, 5))
    body = bytearray(b"".join(batch_parts([parts, other])))
    assert bytes(body) == msgspec.msgpack.encode([codec.encode_message(m), other])
    views = codec.batch_views(body)
    back = codec.decode_message(views[0], views=True)
    assert back == m
    assert all(type(e.data) is memoryview for e in back.entries)
    assert codec.decode_message(views[1], views=True) == codec.decode_message(other)


@pytest.mark.parametrize("body", [b"", b"\x91\xa1x", b"\x91\x01", b"\x92\xc4\x01a", b"\xc4\x00"])
def test_batch_views_refuse_what_is_not_a_list_of_byte_strings(body):
    with pytest.raises(codec.CodecError):
        codec.batch_views(body)
